//! The compilation (and type) units of one object's DWARF: their headers read once before the
//! target stops, each unit parsed on first use, the units covering each code address, and the
//! functions of a unit by address range (indexed on first use).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use gimli::{DebugInfoOffset, DebugTypeSignature, UnitHeader, UnitOffset, UnitType};

use crate::debuginfo::{DebugProblems, Dwarf};
use crate::reader::DwarfReader;

/// A parsed unit.
pub(crate) type Unit = gimli::Unit<DwarfReader>;
/// A parsed DIE.
pub(crate) type Entry = gimli::DebuggingInformationEntry<DwarfReader>;

/// Where a DIE is: the index of its unit in the object's [`UnitTable`] and its offset in the unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DieRef {
    /// Index of the unit in the object's unit table.
    pub(crate) unit: usize,
    /// Offset of the DIE in its unit.
    pub(crate) offset: UnitOffset<usize>,
}

/// Which file and section a unit is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitSection {
    /// `.debug_info` of the object's DWARF image.
    Info,
    /// `.debug_types` (DWARF 4 type units).
    Types,
    /// `.debug_info` of the dwz supplementary file.
    Supplement,
}

/// A function's code range in a unit (ELF addresses).
#[derive(Clone, Debug)]
pub(crate) struct FunctionRange {
    /// The addresses.
    pub range: Range<u64>,
    /// The `DW_TAG_subprogram` DIE.
    pub die: UnitOffset<usize>,
}

/// One unit: its header, and what is parsed from it on first use.
struct UnitSlot {
    header: UnitHeader<DwarfReader>,
    section: UnitSection,
    unit: OnceLock<Option<Arc<Unit>>>,
    functions: OnceLock<Vec<FunctionRange>>,
}

/// Every unit of an object's DWARF (and of its dwz supplement).
pub(crate) struct UnitTable {
    /// `.debug_info` units by ascending offset, then `.debug_types` units, then the supplement's.
    slots: Vec<UnitSlot>,
    /// How many of `slots` are `.debug_info` units (they come first).
    info_count: usize,
    /// Where the supplement's units start in `slots`.
    sup_start: usize,
    /// Code ranges (ELF addresses) and the unit covering each, sorted by start.
    by_address: Vec<(Range<u64>, usize)>,
    /// Type units by signature: the unit and the offset of its type DIE.
    signatures: HashMap<u64, DieRef>,
    /// Where defects met while parsing units are recorded.
    problems: Arc<DebugProblems>,
}

impl UnitTable {
    /// Reads every unit header and the code ranges of the units (from `.debug_aranges`, or from
    /// each unit's root DIE when that section does not cover it). Units that cannot be read are
    /// left out (and recorded in `problems`); the error only says the whole table could not be
    /// built.
    pub fn build(dwarf: &Dwarf, problems: Arc<DebugProblems>) -> Result<Self, gimli::Error> {
        let mut slots = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next()? {
            slots.push(UnitSlot::new(header, UnitSection::Info));
        }
        let info_count = slots.len();
        let mut type_headers = dwarf.debug_types.units();
        while let Ok(Some(header)) = type_headers.next() {
            slots.push(UnitSlot::new(header, UnitSection::Types));
        }
        let sup_start = slots.len();
        if let Some(sup) = dwarf.sup() {
            let mut headers = sup.units();
            while let Ok(Some(header)) = headers.next() {
                slots.push(UnitSlot::new(header, UnitSection::Supplement));
            }
        }
        let mut table = Self {
            slots,
            info_count,
            sup_start,
            by_address: Vec::new(),
            signatures: HashMap::new(),
            problems,
        };
        for (index, slot) in table.slots.iter().enumerate() {
            if let UnitType::Type {
                type_signature,
                type_offset,
            }
            | UnitType::SplitType {
                type_signature,
                type_offset,
            } = slot.header.type_()
            {
                table.signatures.insert(
                    type_signature.0,
                    DieRef {
                        unit: index,
                        offset: type_offset,
                    },
                );
            }
        }
        table.index_addresses(dwarf);
        Ok(table)
    }

