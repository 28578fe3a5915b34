//! The threads we trace and the one way out: detaching every one of them.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::error::TracerError;
use super::proc_files;
use super::ptrace_ops;
use super::wait::{peek_for, wait_for, Backoff, WaitEvent};

/// Makes a type `!Send` but `Sync`: ptrace binds tracees to the thread that seized them, so the
/// owner must stay on that thread, while shared references may be read anywhere.
pub(crate) type TracerThreadBound = PhantomData<std::sync::MutexGuard<'static, ()>>;

/// Where a seized thread is, as far as we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TraceeState {
    /// Running (or interrupted, with the stop not yet collected by `waitpid`).
    Running,
    /// In a ptrace-stop; `pending_signal` is the signal it was about to receive (signal-delivery
    /// stop), to be re-injected when it is let go.
    Stopped {
        /// Signal intercepted by this stop, if it is a signal-delivery-stop.
        pending_signal: Option<i32>,
    },
}

/// How a thread's next stop turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The thread is stopped.
    Stopped {
        /// Signal intercepted by the stop (signal-delivery-stop), to re-inject later.
        pending_signal: Option<i32>,
        /// A thread it just created (`PTRACE_EVENT_CLONE`), auto-attached and starting stopped.
        new_thread: Option<i32>,
    },
    /// The thread exited or was killed (or is no longer ours to wait for).
    Gone(Option<WaitEvent>),
}

/// How [`await_stop`] collects a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collect {
    /// As `waitpid` does: the stop is reported once, and the kernel forgets the signal a
    /// signal-delivery-stop intercepted (only `PTRACE_DETACH` with it gives it back).
    Consume,
    /// With `WNOWAIT`: the stop is reported and stays as it was, so the kernel still holds the
    /// signal a signal-delivery-stop intercepted. Should this process die without detaching
    /// (SIGKILL, the stop-limit watchdog), the thread wakes with that signal and gets it:
    /// nothing is lost. Ends are still consumed (reaped).
    Peek,
}

/// Waits for thread `tid` of process `pid` to report a stop or its end, skipping other reports.
///
/// Polls (`WNOHANG`) rather than blocks: a leader that exits while other threads live turns
/// into a zombie whose exit is only reported once they are gone, so a blocking wait would hang;
/// such a zombie counts as gone.
pub(crate) fn await_stop(pid: i32, tid: i32, collect: Collect) -> nix::Result<Arrival> {
    let mut backoff = Backoff::new();
    let mut found_dead = false;
    loop {
        let reported = match collect {
            Collect::Consume => {
                wait_for(tid, libc::__WALL | libc::WNOHANG).map(|r| r.map(|(_, event)| event))
            }
            Collect::Peek => peek_for(tid),
        };
        let event = match reported {
            Ok(Some(event)) => event,
            // Looked once more after seeing it dead (it may have died between the two checks):
            // still no report, so it is a zombie leader whose report waits for its threads.
            Ok(None) if found_dead => return Ok(Arrival::Gone(None)),
            Ok(None) => {
                if backoff.is_sleeping() && proc_files::thread_is_dead(pid, tid) {
                    found_dead = true;
                } else {
                    backoff.pause();
                }
                continue;
            }
            Err(Errno::ECHILD) => return Ok(Arrival::Gone(None)),
            Err(err) => return Err(err),
        };
        if collect == Collect::Peek
            && matches!(
                event,
                WaitEvent::Exited(_) | WaitEvent::Killed(_) | WaitEvent::Other
            )
        {
            // Peeked at something that is not a stop: collect it for real (an end is reaped).
            wait_for(tid, libc::__WALL | libc::WNOHANG)?;
        }
        let pending_signal = match event {
            WaitEvent::Exited(_) | WaitEvent::Killed(_) => return Ok(Arrival::Gone(Some(event))),
            WaitEvent::Other => continue,
            WaitEvent::SignalStop(signal) => Some(signal),
            WaitEvent::EventStop(libc::PTRACE_EVENT_CLONE) => {
                let new_thread = ptrace_ops::event_message(tid)
                    .ok()
                    .and_then(|msg| i32::try_from(msg).ok());
                return Ok(Arrival::Stopped {
                    pending_signal: None,
                    new_thread,
                });
            }
            WaitEvent::GroupStop(_)
            | WaitEvent::InterruptStop
            | WaitEvent::EventStop(_)
            | WaitEvent::SyscallStop => None,
        };
        return Ok(Arrival::Stopped {
            pending_signal,
            new_thread: None,
        });
    }
}

