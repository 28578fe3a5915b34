//! The dynamic loader's list of loaded objects, read from the target: the `r_debug` rendezvous
//! (found through the executable's `DT_DEBUG` entry, or ld.so's `_r_debug` symbol), then each
//! namespace's chain of `struct link_map` (`l_addr`, `l_name`, `l_next`: the public, stable head
//! of glibc's larger private structure). Every read may fail; every walk is bounded.

use std::collections::HashSet;

use super::elf::{symbol_value, DynamicSegment};
use super::TlsError;
use crate::debuginfo::ProcessObjects;
use crate::memory::MemoryReader;

/// At most this many link_maps are walked, over all namespaces.
pub(crate) const MAX_LINK_MAPS: usize = 4096;
/// At most this many namespaces (`r_debug_extended.r_next` chain; glibc has 16).
const MAX_NAMESPACES: usize = 64;
/// Longest object name read.
const MAX_NAME_LEN: usize = 4096;
/// Largest dynamic array read from memory.
const MAX_DYNAMIC_LEN: u64 = 64 * 1024;

/// `DT_DEBUG`'s tag.
const DT_DEBUG: u64 = 21;
/// `DT_NULL`'s tag: end of the dynamic array.
const DT_NULL: u64 = 0;

/// Offsets in `struct r_debug` / `struct r_debug_extended` (`<link.h>`, x86-64).
mod r_debug {
    /// `int r_version`: 1, or 2 when `r_next` exists (glibc 2.35+).
    pub const VERSION: u64 = 0;
    /// `struct link_map *r_map`: head of the namespace's list.
    pub const MAP: u64 = 8;
    /// `ElfW(Addr) r_ldbase`: load bias of ld.so.
    pub const LDBASE: u64 = 32;
    /// `struct r_debug_extended *r_next`: the next namespace's rendezvous (version 2).
    pub const NEXT: u64 = 40;
}

/// Offsets of the public head of `struct link_map` (`<link.h>`, x86-64).
mod link_map_head {
    /// `ElfW(Addr) l_addr`: the object's load bias.
    pub const ADDR: u64 = 0;
    /// `char *l_name`: its file name ("" for the executable).
    pub const NAME: u64 = 8;
    /// `struct link_map *l_next`.
    pub const NEXT: u64 = 24;
}

/// One object in the loader's lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkMapEntry {
    /// Address of its `struct link_map` in the target.
    pub address: u64,
    /// `l_addr`: load bias.
    pub bias: u64,
    /// `l_name` (lossily decoded): "" for the executable.
    pub name: String,
}

/// What the loader's lists say.
#[derive(Clone, Debug, Default)]
pub(crate) struct LoaderState {
    /// Every link_map read, namespace after namespace.
    pub entries: Vec<LinkMapEntry>,
    /// `r_ldbase` of the base namespace: ld.so's load bias.
    pub ld_so_bias: u64,
    /// Where a walk stopped early, and why.
    pub warnings: Vec<String>,
}

/// The address of `r_debug` (the base namespace's rendezvous): from the runtime value of a
/// `DT_DEBUG` entry (objects with `PT_INTERP` first), else from ld.so's `_r_debug` symbol.
pub(crate) fn find_rendezvous(objects: &ProcessObjects, memory: &dyn MemoryReader) -> Result<u64, TlsError> {
    let mut with_debug_entry: Vec<(bool, u64, u64)> = objects
        .objects()
        .iter()
        .filter_map(|object| {
            let dynamic = DynamicSegment::from_elf(object.elf.as_deref()?)?;
            dynamic.has_debug_entry.then(|| {
                (
                    dynamic.has_interp,
                    dynamic.vaddr.wrapping_add(object.bias),
                    dynamic.mem_size,
                )
            })
        })
        .collect();
    with_debug_entry.sort_by_key(|(has_interp, ..)| !has_interp);
    let from_dynamic = with_debug_entry
        .into_iter()
        .find_map(|(_, address, size)| debug_entry_value(memory, address, size));
    if let Some(address) = from_dynamic.filter(|&a| is_rendezvous(memory, a)) {
        return Ok(address);
    }
    objects
        .objects()
        .iter()
        .filter_map(|object| {
            let value = symbol_value(object.elf.as_deref()?, "_r_debug")?;
            Some(value.wrapping_add(object.bias))
        })
        .find(|&address| is_rendezvous(memory, address))
        .ok_or(TlsError::NoRendezvous)
}

