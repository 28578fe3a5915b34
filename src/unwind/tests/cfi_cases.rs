//! Rule by rule: the cfi_cases fixture (tests/fixtures/unwind/cfi_cases.S) is a shared object
//! whose functions exist for their CFI. Each test "stops" a thread inside one of them with a
//! hand-made register file and stack, and checks the frames and caller registers the unwinder
//! derives, and why it stops. Every check runs on each way the CFI can be stored: `.eh_frame`
//! with and without `.eh_frame_hdr`, `.debug_frame` in the object or in a separate debug file,
//! and an object whose section headers are gone (found through `PT_GNU_EH_FRAME`).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSymbol};

use crate::arch::{RegisterSet, FP, RA, SP};
use crate::memory::MemorySnapshot;
use crate::reader::SharedBytes;
use crate::unwind::{Backtrace, CfiMapping, ObjectCfi, StopReason, UnwindError, Unwinder, MAX_FRAMES};

/// The fixture's source.
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/unwind/cfi_cases.S");

/// Where the tests pretend the object is loaded (its ELF addresses start at 0).
pub(super) const BIAS: u64 = 0x7f12_3400_0000;

/// Where the hand-made stack starts.
pub(super) const STACK: u64 = 0x7ffd_0000_0000;

/// Size of the hand-made stack.
const STACK_SIZE: usize = 4096;

/// How the fixture's CFI is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Storage {
    /// `.eh_frame` searched through `.eh_frame_hdr`.
    EhFrameWithHeader,
    /// `.eh_frame` alone (indexed at parse time).
    EhFrameWithoutHeader,
    /// `.debug_frame` in the object.
    DebugFrame,
    /// `.debug_frame` only in a separate debug file.
    SeparateDebugFile,
    /// `.eh_frame_hdr` and `.eh_frame` with the section headers wiped out.
    NoSectionHeaders,
}

/// Every storage.
const ALL_STORAGES: [Storage; 5] = [
    Storage::EhFrameWithHeader,
    Storage::EhFrameWithoutHeader,
    Storage::DebugFrame,
    Storage::SeparateDebugFile,
    Storage::NoSectionHeaders,
];

/// The compiled fixture.
pub(super) struct Cases {
    /// Keeps the build directory alive.
    _dir: tempfile::TempDir,
    /// The object as the unwinder gets it.
    pub bytes: Vec<u8>,
    /// Its separate debug file, if any.
    pub debug: Option<Vec<u8>>,
    /// ELF addresses of the functions.
    symbols: HashMap<String, u64>,
}

/// Runs a command, failing the test with its stderr when it fails.
fn run(command: &mut Command) {
    let output = command.output().expect("start a build tool");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Cases {
    /// Builds the fixture with its CFI stored as `storage`.
    pub fn build(storage: Storage) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let lib = dir.path().join("cfi_cases.so");
        let mut cc = Command::new("cc");
        cc.args(["-shared", "-nostdlib", "-o"]).arg(&lib).arg(SOURCE);
        match storage {
            Storage::EhFrameWithHeader | Storage::NoSectionHeaders => {
                cc.arg("-Wl,--eh-frame-hdr");
            }
            Storage::EhFrameWithoutHeader => {
                cc.arg("-Wl,--no-eh-frame-hdr");
            }
            Storage::DebugFrame | Storage::SeparateDebugFile => {
                cc.arg("-DDEBUG_FRAME_ONLY");
            }
        }
        run(&mut cc);
        let mut debug = None;
        if storage == Storage::SeparateDebugFile {
            let debug_path = dir.path().join("cfi_cases.debug");
            run(Command::new("objcopy")
                .arg("--only-keep-debug")
                .arg(&lib)
                .arg(&debug_path));
            run(Command::new("objcopy").arg("--strip-debug").arg(&lib));
            debug = Some(read(&debug_path));
        }
        let mut bytes = read(&lib);
        let symbols = function_addresses(&bytes);
        if storage == Storage::NoSectionHeaders {
            wipe_section_headers(&mut bytes);
        }
        Self {
            _dir: dir,
            bytes,
            debug,
            symbols,
        }
    }

    /// Parses the fixture's CFI.
    pub fn parse(&self) -> Result<ObjectCfi, UnwindError> {
        let debug = self.debug.clone().map(SharedBytes::from_vec);
        ObjectCfi::parse(&SharedBytes::from_vec(self.bytes.clone()), debug.as_ref())
    }

    /// The run-time address of `function` + `offset`.
    pub fn at(&self, function: &str, offset: u64) -> u64 {
        let vaddr = self
            .symbols
            .get(function)
            .unwrap_or_else(|| panic!("no symbol {function}"));
        BIAS + vaddr + offset
    }
}

