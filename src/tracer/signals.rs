//! Signal names and the signals that end a `--exec` run as a crash.

use nix::sys::signal::Signal;

/// Signals that, with their default action, kill the process with a core dump: the `--exec`
/// loop captures the process when a thread is about to receive one of them.
pub const FATAL_SIGNALS: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The conventional name of signal `sig`: `"SIGSEGV"`, `"SIGRTMIN+3"`, or `"SIG<n>"` for numbers
/// with no name.
pub fn signal_name(sig: i32) -> String {
    if let Ok(signal) = Signal::try_from(sig) {
        return signal.as_str().to_owned();
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if sig == min {
        "SIGRTMIN".to_owned()
    } else if sig == max {
        "SIGRTMAX".to_owned()
    } else if sig > min && sig < max {
        format!("SIGRTMIN+{}", sig - min)
    } else {
        format!("SIG{sig}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_standard_and_realtime_signals() {
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(libc::SIGABRT), "SIGABRT");
        assert_eq!(signal_name(libc::SIGSYS), "SIGSYS");
        assert_eq!(signal_name(libc::SIGRTMIN()), "SIGRTMIN");
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(signal_name(libc::SIGRTMAX()), "SIGRTMAX");
        assert_eq!(signal_name(0), "SIG0");
        assert_eq!(signal_name(-4), "SIG-4");
    }

    #[test]
    fn fatal_signals_are_distinct_and_named() {
        for (i, sig) in FATAL_SIGNALS.iter().enumerate() {
            assert!(!FATAL_SIGNALS[..i].contains(sig));
            assert!(signal_name(*sig).starts_with("SIG") && !signal_name(*sig).contains(char::is_numeric));
        }
    }
}
