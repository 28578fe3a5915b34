//! `--exec`: run a program traced until it exits or crashes.

use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace::Options;

use super::attach::{StopOptions, StoppedProcess};
use super::ending::{child_end, ChildEnd};
use super::error::TracerError;
use super::fault::Fault;
use super::proc_files;
use super::ptrace_ops;
use super::signals::FATAL_SIGNALS;
use super::spawn::{spawn_seized, SpawnedChild};
use super::tracees::{TraceeSet, TraceeState};
use super::wait::{wait_for, Backoff, WaitEvent};
use crate::abort::AbortFlag;

/// How a `--exec` run ended.
#[derive(Debug)]
pub enum ExecOutcome {
    /// The program exited with this code.
    Exited(i32),
    /// The program died of a signal we did not catch (e.g. `SIGKILL`).
    Signaled(i32),
    /// A thread was about to receive a fatal signal: the process is stopped for a snapshot.
    Crashed(Box<Crash>),
}

/// A crashed program, every thread stopped: the faulting one in its signal-delivery-stop.
///
/// Dropping it (e.g. when the snapshot code panics) does what [`finish`](Crash::finish) does:
/// detaches everything with the fatal signal re-injected and reaps the child. Bound to the
/// thread that ran [`run_until_crash`] (`!Send`).
#[derive(Debug)]
pub struct Crash {
    /// Every thread stopped, the faulting one in its signal-delivery-stop (its
    /// `pending_signal` is the fatal signal).
    pub stopped: StoppedProcess,
    /// The fatal signal and where it hit.
    pub fault: Fault,
    /// Whether the child has been detached and reaped already.
    finished: bool,
}

impl Crash {
    /// Detaches everything, the faulting thread with its signal re-injected so it does what it
    /// would have done (default action: the process dies, core dumps as configured), waits for
    /// the child and returns how it ended (exit code, or the signal that killed it).
    ///
    /// To learn how long the process was stopped, call `crash.stopped.detach()` first (the
    /// detach then happens there and `finish` only waits).
    pub fn finish(mut self) -> Result<ChildEnd, TracerError> {
        self.finished = true;
        let detached = self.stopped.detach();
        let end = reap_child(&self.stopped);
        detached?;
        end
    }
}

impl Drop for Crash {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.stopped.detach();
            let _ = reap_child(&self.stopped);
        }
    }
}

/// Waits for the (detached) child to end.
fn reap_child(stopped: &StoppedProcess) -> Result<ChildEnd, TracerError> {
    let pid = stopped.pid();
    if let Some(end) = stopped.tracees().leader_end().and_then(child_end) {
        return Ok(end);
    }
    loop {
        match wait_for(pid, libc::__WALL) {
            Ok(Some((_, event))) => {
                if let Some(end) = child_end(event) {
                    return Ok(end);
                }
            }
            Ok(None) => {}
            Err(err) => {
                return Err(TracerError::os(
                    format!("waitpid({pid}) for the crashed child"),
                    err,
                ))
            }
        }
    }
}

/// Collects a child that is dying of its re-injected fatal signal, waiting at most a second
/// (should it survive, it stays our unreaped child rather than hang the caller).
fn reap_dying_child(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut backoff = Backoff::new();
    while Instant::now() < deadline {
        match wait_for(pid, libc::__WALL | libc::WNOHANG) {
            Ok(Some((_, event))) if event.is_end() => return,
            Ok(_) => backoff.pause(),
            Err(_) => return,
        }
    }
}

/// --exec: runs `program` with `args` traced (all threads, following clones via
/// `PTRACE_O_TRACECLONE`), passing every signal through, until it exits or a thread is about to
/// receive a fatal signal ([`FATAL_SIGNALS`] with its default action; a signal the program
/// catches or ignores is passed to it). Then every thread is stopped and captured as for
/// [`StoppedProcess::stop`] with `stop`.
///
/// Job control keeps working (group-stops are held with `PTRACE_LISTEN`). Events are collected
/// with `waitpid(-1, __WALL | __WNOTHREAD)`: run this on a thread that has no other children.
/// When `abort` is set, every thread is detached and the program runs on untraced
/// ([`TracerError::Aborted`]).
pub fn run_until_crash(
    program: &OsStr,
    args: &[OsString],
    stop: &StopOptions,
    abort: &AbortFlag,
) -> Result<ExecOutcome, TracerError> {
    // Never PTRACE_O_EXITKILL: if we die, the program runs on.
    let options = Options::PTRACE_O_TRACECLONE | Options::PTRACE_O_TRACEEXEC | Options::PTRACE_O_TRACESYSGOOD;
    let child = spawn_seized(program, args, options)?;
    let mut tracees = TraceeSet::new(child.pid);
    tracees.set(child.pid, TraceeState::Running);
    let mut run = ExecRun {
        child,
        tracees,
        exec_seen: false,
        program: program.to_string_lossy().into_owned(),
    };
    run.event_loop(stop, abort)
}