/// Reads a file.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The addresses of the defined symbols of an ELF object.
fn function_addresses(bytes: &[u8]) -> HashMap<String, u64> {
    let file = object::File::parse(bytes).expect("parse the fixture");
    file.symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .collect()
}

/// The file range of section `name` in an ELF object.
pub(super) fn section_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let file = object::File::parse(bytes).expect("parse the fixture");
    let section = file
        .section_by_name(name)
        .unwrap_or_else(|| panic!("no section {name}"));
    let (offset, size) = section.file_range().expect("section has file bytes");
    offset as usize..(offset + size) as usize
}

/// Makes an ELF64 file look as if its section headers were stripped.
fn wipe_section_headers(bytes: &mut [u8]) {
    bytes[0x28..0x30].fill(0); // e_shoff
    bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
}

/// A hand-made thread state: registers and a stack at [`STACK`].
pub(super) struct Stopped {
    /// The innermost registers.
    pub regs: RegisterSet,
    /// The stack.
    pub stack: MemorySnapshot,
}

impl Stopped {
    /// A thread at `pc` with rsp = `STACK + sp_offset`, rbp = 0 (no frame pointer), and the
    /// other general registers set to recognizable values (0x100 + DWARF number).
    pub fn at(pc: u64, sp_offset: u64) -> Self {
        let mut regs = RegisterSet::new();
        for reg in 0..16 {
            regs.set(reg, Some(0x100 + u64::from(reg)));
        }
        regs.set(SP, Some(STACK + sp_offset));
        regs.set(FP, Some(0));
        regs.set(RA, Some(pc));
        Self {
            regs,
            stack: MemorySnapshot {
                base: STACK,
                bytes: vec![0; STACK_SIZE],
            },
        }
    }

    /// The stack pointer.
    pub fn sp(&self) -> u64 {
        self.regs.sp().expect("sp is set")
    }

    /// Writes `value` at stack address `address`.
    pub fn poke(&mut self, address: u64, value: u64) -> &mut Self {
        let at = (address - STACK) as usize;
        self.stack.bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        self
    }

    /// Unwinds this state with `cfi` mapped at [`BIAS`].
    pub fn unwind(&self, cfi: &Arc<ObjectCfi>) -> Backtrace {
        let mapping = CfiMapping {
            range: BIAS + 0x1000..BIAS + 0x2000,
            bias: BIAS,
            cfi: cfi.clone(),
        };
        Unwinder::new(vec![mapping]).unwind_with_stop(&self.regs, &self.stack, MAX_FRAMES)
    }
}

/// Runs `check` on the fixture built with every storage.
fn for_each_storage(check: impl Fn(Storage, &Cases, &Arc<ObjectCfi>)) {
    for storage in ALL_STORAGES {
        let cases = Cases::build(storage);
        let cfi = Arc::new(cases.parse().unwrap_or_else(|e| panic!("{storage:?}: {e}")));
        assert!(!cfi.is_empty(), "{storage:?}");
        check(storage, &cases, &cfi);
    }
}

#[test]
fn offset_rules_restore_saved_registers() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("saves_rbx", 1), 0x100);
        let sp = state.sp();
        state.poke(sp, 0x5a5a).poke(sp + 8, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        let frames = &backtrace.frames;
        assert_eq!(frames.len(), 2, "{storage:?}: {frames:#x?}");
        assert_eq!(frames[0].cfa, Some(sp + 16), "{storage:?}");
        assert_eq!(frames[0].lookup_pc, frames[0].pc, "{storage:?}");
        let caller = &frames[1];
        assert_eq!(caller.pc, cases.at("outermost", 1), "{storage:?}");
        assert_eq!(caller.lookup_pc, cases.at("outermost", 0), "{storage:?}");
        assert_eq!(
            caller.regs.get(3),
            Some(0x5a5a),
            "{storage:?}: rbx restored from the stack"
        );
        assert_eq!(
            caller.regs.get(12),
            Some(0x10c),
            "{storage:?}: r12 callee-saved, unchanged"
        );
        assert_eq!(
            caller.regs.get(FP),
            Some(0),
            "{storage:?}: rbp callee-saved, unchanged"
        );
        assert_eq!(caller.regs.get(0), None, "{storage:?}: rax clobbered by the call");
        assert_eq!(
            caller.regs.get(11),
            None,
            "{storage:?}: r11 clobbered by the call"
        );
        assert_eq!(caller.regs.sp(), Some(sp + 16), "{storage:?}: rsp = CFA");
        assert_eq!(caller.cfa, Some(sp + 24), "{storage:?}");
        assert!(
            frames.iter().all(|f| !f.suspect && !f.signal_frame),
            "{storage:?}"
        );
        assert!(
            matches!(backtrace.stop, StopReason::Outermost),
            "{storage:?}: {:?}",
            backtrace.stop
        );
    });
}

