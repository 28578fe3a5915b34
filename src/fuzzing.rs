//! Entry points for fuzzing the parsers of untrusted bytes: each function takes arbitrary bytes
//! and runs the library's own code over them the way a snapshot does, with no process behind
//! them. The `fuzz/` crate drives them with AFL++, and `tests/fuzz_corpus.rs` replays the
//! committed corpus and regression inputs through them.
//!
//! - [`elf`]: an ELF image's facts (loads, build id, debug links), its symbol tables (with the
//!   MiniDebugInfo of `.gnu_debugdata` decompressed), the load bias of made-up mappings of it.
//! - [`dwarf`]: the image loaded as the one object of a process: its DWARF (compressed sections
//!   inflated), the symbolization index, call sites and tail calls, the function-name table,
//!   globals and thread-locals, and the variables in scope at a sample of addresses (scope plans,
//!   types, type names, location expressions evaluated against fake registers and memory).
//! - [`cfi`]: the unwinder over the image's `.eh_frame` / `.eh_frame_hdr` / `.debug_frame`, from a
//!   sample of addresses with a made-up register set and a small stack.
//! - [`snapshot_json`]: a snapshot document read and written back in every layout.
//!
//! Each bounds its work per input (addresses sampled, frames, variables), so that an input that
//! runs long does so in the library, not in the harness. None of them touches a file or a
//! process: separate debug files are not searched for.

use std::ops::Range;
use std::sync::Arc;

use object::{Object as _, ObjectSymbol as _};

use crate::arch::{RegisterSet, FP, RA, SP};
use crate::debuginfo::{self, DebugSearch, ElfFacts, LoadedObject, MapEntry, ProcessObjects};
use crate::memory::{MemoryReader, MemorySnapshot};
use crate::reader::SharedBytes;
use crate::snapshot::{layout::Layout, output, Snapshot};
use crate::unwind::{CfiMapping, ObjectCfi, Unwinder, UnwoundFrame};
use crate::variables::{GlobalFilter, ProcessVariables, StringCopies, TlsResolver, VariableLimits};

/// Most code addresses looked up per input.
const MAX_ADDRESSES: usize = 48;
/// Most names (symbols, globals, types) looked up per input.
const MAX_NAMES: usize = 16;
/// Most globals enumerated and read per input.
const MAX_GLOBALS: usize = 32;
/// Most frames unwound from one address.
const MAX_FRAMES: usize = 16;
/// Most units and DIEs looked at when collecting function addresses from the DWARF.
const MAX_UNITS: usize = 16;
const MAX_DIES_PER_UNIT: usize = 256;

/// Where the fuzzed image is "loaded": a bias that is neither 0 nor page-aligned to the ELF
/// addresses, so that every ELF/runtime address conversion is exercised.
const BIAS: u64 = 0x5555_0000_0000;
/// The fake stack: its address and size.
const STACK_BASE: u64 = 0x7ffd_0000_0000;
const STACK_LEN: usize = 4096;
/// A fake TLS block address.
const TLS_BLOCK: u64 = 0x7f00_0000_1000;

/// The name the fuzzed image is known by (it names no file: nothing is opened).
const IMAGE_NAME: &str = "/fuzz/input";

/// What one input reached, counted so that tests can check a target still drives the real code
/// paths on real objects (the fuzzers ignore it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    /// Addresses that found a function symbol (ELF symbols or DWARF names).
    pub symbols: usize,
    /// Frames symbolized with a source line.
    pub lines: usize,
    /// Variables built (frame variables, globals, thread-locals).
    pub variables: usize,
    /// Frames unwound beyond the first.
    pub frames: usize,
    /// Documents read and written back.
    pub documents: usize,
}

