//! The frame-pointer fallback, for code without CFI: with the standard prologue
//! (`push %rbp; mov %rsp, %rbp`) the caller's rbp is saved at `[rbp]`, the return address at
//! `[rbp + 8]`, and the caller's stack pointer after the return is `rbp + 16`.

use super::step::FrameStep;
use crate::arch::{RegisterSet, FP, RA, SP};
use crate::memory::MemoryReader;

/// Size of a stack slot.
const WORD: u64 = 8;

/// Unwinds one frame by its frame pointer, or `None` when rbp is not a plausible frame pointer:
/// unknown, 0, not 8-byte aligned, below the frame's stack pointer (frames must move up the
/// stack), or pointing at unreadable memory. Only rip, rsp and rbp are known in the caller:
/// where the other callee-saved registers were saved is not known without CFI.
pub(crate) fn frame_pointer_step(regs: &RegisterSet, memory: &dyn MemoryReader) -> Option<FrameStep> {
    let rbp = regs.get(FP)?;
    if rbp == 0 || rbp % WORD != 0 {
        return None;
    }
    if regs.sp().is_some_and(|sp| rbp < sp) {
        return None;
    }
    let cfa = rbp.checked_add(2 * WORD)?;
    let caller_rbp = memory.read_u64(rbp)?;
    let return_address = memory.read_u64(rbp + WORD)?;
    let mut caller = RegisterSet::new();
    caller.set(RA, Some(return_address));
    caller.set(SP, Some(cfa));
    caller.set(FP, Some(caller_rbp));
    Some(FrameStep {
        cfa,
        caller,
        signal_frame: false,
        by_frame_pointer: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemorySnapshot;

    /// A stack at 0x7000 holding the words `words` (word i at 0x7000 + 8 i).
    fn stack(words: &[u64]) -> MemorySnapshot {
        MemorySnapshot {
            base: 0x7000,
            bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }

    fn regs(sp: u64, rbp: u64) -> RegisterSet {
        let mut regs = RegisterSet::new();
        regs.set(SP, Some(sp));
        regs.set(FP, Some(rbp));
        regs.set(RA, Some(0x40_1000));
        regs.set(3, Some(0xbb));
        regs
    }

    #[test]
    fn follows_the_saved_frame_pointer() {
        // [0x7010] = caller rbp 0x7040, [0x7018] = return address.
        let memory = stack(&[0, 0, 0x7040, 0x40_2222, 0, 0, 0, 0, 0]);
        let step = frame_pointer_step(&regs(0x7000, 0x7010), &memory).expect("plausible rbp");
        assert_eq!(step.cfa, 0x7020);
        assert_eq!(step.caller.pc(), Some(0x40_2222));
        assert_eq!(step.caller.sp(), Some(0x7020));
        assert_eq!(step.caller.get(FP), Some(0x7040));
        assert_eq!(step.caller.get(3), None, "rbx is unknown without CFI");
        assert!(step.by_frame_pointer);
        assert!(!step.signal_frame);
    }

    #[test]
    fn rejects_implausible_frame_pointers() {
        let memory = stack(&[0x7040, 0x40_2222, 0, 0]);
        assert_eq!(frame_pointer_step(&regs(0x7000, 0), &memory), None, "null rbp");
        assert_eq!(
            frame_pointer_step(&regs(0x7000, 0x7004), &memory),
            None,
            "misaligned rbp"
        );
        assert_eq!(
            frame_pointer_step(&regs(0x7008, 0x7000), &memory),
            None,
            "rbp below sp"
        );
        assert_eq!(
            frame_pointer_step(&regs(0x7000, 0x9000), &memory),
            None,
            "unreadable"
        );
        assert_eq!(
            frame_pointer_step(&regs(0x7000, 0x7018), &memory),
            None,
            "partly readable"
        );
        let mut no_rbp = regs(0x7000, 0x7000);
        no_rbp.set(FP, None);
        assert_eq!(frame_pointer_step(&no_rbp, &memory), None, "unknown rbp");
        assert_eq!(
            frame_pointer_step(&regs(0x7000, u64::MAX - 7), &memory),
            None,
            "rbp at the top of the address space"
        );
    }
}
