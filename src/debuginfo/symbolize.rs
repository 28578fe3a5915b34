//! Turning an address into frames: DWARF (function, inlined calls, file and line) through
//! addr2line, with the ELF symbol table for names DWARF lacks and for objects without DWARF.

use std::sync::{Arc, Mutex};

use gimli::{Reader as _, Section as _};

use super::callsites::{entry_pc, CallSiteCache, UnitCallSites};
use super::dwarf::Dwarf;
use super::problems::{is_plausible_name, lost, DebugProblems};
use super::symbols::SymbolTable;
use super::units::open_unit;
use crate::reader::DwarfReader;

/// One frame of a symbolized address: a real function or an inlined call inside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymbolizedFrame {
    /// Function name, demangled (C++ via cpp_demangle, Rust via rustc-demangle; C as is).
    pub symbol: Option<String>,
    /// `address - start of the symbol`, when the symbol's start is known.
    pub offset: Option<u64>,
    /// Source path as DWARF names it (joined with the unit's directory when relative).
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
    /// This frame is a function inlined into the next one.
    pub inlined: bool,
}

/// addr2line's index of one DWARF image, and the call sites read from it so far. The context
/// parses units lazily through interior mutability that is not thread-safe, hence the mutex;
/// lookups are short. Lock order: `context`, then `call_sites`.
pub struct DwarfIndex {
    context: Mutex<addr2line::Context<DwarfReader>>,
    call_sites: Mutex<CallSiteCache>,
    dwarf: Arc<Dwarf>,
    /// The units' code ranges from `.debug_aranges`, sorted by start: finding the unit of an
    /// address this way, while the target is stopped, spares addr2line's reading of every DIE of
    /// the unit to list its functions.
    aranges: Vec<(std::ops::Range<u64>, gimli::DebugInfoOffset<usize>)>,
    /// Where defects found by lookups are recorded.
    problems: Arc<DebugProblems>,
    /// The units already checked for defects after a lookup in them failed.
    diagnosed: Mutex<std::collections::HashSet<usize>>,
}

/// What DWARF says about one frame at an address (ELF virtual address space).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DwarfFrame {
    name: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    /// The function's entry address, for the outermost frame only.
    low_pc: Option<u64>,
}

impl DwarfIndex {
    /// Indexes `dwarf`'s unit address ranges (the unit contents are parsed on first use). The
    /// sections are shared, not copied: other readers of the same DWARF hold the same `Arc`.
    /// Defects that lookups find are recorded in `problems`.
    pub fn new(dwarf: Arc<Dwarf>, problems: Arc<DebugProblems>) -> Result<Self, gimli::Error> {
        let mut aranges = Vec::new();
        let mut headers = dwarf.debug_aranges.headers();
        while let Ok(Some(header)) = headers.next() {
            let unit = header.debug_info_offset();
            let mut entries = header.entries();
            while let Ok(Some(entry)) = entries.next() {
                let range = entry.range();
                if range.begin < range.end {
                    aranges.push((range.begin..range.end, unit));
                }
            }
        }
        aranges.sort_by_key(|(range, _)| (range.start, range.end));
        Ok(Self {
            context: Mutex::new(addr2line::Context::from_arc_dwarf(dwarf.clone())?),
            call_sites: Mutex::new(CallSiteCache::default()),
            dwarf,
            aranges,
            problems,
            diagnosed: Mutex::default(),
        })
    }

    /// The unit whose `.debug_aranges` ranges hold ELF address `probe`.
    fn arange_unit(&self, probe: u64) -> Option<gimli::DebugInfoOffset<usize>> {
        let end = self.aranges.partition_point(|(range, _)| range.start <= probe);
        // Ranges are sorted by start; overlapping ones are rare, so look back a little.
        self.aranges[end.saturating_sub(8)..end]
            .iter()
            .rev()
            .find(|(range, _)| range.contains(&probe))
            .map(|(_, unit)| *unit)
    }

    /// The call sites of the unit `.debug_aranges` says holds `probe`, read on first use;
    /// `None` when the aranges do not cover it (or the unit is unreadable).
    fn arange_call_sites(&self, probe: u64) -> Option<Arc<UnitCallSites>> {
        let offset = self.arange_unit(probe)?;
        let mut cache = self
            .call_sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(parsed) = cache.parsed(offset.0) {
            return Some(parsed);
        }
        let header = self.dwarf.debug_info.header_from_offset(offset).ok()?;
        let unit = open_unit(&self.dwarf, header, &self.problems)?;
        Some(cache.unit(gimli::UnitRef::new(&self.dwarf, &unit)))
    }

    /// The context, locked. A poisoned lock only means another lookup panicked; the context's
    /// caches stay coherent.
    fn context(&self) -> std::sync::MutexGuard<'_, addr2line::Context<DwarfReader>> {
        self.context
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry address (ELF) of the function — not an inlined call — whose code holds ELF
    /// address `probe`: its `DW_AT_low_pc`, or the start of its first range.
    pub fn function_entry(&self, probe: u64) -> Option<u64> {
        if probe == u64::MAX {
            return None;
        }
        if let Some(sites) = self.arange_call_sites(probe) {
            return sites.function_entry(probe);
        }
        let context = self.context();
        let mut iter = context.find_frames(probe).skip_all_loads().ok()?;
        let mut outer_die = None;
        while let Ok(Some(frame)) = iter.next() {
            outer_die = frame.dw_die_offset;
        }
        function_entry_of(&context, probe, outer_die?)
    }

