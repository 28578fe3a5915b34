//! DWARF call-site information: the `DW_TAG_call_site` entries of DWARF 5 and the
//! `DW_TAG_GNU_call_site` entries of the DWARF 4 GNU extension. For each call (or jump) an
//! optimizing compiler describes where it returns to, whether it is a tail call, and which
//! function it calls; each function says whether its list of calls is complete.
//!
//! Units are read one at a time, on first need (the unit covering a caller's return address, or a
//! function's entry), and what was read is kept per object: nothing here looks at the whole
//! program. Addresses are ELF virtual addresses of the image the DWARF describes.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use gimli::{AttributeValue, DebugInfoOffset, Reader as _};

use super::code_dies::{walk_code, CodeVisitor, Entry, UnitRef};
use super::dwarf::Dwarf;
use crate::reader::DwarfReader;

/// A parsed DWARF unit.
type Unit = gimli::Unit<DwarfReader>;

/// How many `DW_AT_specification` / `DW_AT_abstract_origin` links are followed to find a
/// function's name or flags (a guard against reference cycles in corrupt DWARF).
const MAX_ORIGIN_HOPS: usize = 4;

/// One call or jump described by a call-site entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// The address right after the call (or jump) instruction: `DW_AT_call_return_pc`
    /// (`DW_AT_low_pc` for `DW_TAG_GNU_call_site`).
    pub return_pc: u64,
    /// A tail call (`DW_AT_call_tail_call` / `DW_AT_GNU_tail_call`): the caller's frame is gone
    /// once the callee runs.
    pub tail_call: bool,
    /// Which function is called.
    pub target: CallTarget,
}

/// The function a call site calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallTarget {
    /// The entry address of a function defined in this image.
    Address(u64),
    /// A function only declared here: its linkage name (else its name), to be looked up in the
    /// symbol tables of every loaded object (a call through the PLT into a shared library).
    Name(String),
    /// Not known without running the caller (an indirect call), or not described.
    Unknown,
}

impl CallSite {
    /// The same call site with every address moved by `bias` (ELF to runtime addresses).
    pub fn relocated(&self, bias: u64) -> CallSite {
        CallSite {
            return_pc: self.return_pc.wrapping_add(bias),
            tail_call: self.tail_call,
            target: match &self.target {
                CallTarget::Address(address) => CallTarget::Address(address.wrapping_add(bias)),
                other => other.clone(),
            },
        }
    }
}

/// A function (a subprogram with code) of one unit and the tail calls made from its body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionCalls {
    /// The function claims its call sites are all described (`DW_AT_call_all_calls`,
    /// `DW_AT_call_all_tail_calls` or their GNU forms). Only such a function's tail calls can be
    /// trusted to be the only ways it leaves for another function.
    pub complete: bool,
    /// Return addresses of the tail-call sites in its body (inlined code included).
    pub tail_calls: Vec<u64>,
}

/// The call sites and functions of one unit.
#[derive(Clone, Debug, Default)]
pub struct UnitCallSites {
    /// Call sites by return address.
    pub sites: HashMap<u64, CallSite>,
    /// Functions by entry address.
    pub functions: HashMap<u64, FunctionCalls>,
    /// The code ranges of the functions (not inlined calls), with their entry addresses.
    pub code: Vec<(std::ops::Range<u64>, u64)>,
}

impl UnitCallSites {
    /// The entry address of the function (not an inlined call) whose code holds `address`: the
    /// one with the smallest range holding it.
    pub fn function_entry(&self, address: u64) -> Option<u64> {
        self.code
            .iter()
            .filter(|(range, _)| range.contains(&address))
            .min_by_key(|(range, _)| range.end - range.start)
            .map(|(_, entry)| *entry)
    }

