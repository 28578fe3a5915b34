//! The ptrace requests the tracer uses, by thread id. Signals are raw numbers (real-time signals
//! included), which `nix`'s `Signal` cannot carry.

use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::unistd::Pid;

/// `PTRACE_SEIZE`: become `tid`'s tracer without stopping it.
pub(crate) fn seize(tid: i32, options: Options) -> nix::Result<()> {
    ptrace::seize(Pid::from_raw(tid), options)
}

/// `PTRACE_INTERRUPT`: make a seized `tid` stop (it reports `PTRACE_EVENT_STOP`).
pub(crate) fn interrupt(tid: i32) -> nix::Result<()> {
    ptrace::interrupt(Pid::from_raw(tid))
}

/// `PTRACE_LISTEN`: let a thread in group-stop stay stopped until `SIGCONT`, as job control wants,
/// while we keep tracing it.
pub(crate) fn listen(tid: i32) -> nix::Result<()> {
    request_with_signal(libc::PTRACE_LISTEN, tid, 0)
}

/// `PTRACE_CONT`, delivering `signal` (0: none) to a thread in signal-delivery-stop.
pub(crate) fn cont(tid: i32, signal: i32) -> nix::Result<()> {
    request_with_signal(libc::PTRACE_CONT, tid, signal)
}

/// `PTRACE_DETACH`, delivering `signal` (0: none) to a thread in signal-delivery-stop.
pub(crate) fn detach(tid: i32, signal: i32) -> nix::Result<()> {
    request_with_signal(libc::PTRACE_DETACH, tid, signal)
}

/// `PTRACE_GETREGS`: the stopped thread's general-purpose registers.
pub(crate) fn getregs(tid: i32) -> nix::Result<libc::user_regs_struct> {
    ptrace::getregs(Pid::from_raw(tid))
}

/// `PTRACE_GETSIGINFO`: the signal a thread in signal-delivery-stop is about to receive.
pub(crate) fn getsiginfo(tid: i32) -> nix::Result<libc::siginfo_t> {
    ptrace::getsiginfo(Pid::from_raw(tid))
}

/// `PTRACE_GETEVENTMSG`: e.g. the new thread's tid at `PTRACE_EVENT_CLONE`.
pub(crate) fn event_message(tid: i32) -> nix::Result<i64> {
    ptrace::getevent(Pid::from_raw(tid))
}

/// A request whose `addr` is unused and whose `data` is a signal number.
fn request_with_signal(request: libc::c_uint, tid: i32, signal: i32) -> nix::Result<()> {
    let data = usize::try_from(signal).map_err(|_| Errno::EINVAL)?;
    // SAFETY: for PTRACE_CONT, PTRACE_DETACH and PTRACE_LISTEN the kernel ignores `addr` and
    // reads `data` as a plain number (a signal), so no memory of ours is read or written.
    let result = unsafe {
        libc::ptrace(
            request,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    Errno::result(result).map(drop)
}