    /// The call sites and functions of the unit whose code holds ELF address `probe`, read on
    /// first use and kept.
    pub fn unit_call_sites(&self, probe: u64) -> Option<Arc<UnitCallSites>> {
        if probe == u64::MAX {
            return None;
        }
        if let Some(sites) = self.arange_call_sites(probe) {
            return Some(sites);
        }
        let context = self.context();
        let unit = context.find_dwarf_and_unit(probe).skip_all_loads()?;
        let mut cache = self
            .call_sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(cache.unit(unit))
    }

    /// Frames at ELF virtual address `probe`, innermost first; empty when DWARF does not cover it.
    /// A lookup that fails where `.debug_aranges` says a unit covers `probe` has the unit checked,
    /// so that the defect is said; names that are not text are left out (and said).
    fn frames(&self, probe: u64) -> Vec<DwarfFrame> {
        if probe == u64::MAX {
            // addr2line looks up `probe..probe + 1`; no code lives at the last address anyway.
            return Vec::new();
        }
        let context = self.context();
        let mut out = Vec::new();
        let mut iter = match context.find_frames(probe).skip_all_loads() {
            Ok(iter) => iter,
            Err(error) => {
                self.diagnose(&context, probe, &error);
                return out;
            }
        };
        let mut outer_die = None;
        loop {
            let frame = match iter.next() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    self.diagnose(&context, probe, &error);
                    break;
                }
            };
            outer_die = frame.dw_die_offset;
            let name = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok())
                .map(|n| n.into_owned())
                .filter(|name| self.plausible(name, ".debug_str"));
            let file = frame
                .location
                .as_ref()
                .and_then(|l| l.file)
                .filter(|file| self.plausible(file, self.file_names_section()))
                .map(str::to_string);
            out.push(DwarfFrame {
                name,
                file,
                line: frame.location.as_ref().and_then(|l| l.line),
                low_pc: None,
            });
        }
        if out.is_empty() {
            self.diagnose(&context, probe, &"the unit covering the address cannot be read");
        }
        if let (Some(last), Some(die)) = (out.last_mut(), outer_die) {
            last.low_pc = function_entry_of(&context, probe, die);
        }
        out
    }

    /// The section file names come from: `.debug_line_str` where there is one (DWARF 5), else
    /// the line programs themselves.
    fn file_names_section(&self) -> &'static str {
        if self.dwarf.debug_line_str.reader().is_empty() {
            ".debug_line"
        } else {
            ".debug_line_str"
        }
    }

    /// Whether `name`, read from `section`, is text; a name that is not is recorded as a defect.
    fn plausible(&self, name: &str, section: &'static str) -> bool {
        let plausible = is_plausible_name(name);
        if !plausible {
            self.problems
                .record(section, &"a name in it is not text", lost::NAMES);
        }
        plausible
    }

    /// After a lookup at `probe` failed with `error` (or found nothing): when `.debug_aranges`
    /// says a unit covers `probe`, checks that unit once, recording which section is corrupt.
    fn diagnose(&self, context: &addr2line::Context<DwarfReader>, probe: u64, error: &dyn std::fmt::Display) {
        let Some(offset) = self.arange_unit(probe) else {
            return;
        };
        {
            let mut diagnosed = self
                .diagnosed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !diagnosed.insert(offset.0) {
                return;
            }
        }
        let Ok(header) = self.dwarf.debug_info.header_from_offset(offset) else {
            // A unit in the part of `.debug_info` dropped as unreadable was said already.
            if offset.0 < self.dwarf.debug_info.reader().len() {
                self.problems.record(
                    ".debug_aranges",
                    &"it names a unit that does not exist",
                    lost::INDEX,
                );
            }
            return;
        };
        if open_unit(&self.dwarf, header, &self.problems).is_none() {
            return;
        }
        // The unit opens: its line rows, or its DIEs below the root, are at fault.
        if let Err(line_error) = context.find_location(probe) {
            self.problems.record(".debug_line", &line_error, lost::LINES);
        } else if context.find_frames(probe).skip_all_loads().is_err() {
            self.problems.record(".debug_info", error, lost::UNITS);
        }
    }
}

/// The entry address of the function DIE at `die` in the unit covering `probe`.
fn function_entry_of(
    context: &addr2line::Context<DwarfReader>,
    probe: u64,
    die: gimli::UnitOffset<usize>,
) -> Option<u64> {
    let unit = context.find_dwarf_and_unit(probe).skip_all_loads()?;
    let entry = unit.entry(die).ok()?;
    entry_pc(unit, &entry)
}

/// Symbolizes ELF virtual address `probe` with `dwarf` (if any) and `symbols`: innermost first, the
/// real function last with `inlined: false`. Never empty.
pub fn symbolize_with(dwarf: Option<&DwarfIndex>, symbols: &SymbolTable, probe: u64) -> Vec<SymbolizedFrame> {
    let symbol = symbols.lookup(probe);
    let dwarf_frames = dwarf.map(|d| d.frames(probe)).unwrap_or_default();
    if dwarf_frames.is_empty() {
        return vec![SymbolizedFrame {
            symbol: symbol.map(|s| s.demangled()),
            offset: symbol.map(|s| probe - s.start),
            ..SymbolizedFrame::default()
        }];
    }
    let count = dwarf_frames.len();
    dwarf_frames
        .into_iter()
        .enumerate()
        .map(|(index, frame)| {
            let outermost = index + 1 == count;
            if !outermost {
                return SymbolizedFrame {
                    symbol: frame.name,
                    offset: None,
                    file: frame.file,
                    line: frame.line,
                    inlined: true,
                };
            }
            let start = symbol
                .map(|s| s.start)
                .or(frame.low_pc)
                .filter(|start| *start <= probe);
            SymbolizedFrame {
                symbol: frame.name.or_else(|| symbol.map(|s| s.demangled())),
                offset: start.map(|start| probe - start),
                file: frame.file,
                line: frame.line,
                inlined: false,
            }
        })
        .collect()
}
