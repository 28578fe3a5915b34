//! What the capture reads of a stopped target, whatever it is: a live process held stopped by
//! the tracer, or (to come) a core file. Unwinding, variables and thread-local and global reads
//! go through this view only, so that every kind of target shares one snapshot pipeline.

use crate::memory::MemoryReader;
use crate::tracer::{StoppedProcess, StoppedThread};

/// A target whose threads no longer run: their registers and stack copies, and its memory.
pub trait StoppedTarget: Sync {
    /// The threads, each with its registers and a copy of its stack.
    fn threads(&self) -> &[StoppedThread];

    /// The target's memory (what the stack copies do not hold).
    fn memory(&self) -> &(dyn MemoryReader + Sync);
}

impl StoppedTarget for StoppedProcess {
    fn threads(&self) -> &[StoppedThread] {
        StoppedProcess::threads(self)
    }

    fn memory(&self) -> &(dyn MemoryReader + Sync) {
        StoppedProcess::memory(self)
    }
}
