//! Where a call goes, as a runtime address turned into a function with DWARF: the function a
//! call or jump enters, and the target of a PLT stub once the dynamic linker has bound it.

use std::sync::Arc;

use super::CallerFrames;
use crate::memory::MemoryReader;
use crate::variables::index::{DieRef, ObjectDebug};

/// The function whose entry is runtime address `address`.
pub(crate) fn function_entered_at(
    stack: &dyn CallerFrames,
    address: u64,
) -> Option<(Arc<ObjectDebug>, DieRef)> {
    let debug = stack.debug_at(address)?;
    let elf = debug.elf_address(address);
    let function = debug.function_at(elf)?;
    (function_entry(&debug, function) == Some(elf)).then_some((debug, function))
}

/// Where a PLT stub at `address` jumps: the stub is `[endbr64] [bnd] jmp *slot(%rip)` (possibly
/// after a `push`/`jmp` pair of lazy binding, which this does not follow); the slot holds the
/// target once the dynamic linker has bound it.
pub(crate) fn plt_target(memory: &dyn MemoryReader, address: u64) -> Option<u64> {
    let mut code = [0u8; 16];
    if memory.read_at(address, &mut code) < code.len() {
        return None;
    }
    let at = code.windows(2).position(|w| w == [0xff, 0x25])?;
    if at > 6 {
        return None;
    }
    let rel = i32::from_le_bytes(code.get(at + 2..at + 6)?.try_into().ok()?);
    let next = address.checked_add(at as u64 + 6)?;
    let slot = next.wrapping_add_signed(i64::from(rel));
    let target = memory.read_u64(slot)?;
    // An unbound slot points back into the PLT.
    (target.abs_diff(address) > 64).then_some(target)
}

/// The entry address (ELF) of a function DIE: `DW_AT_entry_pc`, `DW_AT_low_pc`, or the start of
/// its first range.
fn function_entry(debug: &ObjectDebug, die: DieRef) -> Option<u64> {
    let (unit, entry) = debug.entry(die)?;
    let dwarf = debug.dwarf_of(die.unit);
    for at in [gimli::DW_AT_entry_pc, gimli::DW_AT_low_pc] {
        if let Some(value) = entry.attr_value(at) {
            if let Ok(Some(address)) = dwarf.attr_address(&unit, value) {
                return Some(address);
            }
        }
    }
    let mut ranges = crate::debuginfo::die_ranges(dwarf, &unit, &entry).ok()?;
    ranges.next().ok()?.map(|r| r.begin)
}