/// ELF facts, symbol tables, function names and load bias of the image `data`.
pub fn elf(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let _ = debuginfo::loads_from_header_bytes(data);
    let Ok(facts) = ElfFacts::parse(data, IMAGE_NAME) else {
        return reached;
    };
    let _ = facts.build_id_hex();
    if let Some(id) = &facts.build_id {
        let _ = debuginfo::build_id_path(std::path::Path::new("/usr/lib/debug"), id);
    }
    // Mappings as the kernel would make them from the loads, then the bias found from them.
    let maps: Vec<MapEntry> = facts
        .loads
        .iter()
        .take(MAX_NAMES)
        .map(|load| MapEntry {
            start: load.vaddr.wrapping_add(BIAS) & !0xfff,
            end: load.vaddr.wrapping_add(BIAS).wrapping_add(load.mem_size) | 0xfff,
            readable: true,
            writable: false,
            executable: load.executable,
            offset: load.offset & !0xfff,
            device: (0, 0),
            inode: 1,
            path: Some(IMAGE_NAME.to_string()),
        })
        .collect();
    let refs: Vec<&MapEntry> = maps.iter().collect();
    let _ = debuginfo::load_bias(&refs, &facts.loads, 4096);

    // Its MiniDebugInfo decompressed (bounded), then read with the image's own symbols, as an
    // object without `.symtab` is.
    let mini = debuginfo::embedded_image(data).ok().flatten();
    let images: Vec<&[u8]> = std::iter::once(data).chain(mini.as_deref()).collect();
    let symbols = debuginfo::SymbolTable::from_images(&images);
    let names = debuginfo::FunctionNames::from_images(&images);
    for (address, name) in images.iter().flat_map(|image| symbol_sample(image)) {
        for probe in [address, address.wrapping_add(1), address.wrapping_sub(1)] {
            if let Some(symbol) = symbols.lookup(probe) {
                let _ = symbol.demangled();
                reached.symbols += 1;
            }
        }
        let _ = names.get(&name);
    }
    for address in load_sample(&facts) {
        let _ = symbols.lookup(address);
    }
    reached
}

/// The DWARF of the image `data` as the snapshot reads it: the image becomes the one object of a
/// process, whose frames at a sample of code addresses are symbolized, searched for tail calls
/// and given their variables (against fake registers and memory), and whose globals and
/// thread-locals are listed and read.
pub fn dwarf(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let Some(object) = load_object(data) else {
        return reached;
    };
    let objects = ProcessObjects::from_objects(vec![object.clone()]);
    objects.prepare();
    let _ = object.dwarf_error();
    object.prepare_function_names();
    let variables = ProcessVariables::new(&objects);
    let limits = VariableLimits::default();
    let memory = FakeMemory::new(data);
    let tls = FakeTls;

    let addresses = code_sample(data, &object);
    for (index, &address) in addresses.iter().enumerate() {
        for frame in object.symbolize(address) {
            reached.symbols += usize::from(frame.symbol.is_some());
            reached.lines += usize::from(frame.line.is_some());
        }
        let _ = object.function_symbol(address);
        let _ = object.call_site(address.wrapping_add(1));
        if let Some(entry) = object.function_entry(address) {
            let _ = object.tail_calls_of(entry);
            // As if `address` were a return address into a caller of the function at the
            // next sampled address: the tail-call search between them.
            let _ = objects.tail_call_chain(address.wrapping_add(1), entry);
        }
        variables.prepare_at(address, &limits);
        let _ = variables.symbolize_function(address);
        // A two-frame stack: this address called the next one.
        let caller = addresses.get(index + 1).copied().unwrap_or(address);
        let frames = fake_frames(address, caller);
        let tail_calls = vec![Vec::new(); frames.len()];
        let copies = StringCopies::new();
        let pending =
            variables.thread_variables_pending(&frames, &tail_calls, &memory, Some(&tls), &limits, &copies);
        for level in pending.frames.into_iter().chain(pending.tail_calls).flatten() {
            for variable in level {
                let built = variables.build_pending(variable, &copies, &limits);
                let _ = crate::snapshot::value_text::render_value(&built);
                reached.variables += 1;
            }
        }
        if index % 4 == 0 {
            let with_bt = variables.thread_variables_with_bt(&frames, &tail_calls, &memory, None, &limits);
            for (variable, bt) in with_bt.frames.iter().flatten().flatten().take(MAX_NAMES) {
                let _ = crate::snapshot::value_text::render_value(variable);
                let _ = bt.ty().name();
            }
        }
    }

    for name in symbol_sample(data)
        .into_iter()
        .map(|(_, name)| name)
        .take(MAX_NAMES)
    {
        let _ = variables.function_named(&name);
        let _ = variables.find_global(&name, None, None);
        let _ = variables.find_type(&name, None);
    }
    for name in ["int", "char *", "struct point", "unsigned long"] {
        let _ = variables.find_type(name, None);
    }
    for global in variables.thread_locals(&|_| true).iter().take(MAX_GLOBALS) {
        let _ = global.read(&memory, Some(&tls), &limits, &|_| None);
        reached.variables += 1;
    }
    for global in variables.globals(GlobalFilter::default()).take(MAX_GLOBALS) {
        let ty = global.ty();
        let _ = (
            ty.name(),
            ty.base_name(),
            ty.size(),
            ty.members(),
            ty.enumerators(),
        );
        let _ = global.cu_name();
        let plan = global.plan();
        let _ = variables.read_planned_global(&plan, &memory, Some(&tls), &limits);
        reached.variables += 1;
    }
    reached
}