    /// The tail-call sites of the function whose entry is `entry`: `None` when no function of this
    /// unit starts there; empty when its call list is not complete.
    pub fn tail_calls_of(&self, entry: u64) -> Option<Vec<CallSite>> {
        let function = self.functions.get(&entry)?;
        if !function.complete {
            return Some(Vec::new());
        }
        Some(
            function
                .tail_calls
                .iter()
                .filter_map(|pc| self.sites.get(pc).cloned())
                .collect(),
        )
    }
}

/// What an object has read of its call sites so far: parsed units, and what resolving references
/// between units needed.
#[derive(Default)]
pub struct CallSiteCache {
    /// Parsed units by their `.debug_info` offset.
    units: HashMap<usize, Arc<UnitCallSites>>,
    /// References into other units.
    foreign: ForeignUnits,
}

impl CallSiteCache {
    /// The call sites of the unit at `.debug_info` offset `offset`, if parsed already.
    pub fn parsed(&self, offset: usize) -> Option<Arc<UnitCallSites>> {
        self.units.get(&offset).cloned()
    }

    /// The call sites of `unit`, parsed now if they were not yet.
    pub fn unit(&mut self, unit: UnitRef<'_>) -> Arc<UnitCallSites> {
        let key = unit_key(unit.unit);
        if let Some(parsed) = self.units.get(&key) {
            return parsed.clone();
        }
        let parsed = Arc::new(parse_unit(unit, &mut self.foreign));
        self.units.insert(key, parsed.clone());
        parsed
    }
}

/// The key of a unit in the cache: its offset in its section.
fn unit_key(unit: &Unit) -> usize {
    unit.header.offset().0
}

/// The entry address of a function DIE: `DW_AT_low_pc`, else the start of the first non-empty
/// range of `DW_AT_ranges` (as gdb takes it). `None` without code, or for a tombstone (a function
/// the linker discarded).
pub fn entry_pc(unit: UnitRef<'_>, entry: &Entry) -> Option<u64> {
    if let Some(value) = entry.attr_value(gimli::DW_AT_low_pc) {
        return unit
            .attr_address(value)
            .ok()
            .flatten()
            .filter(|address| *address != 0 && !unit.is_tombstone_address(*address));
    }
    let value = entry.attr_value(gimli::DW_AT_ranges)?;
    let mut ranges = unit.attr_ranges(value).ok()??;
    while let Ok(Some(range)) = ranges.next() {
        if range.begin < range.end {
            return Some(range.begin).filter(|address| *address != 0);
        }
    }
    None
}

/// Reads every call site and function of `unit` (a unit of the main file), walking the DIEs
/// that can hold code ([`walk_code`]). Malformed entries are skipped; a unit that stops parsing
/// keeps what was read before.
fn parse_unit(unit: UnitRef<'_>, foreign: &mut ForeignUnits) -> UnitCallSites {
    let mut reader = UnitReader {
        place: Place {
            unit,
            file: MAIN_FILE,
        },
        parsed: UnitCallSites::default(),
        foreign,
        functions: Vec::new(),
    };
    walk_code(unit, &mut reader);
    reader.parsed
}

/// What reading one unit's call sites keeps while walking it.
struct UnitReader<'a, 'f> {
    place: Place<'a>,
    parsed: UnitCallSites,
    foreign: &'f mut ForeignUnits,
    /// The entry addresses of the enclosing subprograms, innermost last (None for one without
    /// code).
    functions: Vec<Option<u64>>,
}

impl CodeVisitor for UnitReader<'_, '_> {
    fn subprogram(&mut self, unit: UnitRef<'_>, entry: &Entry) -> bool {
        let entry_address = entry_pc(unit, entry);
        if let Some(address) = entry_address {
            let complete = is_complete(self.place, entry, self.foreign);
            self.parsed.functions.entry(address).or_default().complete |= complete;
            if let Ok(mut ranges) = super::units::die_ranges(unit.dwarf, unit.unit, entry) {
                while let Ok(Some(range)) = ranges.next() {
                    if range.begin < range.end {
                        self.parsed.code.push((range.begin..range.end, address));
                    }
                }
            }
        }
        self.functions.push(entry_address);
        true
    }