/// One seized thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tracee {
    /// Its thread id.
    pub(crate) tid: i32,
    /// Where it is.
    pub(crate) state: TraceeState,
}

/// The threads of one process that this thread traces, in the order they were found (leader
/// first). Dropping the set detaches every thread still in it.
#[derive(Debug)]
pub(crate) struct TraceeSet {
    pid: i32,
    tracees: Vec<Tracee>,
    /// How the leader ended, if we reaped it while detaching (it was killed meanwhile).
    leader_end: Option<WaitEvent>,
    /// How many threads were found dead while detaching (killed while stopped).
    found_dead: usize,
    _bound: TracerThreadBound,
}

impl TraceeSet {
    /// An empty set for process `pid`.
    pub(crate) fn new(pid: i32) -> Self {
        Self {
            pid,
            tracees: Vec::new(),
            leader_end: None,
            found_dead: 0,
            _bound: PhantomData,
        }
    }

    /// The process (thread-group leader id).
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// The tracees, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Tracee> {
        self.tracees.iter()
    }

    /// Whether no thread is traced.
    pub(crate) fn is_empty(&self) -> bool {
        self.tracees.is_empty()
    }

    /// Whether `tid` is traced.
    pub(crate) fn contains(&self, tid: i32) -> bool {
        self.tracees.iter().any(|t| t.tid == tid)
    }

    /// Adds `tid` (if new) or updates its state.
    pub(crate) fn set(&mut self, tid: i32, state: TraceeState) {
        match self.tracees.iter_mut().find(|t| t.tid == tid) {
            Some(tracee) => tracee.state = state,
            None => self.tracees.push(Tracee { tid, state }),
        }
    }

    /// Forgets `tid` (it exited).
    pub(crate) fn remove(&mut self, tid: i32) {
        self.tracees.retain(|t| t.tid != tid);
    }

    /// Forgets every thread without detaching (the whole process is gone).
    pub(crate) fn forget_all(&mut self) {
        self.tracees.clear();
    }

    /// How the leader ended, when it was found dead (and reaped) while detaching.
    pub(crate) fn leader_end(&self) -> Option<WaitEvent> {
        self.leader_end
    }

    /// How many threads were found dead while detaching: a stopped thread only ends when the
    /// whole process is killed.
    pub(crate) fn found_dead(&self) -> usize {
        self.found_dead
    }

    /// Stops every running tracee: `PTRACE_INTERRUPT`, then waits for each specific thread.
    /// Threads that exit are forgotten; threads created meanwhile (clone events) are stopped
    /// too.
    pub(crate) fn stop_running(&mut self) -> Result<(), TracerError> {
        let mut queue: VecDeque<i32> = VecDeque::new();
        for tracee in &self.tracees {
            if tracee.state == TraceeState::Running {
                interrupt_tolerating_exit(tracee.tid)?;
                queue.push_back(tracee.tid);
            }
        }
        while let Some(tid) = queue.pop_front() {
            match await_stop(self.pid, tid, Collect::Consume)
                .map_err(|e| TracerError::os(format!("waitpid({tid})"), e))?
            {
                Arrival::Stopped {
                    pending_signal,
                    new_thread,
                } => {
                    self.set(tid, TraceeState::Stopped { pending_signal });
                    if let Some(new) = new_thread.filter(|&new| !self.contains(new)) {
                        self.set(new, TraceeState::Running);
                        interrupt_tolerating_exit(new)?;
                        queue.push_back(new);
                    }
                }
                Arrival::Gone(_) => self.remove(tid),
            }
        }
        Ok(())
    }

    /// Detaches every thread (stopping running ones first, as the kernel only detaches stopped
    /// tracees), re-injecting intercepted signals. Threads found dead are reaped. Continues past
    /// errors and returns the first; afterwards the set is empty.
    pub(crate) fn detach_all(&mut self) -> Result<(), TracerError> {
        let mut first_error = None;
        let mut work: VecDeque<Tracee> = self.tracees.drain(..).collect();
        let mut dead = Vec::new();
        while let Some(Tracee { tid, state }) = work.pop_front() {
            let pending_signal = match state {
                TraceeState::Stopped { pending_signal } => pending_signal,
                TraceeState::Running => {
                    let _ = ptrace_ops::interrupt(tid);
                    match await_stop(self.pid, tid, Collect::Consume) {
                        Ok(Arrival::Stopped {
                            pending_signal,
                            new_thread,
                        }) => {
                            if let Some(new) = new_thread {
                                work.push_back(Tracee {
                                    tid: new,
                                    state: TraceeState::Running,
                                });
                            }
                            pending_signal
                        }
                        Ok(Arrival::Gone(end)) => {
                            self.found_dead += 1;
                            self.note_end(tid, end);
                            continue;
                        }
                        Err(err) => {
                            first_error.get_or_insert(TracerError::os(format!("waitpid({tid})"), err));
                            continue;
                        }
                    }
                }
            };
            match ptrace_ops::detach(tid, pending_signal.unwrap_or(0)) {
                Ok(()) => {}
                // Not in a ptrace-stop any more: it was killed (SIGKILL wakes traced threads).
                Err(Errno::ESRCH) => dead.push(tid),
                Err(err) => {
                    first_error.get_or_insert(TracerError::os(format!("PTRACE_DETACH of thread {tid}"), err));
                }
            }
        }
        self.found_dead += dead.len();
        self.reap(dead);
        first_error.map_or(Ok(()), Err)
    }

    /// Collects the exit of killed tracees, so they do not linger as zombies (a traced thread is
    /// reaped by its tracer). The leader last: its exit is only reported once the others are gone.
    fn reap(&mut self, mut dead: Vec<i32>) {
        dead.sort_by_key(|&tid| tid == self.pid);
        for tid in dead {
            if tid == self.pid {
                // Bounded: a leader with live untraced threads (--thread) stays a zombie a while.
                let deadline = Instant::now() + Duration::from_secs(1);
                while Instant::now() < deadline {
                    match wait_for(tid, libc::__WALL | libc::WNOHANG) {
                        Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                        Ok(Some((_, event))) if !event.is_end() => {}
                        Ok(Some((_, event))) => {
                            self.note_end(tid, Some(event));
                            break;
                        }
                        Err(_) => break,
                    }
                }
            } else if let Ok(Arrival::Gone(end)) = await_stop(self.pid, tid, Collect::Consume) {
                self.note_end(tid, end);
            }
        }
    }

    fn note_end(&mut self, tid: i32, end: Option<WaitEvent>) {
        if tid == self.pid && end.is_some() {
            self.leader_end = end;
        }
    }
}

impl Drop for TraceeSet {
    fn drop(&mut self) {
        let _ = self.detach_all();
    }
}

/// `PTRACE_INTERRUPT`; `ESRCH` means the thread is exiting, and its exit will be reported.
fn interrupt_tolerating_exit(tid: i32) -> Result<(), TracerError> {
    match ptrace_ops::interrupt(tid) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(err) => Err(TracerError::os(format!("PTRACE_INTERRUPT of thread {tid}"), err)),
    }
}
