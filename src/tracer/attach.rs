//! Stopping a running process: `PTRACE_SEIZE` + `PTRACE_INTERRUPT` on every thread.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace::Options;

use super::capture::{with_stack, StoppedThread};
use super::ending::{child_end, TargetDeath};
use super::error::TracerError;
use super::memory::ProcessMemory;
use super::permission::permission_hint;
use super::priority::PriorityBoost;
use super::proc_files;
use super::ptrace_ops;
use super::tracees::{await_stop, Arrival, Collect, TraceeSet, TraceeState};
use super::wait::WaitEvent;
use crate::abort::AbortFlag;

/// Default bytes of stack copied per thread.
pub const DEFAULT_STACK_LIMIT: usize = 1 << 20;

/// What to stop and how much to copy.
#[derive(Clone, Debug)]
pub struct StopOptions {
    /// `--thread TID`: seize and stop only that thread of the process.
    pub only_thread: Option<i32>,
    /// Maximum bytes of stack copied per thread above the stack pointer (default 1 MiB).
    pub stack_limit: usize,
    /// Readable and writable mappings from `/proc/PID/maps`. A thread's stack copy is
    /// `[sp - 128 (red zone), min(end of the region holding sp, sp + stack_limit))`. When empty,
    /// [`StoppedProcess::stop`] reads `/proc/PID/maps` itself before stopping anything.
    pub stack_regions: Vec<Range<u64>>,
}

impl Default for StopOptions {
    fn default() -> Self {
        Self {
            only_thread: None,
            stack_limit: DEFAULT_STACK_LIMIT,
            stack_regions: Vec::new(),
        }
    }
}

/// All (or the selected) threads of a process, seized and stopped. Dropping it detaches every
/// thread (so errors and panics resume the target); [`resume`](Self::resume) does the same
/// explicitly.
///
/// Bound to the thread that created it (ptrace's rule), hence `!Send`; see the module docs.
#[derive(Debug)]
pub struct StoppedProcess {
    pid: i32,
    tracees: TraceeSet,
    threads: Vec<StoppedThread>,
    memory: ProcessMemory,
    stopped_at: Instant,
    /// Set by the first detach: how long the target was stopped.
    stopped_for: Option<Duration>,
    /// The tracer's priority, raised from before the first thread is seized until the detach.
    boost: Option<PriorityBoost>,
}

impl StoppedProcess {
    /// Seizes and stops every thread of `pid` (or only `options.only_thread`), then captures
    /// each one's registers and stack.
    ///
    /// Threads are found in `/proc/PID/task`, re-read until a pass finds no new thread; threads
    /// that exit meanwhile are dropped silently. A signal a thread was about to receive is kept
    /// and re-injected at detach. A process stopped by job control stays stopped afterwards.
    /// On any error, and when `abort` is set (checked between threads), every thread seized so
    /// far is detached before returning.
    pub fn stop(pid: i32, options: &StopOptions, abort: &AbortFlag) -> Result<Self, TracerError> {
        check_traceable(pid)?;
        if let Some(tid) = options.only_thread {
            if !proc_files::thread_exists(pid, tid) {
                return Err(TracerError::NoSuchThread { pid, tid });
            }
        }
        // Read before stopping anything: the stop must be short.
        let regions = if options.stack_regions.is_empty() {
            proc_files::writable_regions(pid).map_err(|err| maps_error(pid, err))?
        } else {
            options.stack_regions.clone()
        };

        let boost = PriorityBoost::raise();
        let mut tracees = TraceeSet::new(pid);
        let stopped_at = seize_all(&mut tracees, options.only_thread, abort)?;
        let mut stopped = Self::capture(tracees, stopped_at, &regions, options.stack_limit)?;
        stopped.boost = boost;
        Ok(stopped)
    }