    fn subprogram_end(&mut self) {
        self.functions.pop();
    }

    fn call_site(&mut self, _unit: UnitRef<'_>, entry: &Entry) {
        let Some(site) = read_call_site(self.place, entry, self.foreign) else {
            return;
        };
        // A tail call inside inlined code belongs to the function it was inlined into.
        if let (true, Some(Some(function))) = (site.tail_call, self.functions.last()) {
            self.parsed
                .functions
                .entry(*function)
                .or_default()
                .tail_calls
                .push(site.return_pc);
        }
        self.parsed.sites.insert(site.return_pc, site);
    }
}

/// The attributes of one call-site DIE (`DW_TAG_call_site`, or GNU `DW_TAG_GNU_call_site`), as
/// every reader of call sites takes them.
#[derive(Clone, Debug)]
pub(crate) struct CallSiteAttributes {
    /// The address right after the call (or jump): `DW_AT_call_return_pc`, else `DW_AT_low_pc`
    /// (the GNU form), as gdb reads it.
    pub return_pc: Option<u64>,
    /// A tail call (`DW_AT_call_tail_call` / `DW_AT_GNU_tail_call`).
    pub tail_call: bool,
    /// The function called: `DW_AT_call_origin` (GNU: `DW_AT_abstract_origin`), a reference.
    pub origin: Option<AttributeValue<DwarfReader>>,
    /// Where an indirect call goes: `DW_AT_call_target` (GNU: `DW_AT_GNU_call_site_target`), an
    /// expression.
    pub target: Option<AttributeValue<DwarfReader>>,
}

impl CallSiteAttributes {
    /// The attributes of call-site DIE `entry` of `unit`.
    pub(crate) fn read(unit: UnitRef<'_>, entry: &Entry) -> Self {
        Self {
            return_pc: entry
                .attr_value(gimli::DW_AT_call_return_pc)
                .or_else(|| entry.attr_value(gimli::DW_AT_low_pc))
                .and_then(|value| unit.attr_address(value).ok().flatten()),
            tail_call: flag(entry, gimli::DW_AT_call_tail_call) || flag(entry, gimli::DW_AT_GNU_tail_call),
            origin: entry
                .attr_value(gimli::DW_AT_call_origin)
                .or_else(|| entry.attr_value(gimli::DW_AT_abstract_origin)),
            target: entry
                .attr_value(gimli::DW_AT_call_target)
                .or_else(|| entry.attr_value(gimli::DW_AT_GNU_call_site_target)),
        }
    }
}

/// Reads one call-site entry; `None` without a return address.
fn read_call_site(place: Place<'_>, entry: &Entry, foreign: &mut ForeignUnits) -> Option<CallSite> {
    let unit = place.unit;
    let attributes = CallSiteAttributes::read(unit, entry);
    let return_pc = attributes.return_pc?;
    let target = if let Some(origin) = attributes.origin {
        origin_target(place, origin, foreign)
    } else if let Some(expression) = attributes.target.and_then(|value| value.exprloc_value()) {
        constant_target(unit, expression)
    } else {
        CallTarget::Unknown
    };
    Some(CallSite {
        return_pc,
        tail_call: attributes.tail_call,
        target,
    })
}

/// The target named by a call site's `DW_AT_call_origin`: a declaration is looked up by name (it
/// is defined elsewhere, maybe in another object), a definition by its entry address. A DIE with
/// neither (an abstract instance) gives no target, as in gdb.
fn origin_target(
    place: Place<'_>,
    origin: AttributeValue<DwarfReader>,
    foreign: &mut ForeignUnits,
) -> CallTarget {
    foreign
        .with_die(place, origin, |place, entry, foreign| {
            let declaration =
                flag(entry, gimli::DW_AT_declaration) && !entry.has_attr(gimli::DW_AT_specification);
            if declaration {
                linked_string(
                    place,
                    entry,
                    foreign,
                    &[gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name],
                )
                .or_else(|| linked_string(place, entry, foreign, &[gimli::DW_AT_name]))
                .map_or(CallTarget::Unknown, CallTarget::Name)
            } else {
                entry_pc(place.unit, entry).map_or(CallTarget::Unknown, CallTarget::Address)
            }
        })
        .unwrap_or(CallTarget::Unknown)
}

