//! DWARF sections of an ELF image as [`DwarfReader`]s: uncompressed sections are read in place from
//! the mapped file; compressed ones (`SHF_COMPRESSED` or `.zdebug_*`) are inflated into their own
//! buffer, one per section, the large ones on two threads at once (libc's debug file inflates
//! about as fast again that way).

use std::collections::HashMap;

use object::{Object as _, ObjectSection as _};

use super::elf::{parse_elf, ElfFile};
use super::problems::{lost, DebugProblems};
use super::DebugInfoError;
use crate::reader::{section_reader, DwarfReader, SharedBytes};

/// The parsed DWARF of one image.
pub type Dwarf = gimli::Dwarf<DwarfReader>;

/// Below this many compressed bytes in all, sections are inflated on the calling thread.
const PARALLEL_INFLATE_THRESHOLD: usize = 256 << 10;

/// Loads every DWARF section gimli knows from the ELF image `bytes` (sections it lacks are empty).
/// A section that cannot be read (compressed data that does not inflate, bytes past the end of
/// the file) is left empty and recorded in `problems`. `name` labels errors; the image must be
/// an ELF file.
pub fn load_dwarf(
    bytes: &SharedBytes,
    name: &str,
    problems: &DebugProblems,
) -> Result<Dwarf, DebugInfoError> {
    let file = parse_elf(bytes, name)?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let inflated = inflate_sections(&file, problems);
    let dwarf = gimli::Dwarf::load(|id: gimli::SectionId| -> Result<DwarfReader, DebugInfoError> {
        let empty = || section_reader(bytes, 0..0, endian);
        if let Some(found) = inflated.get(id.name()) {
            return Ok(match found {
                Some(owned) => section_reader(owned, 0..owned.len(), endian),
                None => empty(),
            });
        }
        let Some(section) = file.section_by_name(id.name()) else {
            return Ok(empty());
        };
        // In place: the section's bytes are a sub-slice of the mapped file.
        let Some((offset, size)) = section.file_range() else {
            return Ok(empty());
        };
        let (Ok(start), Ok(len)) = (usize::try_from(offset), usize::try_from(size)) else {
            return Ok(empty());
        };
        match start.checked_add(len).filter(|end| *end <= bytes.len()) {
            Some(end) => Ok(section_reader(bytes, start..end, endian)),
            None => {
                problems.record(
                    id.name(),
                    &"it extends past the end of the file",
                    lost_without(id.name()),
                );
                Ok(empty())
            }
        }
    })?;
    check_string_sections(&dwarf, problems);
    Ok(dwarf)
}

/// Records a string section whose last string is not terminated: every string ends with a NUL,
/// so such a section was overwritten or cut, and names read from it may be wrong.
fn check_string_sections(dwarf: &Dwarf, problems: &DebugProblems) {
    use gimli::Section as _;
    let sections = [
        (".debug_str", dwarf.debug_str.reader()),
        (".debug_line_str", dwarf.debug_line_str.reader()),
    ];
    for (name, reader) in sections {
        if reader.bytes().last().is_some_and(|last| *last != 0) {
            problems.record(name, &"its last string is not terminated", lost::NAMES);
        }
    }
}

/// What is lost when the DWARF section `section` cannot be read at all.
fn lost_without(section: &str) -> &'static str {
    match section {
        ".debug_info" | ".debug_abbrev" => lost::ALL,
        ".debug_line" => lost::LINES,
        ".debug_aranges" => lost::INDEX,
        ".debug_str" | ".debug_line_str" | ".debug_str_offsets" => lost::NAMES,
        _ => lost::UNITS,
    }
}

/// A parsed unit of a [`Dwarf`].
pub(crate) type DwarfUnit = gimli::Unit<DwarfReader>;