/// What to do after an event.
enum Step {
    /// Keep going.
    Continue,
    /// The program ended.
    Ended(ExecOutcome),
    /// `tid` is about to receive fatal signal `signal`.
    Fatal { tid: i32, signal: i32 },
}

/// The state of one `--exec` run.
struct ExecRun {
    child: SpawnedChild,
    tracees: TraceeSet,
    /// Whether the child's exec succeeded (`PTRACE_EVENT_EXEC` seen).
    exec_seen: bool,
    program: String,
}

impl ExecRun {
    fn event_loop(&mut self, stop: &StopOptions, abort: &AbortFlag) -> Result<ExecOutcome, TracerError> {
        let mut idle = Backoff::new();
        loop {
            if abort.is_aborted() {
                self.tracees.detach_all()?;
                return Err(TracerError::Aborted);
            }
            let flags = libc::__WALL | libc::__WNOTHREAD | libc::WNOHANG;
            let (tid, event) = match wait_for(-1, flags) {
                Ok(Some(report)) => report,
                Ok(None) => {
                    idle.pause();
                    continue;
                }
                Err(err) => {
                    return Err(TracerError::os(
                        format!("waitpid for the traced {}", self.program),
                        err,
                    ))
                }
            };
            idle.reset();
            match self.handle(tid, event)? {
                Step::Continue => {}
                Step::Ended(outcome) => return Ok(outcome),
                Step::Fatal { tid, signal } => return self.crash(tid, signal, stop, abort),
            }
        }
    }

    /// Handles one report: passes signals through, follows threads, notices the end.
    fn handle(&mut self, tid: i32, event: WaitEvent) -> Result<Step, TracerError> {
        let pid = self.child.pid;
        if !self.tracees.contains(tid) {
            if event.is_end() || event == WaitEvent::Other {
                return Ok(Step::Continue); // not one of ours, or already forgotten
            }
            // A new thread reporting its first stop before its creator's clone event.
            self.tracees.set(tid, TraceeState::Running);
        }
        match event {
            WaitEvent::Exited(code) => return self.thread_ended(tid, ExecOutcome::Exited(code)),
            WaitEvent::Killed(signal) => return self.thread_ended(tid, ExecOutcome::Signaled(signal)),
            WaitEvent::SignalStop(signal) => {
                if self.exec_seen && is_fatal(pid, signal) {
                    return Ok(Step::Fatal { tid, signal });
                }
                self.resume(tid, ptrace_ops::cont(tid, signal), "PTRACE_CONT")?;
            }
            // Job control: stay stopped until SIGCONT, still traced.
            WaitEvent::GroupStop(_) => self.resume(tid, ptrace_ops::listen(tid), "PTRACE_LISTEN")?,
            WaitEvent::EventStop(libc::PTRACE_EVENT_CLONE) => {
                if let Some(new) = ptrace_ops::event_message(tid)
                    .ok()
                    .and_then(|m| i32::try_from(m).ok())
                {
                    if !self.tracees.contains(new) {
                        self.tracees.set(new, TraceeState::Running);
                    }
                }
                self.resume(tid, ptrace_ops::cont(tid, 0), "PTRACE_CONT")?;
            }
            WaitEvent::EventStop(libc::PTRACE_EVENT_EXEC) => {
                self.exec_seen = true;
                // The exec'ing thread took the leader's tid; its former tid is gone.
                if let Some(former) = ptrace_ops::event_message(tid)
                    .ok()
                    .and_then(|m| i32::try_from(m).ok())
                {
                    if former != tid {
                        self.tracees.remove(former);
                    }
                }
                self.resume(tid, ptrace_ops::cont(tid, 0), "PTRACE_CONT")?;
            }
            WaitEvent::InterruptStop | WaitEvent::EventStop(_) | WaitEvent::SyscallStop => {
                self.resume(tid, ptrace_ops::cont(tid, 0), "PTRACE_CONT")?;
            }
            WaitEvent::Other => {}
        }
        Ok(Step::Continue)
    }