/// The non-zero value of the `DT_DEBUG` entry of the dynamic array at `address` in memory.
fn debug_entry_value(memory: &dyn MemoryReader, address: u64, size: u64) -> Option<u64> {
    let len = usize::try_from(size.min(MAX_DYNAMIC_LEN)).ok()?;
    let mut bytes = vec![0u8; len];
    let read = memory.read_at(address, &mut bytes);
    let words: Vec<u64> = bytes
        .get(..read)?
        .chunks_exact(8)
        .map(|w| w.try_into().map(u64::from_le_bytes).unwrap_or(0))
        .collect();
    words
        .chunks_exact(2)
        .take_while(|entry| entry.first() != Some(&DT_NULL))
        .find(|entry| entry.first() == Some(&DT_DEBUG))
        .and_then(|entry| entry.get(1).copied())
        .filter(|&value| value != 0)
}

/// Whether `address` holds a plausible `r_debug`: version 1 or 2 and a list.
fn is_rendezvous(memory: &dyn MemoryReader, address: u64) -> bool {
    let version = read_u32(memory, address.wrapping_add(r_debug::VERSION));
    let map = memory.read_u64(address.wrapping_add(r_debug::MAP));
    matches!(version, Some(1 | 2)) && matches!(map, Some(m) if m != 0)
}

/// Walks every namespace's list from the rendezvous at `r_debug_address`.
pub(crate) fn walk_link_maps(
    memory: &dyn MemoryReader,
    r_debug_address: u64,
) -> Result<LoaderState, TlsError> {
    let unreadable = |what, address| TlsError::Unreadable { what, address };
    let ld_so_bias = memory
        .read_u64(r_debug_address.wrapping_add(r_debug::LDBASE))
        .ok_or(unreadable("r_debug.r_ldbase", r_debug_address))?;
    let mut state = LoaderState {
        ld_so_bias,
        ..LoaderState::default()
    };
    let mut seen = HashSet::new();
    let mut rendezvous = r_debug_address;
    for namespace in 0..MAX_NAMESPACES {
        let head = memory.read_u64(rendezvous.wrapping_add(r_debug::MAP));
        let version = read_u32(memory, rendezvous.wrapping_add(r_debug::VERSION));
        let (Some(head), Some(version)) = (head, version) else {
            if namespace == 0 {
                return Err(unreadable("r_debug", rendezvous));
            }
            state.warnings.push(format!(
                "r_debug of namespace {namespace} at {rendezvous:#x} is unreadable"
            ));
            break;
        };
        walk_one_list(memory, head, &mut seen, &mut state);
        if version < 2 {
            break;
        }
        match memory.read_u64(rendezvous.wrapping_add(r_debug::NEXT)) {
            Some(0) => break,
            Some(next) => rendezvous = next,
            None => {
                state
                    .warnings
                    .push(format!("r_debug.r_next at {rendezvous:#x} is unreadable"));
                break;
            }
        }
    }
    Ok(state)
}

/// Follows `l_next` from `head`, stopping at the end, at a loop, at an unreadable link_map or
/// after [`MAX_LINK_MAPS`] in all.
fn walk_one_list(memory: &dyn MemoryReader, head: u64, seen: &mut HashSet<u64>, state: &mut LoaderState) {
    let mut address = head;
    while address != 0 {
        if seen.len() >= MAX_LINK_MAPS {
            state.warnings.push(format!(
                "more than {MAX_LINK_MAPS} link_maps: the rest is ignored"
            ));
            return;
        }
        if !seen.insert(address) {
            state
                .warnings
                .push(format!("link_map list loops back to {address:#x}"));
            return;
        }
        let bias = memory.read_u64(address.wrapping_add(link_map_head::ADDR));
        let name = memory.read_u64(address.wrapping_add(link_map_head::NAME));
        let next = memory.read_u64(address.wrapping_add(link_map_head::NEXT));
        let (Some(bias), Some(name), Some(next)) = (bias, name, next) else {
            state.warnings.push(format!(
                "link_map at {address:#x} is unreadable: its list is cut there"
            ));
            return;
        };
        state.entries.push(LinkMapEntry {
            address,
            bias,
            name: read_c_string(memory, name),
        });
        address = next;
    }
}

/// A little-endian `u32` at `address`.
fn read_u32(memory: &dyn MemoryReader, address: u64) -> Option<u32> {
    let mut bytes = [0u8; 4];
    (memory.read_at(address, &mut bytes) == 4).then(|| u32::from_le_bytes(bytes))
}