/// The unwinder over the CFI of the image `data`, from a sample of addresses with a made-up
/// register set and a small stack of words taken from the input.
pub fn cfi(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let bytes = SharedBytes::from_vec(data.to_vec());
    let Ok(cfi) = ObjectCfi::parse(&bytes, None) else {
        return reached;
    };
    let _ = cfi.is_empty();
    let Ok(facts) = ElfFacts::parse(data, IMAGE_NAME) else {
        return reached;
    };
    let cfi = Arc::new(cfi);
    let mappings: Vec<CfiMapping> = executable_ranges(&facts)
        .into_iter()
        .map(|range| CfiMapping {
            range,
            bias: BIAS,
            cfi: cfi.clone(),
        })
        .collect();
    let unwinder = Unwinder::new(mappings);
    let stack = FakeMemory::new(data);
    let mut addresses: Vec<u64> = symbol_sample(data).into_iter().map(|(a, _)| a).collect();
    addresses.extend(load_sample(&facts));
    addresses.truncate(MAX_ADDRESSES);
    for (index, address) in addresses.into_iter().enumerate() {
        let mut regs = RegisterSet::new();
        regs.set(RA, Some(address.wrapping_add(BIAS)));
        regs.set(SP, Some(STACK_BASE + 64));
        regs.set(FP, Some(STACK_BASE + 256));
        // Some inputs leave the other registers unknown, others give them values.
        if index % 2 == 1 {
            for reg in 0..16u16 {
                if reg != SP && reg != FP {
                    regs.set(reg, Some(stack.word(usize::from(reg) * 8)));
                }
            }
        }
        let backtrace = unwinder.unwind_with_stop(&regs, &stack, MAX_FRAMES);
        let _ = format!("{:?}", backtrace.stop);
        reached.frames += backtrace.frames.len().saturating_sub(1);
    }
    reached
}

/// A snapshot document read, and when it is one, written back in every layout and as text.
pub fn snapshot_json(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let Ok(snapshot) = serde_json::from_slice::<Snapshot>(data) else {
        return reached;
    };
    for layout in [Layout::Rows, Layout::Compact, Layout::Pretty] {
        let _ = output::write_json(&snapshot, std::io::sink(), layout);
    }
    let _ = output::default_file_name(&snapshot);
    let _ = crate::snapshot::text::render(&snapshot);
    reached.documents += 1;
    reached
}

/// The image `data` as a loaded object at [`BIAS`], its executable loads mapped; no separate debug
/// file is looked for (the links are dropped: they would name files on this machine).
fn load_object(data: &[u8]) -> Option<Arc<LoadedObject>> {
    let mut facts = ElfFacts::parse(data, IMAGE_NAME).ok()?;
    facts.debuglink = None;
    facts.debugaltlink = None;
    facts.build_id = None;
    let mapped: Vec<Range<u64>> = facts
        .loads
        .iter()
        .map(|load| runtime_range(load.vaddr, load.mem_size))
        .collect();
    let placement = debuginfo::Placement {
        base: mapped.iter().map(|r| r.start).min().unwrap_or(BIAS),
        end: mapped.iter().map(|r| r.end).max().unwrap_or(BIAS),
        bias: BIAS,
        executable_ranges: executable_ranges(&facts),
        mapped_ranges: mapped,
    };
    let search = DebugSearch {
        roots: Vec::new(),
        ..DebugSearch::default()
    };
    let bytes = SharedBytes::from_vec(data.to_vec());
    Some(Arc::new(LoadedObject::new(
        IMAGE_NAME.to_string(),
        placement,
        Some((bytes, facts)),
        &search,
        &mut Vec::new(),
    )))
}

/// The runtime range of `size` bytes at ELF address `vaddr`.
fn runtime_range(vaddr: u64, size: u64) -> Range<u64> {
    let start = vaddr.wrapping_add(BIAS);
    start..start.saturating_add(size)
}

/// The runtime ranges of the executable loads.
fn executable_ranges(facts: &ElfFacts) -> Vec<Range<u64>> {
    facts
        .loads
        .iter()
        .filter(|load| load.executable)
        .map(|load| runtime_range(load.vaddr, load.mem_size))
        .collect()
}