/// Parses the unit of `header`. A unit whose line program is unreadable is parsed without it
/// (its DIEs, hence its functions and variables, stay usable); a defect is recorded in
/// `problems`, once per section. `None` when the unit's DIEs cannot be read.
pub(crate) fn open_unit(
    dwarf: &Dwarf,
    header: gimli::UnitHeader<DwarfReader>,
    problems: &DebugProblems,
) -> Option<DwarfUnit> {
    let error = match dwarf.unit(header.clone()) {
        Ok(unit) => return Some(unit),
        Err(error) => error,
    };
    if let Err(abbrev_error) = dwarf.abbreviations(&header) {
        problems.record(".debug_abbrev", &abbrev_error, lost::UNITS);
        return None;
    }
    match unit_without_lines(dwarf, header) {
        Ok(unit) => {
            problems.record(".debug_line", &error, lost::LINES);
            Some(unit)
        }
        Err(die_error) => {
            problems.record(".debug_info", &die_error, lost::UNITS);
            None
        }
    }
}

/// The unit of `header` as [`gimli::Unit::new`] parses it, but without its line program: the
/// root DIE's names, bases and low pc.
fn unit_without_lines(dwarf: &Dwarf, header: gimli::UnitHeader<DwarfReader>) -> gimli::Result<DwarfUnit> {
    let abbreviations = dwarf.abbreviations(&header)?;
    let encoding = header.encoding();
    let dwo_id = match header.type_() {
        gimli::UnitType::Skeleton(id) | gimli::UnitType::SplitCompilation(id) => Some(id),
        _ => None,
    };
    let mut unit = gimli::Unit {
        header,
        abbreviations,
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            encoding,
            dwarf.file_type,
        ),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(encoding, dwarf.file_type),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(encoding, dwarf.file_type),
        line_program: None,
        dwo_id,
    };
    let (mut name, mut comp_dir, mut low_pc) = (None, None, None);
    {
        let mut cursor = unit.header.entries(&unit.abbreviations);
        let root = cursor.next_dfs()?.ok_or(gimli::Error::MissingUnitDie)?;
        for attr in root.attrs() {
            match (attr.name(), attr.value()) {
                (gimli::DW_AT_name, value) => name = Some(value),
                (gimli::DW_AT_comp_dir, value) => comp_dir = Some(value),
                (gimli::DW_AT_low_pc, value) => low_pc = Some(value),
                (gimli::DW_AT_str_offsets_base, gimli::AttributeValue::DebugStrOffsetsBase(base)) => {
                    unit.str_offsets_base = base;
                }
                (
                    gimli::DW_AT_addr_base | gimli::DW_AT_GNU_addr_base,
                    gimli::AttributeValue::DebugAddrBase(base),
                ) => unit.addr_base = base,
                (gimli::DW_AT_loclists_base, gimli::AttributeValue::DebugLocListsBase(base)) => {
                    unit.loclists_base = base;
                }
                (
                    gimli::DW_AT_rnglists_base | gimli::DW_AT_GNU_ranges_base,
                    gimli::AttributeValue::DebugRngListsBase(base),
                ) => unit.rnglists_base = base,
                _ => {}
            }
        }
    }
    unit.name = name.and_then(|value| dwarf.attr_string(&unit, value).ok());
    unit.comp_dir = comp_dir.and_then(|value| dwarf.attr_string(&unit, value).ok());
    if let Some(value) = low_pc {
        if let Some(address) = dwarf.attr_address(&unit, value)? {
            unit.low_pc = address;
        }
    }
    Ok(unit)
}

/// The code ranges of `entry`, a DIE of `unit`, as [`gimli::Dwarf::die_ranges`] reads them,
/// except that a `DW_AT_high_pc` size running past the end of the address space is an error
/// rather than an overflow (gimli adds the size unchecked: a panic in debug builds, a range
/// that wraps around in release builds).
pub(crate) fn die_ranges(
    dwarf: &Dwarf,
    unit: &DwarfUnit,
    entry: &gimli::DebuggingInformationEntry<DwarfReader>,
) -> gimli::Result<gimli::RangeIter<DwarfReader>> {
    if let (Some(gimli::AttributeValue::Udata(size)), Some(low_pc)) = (
        entry.attr_value(gimli::DW_AT_high_pc),
        entry.attr_value(gimli::DW_AT_low_pc),
    ) {
        if let Some(begin) = dwarf.attr_address(unit, low_pc)? {
            if begin.checked_add(size).is_none() {
                return Err(gimli::Error::AddressOverflow);
            }
        }
    }
    dwarf.die_ranges(unit, entry)
}