/// The target of `DW_AT_call_target` when it is a constant address (`DW_OP_addr`,
/// `DW_OP_addrx`); anything computed from registers or memory is unknown here.
fn constant_target(unit: UnitRef<'_>, expression: gimli::Expression<DwarfReader>) -> CallTarget {
    let mut operations = expression.operations(unit.encoding());
    let first = operations.next();
    let rest = operations.next();
    match (first, rest) {
        (Ok(Some(gimli::Operation::Address { address })), Ok(None)) => CallTarget::Address(address),
        (Ok(Some(gimli::Operation::AddressIndex { index })), Ok(None)) => unit
            .address(index)
            .map_or(CallTarget::Unknown, CallTarget::Address),
        _ => CallTarget::Unknown,
    }
}

/// The flags by which a function claims its call sites are all described.
const COMPLETE_FLAGS: [gimli::DwAt; 4] = [
    gimli::DW_AT_call_all_calls,
    gimli::DW_AT_call_all_tail_calls,
    gimli::DW_AT_GNU_all_call_sites,
    gimli::DW_AT_GNU_all_tail_call_sites,
];

/// Whether a function claims complete call-site information, on itself or on a DIE it completes
/// (`DW_AT_specification`, `DW_AT_abstract_origin`).
fn is_complete(place: Place<'_>, entry: &Entry, foreign: &mut ForeignUnits) -> bool {
    fn walk(place: Place<'_>, entry: &Entry, foreign: &mut ForeignUnits, hops: usize) -> bool {
        if COMPLETE_FLAGS.iter().any(|name| flag(entry, *name)) {
            return true;
        }
        hops < MAX_ORIGIN_HOPS
            && origins(entry).into_iter().any(|origin| {
                foreign
                    .with_die(place, origin, |place, entry, foreign| {
                        walk(place, entry, foreign, hops + 1)
                    })
                    .unwrap_or(false)
            })
    }
    walk(place, entry, foreign, 0)
}

/// The first of the attributes `names` found as a string on `entry`, else on a DIE it completes.
fn linked_string(
    place: Place<'_>,
    entry: &Entry,
    foreign: &mut ForeignUnits,
    names: &[gimli::DwAt],
) -> Option<String> {
    fn walk(
        place: Place<'_>,
        entry: &Entry,
        foreign: &mut ForeignUnits,
        names: &[gimli::DwAt],
        hops: usize,
    ) -> Option<String> {
        for name in names {
            if let Some(value) = entry.attr_value(*name) {
                if let Ok(text) = place.unit.attr_string(value) {
                    return text.to_string_lossy().ok().map(|t| t.into_owned());
                }
            }
        }
        if hops >= MAX_ORIGIN_HOPS {
            return None;
        }
        origins(entry).into_iter().find_map(|origin| {
            foreign
                .with_die(place, origin, |place, entry, foreign| {
                    walk(place, entry, foreign, names, hops + 1)
                })
                .flatten()
        })
    }
    walk(place, entry, foreign, names, 0)
}

/// The DIEs `entry` completes: its `DW_AT_specification` and `DW_AT_abstract_origin`.
fn origins(entry: &Entry) -> Vec<AttributeValue<DwarfReader>> {
    [gimli::DW_AT_specification, gimli::DW_AT_abstract_origin]
        .into_iter()
        .filter_map(|name| entry.attr_value(name))
        .collect()
}

