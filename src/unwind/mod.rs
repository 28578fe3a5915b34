//! The DWARF CFI unwinder, with a frame-pointer fallback.
//!
//! Before the target stops, each executable object's call-frame information is parsed and
//! indexed once ([`ObjectCfi::parse`]); an [`Unwinder`] is built over the process's executable
//! mappings ([`CfiMapping`]). While the target is stopped, [`Unwinder::unwind`] walks one thread's
//! stack from its registers: it finds the FDE of each pc by binary search (the `.eh_frame_hdr`
//! table, or an index built at parse time), evaluates the CFI row (CFA, register rules, DWARF
//! expressions) against the frame's registers and the copied stack, and recovers the caller's
//! full register file. Signal trampolines (FDE augmentation `S`, glibc's `__restore_rt`) are
//! unwound through to the interrupted frame. Where there is no CFI the frame pointer is followed
//! and the frames it finds are marked suspect.

mod cfi;
mod error;
mod expr;
mod fallback;
mod fde_index;
mod sections;
mod step;
mod unwinder;

#[cfg(test)]
mod tests;

use std::ops::Range;
use std::sync::Arc;

use crate::arch::RegisterSet;

pub use cfi::{ObjectCfi, UnwindScratch};
pub use error::UnwindError;
pub use unwinder::{Backtrace, StopReason, Unwinder};

/// Most frames one unwind returns, whatever the caller asks.
pub const MAX_FRAMES: usize = 1024;

/// One executable mapping of an object, as the unwinder sees it.
#[derive(Clone, Debug)]
pub struct CfiMapping {
    /// The mapping's run-time address range.
    pub range: Range<u64>,
    /// Load bias: run-time address minus ELF virtual address.
    pub bias: u64,
    /// The object's call-frame information.
    pub cfi: Arc<ObjectCfi>,
}

/// One frame of an unwound stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwoundFrame {
    /// The frame's pc: the interrupted pc for frame 0 and for a frame interrupted by a signal, a
    /// return address for other frames.
    pub pc: u64,
    /// The pc to use for symbol and line lookup: `pc - 1` for return addresses (so that a call at
    /// the very end of a function is attributed to it); `pc` for frame 0, for a frame interrupted
    /// by a signal, and for a signal trampoline (entered, not returned to).
    pub lookup_pc: u64,
    /// The frame's canonical frame address (the caller's stack pointer after the return), when
    /// the frame could be unwound.
    pub cfa: Option<u64>,
    /// The full register file recovered for this frame: callee-saved registers included;
    /// caller-saved ones are unknown in outer frames unless the CFI recovers them.
    pub regs: RegisterSet,
    /// This frame is a signal trampoline (FDE augmentation `S`); the next frame is the one the
    /// signal interrupted.
    pub signal_frame: bool,
    /// This frame was found by the frame-pointer fallback (no CFI), so is less trustworthy.
    pub suspect: bool,
    /// The thread's vector registers, for the innermost frame when they were captured (a core's
    /// `NT_FPREGSET`); `None` in every other frame (they are caller-saved).
    pub vector: Option<std::sync::Arc<crate::arch::VectorRegisters>>,
}