    /// Forgets thread `tid`; when it is the leader (reported last, once the whole process is
    /// gone) the run is over with `outcome`, unless the exec itself failed.
    fn thread_ended(&mut self, tid: i32, outcome: ExecOutcome) -> Result<Step, TracerError> {
        self.tracees.remove(tid);
        if tid != self.child.pid {
            return Ok(Step::Continue);
        }
        self.tracees.forget_all();
        if !self.exec_seen {
            if let Some(errno) = self.child.exec_errno() {
                let source = std::io::Error::from_raw_os_error(errno);
                return Err(TracerError::Exec {
                    program: self.program.clone(),
                    source,
                });
            }
        }
        Ok(Step::Ended(outcome))
    }

    /// Records that `tid` runs again; `ESRCH` (killed meanwhile; its exit will follow) is fine.
    fn resume(&mut self, tid: i32, result: nix::Result<()>, request: &str) -> Result<(), TracerError> {
        match result {
            Ok(()) | Err(Errno::ESRCH) => {
                self.tracees.set(tid, TraceeState::Running);
                Ok(())
            }
            Err(err) => Err(TracerError::os(format!("{request} of thread {tid}"), err)),
        }
    }

    /// Stops every other thread, captures them all and reads the fault. On failure everything
    /// is let go (the fatal signal re-injected) and the dying child is reaped.
    fn crash(
        &mut self,
        tid: i32,
        signal: i32,
        stop: &StopOptions,
        abort: &AbortFlag,
    ) -> Result<ExecOutcome, TracerError> {
        let result = self.capture_crash(tid, signal, stop, abort);
        if result.is_err() {
            let _ = self.tracees.detach_all();
            reap_dying_child(self.child.pid);
        }
        result
    }

    fn capture_crash(
        &mut self,
        tid: i32,
        signal: i32,
        stop: &StopOptions,
        abort: &AbortFlag,
    ) -> Result<ExecOutcome, TracerError> {
        let pid = self.child.pid;
        let stopped_at = Instant::now();
        self.tracees.set(
            tid,
            TraceeState::Stopped {
                pending_signal: Some(signal),
            },
        );
        // Read the maps while the faulting thread holds still and the others are being stopped.
        let regions = if stop.stack_regions.is_empty() {
            proc_files::writable_regions(pid).unwrap_or_default()
        } else {
            stop.stack_regions.clone()
        };
        self.tracees.stop_running()?;
        self.adopt_unlisted_threads()?;
        let info = ptrace_ops::getsiginfo(tid)
            .map_err(|e| TracerError::os(format!("PTRACE_GETSIGINFO of thread {tid}"), e))?;
        let fault = Fault::from_siginfo(tid, &info);
        let tracees = std::mem::replace(&mut self.tracees, TraceeSet::new(pid));
        let stopped = StoppedProcess::capture(tracees, stopped_at, &regions, stop.stack_limit)?;
        let crash = Crash {
            stopped,
            fault,
            finished: false,
        };
        if abort.is_aborted() {
            crash.finish()?;
            return Err(TracerError::Aborted);
        }
        Ok(ExecOutcome::Crashed(Box::new(crash)))
    }

    /// Stops threads of the process we have no record of yet (a clone whose events are still
    /// queued). Threads that are not our tracees are found gone (`ECHILD`) and dropped.
    fn adopt_unlisted_threads(&mut self) -> Result<(), TracerError> {
        let Ok(tids) = proc_files::task_ids(self.child.pid) else {
            return Ok(());
        };
        let unlisted: Vec<i32> = tids
            .into_iter()
            .filter(|&tid| !self.tracees.contains(tid))
            .collect();
        if unlisted.is_empty() {
            return Ok(());
        }
        for tid in unlisted {
            self.tracees.set(tid, TraceeState::Running);
        }
        self.tracees.stop_running()
    }
}

/// Whether `signal` will kill `pid`: a [`FATAL_SIGNALS`] member neither caught nor ignored
/// (per `/proc/PID/status`; when unreadable, assume the default action).
fn is_fatal(pid: i32, signal: i32) -> bool {
    if !FATAL_SIGNALS.contains(&signal) {
        return false;
    }
    let Some((caught, ignored)) = proc_files::signal_dispositions(pid) else {
        return true;
    };
    let bit = 1u64 << (signal - 1);
    caught & bit == 0 && ignored & bit == 0
}
