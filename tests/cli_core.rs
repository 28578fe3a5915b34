//! `ptrace --core CORE [EXE]` through the real CLI, on real cores:
//! - cores `gcore` wrote of the parked example programs, each compared thread by thread, frame by
//!   frame and variable by variable with what gdb reads from the same core (the oracle of
//!   `common::gdb`, as the live tests use it);
//! - the core the kernel wrote for `crash segv` (when `core_pattern` names a plain file), against
//!   the snapshot `ptrace --exec -- crash segv` takes of the same crash (both run without address
//!   randomisation when the personality allows it, so even addresses agree), with the tutorial's
//!   Lua and C modules too, and against gdb;
//! - `--core -` (standard input, spooled into `--spool-dir`), a core whose executable moved
//!   (given as EXE, or missing), EXE of another program, a static program, code without CFI;
//! - files that are not readable cores: one line on stderr each, exit status 1, never a panic.
//!
//! Every target program runs only until its core is written, as a `common::Target` (killed and
//! reaped when dropped, on a panic too); the cores are kept small (few threads, one malloc
//! arena) and live in temporary folders.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../src/test_support/kernel_core.rs"]
mod kernel_core;

use common::gdb::*;
use common::*;
use kernel_core::{kernel_core, prepare_child, ADDR_NO_RANDOMIZE};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---- helpers ---------------------------------------------------------------------------------

/// How long `gcore` may take (seconds, for `timeout`).
const GCORE_TIMEOUT: &str = "120";

