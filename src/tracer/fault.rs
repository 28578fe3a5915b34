//! The signal that crashed a thread, decoded from its `siginfo_t`.

/// `si_code` of signals raised by the kernel itself (on x86-64: `int3` breakpoints and general
/// protection faults, e.g. a non-canonical address), which carry no fault address.
const SI_KERNEL: i32 = 0x80;

/// The fatal signal a thread was about to receive when the `--exec` loop stopped the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The thread that received the signal.
    pub tid: i32,
    /// The signal number (see [`signal_name`](super::signal_name)).
    pub signal: i32,
    /// The raw `si_code`.
    pub code: i32,
    /// The faulting address (`si_addr`) for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP raised by
    /// a fault; `None` for signals sent by a process or the kernel without an address.
    pub address: Option<u64>,
    /// The sender's pid when the signal was sent by `kill`, `tgkill`, `sigqueue`... (`si_code <= 0`).
    pub sender_pid: Option<i32>,
    /// Why, in words, per `si_code`: e.g. "address not mapped to object", "sent by tkill".
    pub reason: String,
}

impl Fault {
    /// Decodes `info`, as `PTRACE_GETSIGINFO` returned it for thread `tid`.
    pub(crate) fn from_siginfo(tid: i32, info: &libc::siginfo_t) -> Self {
        // SAFETY: every layout of the union is at least a word long; `si_addr` reads its first
        // word whatever member the kernel filled, and `decode` interprets it per signal and code.
        let first_word = unsafe { info.si_addr() } as u64;
        Self::decode(tid, info.si_signo, info.si_code, first_word)
    }

    /// Decodes a `siginfo_t` of thread `tid` given as its signal, `si_code` and the first word
    /// of its union (as a core's `NT_SIGINFO` holds it): `si_addr` for a fault the kernel
    /// raised, `si_pid` (its low half) for a signal a process sent.
    pub fn decode(tid: i32, signal: i32, code: i32, first_word: u64) -> Self {
        let has_address = matches!(
            signal,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP
        ) && code > 0
            && code != SI_KERNEL;
        let address = has_address.then_some(first_word);
        // si_code <= 0 means a process sent the signal (SI_USER, SI_TKILL, SI_QUEUE...); every
        // such layout starts with the 32-bit `si_pid` (x86-64 is little-endian).
        let sender_pid = (code <= 0).then_some(first_word as u32 as i32);
        Self {
            tid,
            signal,
            code,
            address,
            sender_pid,
            reason: fault_reason(signal, code),
        }
    }
}

/// What `si_code` `code` means for signal `signal` (`siginfo.h`).
pub(crate) fn fault_reason(signal: i32, code: i32) -> String {
    let sender = match code {
        0 => Some("sent by kill"),
        -1 => Some("sent by sigqueue"),
        -2 => Some("sent by a POSIX timer expiring"),
        -3 => Some("sent by a POSIX message queue"),
        -4 => Some("sent by asynchronous I/O completion"),
        -5 => Some("sent by queued SIGIO"),
        -6 => Some("sent by tkill"),
        -7 => Some("sent by execve of a setuid program"),
        SI_KERNEL if signal == libc::SIGTRAP => Some("breakpoint instruction (int3)"),
        SI_KERNEL if signal == libc::SIGSEGV => {
            Some("general protection fault (e.g. a non-canonical address)")
        }
        SI_KERNEL => Some("sent by the kernel"),
        _ => None,
    };
    if let Some(text) = sender {
        return text.to_owned();
    }
    let text = match (signal, code) {
        (libc::SIGSEGV, 1) => "address not mapped to object",
        (libc::SIGSEGV, 2) => "invalid permissions for mapped object",
        (libc::SIGSEGV, 3) => "failed address bound checks",
        (libc::SIGSEGV, 4) => "access denied by memory protection keys",
        (libc::SIGSEGV, 10) => "control protection fault (shadow stack)",
        (libc::SIGBUS, 1) => "invalid address alignment",
        (libc::SIGBUS, 2) => "nonexistent physical address (e.g. beyond the end of a mapped file)",
        (libc::SIGBUS, 3) => "object-specific hardware error",
        (libc::SIGBUS, 4) => "hardware memory error consumed on a machine check",
        (libc::SIGBUS, 5) => "hardware memory error detected but not consumed",
        (libc::SIGILL, 1) => "illegal opcode",
        (libc::SIGILL, 2) => "illegal operand",
        (libc::SIGILL, 3) => "illegal addressing mode",
        (libc::SIGILL, 4) => "illegal trap",
        (libc::SIGILL, 5) => "privileged opcode",
        (libc::SIGILL, 6) => "privileged register",
        (libc::SIGILL, 7) => "coprocessor error",
        (libc::SIGILL, 8) => "internal stack error",
        (libc::SIGFPE, 1) => "integer divide by zero",
        (libc::SIGFPE, 2) => "integer overflow",
        (libc::SIGFPE, 3) => "floating-point divide by zero",
        (libc::SIGFPE, 4) => "floating-point overflow",
        (libc::SIGFPE, 5) => "floating-point underflow",
        (libc::SIGFPE, 6) => "floating-point inexact result",
        (libc::SIGFPE, 7) => "floating-point invalid operation",
        (libc::SIGFPE, 8) => "subscript out of range",
        (libc::SIGTRAP, 1) => "process breakpoint",
        (libc::SIGTRAP, 2) => "process trace trap",
        (libc::SIGTRAP, 3) => "process taken branch trap",
        (libc::SIGTRAP, 4) => "hardware breakpoint or watchpoint",
        (libc::SIGSYS, 1) => "system call blocked by a seccomp filter",
        _ => return format!("si_code {code}"),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_follow_si_code() {
        assert_eq!(fault_reason(libc::SIGSEGV, 1), "address not mapped to object");
        assert_eq!(
            fault_reason(libc::SIGSEGV, 2),
            "invalid permissions for mapped object"
        );
        assert_eq!(fault_reason(libc::SIGABRT, -6), "sent by tkill");
        assert_eq!(fault_reason(libc::SIGSEGV, 0), "sent by kill");
        assert_eq!(fault_reason(libc::SIGFPE, 1), "integer divide by zero");
        assert_eq!(
            fault_reason(libc::SIGTRAP, SI_KERNEL),
            "breakpoint instruction (int3)"
        );
        assert_eq!(fault_reason(libc::SIGBUS, 99), "si_code 99");
    }
}
