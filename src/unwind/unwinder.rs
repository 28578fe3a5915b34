//! [`Unwinder`]: walks a thread's stack from its innermost registers, frame by frame, with the
//! CFI of the mapped objects and the frame-pointer fallback where there is none.

use std::sync::Mutex;

use gimli::UnwindContext;

use super::cfi::UnwindScratch;
use super::error::UnwindError;
use super::fallback::frame_pointer_step;
use super::step::FrameStep;
use super::{CfiMapping, UnwoundFrame, MAX_FRAMES};
use crate::arch::RegisterSet;
use crate::memory::MemoryReader;

/// Why an unwind ended.
#[derive(Debug)]
pub enum StopReason {
    /// The CFI marks the end of the stack (undefined return address), or the return address
    /// is 0: the whole stack was walked.
    Outermost,
    /// The innermost registers have no pc.
    NoPc,
    /// The frame limit was reached.
    FrameLimit,
    /// The last frame's pc has no CFI and no plausible frame pointer.
    NoUnwindInfo,
    /// The caller's CFA is not above the frame's CFA (a loop or a corrupt stack).
    CfaNotIncreasing,
    /// Unwinding the last frame failed (unreadable memory, unknown register, corrupt CFI).
    Failed(UnwindError),
}

/// The frames of one unwind and why it ended.
#[derive(Debug)]
pub struct Backtrace {
    /// The frames, innermost first.
    pub frames: Vec<UnwoundFrame>,
    /// Why there are no more frames.
    pub stop: StopReason,
}

/// Unwinds stacks with the CFI of a process's executable mappings.
///
/// Built once per process before the stop; [`Unwinder::unwind`] is then called per thread while
/// the target is stopped. It is `Sync`: threads may be unwound in parallel.
#[derive(Debug)]
pub struct Unwinder {
    /// Mappings sorted by start address.
    mappings: Vec<CfiMapping>,
    /// A gimli unwind context kept between unwinds to avoid reallocating it.
    spare_context: Mutex<Option<UnwindContext<usize>>>,
}

impl Unwinder {
    /// An unwinder over `mappings` (in any order; they are sorted for lookup). Mappings should
    /// not overlap; where they do, a pc is looked up in the one starting last before it.
    pub fn new(mut mappings: Vec<CfiMapping>) -> Self {
        mappings.sort_by_key(|mapping| mapping.range.start);
        Self {
            mappings,
            spare_context: Mutex::new(None),
        }
    }

    /// Unwinds from the innermost registers `regs`; frame 0 is the interrupted pc itself. At most
    /// `max_frames` (and never more than [`MAX_FRAMES`]) frames are returned.
    pub fn unwind(
        &self,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
        max_frames: usize,
    ) -> Vec<UnwoundFrame> {
        self.unwind_with_stop(regs, memory, max_frames).frames
    }

    /// Like [`Unwinder::unwind`], also saying why the unwind stopped.
    pub fn unwind_with_stop(
        &self,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
        max_frames: usize,
    ) -> Backtrace {
        let mut scratch = UnwindScratch::with_context(self.take_context());
        let backtrace = self.unwind_in(&mut scratch, regs, memory, max_frames);
        if let Ok(mut spare) = self.spare_context.lock() {
            *spare = Some(scratch.ctx);
        }
        backtrace
    }

    /// [`Unwinder::unwind_with_stop`] with the scratch of the calling thread, kept between its
    /// unwinds (a thread unwinding many stacks looks each row up in the shared caches once).
    pub fn unwind_in(
        &self,
        scratch: &mut UnwindScratch,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
        max_frames: usize,
    ) -> Backtrace {
        self.walk(scratch, regs, memory, max_frames.min(MAX_FRAMES))
    }

    /// The spare unwind context, or a new one.
    fn take_context(&self) -> UnwindContext<usize> {
        self.spare_context
            .lock()
            .ok()
            .and_then(|mut spare| spare.take())
            .unwrap_or_default()
    }

    /// The frame loop.
    fn walk(
        &self,
        scratch: &mut UnwindScratch,
        innermost: &RegisterSet,
        memory: &dyn MemoryReader,
        limit: usize,
    ) -> Backtrace {
        let mut frames: Vec<UnwoundFrame> = Vec::with_capacity(limit.min(64));
        let mut regs = innermost.clone();
        // Frame 0, and a frame interrupted by a signal, did not execute a call: look up their
        // exact pc. Other pcs are return addresses: the call is at pc - 1.
        let mut exact_pc = true;
        let mut found_by_frame_pointer = false;
        let mut previous: Option<(u64, bool)> = None; // (cfa, signal frame) of the last frame
        let stop = loop {
            if frames.len() >= limit {
                break StopReason::FrameLimit;
            }
            let pc = match regs.pc() {
                Some(0) => break StopReason::Outermost,
                Some(pc) => pc,
                None if frames.is_empty() => break StopReason::NoPc,
                None => break StopReason::Outermost,
            };
            let lookup_pc = if exact_pc { pc } else { pc - 1 };
            let mut frame = UnwoundFrame {
                pc,
                lookup_pc,
                cfa: None,
                regs,
                signal_frame: false,
                suspect: found_by_frame_pointer,
                vector: None,
            };
            let step = match self.step(scratch, lookup_pc, &frame.regs, memory) {
                Ok(Some(step)) => step,
                Ok(None) => {
                    frames.push(frame);
                    break StopReason::NoUnwindInfo;
                }
                Err(error) => {
                    frames.push(frame);
                    break StopReason::Failed(error);
                }
            };
            frame.cfa = Some(step.cfa);
            frame.signal_frame = step.signal_frame;
            if step.signal_frame {
                // A trampoline is entered at its first instruction, not returned to.
                frame.lookup_pc = pc;
            }
            let moved_up = match previous {
                Some((previous_cfa, previous_signal)) if !previous_signal && !step.signal_frame => {
                    step.cfa > previous_cfa
                }
                _ => true,
            };
            frames.push(frame);
            if !moved_up {
                break StopReason::CfaNotIncreasing;
            }
            previous = Some((step.cfa, step.signal_frame));
            exact_pc = step.signal_frame;
            found_by_frame_pointer = step.by_frame_pointer;
            regs = step.caller;
        };
        Backtrace { frames, stop }
    }

    /// Unwinds the frame whose registers are `regs`, looking up CFI at `lookup_pc`: with the
    /// CFI of its mapping, else with the frame pointer. `Ok(None)` when neither applies.
    fn step(
        &self,
        scratch: &mut UnwindScratch,
        lookup_pc: u64,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
    ) -> Result<Option<FrameStep>, UnwindError> {
        let mut cfi_error = None;
        if let Some(mapping) = self.mapping_for(lookup_pc) {
            let address = lookup_pc.wrapping_sub(mapping.bias);
            match mapping
                .cfi
                .unwind_frame(scratch, address, mapping.bias, regs, memory)
            {
                Ok(Some(step)) => return Ok(Some(step)),
                Ok(None) => {}
                // Malformed CFI for this function: the frame pointer may still work.
                Err(error) if error.is_cfi_defect() => cfi_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        match (frame_pointer_step(regs, memory), cfi_error) {
            (Some(step), _) => Ok(Some(step)),
            (None, Some(error)) => Err(error),
            (None, None) => Ok(None),
        }
    }

    /// The mapping containing `pc`.
    fn mapping_for(&self, pc: u64) -> Option<&CfiMapping> {
        let after = self.mappings.partition_point(|mapping| mapping.range.start <= pc);
        let mapping = self.mappings.get(after.checked_sub(1)?)?;
        mapping.range.contains(&pc).then_some(mapping)
    }
}
