//! How a traced process ended: a child's end ([`ChildEnd`], from its wait status) and the death
//! of a target while it was stopped ([`TargetDeath`]).

use super::signals::signal_name;
use super::wait::WaitEvent;

/// How the child process finally ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

/// The target died while it was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetDeath {
    /// How its leader ended, when that was collected.
    pub end: Option<ChildEnd>,
}

impl std::fmt::Display for TargetDeath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.end {
            Some(ChildEnd::Signaled(signal)) => write!(f, "was killed by {}", signal_name(signal)),
            Some(ChildEnd::Exited(code)) => write!(f, "exited with status {code}"),
            None => write!(f, "ended"),
        }
    }
}

/// The end a wait event describes, if it is one.
pub(crate) fn child_end(event: WaitEvent) -> Option<ChildEnd> {
    match event {
        WaitEvent::Exited(code) => Some(ChildEnd::Exited(code)),
        WaitEvent::Killed(signal) => Some(ChildEnd::Signaled(signal)),
        _ => None,
    }
}
