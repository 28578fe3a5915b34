//! Turning an address into frames: DWARF (function, inlined calls, file and line) through
//! addr2line, with the ELF symbol table for names DWARF lacks and for objects without DWARF.

use std::sync::{Arc, Mutex};

use super::callsites::{entry_pc, CallSiteCache, UnitCallSites};
use super::dwarf::Dwarf;
use super::symbols::SymbolTable;
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
    pub fn new(dwarf: Arc<Dwarf>) -> Result<Self, gimli::Error> {
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
        let unit = self.dwarf.unit(header).ok()?;
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
    fn frames(&self, probe: u64) -> Vec<DwarfFrame> {
        if probe == u64::MAX {
            // addr2line looks up `probe..probe + 1`; no code lives at the last address anyway.
            return Vec::new();
        }
        let context = self.context();
        let mut out = Vec::new();
        let Ok(mut iter) = context.find_frames(probe).skip_all_loads() else {
            return out;
        };
        let mut outer_die = None;
        while let Ok(Some(frame)) = iter.next() {
            outer_die = frame.dw_die_offset;
            out.push(DwarfFrame {
                name: frame
                    .function
                    .as_ref()
                    .and_then(|f| f.demangle().ok())
                    .map(|n| n.into_owned()),
                file: frame.location.as_ref().and_then(|l| l.file).map(str::to_string),
                line: frame.location.as_ref().and_then(|l| l.line),
                low_pc: None,
            });
        }
        if let (Some(last), Some(die)) = (out.last_mut(), outer_die) {
            last.low_pc = function_entry_of(&context, probe, die);
        }
        out
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
