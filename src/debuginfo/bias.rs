//! The load bias of a mapped object: the difference between where its segments are mapped and
//! the virtual addresses its ELF headers name.

use object::read::elf::{FileHeader as _, ProgramHeader as _};

use super::elf::LoadSegment;
use super::maps::MapEntry;

/// The page size mappings are made with.
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}

/// The load bias (runtime address = ELF virtual address + bias, wrapping) of an object whose
/// mappings are `mappings` (sorted by start) and whose `PT_LOAD` segments are `loads`.
///
/// A mapping at file offset `o` comes from the segment whose page-aligned file offset is `o`; the
/// segment's vaddr-to-offset relation then gives the ELF address of the mapping's start. Mappings
/// whose permissions agree with the segment (executable or not) are tried first, so a page shared
/// by two segments (old non-PIE layouts) is attributed to the right one.
pub fn load_bias(mappings: &[&MapEntry], loads: &[LoadSegment], page_size: u64) -> Option<u64> {
    let page_mask = !(page_size.max(1) - 1);
    for strict in [true, false] {
        for map in mappings {
            let matching = loads.iter().find(|load| {
                load.offset & page_mask == map.offset && (!strict || load.executable == map.executable)
            });
            if let Some(load) = matching {
                let elf_address_of_map_start = load.vaddr.wrapping_sub(load.offset.wrapping_sub(map.offset));
                return Some(map.start.wrapping_sub(elf_address_of_map_start));
            }
        }
    }
    None
}

/// Reads the `PT_LOAD` segments from the start of an ELF image (its header and program headers,
/// e.g. read from the target's memory when the file itself is gone). `None` when the bytes are not
/// a 64-bit ELF header followed by its program headers.
pub fn loads_from_header_bytes(bytes: &[u8]) -> Option<Vec<LoadSegment>> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes).ok()?;
    let endian = header.endian().ok()?;
    let headers = header.program_headers(endian, bytes).ok()?;
    Some(load_segments(headers, endian))
}

/// The `PT_LOAD` segments among the ELF64 program headers `headers` (of byte order `endian`), in
/// program-header order.
pub fn load_segments<E: object::Endian>(
    headers: &[object::elf::ProgramHeader64<E>],
    endian: E,
) -> Vec<LoadSegment> {
    headers
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .map(|ph| {
            let flags = ph.p_flags(endian);
            LoadSegment {
                vaddr: ph.p_vaddr(endian),
                offset: ph.p_offset(endian),
                file_size: ph.p_filesz(endian),
                mem_size: ph.p_memsz(endian),
                readable: flags.contains(object::elf::PF_R),
                writable: flags.contains(object::elf::PF_W),
                executable: flags.contains(object::elf::PF_X),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(start: u64, end: u64, executable: bool, offset: u64) -> MapEntry {
        MapEntry {
            start,
            end,
            readable: true,
            writable: !executable,
            executable,
            offset,
            device: (0, 0),
            inode: 1,
            path: Some("/x".into()),
        }
    }

    fn load(vaddr: u64, offset: u64, executable: bool) -> LoadSegment {
        LoadSegment {
            vaddr,
            offset,
            file_size: 0x1000,
            mem_size: 0x1000,
            readable: true,
            writable: !executable,
            executable,
        }
    }

    #[test]
    fn pie_bias_is_where_the_first_segment_went() {
        let maps = [
            map(0x5555_0000_0000, 0x5555_0000_1000, false, 0),
            map(0x5555_0000_1000, 0x5555_0000_2000, true, 0x1000),
        ];
        let loads = [load(0, 0, false), load(0x1000, 0x1000, true)];
        let refs: Vec<&MapEntry> = maps.iter().collect();
        assert_eq!(load_bias(&refs, &loads, 0x1000), Some(0x5555_0000_0000));
        // Only the executable mapping known: same answer.
        assert_eq!(load_bias(&refs[1..], &loads, 0x1000), Some(0x5555_0000_0000));
    }

    #[test]
    fn shared_page_goes_to_the_segment_with_matching_permissions() {
        // Old non-PIE layout: text at 0x400000 from offset 0, data at 0x600e10 from offset 0xe10:
        // both start in file page 0.
        let loads = [load(0x40_0000, 0, true), load(0x60_0e10, 0xe10, false)];
        let data_only = map(0x60_0000, 0x60_1000, false, 0);
        assert_eq!(load_bias(&[&data_only], &loads, 0x1000), Some(0));
        let text = map(0x40_0000, 0x40_1000, true, 0);
        assert_eq!(load_bias(&[&text, &data_only], &loads, 0x1000), Some(0));
    }

    #[test]
    fn unmatched_mappings_give_no_bias() {
        let loads = [load(0, 0, false)];
        assert_eq!(
            load_bias(&[&map(0x1000, 0x2000, true, 0x5000)], &loads, 0x1000),
            None
        );
        assert_eq!(load_bias(&[], &loads, 0x1000), None);
    }

    #[test]
    fn header_bytes_give_the_same_loads_as_the_file() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let from_header = loads_from_header_bytes(&bytes[..4096]).unwrap();
        let facts = super::super::elf::ElfFacts::parse(&bytes, "self").unwrap();
        assert_eq!(from_header, facts.loads);
        assert_eq!(loads_from_header_bytes(b"\x7fELF"), None);
        assert!(page_size().is_power_of_two());
    }
}
