//! Turning an address into frames: DWARF (function, inlined calls, file and line) through
//! addr2line, with the ELF symbol table for names DWARF lacks and for objects without DWARF.

use std::sync::{Arc, Mutex};

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

/// addr2line's index of one DWARF image. The context parses units lazily through interior
/// mutability that is not thread-safe, hence the mutex; lookups are short.
pub struct DwarfIndex {
    context: Mutex<addr2line::Context<DwarfReader>>,
}

/// What DWARF says about one frame at an address (ELF virtual address space).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DwarfFrame {
    name: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    /// The function's `DW_AT_low_pc`, for the outermost frame only.
    low_pc: Option<u64>,
}

impl DwarfIndex {
    /// Indexes `dwarf`'s unit address ranges (the unit contents are parsed on first use). The
    /// sections are shared, not copied: other readers of the same DWARF hold the same `Arc`.
    pub fn new(dwarf: Arc<Dwarf>) -> Result<Self, gimli::Error> {
        Ok(Self {
            context: Mutex::new(addr2line::Context::from_arc_dwarf(dwarf)?),
        })
    }

    /// Frames at ELF virtual address `probe`, innermost first; empty when DWARF does not cover it.
    fn frames(&self, probe: u64) -> Vec<DwarfFrame> {
        if probe == u64::MAX {
            // addr2line looks up `probe..probe + 1`; no code lives at the last address anyway.
            return Vec::new();
        }
        // A poisoned lock only means another lookup panicked; the context's caches stay coherent.
        let context = self
            .context
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
            last.low_pc = low_pc(&context, probe, die);
        }
        out
    }
}

/// `DW_AT_low_pc` of the function DIE at `die` in the unit covering `probe`.
fn low_pc(
    context: &addr2line::Context<DwarfReader>,
    probe: u64,
    die: gimli::UnitOffset<usize>,
) -> Option<u64> {
    let unit = context.find_dwarf_and_unit(probe).skip_all_loads()?;
    let entry = unit.entry(die).ok()?;
    let value = entry.attr_value(gimli::DW_AT_low_pc)?;
    unit.attr_address(value).ok().flatten()
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
