//! The CLI on a live program made the way Fedora's RPM build ships every binary: stripped of
//! everything, with the symbols of its functions that `.dynsym` lacks kept as MiniDebugInfo
//! (an xz-compressed ELF file in `.gnu_debugdata`). Its static functions are named in the
//! frames, as gdb names them; a plain `strip --strip-all` copy names none of them.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Two static functions (not in `.dynsym`) under `main`, the inner one blocked in `pause`.
const PROGRAM: &str = r#"
#include <stdio.h>
#include <unistd.h>
static volatile int keep_going = 1;
__attribute__((noinline)) static void minidebug_wait_here(int n) {
    printf("ready\n");
    fflush(stdout);
    while (keep_going)
        pause();
    (void)n;
}
__attribute__((noinline)) static void minidebug_middle(int n) {
    minidebug_wait_here(n + 1);
    __asm__ volatile("");
}
int main(void) {
    minidebug_middle(1);
    return 0;
}
"#;

/// Runs a tool, panicking with its stderr when it fails; returns its stdout.
fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (scripts/install-test-tools.sh): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The defined symbols `nm --format=posix` lists (`-D`: of `.dynsym`), of the kinds in `kinds`
/// (all when empty), sorted.
fn nm_names(binary: &str, dynamic: bool, kinds: &[&str]) -> Vec<String> {
    let mut args = vec!["--format=posix", "--defined-only"];
    if dynamic {
        args.push("-D");
    }
    args.push(binary);
    let mut names: Vec<String> = tool("nm", &args)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (name, kind) = (fields.next()?, fields.next()?);
            (kinds.is_empty() || kinds.contains(&kind)).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Builds the program into `dir` and returns (the Fedora-style binary, a plainly stripped copy).
fn build(dir: &Path) -> (PathBuf, PathBuf) {
    let source = dir.join("minidebug.c");
    std::fs::write(&source, PROGRAM).expect("write the program");
    let fedora = dir.join("minidebug");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    tool("cc", &["-g", "-O1", "-o", &path(&fedora), &path(&source)]);
    let plain = dir.join("minidebug-plain");
    std::fs::copy(&fedora, &plain).expect("copy");
    tool(
        "strip",
        &["--strip-all", "--remove-section=.comment", &path(&plain)],
    );

    // The function symbols .dynsym lacks are what MiniDebugInfo will hold.
    let dynamic = nm_names(&path(&fedora), true, &[]);
    let keep: Vec<String> = nm_names(&path(&fedora), false, &["T", "t", "W", "w"])
        .into_iter()
        .filter(|name| dynamic.binary_search(name).is_err())
        .collect();
    assert!(
        keep.iter().any(|n| n == "minidebug_middle") && !keep.iter().any(|n| n == "printf"),
        "{keep:?}"
    );
    let script = common::repo().join("tests/fixtures/make-minidebuginfo.sh");
    tool("sh", &[&path(&script), &path(&fedora)]);
    let sections = tool("readelf", &["-S", "-W", &path(&fedora)]);
    assert!(sections.contains(".gnu_debugdata"), "{sections}");
    assert!(
        !sections.contains(".symtab") && !sections.contains(".debug_info"),
        "{sections}"
    );
    (fedora, plain)
}

/// The function names of the main thread of `pid`'s snapshot, the warnings of the snapshot.
fn snapshot_names(pid: i32) -> (Vec<String>, Vec<String>) {
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snapshot = snapshot_ok(&output);
    assert_running_untraced(pid);
    let names = frames(thread(&snapshot, pid))
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    let warnings = snapshot["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(|w| w.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    (names, warnings)
}

#[test]
fn a_fedora_style_stripped_program_names_its_static_functions_like_gdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fedora, plain) = build(dir.path());

    let target = Target::start(&fedora, &[]);
    let pid = target.pid();
    let (names, warnings) = snapshot_names(pid);
    let position = |name: &str| names.iter().position(|n| n == name);
    let (wait, middle, main) = (
        position("minidebug_wait_here"),
        position("minidebug_middle"),
        position("main"),
    );
    assert!(
        wait.is_some() && wait < middle && middle < main,
        "frames: {names:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains(".gnu_debugdata")),
        "{warnings:?}"
    );
    // gdb names the same functions in the same order (it reads .gnu_debugdata too).
    let gdb = gdb_backtraces(pid)
        .remove(&pid)
        .expect("gdb's backtrace of the main thread");
    let ours: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("minidebug_") || *n == "main")
        .collect();
    let theirs: Vec<&String> = gdb
        .iter()
        .filter(|n| n.starts_with("minidebug_") || *n == "main")
        .collect();
    assert_eq!(ours, theirs, "ours: {names:?}\ngdb: {gdb:?}");
    assert_running_untraced(pid);
    drop(target);

    // Without the section, nothing names the static functions (nor main, not in .dynsym).
    let target = Target::start(&plain, &[]);
    let (names, _) = snapshot_names(target.pid());
    assert!(
        !names.iter().any(|n| n.starts_with("minidebug_") || n == "main"),
        "a plainly stripped program has no names for them: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("pause")),
        "libc's frames are named: {names:?}"
    );
}
