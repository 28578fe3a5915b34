//! gdb as an oracle: the fixture runs under gdb, which stops it in `dump()` (called right after
//! the registers were captured), prints every caller's registers as gdb recovers them, then lets
//! the fixture write its dump. Every frame the unwinder finds from the dump must have the pc,
//! stack pointer and callee-saved registers gdb found for the same frame; the frame a signal
//! interrupted must have all its registers.

use std::process::Command;

use super::fixture::{Dump, Fixture};
use super::objects::{cfi_mappings, object_cfi};
use crate::arch::{CALLEE_SAVED, RA, REGISTER_COUNT, REGISTER_NAMES, SP};
use crate::memory::LayeredMemory;
use crate::unwind::{StopReason, Unwinder, MAX_FRAMES};

/// The gdb script printing the frames.
const GDB_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/unwind/gdb_frames.py");

/// One frame as gdb sees it: pc and registers in DWARF order (`None` where gdb has none).
struct GdbFrame {
    pc: u64,
    regs: Vec<Option<u64>>,
}

/// Runs the fixture in `mode` under gdb; returns gdb's frames (innermost first: `dump`, then
/// its callers) and the fixture's dump.
fn run_under_gdb(fixture: &Fixture, mode: &str) -> (Vec<GdbFrame>, Dump) {
    let out = fixture.output_dir(mode);
    let run = format!("run {mode} {}", out.display());
    let source = format!("source {GDB_SCRIPT}");
    let output = Command::new("gdb")
        .args(["-nx", "-q", "-batch"])
        .args(["-ex", "set debuginfod enabled off"])
        .args(["-ex", "set backtrace past-main on"])
        .args(["-ex", "handle SIGUSR1 SIGILL nostop noprint pass"])
        .args([
            "-ex",
            "break dump",
            "-ex",
            &run,
            "-ex",
            &source,
            "-ex",
            "continue",
        ])
        .arg(&fixture.exe)
        .output()
        .expect("run gdb");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let frames: Vec<GdbFrame> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("FRAME "))
        .map(|line| {
            let values: Vec<Option<u64>> = line
                .split_whitespace()
                .map(|v| u64::from_str_radix(v.strip_prefix("0x")?, 16).ok())
                .collect();
            GdbFrame {
                pc: values[0].expect("gdb frame pc"),
                regs: values[1..].to_vec(),
            }
        })
        .collect();
    assert!(
        frames.len() > 12 && frames.iter().all(|f| f.regs.len() == REGISTER_COUNT),
        "gdb output not understood:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (frames, Dump::read(&out, &fixture.exe))
}

/// Compares the unwinder with gdb for one build and mode.
fn compare_with_gdb(flags: &[&str], mode: &str) {
    let fixture = Fixture::build(&[flags, &["-g"]].concat());
    let (gdb_frames, dump) = run_under_gdb(&fixture, mode);
    let unwinder = Unwinder::new(cfi_mappings(&dump.maps, object_cfi));
    let memory = LayeredMemory::new(&dump.memory, None);
    let backtrace = unwinder.unwind_with_stop(&dump.registers(), &memory, MAX_FRAMES);
    let ours = &backtrace.frames;
    // gdb's frame 0 is dump(); its frame k + 1 is our frame k.
    assert_eq!(
        ours.len() + 1,
        gdb_frames.len(),
        "{flags:?} {mode}: frame count ({:?})",
        backtrace.stop
    );
    assert!(
        matches!(backtrace.stop, StopReason::Outermost),
        "{flags:?} {mode}: {:?}",
        backtrace.stop
    );
    let mut after_signal = false;
    for (index, (frame, gdb)) in ours.iter().zip(&gdb_frames[1..]).enumerate().skip(1) {
        let context = format!("{flags:?} {mode} frame {index} (pc {:#x})", frame.pc);
        assert_eq!(frame.pc, gdb.pc, "{context}: pc");
        let checked: Vec<u16> = if after_signal {
            (0..REGISTER_COUNT as u16).collect()
        } else {
            [RA, SP].into_iter().chain(CALLEE_SAVED).collect()
        };
        for reg in checked {
            let name = REGISTER_NAMES[usize::from(reg)];
            let theirs = gdb.regs[usize::from(reg)];
            assert!(theirs.is_some(), "{context}: gdb lacks {name}");
            assert_eq!(frame.regs.get(reg), theirs, "{context}: {name}");
        }
        after_signal = frame.signal_frame;
    }
}

#[test]
fn registers_of_every_frame_match_gdb() {
    compare_with_gdb(&["-O2", "-fomit-frame-pointer"], "plain");
    compare_with_gdb(&["-O0", "-fno-omit-frame-pointer"], "plain");
}

#[test]
fn registers_through_a_signal_frame_match_gdb() {
    compare_with_gdb(&["-O2", "-fomit-frame-pointer"], "sigusr1");
    compare_with_gdb(&["-O0"], "sigill");
}