#[test]
fn register_undefined_and_val_offset_rules() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("register_rules", 1), 0x100);
        let sp = state.sp();
        state.poke(sp, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        let caller = &backtrace.frames[1];
        assert_eq!(caller.regs.get(3), Some(0x100), "{storage:?}: rbx was in rax");
        assert_eq!(caller.regs.get(12), None, "{storage:?}: r12 undefined");
        assert_eq!(
            caller.regs.get(FP),
            Some(sp + 8 - 16),
            "{storage:?}: rbp = CFA - 16"
        );
        assert_eq!(caller.regs.get(13), Some(0x10d), "{storage:?}: r13 unchanged");
        assert_eq!(caller.regs.sp(), Some(sp + 8), "{storage:?}");
    });
}

#[test]
fn expression_rules_are_evaluated_against_the_frame() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("expressions", 1), 0x100);
        let sp = state.sp();
        let cfa = sp + 0x200;
        state
            .poke(sp + 16, cfa)
            .poke(sp, 0x5b5b)
            .poke(cfa - 8, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        let frames = &backtrace.frames;
        assert_eq!(frames[0].cfa, Some(cfa), "{storage:?}: CFA = [rsp + 16]");
        let caller = &frames[1];
        assert_eq!(caller.pc, cases.at("outermost", 1), "{storage:?}");
        assert_eq!(caller.regs.sp(), Some(cfa), "{storage:?}");
        assert_eq!(
            caller.regs.get(3),
            Some(0x5b5b),
            "{storage:?}: rbx saved at [rsp]"
        );
        assert_eq!(
            caller.regs.get(12),
            Some(cfa + 5),
            "{storage:?}: CFA pushed first"
        );
        assert_eq!(
            caller.regs.get(13),
            Some(BIAS + 0x1000),
            "{storage:?}: DW_OP_addr relocated"
        );
    });
}

#[test]
fn a_signal_trampoline_makes_the_next_lookup_exact() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("signal_trampoline", 1), 0x100);
        let sp = state.sp();
        // The trampoline "returns" to the first byte of interrupted_at_entry; the byte before
        // it belongs to outermost, whose CFI would end the stack.
        state
            .poke(sp, cases.at("interrupted_at_entry", 0))
            .poke(sp + 8, cases.at("plain_leaf", 1));
        state.poke(sp + 16, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        let frames = &backtrace.frames;
        assert_eq!(frames.len(), 4, "{storage:?}: {frames:#x?}");
        assert!(frames[0].signal_frame, "{storage:?}");
        assert_eq!(frames[1].pc, cases.at("interrupted_at_entry", 0), "{storage:?}");
        assert_eq!(
            frames[1].lookup_pc, frames[1].pc,
            "{storage:?}: exact pc after a signal"
        );
        assert!(!frames[1].signal_frame, "{storage:?}");
        assert_eq!(frames[2].pc, cases.at("plain_leaf", 1), "{storage:?}");
        assert_eq!(
            frames[2].lookup_pc,
            frames[2].pc - 1,
            "{storage:?}: a return address again"
        );
        assert!(matches!(backtrace.stop, StopReason::Outermost), "{storage:?}");
    });
}

#[test]
fn a_cfa_that_does_not_move_up_stops_the_unwind() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("plain_leaf", 1), 0x100);
        let sp = state.sp();
        state.poke(sp, cases.at("cfa_not_increasing", 2));
        state.poke(sp + 8, cases.at("plain_leaf", 1));
        let backtrace = state.unwind(cfi);
        assert_eq!(backtrace.frames.len(), 2, "{storage:?}: {:#x?}", backtrace.frames);
        assert_eq!(backtrace.frames[1].cfa, backtrace.frames[0].cfa, "{storage:?}");
        assert!(
            matches!(backtrace.stop, StopReason::CfaNotIncreasing),
            "{storage:?}"
        );
    });
}