    /// Fills `by_address` from `.debug_aranges`, then from the root DIE of every compilation unit
    /// the aranges did not mention.
    fn index_addresses(&mut self, dwarf: &Dwarf) {
        let mut covered = vec![false; self.info_count];
        let mut ranges = Vec::new();
        let mut headers = dwarf.debug_aranges.headers();
        while let Ok(Some(header)) = headers.next() {
            let Some(unit) = self.info_unit_at(header.debug_info_offset()) else {
                continue;
            };
            if let Some(flag) = covered.get_mut(unit) {
                *flag = true;
            }
            let mut entries = header.entries();
            while let Ok(Some(entry)) = entries.next() {
                let range = entry.range();
                if range.begin < range.end {
                    ranges.push((range.begin..range.end, unit));
                }
            }
        }
        for (unit, done) in covered.iter().enumerate() {
            if *done || !self.is_compilation_unit(unit) {
                continue;
            }
            let Some(parsed) = self.unit(dwarf, unit) else {
                continue;
            };
            let Ok(mut iter) = crate::debuginfo::unit_ranges(dwarf, &parsed) else {
                continue;
            };
            while let Ok(Some(range)) = iter.next() {
                if range.begin < range.end {
                    ranges.push((range.begin..range.end, unit));
                }
            }
        }
        ranges.sort_by_key(|(range, _)| (range.start, range.end));
        self.by_address = ranges;
    }

    /// Whether unit `index` is a compilation unit (not a type unit).
    fn is_compilation_unit(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(|slot| {
            matches!(
                slot.header.type_(),
                UnitType::Compilation
                    | UnitType::Partial
                    | UnitType::Skeleton(_)
                    | UnitType::SplitCompilation(_)
            )
        })
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The header of unit `index` (read before the stop; parsing nothing more).
    pub fn header(&self, index: usize) -> Option<&UnitHeader<DwarfReader>> {
        self.slots.get(index).map(|slot| &slot.header)
    }

    /// Which section unit `index` is in.
    pub fn section(&self, index: usize) -> Option<UnitSection> {
        self.slots.get(index).map(|slot| slot.section)
    }

    /// The DWARF that unit `index` belongs to (the object's, or its supplement's).
    pub fn dwarf_of<'d>(&self, dwarf: &'d Dwarf, index: usize) -> &'d Dwarf {
        match self.section(index) {
            Some(UnitSection::Supplement) => dwarf.sup().unwrap_or(dwarf),
            _ => dwarf,
        }
    }

    /// Unit `index`, parsed on first use (without its line program when that is unreadable);
    /// `None` when it cannot be parsed.
    pub fn unit(&self, dwarf: &Dwarf, index: usize) -> Option<Arc<Unit>> {
        let slot = self.slots.get(index)?;
        slot.unit
            .get_or_init(|| {
                let owner = self.dwarf_of(dwarf, index);
                crate::debuginfo::open_unit(owner, slot.header.clone(), &self.problems).map(Arc::new)
            })
            .clone()
    }

    /// The `.debug_info` unit containing section offset `offset`.
    pub fn info_unit_at(&self, offset: DebugInfoOffset<usize>) -> Option<usize> {
        let infos = self.slots.get(..self.info_count)?;
        Self::unit_containing(infos, offset)
    }

    /// The supplement's unit containing its `.debug_info` offset `offset`.
    pub fn sup_unit_at(&self, offset: DebugInfoOffset<usize>) -> Option<usize> {
        let sups = self.slots.get(self.sup_start..)?;
        Self::unit_containing(sups, offset).map(|i| i + self.sup_start)
    }

    /// The index in `slots` (sorted by offset) of the unit whose extent contains `offset`.
    fn unit_containing(slots: &[UnitSlot], offset: DebugInfoOffset<usize>) -> Option<usize> {
        let after = slots.partition_point(|slot| {
            slot.header
                .debug_info_offset()
                .is_some_and(|start| start.0 <= offset.0)
        });
        let index = after.checked_sub(1)?;
        let slot = slots.get(index)?;
        let start = slot.header.debug_info_offset()?;
        (offset.0 < start.0 + slot.header.length_including_self()).then_some(index)
    }

    /// A `.debug_info` offset turned into a DIE reference (`DW_FORM_ref_addr`).
    pub fn info_ref(&self, offset: DebugInfoOffset<usize>) -> Option<DieRef> {
        let unit = self.info_unit_at(offset)?;
        self.die_ref(unit, offset)
    }

    /// A supplement `.debug_info` offset turned into a DIE reference (`DW_FORM_ref_sup*`).
    pub fn sup_ref(&self, offset: DebugInfoOffset<usize>) -> Option<DieRef> {
        let unit = self.sup_unit_at(offset)?;
        self.die_ref(unit, offset)
    }

    fn die_ref(&self, unit: usize, offset: DebugInfoOffset<usize>) -> Option<DieRef> {
        let header = &self.slots.get(unit)?.header;
        Some(DieRef {
            unit,
            offset: offset.to_unit_offset(header)?,
        })
    }

    /// The type DIE of the type unit with signature `signature` (`DW_FORM_ref_sig8`).
    pub fn signature_ref(&self, signature: DebugTypeSignature) -> Option<DieRef> {
        self.signatures.get(&signature.0).copied()
    }

    /// The compilation units whose code ranges contain ELF address `address`.
    pub fn units_at(&self, address: u64) -> impl Iterator<Item = usize> + '_ {
        let end = self
            .by_address
            .partition_point(|(range, _)| range.start <= address);
        // Ranges are sorted by start; overlapping ones are rare, so look back a little.
        self.by_address[end.saturating_sub(8)..end]
            .iter()
            .rev()
            .filter(move |(range, _)| range.contains(&address))
            .map(|(_, unit)| *unit)
    }

    /// The subprogram DIE of unit `index` whose code contains ELF address `address`.
    pub fn function_at(&self, dwarf: &Dwarf, index: usize, address: u64) -> Option<DieRef> {
        let slot = self.slots.get(index)?;
        let functions = slot.functions.get_or_init(|| {
            self.unit(dwarf, index)
                .map(|unit| index_functions(self.dwarf_of(dwarf, index), &unit))
                .unwrap_or_default()
        });
        let end = functions.partition_point(|f| f.range.start <= address);
        // The innermost (latest starting) function containing the address wins.
        functions[..end]
            .iter()
            .rev()
            .take(64)
            .find(|f| f.range.contains(&address))
            .map(|f| DieRef {
                unit: index,
                offset: f.die,
            })
    }

    /// Indexes of the `.debug_info` compilation units, in section order.
    pub fn compilation_units(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.info_count).filter(|i| self.is_compilation_unit(*i))
    }
}

