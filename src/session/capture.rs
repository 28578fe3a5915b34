//! The work done while the target is stopped: unwinding every thread from its registers and its
//! stack copy. Nothing else happens here; symbols and lines are resolved after the resume.

use crate::memory::LayeredMemory;
use crate::tracer::StoppedProcess;
use crate::unwind::{Unwinder, UnwoundFrame};

/// One thread as captured while stopped.
pub struct CapturedThread {
    /// Kernel thread id.
    pub tid: i32,
    /// The thread's registers at the stop (all of them, for frame 0).
    pub user_regs: libc::user_regs_struct,
    /// The unwound frames, innermost first.
    pub frames: Vec<UnwoundFrame>,
}

/// Unwinds every stopped thread.
pub fn capture(stopped: &StoppedProcess, unwinder: &Unwinder, max_frames: usize) -> Vec<CapturedThread> {
    stopped
        .threads()
        .iter()
        .map(|thread| {
            let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
            CapturedThread {
                tid: thread.tid,
                user_regs: thread.user_regs,
                frames: unwinder.unwind(&thread.regs, &memory, max_frames),
            }
        })
        .collect()
}
