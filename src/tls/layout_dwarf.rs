//! Layout facts from DWARF: the member offsets of glibc's `struct link_map`, `struct rtld_global`,
//! `struct dtv_slotinfo_list` and `struct dtv_slotinfo`, as ld.so's debug information describes
//! them. Location lists, frames and the like are not read (nor inflated).

use std::collections::HashMap;

use gimli::Reader as _;
use object::{Object as _, ObjectSection as _};

use super::layout::LayoutFields;
use crate::reader::{section_reader, DwarfReader, SharedBytes};

/// A structure type to look for, and the members it must have to be the right one.
struct WantedStruct {
    /// Its tag name (`struct NAME`).
    name: &'static str,
    /// Members whose offsets are wanted; a definition is accepted only if it has all of them
    /// (`<link.h>`'s public, shorter `struct link_map` has no `l_tls_modid`).
    members: &'static [&'static str],
}

/// The structures the resolver needs.
const WANTED: [WantedStruct; 4] = [
    WantedStruct {
        name: "link_map",
        members: &["l_tls_offset", "l_tls_modid"],
    },
    WantedStruct {
        name: "rtld_global",
        members: &["_dl_tls_dtv_slotinfo_list"],
    },
    WantedStruct {
        name: "dtv_slotinfo_list",
        members: &["len", "next", "slotinfo"],
    },
    WantedStruct {
        name: "dtv_slotinfo",
        members: &["gen", "map"],
    },
];

/// A structure definition found: its size and its members' offsets.
#[derive(Clone, Debug, Default)]
struct FoundStruct {
    byte_size: Option<u64>,
    members: HashMap<String, u64>,
}

/// Reads the layout facts from the DWARF in the ELF image `bytes` (ld.so's debug file). Facts
/// not described there are `None`; unreadable or corrupt DWARF gives no facts.
pub(crate) fn layout_from_dwarf(bytes: &SharedBytes) -> LayoutFields {
    let Some(dwarf) = load_type_sections(bytes) else {
        return LayoutFields::default();
    };
    let found = find_structs(&dwarf);
    let member = |name: &str, member: &str| found.get(name).and_then(|s| s.members.get(member).copied());
    LayoutFields {
        l_tls_offset: member("link_map", "l_tls_offset"),
        l_tls_modid: member("link_map", "l_tls_modid"),
        list_in_rtld_global: member("rtld_global", "_dl_tls_dtv_slotinfo_list"),
        list_len: member("dtv_slotinfo_list", "len"),
        list_next: member("dtv_slotinfo_list", "next"),
        list_slotinfo: member("dtv_slotinfo_list", "slotinfo"),
        entry_size: found.get("dtv_slotinfo").and_then(|s| s.byte_size),
        entry_gen: member("dtv_slotinfo", "gen"),
        entry_map: member("dtv_slotinfo", "map"),
    }
}

/// The sections needed to walk units and name types; the others are left empty (not inflated).
fn load_type_sections(bytes: &SharedBytes) -> Option<gimli::Dwarf<DwarfReader>> {
    let file = object::read::elf::ElfFile64::<object::Endianness>::parse(&bytes[..]).ok()?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    // gimli parses a unit's line program header with the unit, so .debug_line is needed too.
    let wanted = [
        gimli::SectionId::DebugInfo,
        gimli::SectionId::DebugAbbrev,
        gimli::SectionId::DebugStr,
        gimli::SectionId::DebugStrOffsets,
        gimli::SectionId::DebugLine,
        gimli::SectionId::DebugLineStr,
        gimli::SectionId::DebugAddr,
        gimli::SectionId::DebugRngLists,
        gimli::SectionId::DebugRanges,
    ];
    let dwarf = gimli::Dwarf::load(|id| -> Result<DwarfReader, ()> {
        let empty = section_reader(bytes, 0..0, endian);
        if !wanted.contains(&id) {
            return Ok(empty);
        }
        let Some(section) = file.section_by_name(id.name()) else {
            return Ok(empty);
        };
        let Ok(compressed) = section.compressed_data() else {
            return Ok(empty);
        };
        if compressed.format == object::CompressionFormat::None {
            let in_file = section.file_range().and_then(|(offset, size)| {
                let start = usize::try_from(offset).ok()?;
                Some(start..start.checked_add(usize::try_from(size).ok()?)?)
            });
            // section_reader gives an empty reader for a range past the end of the file.
            return Ok(in_file.map_or(empty, |range| section_reader(bytes, range, endian)));
        }
        match compressed.decompress() {
            Ok(inflated) => {
                let owned = SharedBytes::from_vec(inflated.into_owned());
                let len = owned.len();
                Ok(section_reader(&owned, 0..len, endian))
            }
            Err(_) => Ok(empty),
        }
    })
    .ok()?;
    Some(dwarf)
}