/// The NUL-terminated string at `address` (what is readable of it, at most [`MAX_NAME_LEN`]
/// bytes); "" for a null pointer.
pub(crate) fn read_c_string(memory: &dyn MemoryReader, address: u64) -> String {
    let mut text = Vec::new();
    let mut chunk = [0u8; 256];
    while address != 0 && text.len() < MAX_NAME_LEN {
        let read = memory.read_at(address.wrapping_add(text.len() as u64), &mut chunk);
        let got = chunk.get(..read).unwrap_or_default();
        match got.iter().position(|&b| b == 0) {
            Some(end) => {
                text.extend_from_slice(got.get(..end).unwrap_or_default());
                break;
            }
            None if read == 0 => break,
            None => text.extend_from_slice(got),
        }
    }
    text.truncate(MAX_NAME_LEN);
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemorySnapshot;

    fn memory(base: u64, words: &[u64]) -> MemorySnapshot {
        MemorySnapshot {
            base,
            bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        }
    }

    #[test]
    fn strings_are_bounded_and_may_be_cut() {
        let mut bytes = b"libfoo.so\0junk".to_vec();
        let mem = MemorySnapshot {
            base: 0x1000,
            bytes: bytes.clone(),
        };
        assert_eq!(read_c_string(&mem, 0x1000), "libfoo.so");
        assert_eq!(read_c_string(&mem, 0), "");
        assert_eq!(read_c_string(&mem, 0x1003), "foo.so");
        bytes.truncate(6);
        let cut = MemorySnapshot { base: 0x1000, bytes };
        assert_eq!(
            read_c_string(&cut, 0x1000),
            "libfoo",
            "unterminated: what is readable"
        );
        let long = MemorySnapshot {
            base: 0,
            bytes: vec![b'a'; 3 * MAX_NAME_LEN],
        };
        assert_eq!(read_c_string(&long, 8).len(), MAX_NAME_LEN);
    }

    #[test]
    fn dynamic_array_scan_stops_at_dt_null() {
        let mem = memory(0x100, &[1, 5, DT_DEBUG, 0x7000, 0, 0]);
        assert_eq!(debug_entry_value(&mem, 0x100, 48), Some(0x7000));
        let unfilled = memory(0x100, &[DT_DEBUG, 0, 0, 0]);
        assert_eq!(debug_entry_value(&unfilled, 0x100, 32), None);
        let after_null = memory(0x100, &[DT_NULL, 0, DT_DEBUG, 0x7000]);
        assert_eq!(debug_entry_value(&after_null, 0x100, 32), None);
        assert_eq!(debug_entry_value(&mem, 0x9999, 48), None);
    }

    /// A fake loader state in a buffer: r_debug at 0x1000, link_maps at 0x1100 + 0x40 * i,
    /// names at 0x1800.
    fn fake_loader(next_of_last: u64) -> MemorySnapshot {
        let mut words = vec![0u64; 0x1000 / 8];
        let mut put = |address: u64, value: u64| words[((address - 0x1000) / 8) as usize] = value;
        put(0x1000, 1); // r_version
        put(0x1008, 0x1100); // r_map
        put(0x1020, 0x7f00_0000_0000); // r_ldbase
        for i in 0..3u64 {
            let map = 0x1100 + 0x40 * i;
            put(map, 0x5000 * i);
            put(map + 8, if i == 0 { 0x1800 } else { 0x1808 });
            put(map + 24, if i == 2 { next_of_last } else { map + 0x40 });
        }
        put(0x1808, u64::from_le_bytes(*b"/lib/x\0\0"));
        memory(0x1000, &words)
    }

    #[test]
    fn walks_a_list_and_survives_loops_and_holes() {
        let mem = fake_loader(0);
        assert!(is_rendezvous(&mem, 0x1000));
        let state = walk_link_maps(&mem, 0x1000).unwrap();
        assert_eq!(state.ld_so_bias, 0x7f00_0000_0000);
        assert_eq!(state.entries.len(), 3);
        assert_eq!(state.entries[0].name, "");
        assert_eq!(state.entries[2].name, "/lib/x");
        assert_eq!(state.entries[2].bias, 0xa000);
        assert!(state.warnings.is_empty());

        let looped = walk_link_maps(&fake_loader(0x1100), 0x1000).unwrap();
        assert_eq!(looped.entries.len(), 3);
        assert_eq!(looped.warnings.len(), 1);

        let hole = walk_link_maps(&fake_loader(0xdead_0000), 0x1000).unwrap();
        assert_eq!(hole.entries.len(), 3);
        assert!(hole.warnings[0].contains("unreadable"));

        assert!(matches!(
            walk_link_maps(&mem, 0x9000),
            Err(TlsError::Unreadable { .. })
        ));
        assert!(!is_rendezvous(&mem, 0x1100));
    }
}
