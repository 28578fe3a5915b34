//! Waiting for tracees and decoding what `waitpid` reports.
//!
//! We decode statuses ourselves because `nix`'s `WaitStatus` cannot represent real-time signals:
//! its `waitpid` fails on them, and the status (and the signal) would be lost.

use std::time::Duration;

use nix::errno::Errno;

/// `PTRACE_EVENT_STOP`: the event number of interrupt stops, group-stops of a seized tracee and
/// a new auto-attached thread's first stop.
const PTRACE_EVENT_STOP: i32 = 128;

/// What `waitpid` reported for one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEvent {
    /// The thread exited with this code.
    Exited(i32),
    /// The thread was killed by this signal.
    Killed(i32),
    /// Signal-delivery-stop: the thread is about to receive this signal; we decide whether it does.
    SignalStop(i32),
    /// Group-stop (job control) of a seized tracee, with the stop signal.
    GroupStop(i32),
    /// `PTRACE_EVENT_STOP` that is not a group-stop: our `PTRACE_INTERRUPT`, the first stop of an
    /// auto-attached new thread, or a re-trap after `PTRACE_LISTEN`.
    InterruptStop,
    /// Another `PTRACE_EVENT_*` stop (clone, exec...), by event number.
    EventStop(i32),
    /// A syscall-stop (only with `PTRACE_SYSCALL`, which we do not use).
    SyscallStop,
    /// Anything else (`WIFCONTINUED`), which needs no action.
    Other,
}

impl WaitEvent {
    /// Decodes a raw `waitpid` status.
    pub(crate) fn decode(status: i32) -> Self {
        if libc::WIFEXITED(status) {
            return Self::Exited(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            return Self::Killed(libc::WTERMSIG(status));
        }
        if !libc::WIFSTOPPED(status) {
            return Self::Other;
        }
        let signal = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if signal == libc::SIGTRAP | 0x80 {
            Self::SyscallStop
        } else if event == PTRACE_EVENT_STOP {
            if is_stop_signal(signal) {
                Self::GroupStop(signal)
            } else {
                Self::InterruptStop
            }
        } else if event != 0 {
            Self::EventStop(event)
        } else {
            Self::SignalStop(signal)
        }
    }

    /// Whether the thread is gone (exited or killed).
    pub(crate) fn is_end(self) -> bool {
        matches!(self, Self::Exited(_) | Self::Killed(_))
    }
}

/// The job-control signals that start a group-stop.
fn is_stop_signal(signal: i32) -> bool {
    matches!(
        signal,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

/// `waitpid(pid, flags)`, retried on `EINTR`. Returns the reporting thread and its event, or
/// `None` when `WNOHANG` is in `flags` and nothing is ready.
pub(crate) fn wait_for(pid: i32, flags: i32) -> nix::Result<Option<(i32, WaitEvent)>> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid, writable int for the duration of the call.
        let result = unsafe { libc::waitpid(pid, &mut status, flags) };
        match Errno::result(result) {
            Ok(0) => return Ok(None),
            Ok(tid) => return Ok(Some((tid, WaitEvent::decode(status)))),
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Like [`wait_for`]`(tid, __WALL | WNOHANG)`, but leaving what is reported as it was
/// (`waitid` with `WNOWAIT`; `waitpid` does not take it): a stop stays reportable, and the
/// signal a signal-delivery-stop intercepted stays with the kernel. `None` when nothing is
/// ready.
pub(crate) fn peek_for(tid: i32) -> nix::Result<Option<WaitEvent>> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value (si_pid 0 means "nothing reported").
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
        // SAFETY: `info` is a valid, writable siginfo_t for the duration of the call.
        let result = unsafe { libc::waitid(libc::P_PID, tid as libc::id_t, &mut info, flags) };
        match Errno::result(result) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
        // SAFETY: waitid filled `info` as a SIGCHLD siginfo (or left it zeroed).
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(WaitEvent::decode(status_of(info.si_code, status))));
    }
}

/// The `waitpid` status of what `waitid` reported as `code` (`CLD_*`) and `status`: for stops
/// the kernel's whole stop code (signal and ptrace event), for exits the exit code, for deaths
/// the signal.
fn status_of(code: i32, status: i32) -> i32 {
    match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_KILLED => status & 0x7f,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        libc::CLD_TRAPPED | libc::CLD_STOPPED => ((status & 0xffff) << 8) | 0x7f,
        // CLD_CONTINUED
        _ => 0xffff,
    }
}