    /// Captures every stopped thread of `tracees` (leader first, as ordered there).
    pub(crate) fn capture(
        tracees: TraceeSet,
        stopped_at: Instant,
        regions: &[Range<u64>],
        stack_limit: usize,
    ) -> Result<Self, TracerError> {
        let pid = tracees.pid();
        let memory = ProcessMemory::new(pid);
        // The registers first (ptrace: this thread only), then the stacks (any thread).
        let mut registers = Vec::new();
        for tracee in tracees.iter() {
            let TraceeState::Stopped { pending_signal } = tracee.state else {
                continue;
            };
            match ptrace_ops::getregs(tracee.tid) {
                Ok(regs) => registers.push((tracee.tid, pending_signal, regs)),
                // Killed while stopped (SIGKILL ends even a ptrace-stop).
                Err(Errno::ESRCH) if tracee.tid == pid => return Err(ended(pid, None)),
                Err(Errno::ESRCH) => {}
                Err(err) => {
                    return Err(TracerError::os(
                        format!("PTRACE_GETREGS of thread {}", tracee.tid),
                        err,
                    ))
                }
            }
        }
        if registers.is_empty() {
            return Err(ended(pid, None));
        }
        let threads = copy_stacks(registers, &memory, regions, stack_limit);
        Ok(Self {
            pid,
            tracees,
            threads,
            memory,
            stopped_at,
            stopped_for: None,
            boost: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The stopped threads, in `/proc/PID/task` order, leader first.
    pub fn threads(&self) -> &[StoppedThread] {
        &self.threads
    }

    /// The process's live memory (consistent while it is stopped).
    pub fn memory(&self) -> &ProcessMemory {
        &self.memory
    }

    /// When the first thread was stopped (just before its `PTRACE_INTERRUPT`).
    pub fn stopped_at(&self) -> Instant {
        self.stopped_at
    }

    /// Detaches every thread (re-injecting any signal intercepted while stopping); returns how
    /// long the target was stopped (first thread stopped to last thread detached).
    pub fn resume(mut self) -> Result<Duration, TracerError> {
        self.detach()
    }

    /// [`resume`](Self::resume) without giving up the captured threads, e.g. for the
    /// [`Crash::stopped`](super::Crash) field: the first call detaches every thread and returns
    /// the stopped time; later calls only return that time again. Threads and memory copies stay
    /// readable; live memory reads see a running process.
    pub fn detach(&mut self) -> Result<Duration, TracerError> {
        if let Some(stopped_for) = self.stopped_for {
            return Ok(stopped_for);
        }
        let detached = self.tracees.detach_all();
        let stopped_for = self.stopped_at.elapsed();
        self.stopped_for = Some(stopped_for);
        self.boost = None;
        detached.map(|()| stopped_for)
    }

    /// The tracee bookkeeping (how the leader ended, if it was found dead at detach).
    pub(crate) fn tracees(&self) -> &TraceeSet {
        &self.tracees
    }

    /// Whether the target is dying or dead now (its leader exited: a stopped process only
    /// ends when it is killed), as `/proc` says; nothing is reaped.
    pub fn seems_dead(&self) -> bool {
        proc_files::thread_is_dead(self.pid, self.pid)
    }

    /// After [`detach`](Self::detach): whether the target died while it was stopped (a stopped
    /// thread only ends when its whole process is killed), and how, when its leader's end was
    /// collected. `None` while it is stopped, and when it was let go alive.
    pub fn died_while_stopped(&self) -> Option<TargetDeath> {
        self.stopped_for?;
        let end = self.tracees.leader_end().and_then(child_end);
        (end.is_some() || self.tracees.found_dead() > 0).then_some(TargetDeath { end })
    }
}

/// Refuses, before anything else is done, a pid that cannot be snapshotted whatever the
/// permissions: none (or no such process), this process itself, a kernel thread.
pub fn check_traceable(pid: i32) -> Result<(), TracerError> {
    if pid <= 0 || !proc_files::process_exists(pid) {
        return Err(TracerError::NoSuchProcess { pid });
    }
    if proc_files::is_own_thread(pid) {
        return Err(TracerError::SelfTrace { pid });
    }
    if proc_files::is_kernel_thread(pid) {
        return Err(TracerError::KernelThread {
            pid,
            name: proc_files::process_name(pid),
        });
    }
    Ok(())
}

/// With at least this many threads, their stacks are copied on two CPUs.
const PARALLEL_COPY_MIN_THREADS: usize = 64;

/// The stopped threads whose registers are `registers` (tid, pending signal, registers), each
/// with a copy of its stack; many are copied on two CPUs (one `process_vm_readv` each, no ptrace
/// call). Same order as `registers`.
fn copy_stacks(
    registers: Vec<(i32, Option<i32>, libc::user_regs_struct)>,
    memory: &ProcessMemory,
    regions: &[Range<u64>],
    stack_limit: usize,
) -> Vec<StoppedThread> {
    let copy = |list: &[(i32, Option<i32>, libc::user_regs_struct)]| -> Vec<StoppedThread> {
        list.iter()
            .map(|&(tid, pending, regs)| with_stack(tid, pending, regs, memory, regions, stack_limit))
            .collect()
    };
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    if !two_cpus || registers.len() < PARALLEL_COPY_MIN_THREADS {
        return copy(&registers);
    }
    let (first, second) = registers.split_at(registers.len() / 2);
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| copy(second));
        let mut threads = copy(first);
        match worker.join() {
            Ok(rest) => threads.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        threads
    })
}

/// Seizes and stops the threads, pass after pass over `/proc/PID/task` until no new thread
/// appears. Returns when the first thread was stopped.
fn seize_all(
    tracees: &mut TraceeSet,
    only_thread: Option<i32>,
    abort: &AbortFlag,
) -> Result<Instant, TracerError> {
    let pid = tracees.pid();
    let mut seen = HashSet::new();
    let mut stopped_at = None;
    let mut candidates = match only_thread {
        Some(tid) => vec![tid],
        None => proc_files::task_ids(pid).map_err(|_| gone_error(pid, false))?,
    };
    loop {
        let new: Vec<i32> = candidates.into_iter().filter(|&tid| seen.insert(tid)).collect();
        if new.is_empty() {
            break;
        }
        // Seize the whole pass (the threads keep running), then interrupt it, then collect the
        // stops: the first thread stops only once every thread of the pass is seized, and the
        // stops happen in parallel.
        let mut seized = Vec::new();
        for &tid in &new {
            if abort.is_aborted() {
                return Err(TracerError::Aborted);
            }
            if seize_thread(tracees, tid, only_thread)? {
                seized.push(tid);
            }
        }
        let mut interrupted = Vec::new();
        for tid in seized {
            stopped_at.get_or_insert_with(Instant::now);
            match ptrace_ops::interrupt(tid) {
                // ESRCH: exiting; its exit is collected below.
                Ok(()) | Err(Errno::ESRCH) => interrupted.push(tid),
                Err(err) => return Err(TracerError::os(format!("PTRACE_INTERRUPT of thread {tid}"), err)),
            }
        }
        for tid in interrupted {
            if abort.is_aborted() {
                return Err(TracerError::Aborted);
            }
            // Peeked, not consumed: a signal this stop intercepted stays with the kernel, so
            // that it is delivered even if this process dies before it detaches.
            match await_stop(pid, tid, Collect::Peek)
                .map_err(|e| TracerError::os(format!("waitpid({tid})"), e))?
            {
                Arrival::Stopped { pending_signal, .. } => {
                    tracees.set(tid, TraceeState::Stopped { pending_signal });
                }
                Arrival::Gone(event) if tid == pid => return Err(ended(pid, event)),
                Arrival::Gone(_) => tracees.remove(tid),
            }
        }
        if only_thread.is_some() {
            break;
        }
        candidates = proc_files::task_ids(pid).map_err(|_| gone_error(pid, true))?;
    }
    match stopped_at {
        Some(at) if !tracees.is_empty() => Ok(at),
        _ => Err(gone_error(pid, true)),
    }
}

/// `PTRACE_SEIZE`s `tid` and records it. `Ok(false)` when the thread vanished (or is a zombie)
/// and can be skipped.
fn seize_thread(tracees: &mut TraceeSet, tid: i32, only_thread: Option<i32>) -> Result<bool, TracerError> {
    let pid = tracees.pid();
    // No options: nothing that kills the target with us (never PTRACE_O_EXITKILL), no events.
    match ptrace_ops::seize(tid, Options::empty()) {
        Ok(()) => {
            tracees.set(tid, TraceeState::Running);
            Ok(true)
        }
        Err(Errno::ESRCH) if only_thread.is_some() => Err(TracerError::NoSuchThread { pid, tid }),
        Err(Errno::ESRCH) if tid == pid => Err(gone_error(pid, !tracees.is_empty())),
        Err(Errno::ESRCH) => Ok(false),
        // The kernel refuses to seize a zombie (exited, not yet reaped) with EPERM.
        Err(Errno::EPERM) if proc_files::thread_is_dead(pid, tid) => {
            if only_thread.is_some() {
                Err(TracerError::NoSuchThread { pid, tid })
            } else {
                Ok(false)
            }
        }
        Err(Errno::EPERM) => Err(TracerError::PermissionDenied {
            pid,
            hint: permission_hint(pid, tid),
        }),
        Err(err) => Err(TracerError::os(
            format!("PTRACE_SEIZE of thread {tid} of process {pid}"),
            err,
        )),
    }
}

/// The error for a process that is not there: never was (`NoSuchProcess`) or left while we were
/// at it (`ProcessExited`).
fn gone_error(pid: i32, was_seen: bool) -> TracerError {
    if was_seen || proc_files::process_exists(pid) {
        ended(pid, None)
    } else {
        TracerError::NoSuchProcess { pid }
    }
}

/// The error for process `pid` that ended while it was being stopped: how, from the wait
/// `event` of its leader when there is one, else from its zombie's `stat`.
fn ended(pid: i32, event: Option<WaitEvent>) -> TracerError {
    TracerError::ProcessExited {
        pid,
        death: TargetDeath {
            end: event
                .and_then(child_end)
                .or_else(|| proc_files::zombie_status(pid).and_then(child_end)),
        },
    }
}

/// The error for an unreadable `/proc/PID/maps`.
fn maps_error(pid: i32, err: procfs::ProcError) -> TracerError {
    match err {
        procfs::ProcError::PermissionDenied(_) => TracerError::PermissionDenied {
            pid,
            hint: permission_hint(pid, pid),
        },
        procfs::ProcError::NotFound(_) => gone_error(pid, false),
        other => TracerError::ProcFile {
            path: format!("/proc/{pid}/maps"),
            reason: other.to_string(),
        },
    }
}