/// Walks every unit until each wanted structure has been found once (a unit that fails to
/// parse is skipped).
fn find_structs(dwarf: &gimli::Dwarf<DwarfReader>) -> HashMap<&'static str, FoundStruct> {
    let mut found = HashMap::new();
    let mut headers = dwarf.units();
    while let Ok(Some(header)) = headers.next() {
        if found.len() == WANTED.len() {
            break;
        }
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        // A unit whose entries stop parsing keeps what was complete before the error.
        let _ = scan_unit(dwarf, &unit, &mut found);
    }
    found
}

/// Finds the wanted structures (not yet in `found`) defined in one unit.
fn scan_unit(
    dwarf: &gimli::Dwarf<DwarfReader>,
    unit: &gimli::Unit<DwarfReader>,
    found: &mut HashMap<&'static str, FoundStruct>,
) -> gimli::Result<()> {
    let mut entries = unit.entries();
    // The structure being read: which one, its depth, what was collected so far.
    let mut current: Option<(&'static WantedStruct, isize, FoundStruct)> = None;
    while let Some(entry) = entries.next_dfs()? {
        let depth = entry.depth();
        if let Some((wanted, struct_depth, collected)) = current.take() {
            if depth > struct_depth {
                if depth == struct_depth + 1 && entry.tag() == gimli::DW_TAG_member {
                    if let (Some(name), Some(offset)) =
                        (entry_name(dwarf, unit, entry), member_offset(unit, entry))
                    {
                        let mut collected = collected;
                        collected.members.insert(name, offset);
                        current = Some((wanted, struct_depth, collected));
                        continue;
                    }
                }
                current = Some((wanted, struct_depth, collected));
                continue;
            }
            accept(wanted, collected, found);
        }
        if entry.tag() != gimli::DW_TAG_structure_type
            || entry.has_attr(gimli::DW_AT_declaration)
            || !entry.has_children()
        {
            continue;
        }
        let Some(name) = entry_name(dwarf, unit, entry) else {
            continue;
        };
        if let Some(wanted) = WANTED
            .iter()
            .find(|w| w.name == name && !found.contains_key(w.name))
        {
            let byte_size = entry
                .attr(gimli::DW_AT_byte_size)
                .and_then(|attr| attr.udata_value());
            current = Some((
                wanted,
                depth,
                FoundStruct {
                    byte_size,
                    members: HashMap::new(),
                },
            ));
        }
    }
    if let Some((wanted, _, collected)) = current {
        accept(wanted, collected, found);
    }
    Ok(())
}

/// Records a structure definition if it has every wanted member.
fn accept(
    wanted: &'static WantedStruct,
    collected: FoundStruct,
    found: &mut HashMap<&'static str, FoundStruct>,
) {
    if wanted.members.iter().all(|m| collected.members.contains_key(*m)) {
        found.entry(wanted.name).or_insert(collected);
    }
}

/// An entry's `DW_AT_name`.
fn entry_name(
    dwarf: &gimli::Dwarf<DwarfReader>,
    unit: &gimli::Unit<DwarfReader>,
    entry: &gimli::DebuggingInformationEntry<DwarfReader>,
) -> Option<String> {
    let value = entry.attr_value(gimli::DW_AT_name)?;
    let name = dwarf.attr_string(unit, value).ok()?;
    name.to_string_lossy().ok().map(|s| s.into_owned())
}

/// A member's byte offset: `DW_AT_data_member_location` as a constant, or as the expression
/// `DW_OP_plus_uconst N` older compilers emit.
fn member_offset(
    unit: &gimli::Unit<DwarfReader>,
    entry: &gimli::DebuggingInformationEntry<DwarfReader>,
) -> Option<u64> {
    let attr = entry.attr(gimli::DW_AT_data_member_location)?;
    if let Some(offset) = attr.udata_value() {
        return Some(offset);
    }
    let expression = attr.exprloc_value()?;
    let mut operations = expression.operations(unit.encoding());
    match operations.next().ok()?? {
        gimli::Operation::PlusConstant { value } => Some(value),
        _ => None,
    }
}