/// Up to [`MAX_NAMES`] function symbols of the image: (ELF address, name).
fn symbol_sample(data: &[u8]) -> Vec<(u64, String)> {
    let Ok(file) = object::read::elf::ElfFile64::<object::Endianness>::parse(data) else {
        return Vec::new();
    };
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|symbol| symbol.kind() == object::SymbolKind::Text)
        .filter_map(|symbol| Some((symbol.address(), symbol.name().ok()?.to_string())))
        .take(MAX_NAMES)
        .collect()
}

/// A few ELF addresses spread over each executable load.
fn load_sample(facts: &ElfFacts) -> Vec<u64> {
    facts
        .loads
        .iter()
        .filter(|load| load.executable)
        .take(4)
        .flat_map(|load| (0..4u64).map(move |k| load.vaddr.wrapping_add(load.mem_size / 4 * k)))
        .collect()
}

/// Up to [`MAX_ADDRESSES`] runtime code addresses worth looking up: function symbols, the
/// starts and middles of the functions the DWARF declares, `.debug_aranges` ranges, and points
/// spread over the executable loads.
fn code_sample(data: &[u8], object: &LoadedObject) -> Vec<u64> {
    let mut elf_addresses: Vec<u64> = Vec::new();
    if let Some(dwarf) = object.dwarf() {
        elf_addresses.extend(dwarf_function_addresses(dwarf));
        let mut headers = dwarf.debug_aranges.headers();
        while let Ok(Some(header)) = headers.next() {
            let mut entries = header.entries();
            while let Ok(Some(entry)) = entries.next() {
                elf_addresses.push(entry.range().begin);
                if elf_addresses.len() >= MAX_ADDRESSES {
                    break;
                }
            }
            if elf_addresses.len() >= MAX_ADDRESSES {
                break;
            }
        }
    }
    elf_addresses.extend(symbol_sample(data).into_iter().map(|(a, _)| a));
    if let Ok(facts) = ElfFacts::parse(data, IMAGE_NAME) {
        elf_addresses.extend(load_sample(&facts));
    }
    let mut seen = std::collections::HashSet::new();
    elf_addresses
        .into_iter()
        .filter(|a| seen.insert(*a))
        .take(MAX_ADDRESSES)
        .map(|a| a.wrapping_add(BIAS))
        .collect()
}

/// ELF addresses inside the subprograms and inlined calls of the first units: each one's low pc
/// and the pc after it.
fn dwarf_function_addresses(dwarf: &debuginfo::Dwarf) -> Vec<u64> {
    let mut found = Vec::new();
    let mut headers = dwarf.units();
    let mut units = 0;
    while let Ok(Some(header)) = headers.next() {
        units += 1;
        if units > MAX_UNITS || found.len() >= MAX_ADDRESSES {
            break;
        }
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        let mut entries = unit.entries();
        let mut dies = 0;
        while let Ok(Some(entry)) = entries.next_dfs() {
            dies += 1;
            if dies > MAX_DIES_PER_UNIT || found.len() >= MAX_ADDRESSES {
                break;
            }
            if !matches!(
                entry.tag(),
                gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine | gimli::DW_TAG_lexical_block
            ) {
                continue;
            }
            if let Some(gimli::AttributeValue::Addr(low)) = entry.attr_value(gimli::DW_AT_low_pc) {
                found.push(low);
                found.push(low.wrapping_add(4));
            }
        }
    }
    found
}

/// Two frames: the innermost at `pc`, its caller returning to `caller + 1`, with made-up registers
/// pointing into the fake stack.
fn fake_frames(pc: u64, caller: u64) -> Vec<UnwoundFrame> {
    let mut inner = RegisterSet::new();
    for reg in 0..16u16 {
        inner.set(reg, Some(STACK_BASE + u64::from(reg) * 16));
    }
    inner.set(RA, Some(pc));
    let mut outer = RegisterSet::new();
    outer.set(RA, Some(caller.wrapping_add(1)));
    outer.set(SP, Some(STACK_BASE + 512));
    outer.set(FP, Some(STACK_BASE + 1024));
    outer.set(3, Some(STACK_BASE + 8));
    vec![
        UnwoundFrame {
            pc,
            lookup_pc: pc,
            cfa: Some(STACK_BASE + 512),
            regs: inner,
            signal_frame: false,
            suspect: false,
            vector: None,
        },
        UnwoundFrame {
            pc: caller.wrapping_add(1),
            lookup_pc: caller,
            cfa: Some(STACK_BASE + 2048),
            regs: outer,
            signal_frame: false,
            suspect: false,
            vector: None,
        },
    ]
}