/// The code ranges of `unit` (its root DIE's), checked as [`die_ranges`] checks them.
pub(crate) fn unit_ranges(dwarf: &Dwarf, unit: &DwarfUnit) -> gimli::Result<gimli::RangeIter<DwarfReader>> {
    let mut entries = unit.entries();
    if let Some(root) = entries.next_dfs()? {
        // Checked on the root alone; gimli then reads the ranges the same way.
        die_ranges(dwarf, unit, root)?;
    }
    dwarf.unit_ranges(unit)
}

/// Drops from `dwarf` what would make addr2line refuse the whole of it, recording each defect
/// in `problems`: an unreadable `.debug_aranges` (the units' own ranges serve instead), and
/// `.debug_info` from the first unit whose header or address ranges cannot be read (the units
/// before it stay usable; offsets into the section keep their meaning). Returns whether
/// anything was dropped. Only called once indexing the whole failed: its cost is not paid by
/// sound DWARF.
pub(crate) fn drop_unreadable_parts(dwarf: &mut Dwarf, problems: &DebugProblems) -> bool {
    use gimli::{Reader as _, Section as _};
    let mut dropped = false;
    let mut headers = dwarf.debug_aranges.headers();
    loop {
        match headers.next() {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(error) => {
                problems.record(".debug_aranges", &error, lost::INDEX);
                let mut empty = dwarf.debug_aranges.reader().clone();
                if empty.truncate(0).is_ok() {
                    dwarf.debug_aranges = gimli::DebugAranges::from(empty);
                    dropped = true;
                }
                break;
            }
        }
    }
    let mut units = dwarf.units();
    let mut end = 0usize;
    let bad = loop {
        let header = match units.next() {
            Ok(Some(header)) => header,
            Ok(None) => break None,
            Err(error) => break Some((".debug_info", error)),
        };
        let start = header.debug_info_offset().map_or(end, |o| o.0);
        let next = start.saturating_add(header.length_including_self());
        let ranges_section = if header.version() >= 5 {
            ".debug_rnglists"
        } else {
            ".debug_ranges"
        };
        // A unit that cannot be parsed is skipped by every reader; one whose ranges cannot be
        // read makes addr2line give up on all of them.
        if let Ok(unit) = dwarf.unit(header) {
            if let Err(error) = unit_ranges_readable(dwarf, &unit) {
                end = start;
                break Some((ranges_section, error));
            }
        }
        end = next;
    };
    if let Some((section, cause)) = bad {
        problems.record(
            section,
            &format_args!("{cause}, in the unit at .debug_info offset {end:#x}"),
            lost::UNITS,
        );
        let mut kept = dwarf.debug_info.reader().clone();
        if kept.truncate(end).is_ok() {
            dwarf.debug_info = gimli::DebugInfo::from(kept);
            dropped = true;
        }
    }
    dropped
}

/// Reads every address range of `unit`, failing at the first unreadable one.
fn unit_ranges_readable(dwarf: &Dwarf, unit: &DwarfUnit) -> gimli::Result<()> {
    let mut ranges = unit_ranges(dwarf, unit)?;
    while ranges.next()?.is_some() {}
    Ok(())
}

/// The names of the sections gimli loads.
fn dwarf_section_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    // Asking gimli which sections it loads keeps this list in step with it.
    let _ = gimli::DwarfSections::load(|id: gimli::SectionId| -> Result<(), ()> {
        names.push(id.name());
        Ok(())
    });
    names
}

/// The inflated bytes of a compressed section; `None` when they could not be inflated.
type Inflated = Option<SharedBytes>;