/// Starts `program args...` with one malloc arena (no 64 MiB arena reservation per thread in
/// the core) and waits until it prints `ready`.
fn start(program: &Path, args: &[&str]) -> Target {
    let mut child = spawn_written_program(
        Command::new(program)
            .args(args)
            .env("MALLOC_ARENA_MAX", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    )
    .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    // Killed and reaped from here on, whatever happens.
    let target = Target { child };
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("read the target's stdout");
    assert_eq!(line.trim(), "ready", "{} did not get ready", program.display());
    target
}

/// `gcore -o DIR/core PID`: the core of the running `target`, `DIR/core.PID`.
fn gcore(target: &Target, dir: &Path) -> PathBuf {
    let prefix = dir.join("core");
    let output = Command::new("timeout")
        .arg(GCORE_TIMEOUT)
        .arg("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(target.pid().to_string())
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run gcore");
    let core = dir.join(format!("core.{}", target.pid()));
    assert!(
        output.status.success() && core.is_file(),
        "gcore {}: {:?}\n{}{}",
        target.pid(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    core
}

/// The core of `program args` (started as `start` does) that gcore writes into `dir`; the
/// program is killed once the core is written.
fn gcore_of(program: &Path, args: &[&str], dir: &Path) -> PathBuf {
    let target = start(program, args);
    gcore(&target, dir)
}

/// Runs the CLI with `args` (standard input empty) and returns what it did.
fn ptrace(args: &[&str]) -> Output {
    Command::new(ptrace_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ptrace")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The snapshot the CLI wrote on stdout (`-o -`), after checking it succeeded and did not panic.
fn stdout_snapshot(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "ptrace failed: {:?}\nstderr: {}",
        output.status,
        stderr(output)
    );
    assert_no_panic(output);
    serde_json::from_slice(&output.stdout).expect("the snapshot on stdout is JSON")
}

/// `ptrace --core CORE [EXE] -o -` with `extra` arguments first; returns the snapshot and the
/// CLI's output.
fn snapshot_core(core: &Path, exe: Option<&Path>, extra: &[&str]) -> (Value, Output) {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend(["--core".to_string(), path_str(core).to_string()]);
    args.extend(exe.map(|e| path_str(e).to_string()));
    args.extend(["-o".to_string(), "-".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = ptrace(&args);
    (stdout_snapshot(&output), output)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Nothing on stderr says the CLI panicked.
fn assert_no_panic(output: &Output) {
    let log = stderr(output);
    assert!(
        !log.contains("panicked") && !log.contains("internal error") && !log.contains("RUST_BACKTRACE"),
        "{log}"
    );
}

/// Asserts the CLI failed with status 1 and exactly one stderr line, `ptrace: ...`, which
/// contains every one of `needles`, and wrote no snapshot; returns that line.
fn assert_one_line_error(output: &Output, needles: &[&str]) -> String {
    let log = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert_no_panic(output);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {log}");
    assert!(lines[0].starts_with("ptrace: "), "{log}");
    for needle in needles {
        assert!(lines[0].contains(needle), "no {needle:?} in {log}");
    }
    assert!(output.stdout.is_empty(), "a snapshot was written");
    lines[0].to_string()
}

/// The frames of thread `thread` whose symbol is `symbol` (or starts with `symbol(`).
fn frames_named<'a>(thread: &'a Value, symbol: &str) -> Vec<&'a Value> {
    thread["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| {
            f["symbol"]
                .as_str()
                .is_some_and(|s| s == symbol || s.starts_with(&format!("{symbol}(")))
        })
        .collect()
}

/// The warnings of a snapshot (which has the list).
fn warnings(snap: &Value) -> Vec<&str> {
    snap["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The thread ids of a snapshot.
fn snapshot_tids(snapshot: &Value) -> BTreeSet<i64> {
    snapshot["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| t["tid"].as_i64().expect("tid"))
        .collect()
}

// ---- gcore cores against gdb -----------------------------------------------------------------

/// Starts `program args`, writes its core with gcore, kills it, then compares `ptrace [extra]
/// --core CORE` (no EXE: the core names it) with what gdb reads from the same core: the same
/// threads (those of the live process), and every frame and variable as the live oracle tests
/// compare them. At least `min_checked` of gdb's variables must have been compared. Returns the
/// snapshot.
fn check_gcore_against_gdb(program: &str, args: &[&str], extra: &[&str], min_checked: usize) -> Value {
    let exe = std::fs::canonicalize(example(program)).expect("canonical program path");
    let dir = tempfile::tempdir().expect("temp dir");
    let target = start(&exe, args);
    let pid = target.pid();
    let live_tids: BTreeSet<i64> = common::sleeper::tids_of(pid).into_iter().map(i64::from).collect();
    assert!(!live_tids.is_empty(), "no thread of {pid} in /proc");
    let core = gcore(&target, dir.path());
    drop(target);

    let (snap, output) = snapshot_core(&core, None, extra);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(snap["process_state"], "core");
    assert_eq!(snap["pid"], pid);
    assert_eq!(snap["executable"], path_str(&exe));
    assert_eq!(snap["core"]["file"], path_str(&core));
    let command_line = snap["core"]["command_line"].as_str().expect("the command line");
    assert!(command_line.starts_with(path_str(&exe)), "{command_line}");
    assert_eq!(snap["timing"]["stopped_us"], 0);
    // gcore of a running process: no signal dumped it, nothing faulted.
    assert!(snap["fault"].is_null(), "{}", snap["fault"]);
    assert_eq!(snapshot_tids(&snap), live_tids, "the threads are NT_PRSTATUS's");
    assert!(
        snap["warnings"].as_array().is_none_or(Vec::is_empty),
        "{}",
        snap["warnings"]
    );

    let gdb = gdb_core_frames_with_variables(&core, &exe);
    let gdb_tids: BTreeSet<i64> = gdb.keys().map(|&t| i64::from(t)).collect();
    assert_eq!(gdb_tids, live_tids, "gdb reads the same threads");
    let checked = assert_snapshot_matches_gdb(&snap, &gdb, &format!("core of {program}"));
    assert!(
        checked >= min_checked,
        "only {checked} of gdb's variables checked ({program})"
    );
    println!("{program} {args:?}: {checked} variables equal to gdb's");
    snap
}

/// The globals of `crash` whose values are in read-only data, which gcore leaves out of the core
/// (only the program's file has it).
const READ_ONLY_GLOBALS: [&str; 4] = ["--global", "global_version", "--global", "invalid_write_target"];

/// The strings the globals of [`READ_ONLY_GLOBALS`] point to are read (from the program's file).
fn check_read_only_globals(snap: &Value) {
    let globals = &snap["globals"];
    assert_eq!(var(globals, "global_version")["symbol"], "crash 1.0.0");
    let target = var(globals, "invalid_write_target");
    assert_eq!(var(&target["children"], "name")["symbol"], "low page");
}

#[test]
fn gcore_of_crash_hang_matches_gdb() {
    let snap = check_gcore_against_gdb("crash", &["hang", "2"], &READ_ONLY_GLOBALS, 150);
    check_read_only_globals(&snap);
    // Each thread's own thread-locals.
    let pid = snap["pid"].as_i64().unwrap();
    for t in snap["threads"].as_array().unwrap() {
        let counter = var(&t["variables"], "hang_tls_counter")["value"]
            .as_i64()
            .unwrap();
        if t["tid"] == pid {
            assert_eq!(counter, 100);
        } else {
            assert!(counter == 101 || counter == 102, "{counter}");
        }
    }
}

#[test]
fn gcore_of_crash_o2_hang_matches_gdb() {
    let snap = check_gcore_against_gdb("crash-O2", &["hang", "2"], &READ_ONLY_GLOBALS, 150);
    check_read_only_globals(&snap);
}

#[test]
fn gcore_of_threads_o2_matches_gdb() {
    check_gcore_against_gdb("threads-O2", &["2", "3"], &[], 200);
}

#[test]
fn gcore_of_cpp_example_hang_matches_gdb() {
    check_gcore_against_gdb("cpp_example", &["hang"], &[], 55);
}

#[test]
fn gcore_of_cpp_example_o2_hang_matches_gdb() {
    check_gcore_against_gdb("cpp_example-O2", &["hang"], &[], 55);
}

// ---- the kernel's core of a crash against --exec ---------------------------------------------

/// Whether programs can be started without address randomisation here (a seccomp filter may
/// refuse `personality`): `cat /proc/self/personality` started that way says so.
fn aslr_can_be_turned_off() -> bool {
    let mut command = Command::new("cat");
    command.arg("/proc/self/personality");
    prepare_child(&mut command, false, true);
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| libc::c_ulong::from_str_radix(String::from_utf8_lossy(&o.stdout).trim(), 16).ok())
        .is_some_and(|p| p & ADDR_NO_RANDOMIZE != 0)
}

/// A kernel core of `crash segv`.
struct SegvCore {
    /// Holds the core.
    _dir: tempfile::TempDir,
    /// The kernel's core.
    core: PathBuf,
    /// The program, canonical.
    exe: PathBuf,
}

/// The kernel's core of `crash segv` (without address randomisation when `no_aslr`), or `None`
/// after printing why it is NOT CHECKED.
fn segv_core(test: &str, no_aslr: bool) -> Option<SegvCore> {
    let exe = std::fs::canonicalize(example("crash")).expect("canonical program path");
    let dir = tempfile::tempdir().expect("temp dir");
    match kernel_core(&exe, &["segv"], dir.path(), no_aslr) {
        Ok(core) => Some(SegvCore { _dir: dir, core, exe }),
        Err(why) => {
            eprintln!("NOT CHECKED: {test} (the kernel-written core of crash segv): {why}");
            None
        }
    }
}

/// `ptrace [extra] -o - --exec -- PROGRAM segv` (without address randomisation when `no_aslr`):
/// the snapshot and the CLI's stderr. The program dies of SIGSEGV.
fn exec_segv(exe: &Path, extra: &[&str], no_aslr: bool) -> (Value, String) {
    let mut command = Command::new(ptrace_bin());
    command
        .args(extra)
        .args(["-o", "-", "--exec", "--"])
        .arg(exe)
        .arg("segv")
        .stdin(Stdio::null());
    prepare_child(&mut command, false, no_aslr);
    let output = command.output().expect("run ptrace --exec");
    assert_eq!(
        output.status.code(),
        Some(128 + libc::SIGSEGV),
        "{}",
        stderr(&output)
    );
    assert_no_panic(&output);
    let snap = serde_json::from_slice(&output.stdout).expect("the snapshot on stdout is JSON");
    (snap, stderr(&output))
}

/// Replaces every address-like string (`0x...`) in a variable tree by `0x?`.
fn mask_addresses(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with("0x") => *text = "0x?".to_string(),
        Value::Array(list) => list.iter_mut().for_each(mask_addresses),
        Value::Object(map) => map.values_mut().for_each(mask_addresses),
        _ => {}
    }
}

/// The variables of the frames of `thread` up to and including `main`, as JSON (addresses masked
/// unless `keep_addresses`); also how many variables (leaves included) they hold.
fn user_frame_variables(thread: &Value, keep_addresses: bool) -> (Vec<Value>, usize) {
    fn count(list: &Value) -> usize {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|v| 1 + count(&v["children"]))
            .sum()
    }
    let mut out = Vec::new();
    let mut total = 0;
    for frame in thread["frames"].as_array().expect("frames") {
        let mut variables = frame["variables"].clone();
        total += count(&variables);
        if !keep_addresses {
            mask_addresses(&mut variables);
        }
        out.push(serde_json::json!({"symbol": frame["symbol"], "variables": variables}));
        if frame["symbol"] == "main" {
            return (out, total);
        }
    }
    panic!("no main frame in {thread}");
}

#[test]
fn kernel_core_of_a_segfault_is_the_exec_snapshot_of_it() {
    let no_aslr = aslr_can_be_turned_off();
    if !no_aslr {
        eprintln!("NOT CHECKED: addresses of the kernel core against --exec (personality refused)");
    }
    let Some(segv) = segv_core("kernel_core_of_a_segfault_is_the_exec_snapshot_of_it", no_aslr) else {
        return;
    };
    let (core_snap, output) = snapshot_core(&segv.core, None, &[]);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    let (exec_snap, _) = exec_segv(&segv.exe, &[], no_aslr);

    assert_eq!(core_snap["process_state"], "core");
    assert_eq!(core_snap["core"]["file"], path_str(&segv.core));
    assert_eq!(
        core_snap["core"]["command_line"],
        format!("{} segv", segv.exe.display())
    );
    assert_eq!(core_snap["executable"], path_str(&segv.exe));
    assert_eq!(core_snap["timing"]["stopped_us"], 0);

    // The fault, from NT_SIGINFO: the invalid write to 0x10.
    let fault = &core_snap["fault"];
    assert_eq!(fault["signal"], libc::SIGSEGV);
    assert_eq!(fault["signal_name"], "SIGSEGV");
    assert_eq!(fault["code"], 1, "SEGV_MAPERR");
    assert_eq!(fault["address"], "0x10");
    assert_eq!(fault["reason"], "address not mapped to object");
    assert_eq!(fault["tid"], core_snap["pid"], "the main thread faults");
    let without_tid = |f: &Value| {
        let mut f = f.clone();
        f.as_object_mut().expect("a fault object").remove("tid");
        f
    };
    assert_eq!(without_tid(fault), without_tid(&exec_snap["fault"]));

    // The faulting thread comes first and is marked, with its faulting frame.
    let core_thread = &core_snap["threads"][0];
    assert_eq!(core_thread["tid"], fault["tid"]);
    assert_eq!(core_thread["fault"], true);
    assert_eq!(core_thread["frames"][0]["fault"], true);
    let exec_thread = thread(&exec_snap, exec_snap["fault"]["tid"].as_i64().unwrap() as i32);
    assert_eq!(
        core_snap["threads"].as_array().unwrap().len(),
        exec_snap["threads"].as_array().unwrap().len()
    );

    // The same frames: symbols, files, lines.
    let core_frames = frames(core_thread);
    assert_eq!(core_frames, frames(exec_thread));
    assert_eq!(core_frames[0].0, "recurse");
    assert_eq!(
        core_frames[0].2,
        Some(marked_line("crash.c", "/* INVALID WRITE */"))
    );
    let names: Vec<&str> = core_frames.iter().map(|f| f.0.as_str()).collect();
    let main = names.iter().position(|&n| n == "main").expect("a main frame");
    assert_eq!(names[..main], ["recurse"; 6], "{names:?}");
    if no_aslr {
        let pcs = |t: &Value| -> Vec<Value> {
            t["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["pc"].clone())
                .collect()
        };
        assert_eq!(pcs(core_thread), pcs(exec_thread), "the same pcs without ASLR");
    }

    // The same variables in recurse ... main (addresses too without ASLR), and thread-locals.
    let (core_vars, count) = user_frame_variables(core_thread, no_aslr);
    let (exec_vars, _) = user_frame_variables(exec_thread, no_aslr);
    assert!(count >= 40, "only {count} variables in recurse ... main");
    for (ours, theirs) in core_vars.iter().zip(&exec_vars) {
        assert_eq!(ours, theirs);
    }
    assert_eq!(core_vars.len(), exec_vars.len());
    let recurse = frames_named(core_thread, "recurse");
    for (depth, frame) in recurse.iter().enumerate() {
        assert_eq!(var(&frame["variables"], "n")["value"], depth);
        let local = var(&frame["variables"], "frame");
        assert_eq!(var(&local["children"], "tag")["value"], 0xc0de + depth);
    }
    let mut tls = (core_thread["variables"].clone(), exec_thread["variables"].clone());
    if !no_aslr {
        mask_addresses(&mut tls.0);
        mask_addresses(&mut tls.1);
    }
    assert_eq!(tls.0, tls.1);
    assert_eq!(var(&core_thread["variables"], "hang_tls_counter")["value"], 100);

    // And gdb reads the same from the kernel's core (whose text the kernel left out: read from
    // the program's file).
    let gdb = gdb_core_frames_with_variables(&segv.core, &segv.exe);
    let checked = assert_snapshot_matches_gdb(&core_snap, &gdb, "kernel core of crash segv");
    assert!(checked >= 30, "only {checked} of gdb's variables checked");
}

// ---- the tutorial's modules on the crash core ------------------------------------------------

/// What the tutorial logs (warnings of its module, without the module's id), addresses
/// replaced by `tutorial_line`; and the `process state:` line apart.
fn tutorial_log(log: &str) -> (Vec<String>, Option<String>) {
    let mut lines = Vec::new();
    let mut state = None;
    for line in log.lines() {
        let Some((_, text)) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .filter(|(module, _)| module.starts_with("pmodule_"))
        else {
            continue;
        };
        let normal = tutorial_line(text);
        if let Some((_, value)) = normal.split_once("process state: ") {
            state = Some(value.to_string());
        } else {
            lines.push(normal);
        }
    }
    (lines, state)
}

#[test]
fn the_tutorial_modules_see_the_crash_core_as_the_crash() {
    let no_aslr = aslr_can_be_turned_off();
    let Some(segv) = segv_core("the_tutorial_modules_see_the_crash_core_as_the_crash", no_aslr) else {
        return;
    };
    let lua = repo().join("lua/examples/pmodule_lua.lua");
    let c = std::fs::canonicalize(example("modules/tutorial.so")).expect("the C tutorial module");
    let mut from_core = Vec::new();
    for module in [&lua, &c] {
        let load = ["--module-load", path_str(module)];
        let (core_snap, output) = snapshot_core(&segv.core, None, &load);
        let core_log = stderr(&output);
        let (exec_snap, exec_log) = exec_segv(&segv.exe, &load, no_aslr);
        let name = module.file_name().unwrap().to_string_lossy().into_owned();

        let notes = annotations(&core_snap);
        assert!(notes.len() >= 10, "{name}: {notes:#?}\n{core_log}");
        assert!(
            notes.iter().any(|n| n.contains("lua: struct var")),
            "{name}: {notes:#?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("\"Address\":\"10\"") || n.contains("\"Address\": \"10\"")),
            "{name}: the fault's siginfo: {notes:#?}"
        );
        assert_eq!(
            notes,
            annotations(&exec_snap),
            "{name}\ncore log: {core_log}\nexec log: {exec_log}"
        );
        for key in ["attributes", "classifiers", "tags"] {
            assert_eq!(core_snap[key], exec_snap[key], "{name}: {key}");
        }
        assert_eq!(core_snap["classifiers"], serde_json::json!(["lua"]), "{name}");
        assert_eq!(core_snap["attributes"]["lua_key1"], 42, "{name}");
        assert_eq!(core_snap["attributes"]["lua_key2"], "lua_value", "{name}");

        // The same globals, thread-locals and string logged; the process state is the core's.
        let (core_lines, core_state) = tutorial_log(&core_log);
        let (exec_lines, exec_state) = tutorial_log(&exec_log);
        assert_tutorial_iterations(&core_lines, &name);
        assert_eq!(core_lines, exec_lines, "{name}");
        assert_eq!(
            core_state.as_deref(),
            Some("11"),
            "{name}: pmodule.process_state.core"
        );
        assert!(exec_state.is_some_and(|s| s != "11"), "{name}");
        from_core.push((notes, core_snap["attributes"].clone(), core_lines));
    }
    assert_eq!(
        from_core[0], from_core[1],
        "the C tutorial annotates the core like the Lua one"
    );
}

// ---- --core - ----------------------------------------------------------------------------------

/// A snapshot without what changes from run to run or names the file it was read from.
fn comparable(mut snapshot: Value) -> Value {
    let map = snapshot.as_object_mut().expect("a snapshot object");
    map.remove("timing");
    map.remove("timestamp");
    if let Some(core) = map.get_mut("core").and_then(Value::as_object_mut) {
        core.remove("file");
    }
    snapshot
}

/// `cat CORE | ptrace --core - --spool-dir SPOOL -o -`.
fn snapshot_from_stdin(core: &Path, spool: &Path) -> Output {
    let mut cat = Command::new("cat")
        .arg(core)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run cat");
    let pipe = cat.stdout.take().expect("cat's stdout");
    let output = Command::new(ptrace_bin())
        .args(["--core", "-", "--spool-dir", path_str(spool), "-o", "-"])
        .stdin(Stdio::from(pipe))
        .output()
        .expect("run ptrace");
    let _ = cat.wait();
    output
}

#[test]
fn a_core_read_from_stdin_gives_the_snapshot_of_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = tempfile::tempdir().expect("spool dir");
    let core = gcore_of(&example("crash"), &["hang", "1"], dir.path());

    let (from_file, _) = snapshot_core(&core, None, &[]);
    let output = snapshot_from_stdin(&core, spool.path());
    let from_stdin = stdout_snapshot(&output);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(from_stdin["core"]["file"], "-");
    assert_eq!(from_stdin["process_state"], "core");
    assert_eq!(frames_named(&from_stdin["threads"][0], "recurse").len(), 6);
    assert_eq!(comparable(from_stdin), comparable(from_file));
    assert_eq!(
        std::fs::read_dir(spool.path()).unwrap().count(),
        0,
        "the spooled core is removed"
    );

    // Not a core on stdin: one line naming the problem, the spool removed too.
    let text = dir.path().join("text");
    std::fs::write(&text, "not a core\n").unwrap();
    let output = snapshot_from_stdin(&text, spool.path());
    assert_one_line_error(&output, &["not an ELF file"]);
    assert_eq!(std::fs::read_dir(spool.path()).unwrap().count(), 0);
}

// ---- EXE -----------------------------------------------------------------------------------------

#[test]
fn a_core_whose_program_moved_reads_with_exe_and_warns_without() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ran = dir.path().join("ran");
    let moved = dir.path().join("moved");
    std::fs::create_dir_all(&ran).unwrap();
    std::fs::create_dir_all(&moved).unwrap();
    let original = ran.join("crash");
    std::fs::copy(example("crash"), &original).expect("copy the program");
    let core = gcore_of(&original, &["hang", "1"], dir.path());
    let exe = moved.join("crash");
    std::fs::rename(&original, &exe).expect("move the program away");

    // With EXE: symbols, lines and variables of the program, no warning.
    let (snap, output) = snapshot_core(&core, Some(&exe), &[]);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(snap["executable"], path_str(&exe));
    let main_thread = thread(&snap, snap["pid"].as_i64().unwrap() as i32);
    let recurse = frames_named(main_thread, "recurse");
    assert_eq!(recurse.len(), 6, "{:?}", frames(main_thread));
    for (depth, frame) in recurse.iter().enumerate() {
        assert_eq!(frame["object"], path_str(&exe));
        assert!(frame["line"].as_u64().is_some(), "{frame}");
        assert_eq!(var(&frame["variables"], "n")["value"], depth);
    }
    let main = frames_named(main_thread, "main");
    assert_eq!(main.len(), 1);
    assert_eq!(
        main[0]["line"].as_u64(),
        Some(marked_line("crash.c", "recurse(ctx.max_depth, &ctx);"))
    );
    let helper = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tid"] != snap["pid"])
        .expect("the helper thread");
    assert_eq!(
        frames_named(helper, "hang_thread_main").len(),
        1,
        "{:?}",
        frames(helper)
    );

    // Without EXE: a snapshot still, with a warning naming the file that is gone.
    let (snap, output) = snapshot_core(&core, None, &[]);
    let gone = path_str(&original);
    let warnings = warnings(&snap);
    assert!(warnings.iter().any(|w| w.contains(gone)), "{warnings:#?}");
    assert!(stderr(&output).contains(gone), "{}", stderr(&output));
    assert_eq!(snap["executable"], gone);
    let main_thread = thread(&snap, snap["pid"].as_i64().unwrap() as i32);
    let names: Vec<String> = frames(main_thread).into_iter().map(|f| f.0).collect();
    assert!(!names.iter().any(|n| n == "recurse"), "{names:?}");
    // libc is still there: its frames are named.
    assert!(names.iter().any(|n| n.contains("pause")), "{names:?}");
    assert_eq!(snap["threads"].as_array().unwrap().len(), 2);
}

#[test]
fn exe_of_another_program_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let core = gcore_of(&example("crash"), &["hang", "1"], dir.path());
    let other = example("threads");
    let output = ptrace(&["--core", path_str(&core), path_str(&other), "-o", "-"]);
    let line = assert_one_line_error(&output, &["is not the core's executable"]);
    assert!(
        line.starts_with(&format!("ptrace: {}", other.display())),
        "{line}"
    );
    // The right one is taken.
    let (snap, _) = snapshot_core(&core, Some(&example("crash")), &[]);
    assert_eq!(frames_named(&snap["threads"][0], "recurse").len(), 6);
}

// ---- a static program, code without CFI ------------------------------------------------------

/// A program that parks three frames deep: level2(5) <- level1(4) <- main.
const PARKED_C: &str = r#"
#include <stdio.h>
#include <unistd.h>

static int __attribute__((noinline)) level2(int n)
{
	int local2 = n * 3;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause(); /* PARKED */
	return local2;
}

static int __attribute__((noinline)) level1(int n)
{
	int local1 = n + 1;
	return level2(local1) + local1; /* CALLS LEVEL2 */
}

int main(void)
{
	return level1(4); /* CALLS LEVEL1 */
}
"#;

/// The 1-based line of `PARKED_C` containing `marker`.
fn parked_line(marker: &str) -> u64 {
    PARKED_C
        .lines()
        .position(|l| l.contains(marker))
        .expect("the marker is in the source") as u64
        + 1
}

/// Compiles `PARKED_C` with `flags` into `dir/name`; the compiler's error when it fails.
fn build_parked(dir: &Path, name: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let source = dir.join("parked.c");
    std::fs::write(&source, PARKED_C).expect("write the source");
    let binary = dir.join(name);
    let output = Command::new("cc")
        .args(flags)
        .args(["-g", "-O0", "-Wall", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run cc");
    if output.status.success() {
        Ok(binary)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Runs `binary`, snapshots it live, cores it, and checks `ptrace --core` unwinds level2,
/// level1, main with their lines and variables, with the live snapshot's frames and warnings,
/// and as gdb reads the core (only up to main unless `gdb_past_main`); returns the main thread's
/// frames.
fn check_parked_core(binary: &Path, dir: &Path, gdb_past_main: bool) -> Vec<Value> {
    let target = start(binary, &[]);
    let live = stdout_snapshot(&ptrace(&[&target.pid().to_string(), "-o", "-"]));
    let core = gcore(&target, dir);
    drop(target);
    let (snap, output) = snapshot_core(&core, None, &[]);
    assert_eq!(snap["warnings"], live["warnings"], "the live process's warnings");
    if let Some(warnings) = snap["warnings"].as_array().filter(|w| !w.is_empty()) {
        println!("{}: warnings (as live): {warnings:?}", binary.display());
    }
    assert_eq!(snap["threads"].as_array().unwrap().len(), 1);
    let main_thread = &snap["threads"][0];
    assert_eq!(
        frames(main_thread),
        frames(&live["threads"][0]),
        "the live frames"
    );
    let frames_list = main_thread["frames"].as_array().unwrap().clone();
    let names: Vec<&str> = frames_list
        .iter()
        .map(|f| f["symbol"].as_str().unwrap_or("??"))
        .collect();
    let at = names
        .iter()
        .position(|&n| n == "level2")
        .unwrap_or_else(|| panic!("no level2 frame: {names:?}\n{}", stderr(&output)));
    assert_eq!(names[at..at + 3], ["level2", "level1", "main"], "{names:?}");
    let expected = [
        ("PARKED", [("n", 5), ("local2", 15)]),
        ("CALLS LEVEL2", [("n", 4), ("local1", 5)]),
    ];
    for (frame, (marker, values)) in frames_list[at..].iter().zip(expected) {
        assert_eq!(frame["line"].as_u64(), Some(parked_line(marker)), "{frame}");
        for (name, value) in values {
            assert_eq!(var(&frame["variables"], name)["value"], value, "{frame}");
        }
    }
    assert_eq!(
        frames_list[at + 2]["line"].as_u64(),
        Some(parked_line("CALLS LEVEL1"))
    );

    // And gdb agrees, from level2 (below it, libc's pause, which gdb may name by another of
    // its aliases: the same pc) to main, or to the end with `gdb_past_main`.
    let mut gdb = gdb_core_frames_with_variables(&core, binary);
    let tid = i32::try_from(main_thread["tid"].as_i64().unwrap()).unwrap();
    let gdb_frames = gdb.get_mut(&tid).expect("gdb's thread");
    let pc = |f: &Value| u64::from_str_radix(f["pc"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(gdb_frames[0].pc, Some(pc(&frames_list[0])), "the innermost pc");
    let gdb_at = gdb_frames
        .iter()
        .position(|f| f.function == "level2")
        .expect("gdb's level2");
    let gdb_end = match gdb_past_main {
        true => gdb_frames.len(),
        false => gdb_at + 3,
    };
    *gdb_frames = gdb_frames[gdb_at..gdb_end].to_vec();
    let mut compared = snap.clone();
    let ours_end = if gdb_past_main { frames_list.len() } else { at + 3 };
    compared["threads"][0]["frames"] = Value::from(frames_list[at..ours_end].to_vec());
    let checked = assert_snapshot_matches_gdb(&compared, &gdb, &binary.display().to_string());
    assert!(checked >= 4, "only {checked} of gdb's variables checked");
    frames_list
}

#[test]
fn a_static_program_core_unwinds_to_main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = match build_parked(dir.path(), "parked-static", &["-static"]) {
        Ok(binary) => binary,
        Err(why) => {
            eprintln!("NOT CHECKED: a_static_program_core_unwinds_to_main: cc -static fails: {why}");
            return;
        }
    };
    let elf = std::fs::read(&binary).unwrap();
    // No PT_INTERP: really static.
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes([elf[0x38], elf[0x39]]) as usize;
    assert!(
        (0..phnum).all(|i| elf[phoff + 56 * i..phoff + 56 * i + 4] != 3u32.to_le_bytes()),
        "the program has an interpreter"
    );
    let frames_list = check_parked_core(&binary, dir.path(), true);
    // Everything is in the one object.
    let objects: BTreeSet<&str> = frames_list.iter().filter_map(|f| f["object"].as_str()).collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[test]
fn code_without_cfi_unwinds_by_frame_pointer_to_main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flags = [
        "-fno-asynchronous-unwind-tables",
        "-fno-unwind-tables",
        "-fno-omit-frame-pointer",
    ];
    let binary = build_parked(dir.path(), "parked-nocfi", &flags).expect("cc");
    // -g still describes the frames in .debug_frame: remove it, so no CFI covers the code.
    let status = Command::new("objcopy")
        .args(["--remove-section", ".debug_frame"])
        .arg(&binary)
        .status()
        .expect("run objcopy");
    assert!(status.success(), "objcopy");
    let sections = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(&binary)
        .output()
        .expect("run readelf");
    let sections = String::from_utf8_lossy(&sections.stdout);
    assert!(!sections.contains(".debug_frame"), "{sections}");
    // Past main, gdb finds callee-saved registers the frame-pointer steps do not recover (the
    // values of __libc_start_call_main's argv): compared up to main.
    let frames_list = check_parked_core(&binary, dir.path(), false);
    // level1 and main are found through the frame pointer (level2 through pause's CFI): marked
    // suspect, as frame-pointer frames are.
    let at = frames_list.iter().position(|f| f["symbol"] == "level2").unwrap();
    assert_eq!(frames_list[at]["suspect"], false);
    assert_eq!(frames_list[at + 1]["suspect"], true, "{}", frames_list[at + 1]);
    assert_eq!(frames_list[at + 2]["suspect"], true, "{}", frames_list[at + 2]);
}

// ---- files that are not readable cores -------------------------------------------------------

#[test]
fn files_that_are_not_cores_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let core = gcore_of(&example("crash"), &["hang", "1"], dir.path());
    let bytes = std::fs::read(&core).expect("read the core");
    let write = |name: &str, contents: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write a damaged core");
        path
    };
    let mut aarch64 = bytes.clone();
    aarch64[18..20].copy_from_slice(&183u16.to_le_bytes());
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (write("empty", b""), vec!["the core file is empty"]),
        (write("text", b"hello, not a core\n"), vec!["not an ELF file"]),
        (
            example("crash"),
            vec!["an ELF file but not a core dump", "ET_DYN"],
        ),
        (
            write("cut-100", &bytes[..100]),
            vec!["truncated core", "the file ends at offset 100"],
        ),
        // gdb writes the notes after the memory: half the file has no notes.
        (
            write("cut-half", &bytes[..bytes.len() / 2]),
            vec!["truncated core", "note"],
        ),
        (
            write("aarch64", &aarch64),
            vec!["aarch64 core, this ptrace reads x86-64"],
        ),
        (
            dir.path().join("no-such-core"),
            vec!["cannot open core file", "No such file"],
        ),
    ];
    for (path, needles) in cases {
        let output = ptrace(&["--core", path_str(&path), "-o", "-"]);
        let line = assert_one_line_error(&output, &needles);
        assert!(line.contains(path_str(&path)), "the line names the file: {line}");
    }
}

#[test]
fn a_kernel_core_cut_in_its_memory_is_a_snapshot_with_a_warning() {
    let Some(segv) = segv_core(
        "a_kernel_core_cut_in_its_memory_is_a_snapshot_with_a_warning",
        false,
    ) else {
        return;
    };
    // The kernel writes the notes first: half the file keeps them, and loses memory.
    let bytes = std::fs::read(&segv.core).expect("read the core");
    let cut = segv.core.with_file_name("cut-half");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write the cut core");
    let output = ptrace(&["--core", path_str(&cut), "-o", "-"]);
    let snap = stdout_snapshot(&output);
    let warnings = warnings(&snap);
    assert!(
        warnings.iter().any(|w| w.contains("the core is truncated")),
        "{warnings:#?}"
    );
    assert!(
        stderr(&output).contains("the core is truncated"),
        "{}",
        stderr(&output)
    );
    assert_eq!(snap["fault"]["signal_name"], "SIGSEGV");
    assert_eq!(snap["threads"].as_array().unwrap().len(), 1);
}

/// The objects of a core from another machine are found under `--sysroot`: the program and the
/// libraries it mapped are copied into a tree at the paths the core names, and the originals of
/// the program are gone.
#[test]
fn a_core_from_another_machine_reads_its_files_under_sysroot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ran = dir.path().join("ran");
    std::fs::create_dir_all(&ran).unwrap();
    let original = ran.join("crash");
    std::fs::copy(example("crash"), &original).expect("copy the program");
    let target = start(&original, &["hang", "1"]);
    let mapped: BTreeSet<String> = std::fs::read_to_string(format!("/proc/{}/maps", target.pid()))
        .expect("maps")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .collect();
    let core = gcore(&target, dir.path());
    drop(target);
    let sysroot = dir.path().join("sysroot");
    for path in &mapped {
        let copy = sysroot.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(path, &copy).unwrap_or_else(|e| panic!("copy {path}: {e}"));
    }
    std::fs::remove_file(&original).expect("the program is gone from here");

    let sysroot_arg = path_str(&sysroot).to_string();
    let (snap, output) = snapshot_core(&core, None, &["--sysroot", &sysroot_arg]);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    let main_thread = thread(&snap, snap["pid"].as_i64().unwrap() as i32);
    let recurse = frames_named(main_thread, "recurse");
    assert_eq!(recurse.len(), 6, "{:?}", frames(main_thread));
    for (depth, frame) in recurse.iter().enumerate() {
        assert!(frame["line"].as_u64().is_some(), "{frame}");
        assert_eq!(var(&frame["variables"], "n")["value"], depth);
    }
    // Every object read from the tree: the program's copy and the libraries', checked by build
    // id (none refused).
    for module in snap["modules"].as_array().expect("modules") {
        if module["path"] != "[vdso]" {
            assert!(module["build_id"].is_string(), "{module}");
        }
    }
    assert!(frames(main_thread).iter().any(|f| f.0.contains("pause")));
}

/// A double the innermost frame keeps in an xmm register is read from the core's NT_FPREGSET,
/// with the value gdb prints from the same core.
#[test]
fn a_double_in_an_xmm_register_is_read_from_the_core() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = dir.path().join("core_vector");
    let built = Command::new("cc")
        .args(["-O2", "-g", "-o"])
        .arg(&binary)
        .arg(repo().join("tests/fixtures/core_vector.c"))
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let cores = dir.path().join("cores");
    std::fs::create_dir_all(&cores).unwrap();
    let core = match kernel_core(&binary, &["2.0"], &cores, false) {
        Ok(core) => core,
        Err(why) => {
            eprintln!("NOT CHECKED: a_double_in_an_xmm_register_is_read_from_the_core: {why}");
            return;
        }
    };
    let gdb = Command::new("gdb")
        .env("LC_ALL", "C")
        .args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-c"])
        .arg(&core)
        .arg(&binary)
        .args(["-ex", "info address y", "-ex", "print y"])
        .stdin(Stdio::null())
        .output()
        .expect("run gdb");
    let gdb_out = String::from_utf8_lossy(&gdb.stdout).into_owned();
    // The test means something only where the compiler put y in a vector register.
    assert!(
        gdb_out.contains("xmm"),
        "y is not in an xmm register here:\n{gdb_out}"
    );
    let printed: f64 = gdb_out
        .lines()
        .find_map(|l| l.strip_prefix("$1 = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("gdb printed no y:\n{gdb_out}"));
    assert_eq!(printed, 9.0, "2.0 * 3.5 + 2");

    let (snap, _) = snapshot_core(&core, None, &[]);
    let faulted = thread(&snap, snap["fault"]["tid"].as_i64().expect("a fault") as i32);
    let scale = frames_named(faulted, "scale");
    assert_eq!(scale.len(), 1, "{:?}", frames(faulted));
    let y = var(&scale[0]["variables"], "y");
    let ours: f64 = y["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .or_else(|| y["value"].as_f64())
        .unwrap_or_else(|| panic!("y has no value: {y}"));
    assert_eq!(ours, printed, "{y}");
}
