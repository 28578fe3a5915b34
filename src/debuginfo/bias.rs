//! The load bias of a mapped object: the difference between where its segments are mapped and
//! the virtual addresses its ELF headers name.

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
    fn the_page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
    }
}