/// Inflates the compressed DWARF sections of `file`, by section name; large ones on two threads.
/// A section that does not inflate maps to `None` and is recorded in `problems`.
fn inflate_sections(file: &ElfFile<'_>, problems: &DebugProblems) -> HashMap<&'static str, Inflated> {
    let mut out = HashMap::new();
    let mut compressed = Vec::new();
    for id in dwarf_section_names() {
        let Some(section) = file.section_by_name(id) else {
            continue;
        };
        match section.compressed_data() {
            Ok(data) if data.format == object::CompressionFormat::None => {}
            Ok(data) => compressed.push((id, data)),
            Err(e) => {
                problems.record(id, &e, lost_without(id));
                out.insert(id, None);
            }
        }
    }
    let inflate =
        |(id, data): &(&'static str, object::CompressedData<'_>)| match crate::reader::inflate(*data) {
            Ok(bytes) => (*id, Some(SharedBytes::from_vec(bytes.into_owned()))),
            Err(e) => {
                problems.record(id, &e, lost_without(id));
                (*id, None)
            }
        };
    let total: usize = compressed.iter().map(|(_, data)| data.data.len()).sum();
    if total < PARALLEL_INFLATE_THRESHOLD || compressed.len() < 2 {
        out.extend(compressed.iter().map(inflate));
        return out;
    }
    // Largest first, each to the thread with less to do so far.
    compressed.sort_by_key(|(_, data)| std::cmp::Reverse(data.data.len()));
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let (mut my_load, mut their_load) = (0usize, 0usize);
    for section in compressed {
        if my_load <= their_load {
            my_load += section.1.data.len();
            mine.push(section);
        } else {
            their_load += section.1.data.len();
            theirs.push(section);
        }
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(|| theirs.iter().map(inflate).collect::<Vec<_>>());
        out.extend(mine.iter().map(inflate));
        match other.join() {
            Ok(result) => out.extend(result),
            // The other thread panicked (a bug): inflate its share here.
            Err(_) => out.extend(theirs.iter().map(inflate)),
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::{Reader as _, Section as _};

    #[test]
    fn loads_compressed_libc_debug_info() {
        // libc6-dbg ships SHF_COMPRESSED sections: the reader must see the inflated bytes.
        let maps = super::super::maps::read_maps(std::process::id() as i32).unwrap();
        let libc = maps
            .iter()
            .filter_map(|m| m.file_path())
            .find(|p| p.contains("libc.so.6"))
            .unwrap();
        let bytes = SharedBytes::map_file(std::path::Path::new(libc)).unwrap();
        let facts = super::super::elf::ElfFacts::parse(&bytes, libc).unwrap();
        let debug = super::super::debuglink::find_debug_file(
            std::path::Path::new(libc),
            &facts,
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("libc6-dbg is installed");
        let file = parse_elf(&debug.bytes, "libc debug").unwrap();
        let section = file.section_by_name(".debug_info").unwrap();
        let on_disk = section.compressed_data().unwrap();
        assert_ne!(
            on_disk.format,
            object::CompressionFormat::None,
            "libc6-dbg sections are compressed"
        );
        let dwarf = load_dwarf(&debug.bytes, "libc debug", &DebugProblems::default()).unwrap();
        assert_eq!(dwarf.debug_info.reader().len() as u64, on_disk.uncompressed_size);
        assert!(on_disk.uncompressed_size > on_disk.data.len() as u64);
        // Every compressed section is inflated (the large ones on another thread) to its size.
        for (name, len) in [
            (".debug_line", dwarf.debug_line.reader().len()),
            (".debug_abbrev", dwarf.debug_abbrev.reader().len()),
            (".debug_aranges", dwarf.debug_aranges.reader().len()),
        ] {
            let data = file.section_by_name(name).unwrap().compressed_data().unwrap();
            assert_ne!(data.format, object::CompressionFormat::None, "{name}");
            assert_eq!(len as u64, data.uncompressed_size, "{name}");
        }
        let mut units = dwarf.units();
        assert!(units.next().unwrap().is_some());
    }

    #[test]
    fn not_elf_is_an_error() {
        assert!(matches!(
            load_dwarf(
                &SharedBytes::from_vec(b"nope".to_vec()),
                "junk",
                &DebugProblems::default()
            ),
            Err(DebugInfoError::Elf { .. })
        ));
    }
}
