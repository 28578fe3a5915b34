//! The units of a DWARF image opened, and their code ranges read, so that a corrupt part costs
//! only what depends on it: a unit whose line program is unreadable keeps its DIEs, a DIE whose
//! code range overflows has none, and what would make addr2line refuse the whole image is cut
//! away. Each defect is recorded in the object's [`DebugProblems`].

use super::dwarf::Dwarf;
use super::problems::{lost, DebugProblems};
use crate::reader::DwarfReader;

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