#[test]
fn broken_expressions_fall_back_to_the_frame_pointer() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("endless_expression", 1), 0x100);
        let backtrace = state.unwind(cfi);
        assert_eq!(backtrace.frames.len(), 1, "{storage:?}");
        assert!(
            matches!(backtrace.stop, StopReason::Failed(UnwindError::Expression(_))),
            "{storage:?}: {:?}",
            backtrace.stop
        );
        let rbp = state.sp() + 0x40;
        state.regs.set(FP, Some(rbp));
        state.poke(rbp, 0).poke(rbp + 8, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        assert_eq!(backtrace.frames.len(), 2, "{storage:?}");
        assert_eq!(backtrace.frames[0].cfa, Some(rbp + 16), "{storage:?}");
        assert!(backtrace.frames[1].suspect, "{storage:?}");
        assert_eq!(backtrace.frames[1].pc, cases.at("outermost", 1), "{storage:?}");
    });
}

#[test]
fn code_without_cfi_uses_the_frame_pointer_or_stops() {
    for_each_storage(|storage, cases, cfi| {
        let mut state = Stopped::at(cases.at("no_cfi", 1), 0x100);
        let backtrace = state.unwind(cfi);
        assert_eq!(backtrace.frames.len(), 1, "{storage:?}");
        assert_eq!(backtrace.frames[0].cfa, None, "{storage:?}");
        assert!(matches!(backtrace.stop, StopReason::NoUnwindInfo), "{storage:?}");

        let rbp = state.sp() + 0x40;
        state.regs.set(FP, Some(rbp));
        // The return address is after the push in saves_rbx, where rbx is saved at CFA - 16.
        state
            .poke(rbp, rbp + 0x40)
            .poke(rbp + 8, cases.at("saves_rbx", 2));
        state
            .poke(rbp + 16, 0x7777)
            .poke(rbp + 24, cases.at("outermost", 1));
        let backtrace = state.unwind(cfi);
        let frames = &backtrace.frames;
        assert_eq!(frames.len(), 3, "{storage:?}: {frames:#x?}");
        assert!(frames[1].suspect, "{storage:?}: found by frame pointer");
        assert_eq!(frames[1].regs.sp(), Some(rbp + 16), "{storage:?}");
        assert_eq!(frames[1].regs.get(FP), Some(rbp + 0x40), "{storage:?}");
        assert_eq!(frames[1].regs.get(12), None, "{storage:?}: unknown without CFI");
        assert!(!frames[2].suspect, "{storage:?}: found by CFI again");
        assert_eq!(frames[2].regs.get(3), Some(0x7777), "{storage:?}");
    });
}

#[test]
fn stop_conditions() {
    let cases = Cases::build(Storage::EhFrameWithHeader);
    let cfi = Arc::new(cases.parse().expect("parse"));

    // A zero return address ends the stack.
    let state = Stopped::at(cases.at("plain_leaf", 1), 0x100);
    let backtrace = state.unwind(&cfi);
    assert_eq!(backtrace.frames.len(), 1);
    assert!(
        matches!(backtrace.stop, StopReason::Outermost),
        "{:?}",
        backtrace.stop
    );

    // The return address lies beyond the copied stack.
    let state = Stopped::at(cases.at("saves_rbx", 1), STACK_SIZE as u64 - 8);
    let backtrace = state.unwind(&cfi);
    assert_eq!(backtrace.frames.len(), 1);
    assert_eq!(backtrace.frames[0].cfa, None);
    let expected = STACK + STACK_SIZE as u64;
    assert!(
        matches!(backtrace.stop, StopReason::Failed(UnwindError::MemoryUnreadable(a)) if a == expected),
        "{:?}",
        backtrace.stop
    );

    // The CFA needs rsp, which is unknown.
    let mut state = Stopped::at(cases.at("plain_leaf", 1), 0x100);
    state.regs.set(SP, None);
    let backtrace = state.unwind(&cfi);
    assert!(
        matches!(
            backtrace.stop,
            StopReason::Failed(UnwindError::RegisterUnknown(SP))
        ),
        "{:?}",
        backtrace.stop
    );

    // No pc at all.
    let mut state = Stopped::at(0, 0x100);
    state.regs.set(RA, None);
    let backtrace = state.unwind(&cfi);
    assert!(backtrace.frames.is_empty());
    assert!(matches!(backtrace.stop, StopReason::NoPc));

    // A pc outside every mapping, with no frame pointer.
    let state = Stopped::at(0x1234_5678, 0x100);
    let backtrace = state.unwind(&cfi);
    assert_eq!(backtrace.frames.len(), 1);
    assert!(matches!(backtrace.stop, StopReason::NoUnwindInfo));
}