/// Pauses between polls: first yields the CPU (a stop usually takes microseconds), then sleeps
/// for growing intervals up to 2 ms.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    rounds: u32,
}

impl Backoff {
    /// Rounds spent yielding before the first sleep.
    const YIELDS: u32 = 32;
    /// The longest sleep.
    const MAX_SLEEP: Duration = Duration::from_millis(2);

    /// A fresh backoff.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Starts over (something happened).
    pub(crate) fn reset(&mut self) {
        self.rounds = 0;
    }

    /// Whether pauses have become sleeps (the wait is no longer short).
    pub(crate) fn is_sleeping(&self) -> bool {
        self.rounds >= Self::YIELDS
    }

    /// Yields or sleeps, longer each time.
    pub(crate) fn pause(&mut self) {
        if self.rounds < Self::YIELDS {
            std::thread::yield_now();
        } else {
            let shift = (self.rounds - Self::YIELDS).min(10);
            std::thread::sleep((Duration::from_micros(10) * (1 << shift)).min(Self::MAX_SLEEP));
        }
        self.rounds = self.rounds.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status the kernel reports for a stop (`wait_task_stopped`/`ptrace_stop`).
    fn stopped(signal: i32, event: i32) -> i32 {
        (event << 16) | (signal << 8) | 0x7f
    }

    #[test]
    fn decodes_exits_and_kills() {
        assert_eq!(WaitEvent::decode(3 << 8), WaitEvent::Exited(3));
        assert_eq!(
            WaitEvent::decode(libc::SIGSEGV | 0x80),
            WaitEvent::Killed(libc::SIGSEGV)
        );
        assert!(WaitEvent::decode(0).is_end());
        assert_eq!(WaitEvent::decode(0xffff), WaitEvent::Other);
    }

    #[test]
    fn decodes_ptrace_stops() {
        let rt = libc::SIGRTMIN() + 2;
        assert_eq!(WaitEvent::decode(stopped(rt, 0)), WaitEvent::SignalStop(rt));
        assert_eq!(
            WaitEvent::decode(stopped(libc::SIGSTOP, 0)),
            WaitEvent::SignalStop(libc::SIGSTOP)
        );
        assert_eq!(
            WaitEvent::decode(stopped(libc::SIGTRAP, 128)),
            WaitEvent::InterruptStop
        );
        assert_eq!(
            WaitEvent::decode(stopped(libc::SIGTSTP, 128)),
            WaitEvent::GroupStop(libc::SIGTSTP)
        );
        assert_eq!(
            WaitEvent::decode(stopped(libc::SIGTRAP, libc::PTRACE_EVENT_CLONE)),
            WaitEvent::EventStop(libc::PTRACE_EVENT_CLONE)
        );
        assert_eq!(
            WaitEvent::decode(stopped(libc::SIGTRAP | 0x80, 0)),
            WaitEvent::SyscallStop
        );
        assert!(!WaitEvent::decode(stopped(libc::SIGTRAP, 128)).is_end());
    }

    #[test]
    fn waitid_reports_decode_as_waitpid_statuses() {
        let rt = libc::SIGRTMIN() + 2;
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_EXITED, 3)),
            WaitEvent::Exited(3)
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_KILLED, libc::SIGKILL)),
            WaitEvent::Killed(libc::SIGKILL)
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_DUMPED, libc::SIGSEGV)),
            WaitEvent::Killed(libc::SIGSEGV)
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_TRAPPED, rt)),
            WaitEvent::SignalStop(rt)
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_TRAPPED, libc::SIGTRAP | (128 << 8))),
            WaitEvent::InterruptStop
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_TRAPPED, libc::SIGSTOP | (128 << 8))),
            WaitEvent::GroupStop(libc::SIGSTOP)
        );
        assert_eq!(
            WaitEvent::decode(status_of(libc::CLD_CONTINUED, libc::SIGCONT)),
            WaitEvent::Other
        );
    }

    #[test]
    fn waiting_for_a_non_child_fails_with_echild() {
        // pid 1 is never our child.
        assert_eq!(wait_for(1, libc::__WALL | libc::WNOHANG), Err(Errno::ECHILD));
    }
}
