//! [`Stack`]: one thread's frames as location evaluation sees them — the unwound (physical)
//! frames, and between them the frames of functions that tail-called onward (their frames are
//! gone from the stack; DWARF call-site information proves them). Each frame's state is computed
//! once, on first use.
//!
//! A tail-call frame is evaluated at its jump (the tail-call site's return address - 1) with
//! the registers it had there: the callee-saved registers are those the physical caller's frame
//! recovers (the function restored them before jumping), the stack pointer is the callee's CFA
//! minus the return address slot, and nothing else is known. Its caller is the next tail-call
//! frame outward, or the physical caller; the physical callee's caller is the innermost
//! tail-call frame. `DW_OP_entry_value` thus resolves through each jump's own call site.

use std::cell::OnceCell;
use std::sync::Arc;

use super::{CallerFrames, FrameState};
use crate::arch::{RegisterSet, CALLEE_SAVED, RA, SP};
use crate::unwind::UnwoundFrame;
use crate::variables::index::ObjectDebug;

/// The objects of a process as a thread's frames look them up (the variables engine's
/// [`ProcessVariables`](crate::variables::ProcessVariables)).
pub(crate) trait ProcessDebug {
    /// The DWARF of the object mapping runtime `address`.
    fn debug_at(&self, address: u64) -> Option<&Arc<ObjectDebug>>;

    /// The runtime address of the function symbol `name` (see [`CallerFrames::function_named`]).
    fn function_named(&self, name: &str) -> Option<u64>;
}

/// A tail-call frame between two physical frames.
struct TailFrame {
    /// The physical frame it tail-called into (directly or through inner tail-call frames).
    callee: usize,
    /// The runtime return address of its jump (`DW_AT_call_return_pc`).
    pc: u64,
    /// The index (in the [`Stack`]) of its caller frame.
    caller: usize,
}

/// One thread's frames, for looking up callers.
///
/// Indices: `0..frames.len()` are the physical frames; the tail-call frames follow, in the
/// order given to [`Stack::new`].
pub(crate) struct Stack<'a> {
    process: &'a dyn ProcessDebug,
    frames: &'a [UnwoundFrame],
    /// The caller of each physical frame: `index + 1`, or its innermost tail-call frame.
    callers: Vec<usize>,
    tails: Vec<TailFrame>,
    states: Vec<OnceCell<Option<FrameState<'a>>>>,
}

impl<'a> Stack<'a> {
    /// The frames of one thread: `frames` as unwound, and `tail_calls[k]` the runtime return
    /// addresses of the tail-call frames between `frames[k]` and `frames[k + 1]`, innermost
    /// first (missing entries: none).
    pub fn new(process: &'a dyn ProcessDebug, frames: &'a [UnwoundFrame], tail_calls: &[Vec<u64>]) -> Self {
        let mut callers: Vec<usize> = (1..=frames.len()).collect();
        let mut tails = Vec::new();
        for (callee, pcs) in tail_calls.iter().enumerate().take(frames.len()) {
            if pcs.is_empty() {
                continue;
            }
            let first = frames.len() + tails.len();
            if let Some(caller) = callers.get_mut(callee) {
                *caller = first;
            }
            for (j, &pc) in pcs.iter().enumerate() {
                let caller = if j + 1 < pcs.len() {
                    first + j + 1
                } else {
                    callee + 1
                };
                tails.push(TailFrame { callee, pc, caller });
            }
        }
        let states = (0..frames.len() + tails.len()).map(|_| OnceCell::new()).collect();
        Self {
            process,
            frames,
            callers,
            tails,
            states,
        }
    }

    /// The indices of the tail-call frames between physical frames `callee` and `callee + 1`,
    /// innermost first.
    pub fn tail_frames_of(&self, callee: usize) -> impl Iterator<Item = usize> + '_ {
        let base = self.frames.len();
        self.tails
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.callee == callee)
            .map(move |(j, _)| base + j)
    }

    /// The pc to look a frame up by (for objects, functions and scopes).
    pub fn lookup_pc(&self, index: usize) -> Option<u64> {
        match self.frames.get(index) {
            Some(frame) => Some(frame.lookup_pc),
            None => Some(self.tails.get(index - self.frames.len())?.pc.wrapping_sub(1)),
        }
    }

    /// The state of physical frame `index`.
    fn physical_state(&self, index: usize) -> Option<FrameState<'a>> {
        let frame = self.frames.get(index)?;
        let debug = self.process.debug_at(frame.lookup_pc)?;
        let elf_pc = debug.elf_address(frame.lookup_pc);
        let function = debug.function_at(elf_pc);
        Some(FrameState {
            debug,
            regs: frame.regs.clone(),
            vector: frame.vector.as_deref(),
            cfa: frame.cfa,
            pc: frame.pc,
            elf_pc,
            function,
            index,
            caller_index: self.callers.get(index).copied(),
            tail_call: false,
            frame_base: OnceCell::new(),
            entry_site: OnceCell::new(),
            entry_values: Default::default(),
        })
    }

    /// The state of tail-call frame `tail` (an index into `tails`).
    fn tail_state(&self, tail: usize) -> Option<FrameState<'a>> {
        let slot = self.tails.get(tail)?;
        let lookup = slot.pc.wrapping_sub(1);
        let debug = self.process.debug_at(lookup)?;
        let elf_pc = debug.elf_address(lookup);
        let function = debug.function_at(elf_pc);
        let callee = self.frames.get(slot.callee)?;
        let mut regs = RegisterSet::new();
        if let Some(caller) = self.frames.get(slot.callee + 1) {
            for register in CALLEE_SAVED {
                regs.set(register, caller.regs.get(register));
            }
        }
        regs.set(SP, callee.cfa.and_then(|cfa| cfa.checked_sub(8)));
        regs.set(RA, Some(slot.pc));
        Some(FrameState {
            debug,
            regs,
            vector: None,
            cfa: callee.cfa,
            pc: slot.pc,
            elf_pc,
            function,
            index: slot.callee,
            caller_index: Some(slot.caller),
            tail_call: true,
            frame_base: OnceCell::new(),
            entry_site: OnceCell::new(),
            entry_values: Default::default(),
        })
    }
}

impl CallerFrames for Stack<'_> {
    fn frame_state(&self, index: usize) -> Option<&FrameState<'_>> {
        self.states
            .get(index)?
            .get_or_init(|| match index.checked_sub(self.frames.len()) {
                None => self.physical_state(index),
                Some(tail) => self.tail_state(tail),
            })
            .as_ref()
    }

    fn debug_at(&self, address: u64) -> Option<Arc<ObjectDebug>> {
        self.process.debug_at(address).cloned()
    }

    fn function_named(&self, name: &str) -> Option<u64> {
        self.process.function_named(name)
    }
}
