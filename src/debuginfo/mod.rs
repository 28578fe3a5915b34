//! Debug information of every object mapped into a process: `/proc/PID/maps`, ELF objects,
//! separate debug files (build id, `.gnu_debuglink`, dwz), symbol tables, and DWARF-based
//! symbolization (functions, inlined calls, files and lines), and the frames of functions that
//! tail-called onward, found from DWARF call-site information. Debug files missing on the
//! machine are fetched from debuginfod servers into a shared cache ([`debuginfod`]).
//!
//! Everything here works on files and on memory read while the target runs: it is all done
//! before the target is stopped ([`ProcessObjects::load`], then [`LoadedObject::prepare`]), so
//! that while it is stopped a lookup only walks indexes already built.
//!
//! A corrupt section costs only what depends on it, and is said: each object records the
//! defects its readers meet ([`DebugProblems`]), one warning per section and consequence
//! ([`LoadedObject::debug_warnings`], which the snapshot's warnings take in).

mod bias;
mod callsites;
pub(crate) use callsites::CallSiteAttributes;
mod code_dies;
pub(crate) use code_dies::{walk_code, CodeVisitor};
pub mod debuginfod;
mod debuglink;
mod dwarf;
mod elf;
mod error;
mod loaded;
mod maps;
mod minidebuginfo;
pub(crate) use minidebuginfo::embedded_image;
pub use minidebuginfo::MiniDebugInfoError;
mod problems;
pub use problems::DebugProblems;
pub(crate) use problems::{is_plausible_name, lost};
mod process;
mod symbolize;
mod symbols;
mod tailcall;
mod target_files;
pub(crate) use target_files::mapped_build_id;
pub use target_files::TargetFiles;
mod units;

#[cfg(test)]
mod tests;

pub use bias::load_bias;
pub(crate) use debuglink::build_id_path;
pub use debuglink::DebugSearch;
pub use dwarf::Dwarf;
pub(crate) use elf::load_segments;
pub use elf::{hex, loads_from_header_bytes, ElfFacts, LoadSegment};
pub use error::DebugInfoError;
pub use loaded::LoadedObject;
pub(crate) use loaded::Placement;
pub use maps::{parse_maps, read_maps, MapEntry};
pub use process::ProcessObjects;
pub use symbolize::SymbolizedFrame;
pub use symbols::demangle;
pub(crate) use symbols::{FunctionNames, SymbolTable};
pub use tailcall::{TailCallError, TailCallFrame, MAX_TAIL_CALL_DEPTH, MAX_TAIL_CALL_VISITS};
pub(crate) use units::{die_ranges, open_unit, unit_ranges};