/// Whether the flag attribute `name` is present and true.
fn flag(entry: &Entry, name: gimli::DwAt) -> bool {
    matches!(entry.attr_value(name), Some(AttributeValue::Flag(true)))
}

/// Units other than the one being parsed, reached through references (`DW_FORM_ref_addr` into
/// another unit, `DW_FORM_ref_sup` / `DW_FORM_GNU_ref_alt` into the dwz supplementary file),
/// parsed on first use and kept.
#[derive(Default)]
struct ForeignUnits {
    /// Start offsets of the units of the main file, then of the supplementary file, sorted;
    /// built on first need.
    starts: [Option<Vec<usize>>; 2],
    /// Parsed units by (file, start offset).
    units: HashMap<(FileIndex, usize), Arc<Unit>>,
}

/// Which file a DIE is in: [`MAIN_FILE`] or [`SUPPLEMENTARY_FILE`].
type FileIndex = usize;
/// The image the object's DWARF is in.
const MAIN_FILE: FileIndex = 0;
/// Its dwz supplementary file.
const SUPPLEMENTARY_FILE: FileIndex = 1;

/// A unit, the DWARF it belongs to, and which file that is.
#[derive(Clone, Copy)]
struct Place<'a> {
    unit: UnitRef<'a>,
    file: FileIndex,
}

impl ForeignUnits {
    /// Runs `visit` on the DIE that the reference `value`, found in `place`, points to. `None`
    /// when the value is not a DIE reference or leads nowhere valid.
    fn with_die<T>(
        &mut self,
        place: Place<'_>,
        value: AttributeValue<DwarfReader>,
        visit: impl FnOnce(Place<'_>, &Entry, &mut ForeignUnits) -> T,
    ) -> Option<T> {
        let unit = place.unit;
        let (file, dwarf, offset): (FileIndex, &Dwarf, DebugInfoOffset) = match value {
            AttributeValue::UnitRef(offset) => {
                let entry = unit.entry(offset).ok()?;
                return Some(visit(place, &entry, self));
            }
            AttributeValue::DebugInfoRef(offset) => {
                if let Some(local) = offset.to_unit_offset(&unit.header) {
                    let entry = unit.entry(local).ok()?;
                    return Some(visit(place, &entry, self));
                }
                (place.file, unit.dwarf, offset)
            }
            // Only the main file refers into the supplementary one.
            AttributeValue::DebugInfoRefSup(offset) if place.file == MAIN_FILE => {
                (SUPPLEMENTARY_FILE, unit.dwarf.sup()?, offset)
            }
            _ => return None,
        };
        let other = self.unit_containing(dwarf, file, offset)?;
        let local = offset.to_unit_offset(&other.header)?;
        let other_place = Place {
            unit: UnitRef::new(dwarf, &other),
            file,
        };
        let entry = other_place.unit.entry(local).ok()?;
        Some(visit(other_place, &entry, self))
    }

    /// The unit of `dwarf` (file `file`) whose range holds `offset`, parsed once.
    fn unit_containing(
        &mut self,
        dwarf: &Dwarf,
        file: FileIndex,
        offset: DebugInfoOffset,
    ) -> Option<Arc<Unit>> {
        let starts = self.starts.get_mut(file)?.get_or_insert_with(|| {
            let mut starts = Vec::new();
            let mut headers = dwarf.units();
            while let Ok(Some(header)) = headers.next() {
                if let Some(start) = header.debug_info_offset() {
                    starts.push(start.0);
                }
            }
            starts.sort_unstable();
            starts
        });
        let start = *starts.get(starts.partition_point(|s| *s <= offset.0).checked_sub(1)?)?;
        if let Some(unit) = self.units.get(&(file, start)) {
            return Some(unit.clone());
        }
        let header = dwarf.unit_header(DebugInfoOffset(start)).ok()?;
        let unit = Arc::new(dwarf.unit(header).ok()?);
        self.units.insert((file, start), unit.clone());
        Some(unit)
    }
}