#[test]
fn a_frame_pointer_loop_ends() {
    // rbp points to itself: every fallback step would find the same frame again.
    let mut state = Stopped::at(0x1234_5678, 0x100);
    let rbp = state.sp() + 0x40;
    state.regs.set(FP, Some(rbp));
    state.poke(rbp, rbp).poke(rbp + 8, 0x1234_5678);
    let backtrace = Unwinder::new(Vec::new()).unwind_with_stop(&state.regs, &state.stack, MAX_FRAMES);
    assert_eq!(backtrace.frames.len(), 2, "{:#x?}", backtrace.frames);
    assert!(
        matches!(backtrace.stop, StopReason::NoUnwindInfo),
        "{:?}",
        backtrace.stop
    );
}

#[test]
fn a_long_frame_pointer_chain_is_cut_at_the_limit() {
    let mut state = Stopped::at(0x1234_5678, 0);
    // Frames 0x20 bytes apart up the whole stack: [rbp] = rbp + 0x20, [rbp + 8] = a pc.
    let mut rbp = STACK + 0x10;
    state.regs.set(FP, Some(rbp));
    while rbp + 0x20 < STACK + STACK_SIZE as u64 {
        state
            .poke(rbp, rbp + 0x20)
            .poke(rbp + 8, 0x1234_0000 + rbp - STACK);
        rbp += 0x20;
    }
    let unwinder = Unwinder::new(Vec::new());
    let all = unwinder.unwind_with_stop(&state.regs, &state.stack, MAX_FRAMES);
    assert_eq!(all.frames.len(), STACK_SIZE / 0x20, "{:?}", all.stop);
    assert!(all.frames[1..].iter().all(|f| f.suspect));
    let cut = unwinder.unwind_with_stop(&state.regs, &state.stack, 10);
    assert_eq!(cut.frames.len(), 10);
    assert!(matches!(cut.stop, StopReason::FrameLimit));
    assert_eq!(
        unwinder.unwind(&state.regs, &state.stack, usize::MAX).len(),
        all.frames.len()
    );
}

#[test]
fn objects_without_cfi_parse_empty() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("data.c");
    std::fs::write(&source, "int answer = 42;\n").expect("write a source file");
    let lib = dir.path().join("data.so");
    run(Command::new("cc")
        .args(["-shared", "-nostdlib", "-fno-asynchronous-unwind-tables", "-o"])
        .arg(&lib)
        .arg(&source));
    let cfi = ObjectCfi::parse(&SharedBytes::from_vec(read(&lib)), None).expect("parse");
    assert!(cfi.is_empty());

    // The separate-debug-file build: without its debug file, nothing is left.
    let cases = Cases::build(Storage::SeparateDebugFile);
    let alone = ObjectCfi::parse(&SharedBytes::from_vec(cases.bytes.clone()), None).expect("parse");
    assert!(alone.is_empty());
}

#[test]
fn files_that_are_not_x86_64_elf_objects_are_errors() {
    let garbage = SharedBytes::from_vec(b"#!/bin/sh\necho not an object\n".to_vec());
    assert!(matches!(
        ObjectCfi::parse(&garbage, None),
        Err(UnwindError::Object(_))
    ));

    let mut cases = Cases::build(Storage::EhFrameWithHeader);
    cases.bytes[0x12..0x14].copy_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    assert!(matches!(
        cases.parse(),
        Err(UnwindError::UnsupportedArchitecture(_))
    ));

    let cases = Cases::build(Storage::EhFrameWithHeader);
    let garbage_debug = SharedBytes::from_vec(vec![0x7f, b'E', b'L', b'F', 2, 1, 1]);
    let with_bad_debug = ObjectCfi::parse(&SharedBytes::from_vec(cases.bytes.clone()), Some(&garbage_debug));
    assert!(with_bad_debug.is_err(), "a corrupt debug file is reported");
}
