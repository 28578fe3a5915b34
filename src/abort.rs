//! A flag to abort a snapshot from a signal handler, another thread or a C host. It is below
//! everything that can be aborted: the tracer's stop and `--exec` loop, the run's cutoff, the
//! writing of the snapshot file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag the CLI's signal handlers (or a C host) set to abort a snapshot; cheap to clone.
///
/// The tracer checks it between threads while stopping and between events in the `--exec` loop;
/// when set, it detaches everything and returns
/// [`TracerError::Aborted`](crate::tracer::TracerError).
/// Setting it is async-signal-safe (a single atomic store), also through [`AbortFlag::as_arc`].
#[derive(Clone, Debug, Default)]
pub struct AbortFlag(Arc<AtomicBool>);

impl AbortFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the abort.
    pub fn abort(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the abort was requested.
    pub fn is_aborted(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared boolean itself, e.g. for `signal_hook::flag::register`.
    pub fn as_arc(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let flag = AbortFlag::new();
        let clone = flag.clone();
        assert!(!clone.is_aborted());
        flag.abort();
        assert!(clone.is_aborted());
    }

    #[test]
    fn as_arc_is_the_same_flag() {
        let flag = AbortFlag::new();
        flag.as_arc().store(true, Ordering::SeqCst);
        assert!(flag.is_aborted());
    }
}
