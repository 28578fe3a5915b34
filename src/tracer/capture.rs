//! What we copy from each stopped thread: its registers and the live part of its stack.

use std::ops::Range;

use crate::arch::RegisterSet;
use crate::memory::{MemoryReader, MemorySnapshot};

#[cfg(test)]
use super::memory::ProcessMemory;

/// Bytes below the stack pointer that a leaf function may use without moving it (x86-64 psABI).
pub(crate) const RED_ZONE: u64 = 128;

/// One stopped thread as captured: registers and a copy of its stack.
#[derive(Clone, Debug)]
pub struct StoppedThread {
    /// Its thread id.
    pub tid: i32,
    /// The innermost frame's registers (from `PTRACE_GETREGS`), by DWARF number.
    pub regs: RegisterSet,
    /// All the registers `PTRACE_GETREGS` returned, for the snapshot's frame-0 "registers".
    pub user_regs: libc::user_regs_struct,
    /// The stack from `sp - 128` (red zone) up to the end of its mapping or `sp + stack_limit`,
    /// whichever is lower; copied with one `process_vm_readv`. May be shorter (even empty) when
    /// the memory was not readable.
    pub stack: MemorySnapshot,
    /// A signal the thread was about to receive when we stopped it; re-injected when it is let go.
    pub pending_signal: Option<i32>,
    /// The xmm registers, when captured (a core's; a live thread's are not read, which would
    /// cost a system call per thread while it is stopped).
    pub vector: Option<std::sync::Arc<crate::arch::VectorRegisters>>,
}

impl StoppedThread {
    /// A thread whose registers are `user_regs` (and `vector`) and whose memory `memory` reads
    /// (a core's: it no longer runs), its stack copied as a live thread's is: `[sp - red zone,
    /// sp + stack_limit)`, clipped to the one of `regions` that holds `sp`.
    pub fn from_memory(
        tid: i32,
        user_regs: libc::user_regs_struct,
        vector: Option<crate::arch::VectorRegisters>,
        memory: &dyn MemoryReader,
        regions: &[Range<u64>],
        stack_limit: usize,
    ) -> Self {
        let mut thread = with_stack(tid, None, user_regs, memory, regions, stack_limit);
        thread.vector = vector.map(std::sync::Arc::new);
        thread
    }
}

/// Stopped thread `tid` whose registers are `user_regs`, with one read of its stack from
/// `memory` (a live process's from any thread of the tracer: no ptrace call; or a core's).
pub(crate) fn with_stack(
    tid: i32,
    pending_signal: Option<i32>,
    user_regs: libc::user_regs_struct,
    memory: &dyn MemoryReader,
    regions: &[Range<u64>],
    stack_limit: usize,
) -> StoppedThread {
    let range = stack_range(user_regs.rsp, regions, stack_limit);
    StoppedThread {
        tid,
        regs: RegisterSet::from_user_regs(&user_regs),
        user_regs,
        stack: copy_memory(memory, range),
        pending_signal,
        vector: None,
    }
}

/// The part of the stack to copy for stack pointer `sp`: `[sp - red zone, sp + limit)`, clipped
/// to the writable mapping that holds `sp` when one of `regions` does.
pub(crate) fn stack_range(sp: u64, regions: &[Range<u64>], limit: usize) -> Range<u64> {
    let mut start = sp.saturating_sub(RED_ZONE);
    let mut end = sp.saturating_add(limit as u64);
    if let Some(region) = regions.iter().find(|region| region.contains(&sp)) {
        start = start.max(region.start);
        end = end.min(region.end);
    }
    start..end.max(start)
}

/// Copies `range` with a single read; keeps the readable prefix.
pub(crate) fn copy_memory(memory: &dyn MemoryReader, range: Range<u64>) -> MemorySnapshot {
    let Ok(len) = usize::try_from(range.end - range.start) else {
        return MemorySnapshot {
            base: range.start,
            bytes: Vec::new(),
        };
    };
    let mut bytes = vec![0u8; len];
    let read = memory.read_at(range.start, &mut bytes);
    bytes.truncate(read);
    MemorySnapshot {
        base: range.start,
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_range_is_clipped_to_the_mapping() {
        let regions = [0x1000..0x2000, 0x7000..0x9000];
        assert_eq!(stack_range(0x8000, &regions, 0x10000), 0x8000 - 128..0x9000);
        assert_eq!(stack_range(0x8000, &regions, 0x100), 0x8000 - 128..0x8100);
        assert_eq!(stack_range(0x7010, &regions, 0x100), 0x7000..0x7110);
    }

    #[test]
    fn stack_range_without_a_mapping_uses_the_limit() {
        assert_eq!(stack_range(0x5000, &[], 0x40), 0x5000 - 128..0x5040);
        assert_eq!(stack_range(10, &[], 0), 0..10);
        assert_eq!(stack_range(u64::MAX - 1, &[], 1 << 20), u64::MAX - 129..u64::MAX);
    }

    #[test]
    fn copies_own_stack() {
        let marker = [0x5au8; 64];
        let sp = marker.as_ptr() as u64;
        let pid = std::process::id() as i32;
        let regions = super::super::proc_files::writable_regions(pid).expect("own maps");
        let range = stack_range(sp, &regions, 1 << 20);
        let copy = copy_memory(&ProcessMemory::new(pid), range.clone());
        assert_eq!(copy.base, range.start);
        assert_eq!(copy.bytes.len() as u64, range.end - range.start);
        assert_eq!(copy.read_exact(sp, 64).as_deref(), Some(&marker[..]));
    }
}