impl UnitSlot {
    fn new(header: UnitHeader<DwarfReader>, section: UnitSection) -> Self {
        Self {
            header,
            section,
            unit: OnceLock::new(),
            functions: OnceLock::new(),
        }
    }
}

/// The code ranges of every subprogram of `unit` (found where code can be, see
/// [`walk_code`](crate::debuginfo::walk_code); not inside other functions: compilers put the
/// out-of-line definitions of member functions and lambdas at unit or namespace level), sorted
/// by start.
fn index_functions(dwarf: &Dwarf, unit: &Unit) -> Vec<FunctionRange> {
    let mut index = FunctionIndex(Vec::new());
    crate::debuginfo::walk_code(gimli::UnitRef::new(dwarf, unit), &mut index);
    let mut out = index.0;
    out.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    out
}

/// The function ranges found so far by [`index_functions`].
struct FunctionIndex(Vec<FunctionRange>);

impl crate::debuginfo::CodeVisitor for FunctionIndex {
    fn subprogram(&mut self, unit: gimli::UnitRef<'_, DwarfReader>, entry: &Entry) -> bool {
        let die = entry.offset();
        if let Ok(mut ranges) = crate::debuginfo::die_ranges(unit.dwarf, unit.unit, entry) {
            while let Ok(Some(range)) = ranges.next() {
                if range.begin < range.end {
                    self.0.push(FunctionRange {
                        range: range.begin..range.end,
                        die,
                    });
                }
            }
        }
        // A function's own subtree is not searched (see above).
        false
    }
}
