//! Test-only view of a process's objects: load biases from ELF program headers, `CfiMapping`s
//! for its executable mappings, and function names for addresses (from `.symtab`, or the
//! build-id debug file under /usr/lib/debug).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Object, ObjectSymbol, SymbolKind};

use super::fixture::MapEntry;
use crate::reader::SharedBytes;
use crate::unwind::{CfiMapping, ObjectCfi};

/// The load bias of the file mapped by `entry`: run-time address minus ELF virtual address,
/// from the `PT_LOAD` segment holding the mapping's file offset.
pub(super) fn load_bias(bytes: &[u8], entry: &MapEntry) -> Option<u64> {
    let file = ElfFile64::<object::Endianness>::parse(bytes).ok()?;
    let endian = file.endian();
    let segment = file.elf_program_headers().iter().find(|ph| {
        let offset = ph.p_offset(endian);
        ph.p_type(endian) == object::elf::PT_LOAD
            && offset & !0xfff <= entry.offset
            && entry.offset < offset + ph.p_filesz(endian)
    })?;
    let vaddr_of_start = segment.p_vaddr(endian) + entry.offset - segment.p_offset(endian);
    Some(entry.start.wrapping_sub(vaddr_of_start))
}

/// The separate debug file of the ELF `bytes`, found by build id.
pub(super) fn debug_file_for(bytes: &[u8]) -> Option<PathBuf> {
    let file = object::File::parse(bytes).ok()?;
    let id = file.build_id().ok()??;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let path = PathBuf::from(format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &hex[..2],
        &hex[2..]
    ));
    path.exists().then_some(path)
}

/// Parses the CFI of the object at `path`, with its build-id debug file when there is one.
pub(super) fn object_cfi(path: &Path) -> Arc<ObjectCfi> {
    let bytes = SharedBytes::map_file(path).expect("map an object");
    let debug = debug_file_for(&bytes).map(|p| SharedBytes::map_file(&p).expect("map a debug file"));
    Arc::new(ObjectCfi::parse(&bytes, debug.as_ref()).expect("parse the CFI of a system object"))
}

/// `CfiMapping`s for the executable file mappings in `maps`; `cfi_for` supplies each object's
/// CFI (so a test can replace one).
pub(super) fn cfi_mappings(
    maps: &[MapEntry],
    mut cfi_for: impl FnMut(&Path) -> Arc<ObjectCfi>,
) -> Vec<CfiMapping> {
    let mut parsed: HashMap<PathBuf, Arc<ObjectCfi>> = HashMap::new();
    let mut mappings = Vec::new();
    for entry in maps.iter().filter(|e| e.perms.contains('x')) {
        let Some(path) = &entry.path else { continue };
        let bytes = std::fs::read(path).expect("read a mapped object");
        let bias = load_bias(&bytes, entry).expect("a PT_LOAD segment for the mapping");
        let cfi = parsed
            .entry(path.clone())
            .or_insert_with(|| cfi_for(path))
            .clone();
        mappings.push(CfiMapping {
            range: entry.start..entry.end,
            bias,
            cfi,
        });
    }
    mappings
}

/// Resolves addresses of a process to function names.
#[derive(Default)]
pub(super) struct Symbolizer {
    /// Function symbols (vaddr, size, name) per object, sorted by address.
    symbols: HashMap<PathBuf, Vec<(u64, u64, String)>>,
}

impl Symbolizer {
    /// The function containing run-time address `address` in the process whose maps are `maps`.
    pub fn function_at(&mut self, maps: &[MapEntry], address: u64) -> Option<String> {
        let entry = maps.iter().find(|e| e.start <= address && address < e.end)?;
        let path = entry.path.clone()?;
        let bytes = std::fs::read(&path).ok()?;
        let vaddr = address.wrapping_sub(load_bias(&bytes, entry)?);
        let symbols = self
            .symbols
            .entry(path)
            .or_insert_with(|| function_symbols(&bytes));
        symbols
            .iter()
            .filter(|(start, size, _)| *start <= vaddr && vaddr < start + (*size).max(1))
            .max_by_key(|(start, _, _)| *start)
            .map(|(_, _, name)| name.clone())
    }

    /// Names of the functions at the `lookup_pc`s of `frames`.
    pub fn frame_names(&mut self, maps: &[MapEntry], frames: &[crate::unwind::UnwoundFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                self.function_at(maps, f.lookup_pc)
                    .unwrap_or_else(|| format!("?{:#x}", f.pc))
            })
            .collect()
    }
}

/// The function symbols of an object and of its debug file.
fn function_symbols(bytes: &[u8]) -> Vec<(u64, u64, String)> {
    let mut symbols = Vec::new();
    let mut add = |data: &[u8]| {
        let Ok(file) = object::File::parse(data) else {
            return;
        };
        for symbol in file.symbols().chain(file.dynamic_symbols()) {
            if symbol.kind() == SymbolKind::Text && symbol.address() != 0 {
                if let Ok(name) = symbol.name() {
                    symbols.push((symbol.address(), symbol.size(), name.to_string()));
                }
            }
        }
    };
    add(bytes);
    if let Some(debug) = debug_file_for(bytes) {
        if let Ok(data) = std::fs::read(debug) {
            add(&data);
        }
    }
    symbols
}