/// Target memory for fuzzing: a stack of [`STACK_LEN`] bytes at [`STACK_BASE`] filled from the
/// input, zeros in the page of [`TLS_BLOCK`], nothing readable elsewhere.
struct FakeMemory {
    stack: MemorySnapshot,
}

impl FakeMemory {
    fn new(data: &[u8]) -> Self {
        let mut bytes = vec![0u8; STACK_LEN];
        let tail = &data[data.len().saturating_sub(STACK_LEN)..];
        bytes[..tail.len()].copy_from_slice(tail);
        Self {
            stack: MemorySnapshot {
                base: STACK_BASE,
                bytes,
            },
        }
    }

    /// The stack word at byte `offset`.
    fn word(&self, offset: usize) -> u64 {
        self.stack.read_u64(STACK_BASE + offset as u64).unwrap_or(0)
    }
}

impl MemoryReader for FakeMemory {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        if self.stack.contains(addr) {
            return self.stack.read_at(addr, buf);
        }
        if addr >> 12 == TLS_BLOCK >> 12 {
            let n = buf
                .len()
                .min((((TLS_BLOCK >> 12) + 1) << 12).wrapping_sub(addr) as usize);
            buf[..n].fill(0);
            return n;
        }
        0
    }
}

/// Every object's TLS block is at [`TLS_BLOCK`].
struct FakeTls;

impl TlsResolver for FakeTls {
    fn tls_block(&self, _object: &LoadedObject) -> Option<u64> {
        Some(TLS_BLOCK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a c-examples program.
    fn example(name: &str) -> Vec<u8> {
        let build = tempfile::tempdir().expect("temp dir");
        let path = crate::test_support::build_example(build.path(), name);
        std::fs::read(path).expect("read the example")
    }

    #[test]
    fn every_target_survives_junk_and_truncated_objects() {
        let own = std::fs::read(std::env::current_exe().expect("test binary")).expect("read");
        let inputs: Vec<&[u8]> = vec![b"", b"\x7fELF", b"{}", &own[..own.len().min(4096)]];
        for input in inputs {
            assert_eq!(elf(input), Reached::default());
            assert_eq!(dwarf(input), Reached::default());
            assert_eq!(cfi(input), Reached::default());
            assert_eq!(snapshot_json(input), Reached::default());
        }
    }

    #[test]
    fn the_targets_reach_symbols_lines_variables_and_frames_of_a_real_program() {
        let program = example("crash-O2");
        assert!(elf(&program).symbols > 0);
        let dwarf = dwarf(&program);
        assert!(
            dwarf.symbols > 0 && dwarf.lines > 0 && dwarf.variables > 0,
            "{dwarf:?}"
        );
        assert!(cfi(&program).frames > 0);
    }

    #[test]
    fn the_elf_and_dwarf_targets_reach_the_symbols_of_minidebuginfo() {
        // The corpus seed: tiny.c stripped Fedora-style (fuzz/make-corpus.sh), its functions
        // named only by the ELF file compressed in its .gnu_debugdata.
        let seed = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/elf/tiny-minidebuginfo"),
        )
        .expect("the MiniDebugInfo seed of the corpus");
        assert!(debuginfo::embedded_image(&seed).is_ok_and(|image| image.is_some()));
        assert!(elf(&seed).symbols > 0, "{:?}", elf(&seed));
        assert!(dwarf(&seed).symbols > 0, "{:?}", dwarf(&seed));
        // The same bytes with the section's name changed: nothing names anything.
        let at = seed
            .windows(b".gnu_debugdata".len())
            .position(|w| w == b".gnu_debugdata")
            .expect("the section name");
        let mut renamed = seed.clone();
        renamed[at + 1] = b'x';
        assert_eq!(elf(&renamed).symbols, 0);
        assert_eq!(dwarf(&renamed).symbols, 0);
    }

    #[test]
    fn the_snapshot_target_reads_a_snapshot_written_by_the_library() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/snapshot_json/minimal.json"),
        )
        .expect("the minimal snapshot of the corpus");
        assert_eq!(snapshot_json(text.as_bytes()).documents, 1);
    }
}
