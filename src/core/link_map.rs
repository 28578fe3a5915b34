//! The objects of a core that has no `NT_FILE` note (older kernels, other core writers), found
//! as a debugger finds them: the executable's program headers (`AT_PHDR`), its dynamic array's
//! `DT_DEBUG` entry, the loader's `r_debug` and its chain of `struct link_map`, then each object's
//! `PT_LOAD` segments from its ELF header in the core's memory.

use object::read::elf::ProgramHeader as _;

use super::file::CoreSegment;
use super::notes::{Auxv, AT_PHDR, AT_PHNUM};
use super::CoreMemory;
use crate::debuginfo::{load_segments, loads_from_header_bytes, LoadSegment, MapEntry};
use crate::memory::MemoryReader as _;

/// Size of one ELF64 program header.
const PHDR_SIZE: u64 = 56;
/// Most program headers read.
const MAX_PHDRS: u64 = 256;
/// How much of an object's first page is read for its headers.
const HEADER_PAGE: usize = 4096;
/// Page size of the mappings (x86-64).
const PAGE: u64 = 4096;
/// Most dynamic entries read.
const MAX_DYNAMIC: u64 = 4096;
/// `DT_DEBUG`: the entry ld.so fills with the address of `r_debug`.
const DT_DEBUG: u64 = 21;

/// The file mappings the loader's lists describe: the executable (named `executable`, as its
/// link_map has no name) and every object with a name, each `PT_LOAD` a mapping; with the
/// warnings of the walk. Empty when the executable's headers are not in the core.
pub(crate) fn mappings_from_link_map(
    auxv: &Auxv,
    memory: &CoreMemory,
    segments: &[CoreSegment],
    executable: Option<&str>,
) -> (Vec<MapEntry>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut maps = Vec::new();
    let Some((exe_bias, exe_loads, dynamic)) = executable_headers(auxv, memory) else {
        warnings.push("the core has no NT_FILE note and its executable's program headers are unreadable: no object is known".to_string());
        return (maps, warnings);
    };
    if let Some(path) = executable {
        maps.extend(entries(path, exe_bias, &exe_loads, segments));
    }
    let rendezvous = dynamic.and_then(|at| debug_entry(memory, exe_bias.wrapping_add(at)));
    let Some(rendezvous) = rendezvous.filter(|&r| r != 0) else {
        // A static program: no loader, no other object.
        return (maps, warnings);
    };
    match crate::tls::walk_link_maps(memory, rendezvous) {
        Ok(state) => {
            warnings.extend(state.warnings);
            for entry in state.entries.iter().filter(|e| e.name.starts_with('/')) {
                match object_loads(memory, entry.bias) {
                    Some(loads) => maps.extend(entries(&entry.name, entry.bias, &loads, segments)),
                    None => warnings.push(format!(
                        "{}: its ELF header is not in the core, so its mappings are unknown",
                        entry.name
                    )),
                }
            }
        }
        Err(e) => warnings.push(format!("the loader's list of objects is unreadable: {e}")),
    }
    maps.sort_by_key(|m| m.start);
    (maps, warnings)
}

/// The executable's load bias, `PT_LOAD`s and `PT_DYNAMIC` address (ELF address), from the
/// program headers at `AT_PHDR`.
fn executable_headers(auxv: &Auxv, memory: &CoreMemory) -> Option<(u64, Vec<LoadSegment>, Option<u64>)> {
    let at_phdr = auxv.get(AT_PHDR)?;
    let count = auxv.get(AT_PHNUM)?.min(MAX_PHDRS);
    let bytes = memory.read_exact(at_phdr, usize::try_from(count * PHDR_SIZE).ok()?)?;
    let headers: &[object::elf::ProgramHeader64<object::LittleEndian>] =
        object::pod::slice_from_all_bytes(&bytes).ok()?;
    let endian = object::LittleEndian;
    // PT_PHDR gives the headers' own ELF address; without it (a static non-PIE program) the
    // executable is not relocated.
    let bias = headers
        .iter()
        .find(|ph| ph.p_type(endian) == object::elf::PT_PHDR)
        .map_or(0, |ph| at_phdr.wrapping_sub(ph.p_vaddr(endian)));
    let dynamic = headers
        .iter()
        .find(|ph| ph.p_type(endian) == object::elf::PT_DYNAMIC)
        .map(|ph| ph.p_vaddr(endian));
    Some((bias, load_segments(headers, endian), dynamic))
}

/// The value of the `DT_DEBUG` entry of the dynamic array at `address`.
fn debug_entry(memory: &CoreMemory, address: u64) -> Option<u64> {
    for index in 0..MAX_DYNAMIC {
        let at = address.wrapping_add(index * 16);
        let tag = memory.read_u64(at)?;
        match tag {
            0 => return None,
            DT_DEBUG => return memory.read_u64(at.wrapping_add(8)),
            _ => {}
        }
    }
    None
}

/// The `PT_LOAD`s of the object whose ELF header is at `base` (its load bias: shared objects
/// start at ELF address 0).
fn object_loads(memory: &CoreMemory, base: u64) -> Option<Vec<LoadSegment>> {
    let mut page = vec![0u8; HEADER_PAGE];
    let read = memory.read_at(base, &mut page);
    page.truncate(read);
    loads_from_header_bytes(&page)
}

/// One maps entry per `PT_LOAD` of the object `path` loaded with bias `bias`, page-aligned as
/// the loader maps them; permissions from the core's segment when it holds the mapping.
fn entries(path: &str, bias: u64, loads: &[LoadSegment], segments: &[CoreSegment]) -> Vec<MapEntry> {
    loads
        .iter()
        .filter(|load| load.mem_size > 0)
        .map(|load| {
            let start = bias.wrapping_add(load.vaddr) & !(PAGE - 1);
            let end = bias
                .wrapping_add(load.vaddr)
                .wrapping_add(load.mem_size)
                .div_ceil(PAGE)
                * PAGE;
            let (readable, writable, executable) = segments
                .iter()
                .find(|s| s.contains(start))
                .map(|s| (s.readable, s.writable, s.executable))
                .unwrap_or((load.readable, load.writable, load.executable));
            MapEntry {
                start,
                end,
                readable,
                writable,
                executable,
                offset: load.offset & !(PAGE - 1),
                device: (0, 0),
                inode: 0,
                path: Some(path.to_string()),
            }
        })
        .collect()
}
