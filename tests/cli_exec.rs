//! `ptrace --exec`: running a program and snapshotting it when it crashes.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn exec(args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let mut all = vec!["--exec", "--"];
    all.extend_from_slice(args);
    run_ptrace(&all)
}

#[test]
fn segv_is_caught_snapshotted_and_then_kills_the_program() {
    let crash = example("crash");
    let (output, _dir) = exec(&[crash.to_str().unwrap(), "segv"]);
    // The program died of SIGSEGV as it would have; ptrace reports that as 128 + 11.
    assert_eq!(
        output.status.code(),
        Some(128 + libc::SIGSEGV),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let snap = snapshot_of(&output);
    let fault = &snap["fault"];
    assert_eq!(fault["signal"], libc::SIGSEGV);
    assert_eq!(fault["signal_name"], "SIGSEGV");
    assert_eq!(fault["address"], "0x10");
    assert_eq!(fault["code"], 1, "SEGV_MAPERR");
    assert!(fault["reason"].as_str().unwrap().contains("not mapped"));
    let tid = fault["tid"].as_i64().unwrap() as i32;
    assert_eq!(
        tid,
        snap["pid"].as_i64().unwrap() as i32,
        "the main thread faults"
    );
    let t = thread(&snap, tid);
    assert_eq!(t["fault"], true);
    let fs = frames(t);
    assert_eq!(fs[0].0, "recurse");
    assert_eq!(fs[0].1.as_deref(), Some("crash.c"));
    assert_eq!(fs[0].2, Some(marked_line("crash.c", "/* INVALID WRITE */")));
    assert_eq!(t["frames"][0]["fault"], true);
    assert_eq!(fs.iter().filter(|f| f.0 == "recurse").count(), 6);
}

#[test]
fn a_crash_inside_a_signal_handler_unwinds_through_the_trampoline() {
    let crash = example("crash");
    let (output, _dir) = exec(&[crash.to_str().unwrap(), "sighandler"]);
    assert_eq!(output.status.code(), Some(128 + libc::SIGSEGV));
    let snap = snapshot_of(&output);
    let tid = snap["fault"]["tid"].as_i64().unwrap() as i32;
    let t = thread(&snap, tid);
    let fs = frames(t);
    assert_eq!(fs[0].1.as_deref(), Some("invalid_write.c"), "{fs:?}");
    assert_eq!(
        fs[0].2,
        Some(marked_line("invalid_write.c", "/* HANDLER WRITE */")),
        "{fs:?}"
    );
    let trampoline = t["frames"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["signal_frame"] == true)
        .expect("a signal frame");
    assert!(trampoline >= 1);
    let after: Vec<&str> = fs[trampoline + 1..].iter().map(|f| f.0.as_str()).collect();
    assert!(
        after.contains(&"recurse") && after.contains(&"main"),
        "frames after the trampoline: {after:?}"
    );
    assert_eq!(fs.iter().filter(|f| f.0 == "recurse").count(), 6, "{fs:?}");
}

#[test]
fn abort_is_caught() {
    let crash = example("crash");
    let (output, _dir) = exec(&[crash.to_str().unwrap(), "abort"]);
    assert_eq!(output.status.code(), Some(128 + libc::SIGABRT));
    let snap = snapshot_of(&output);
    assert_eq!(snap["fault"]["signal_name"], "SIGABRT");
    let tid = snap["fault"]["tid"].as_i64().unwrap() as i32;
    let names: Vec<String> = frames(thread(&snap, tid)).into_iter().map(|f| f.0).collect();
    assert!(names.iter().any(|n| n.ends_with("abort")), "{names:?}");
    assert!(names.iter().any(|n| n == "recurse"), "{names:?}");
}

#[test]
fn a_program_that_exits_normally_gives_its_status_and_no_snapshot() {
    let (output, dir) = exec(&["/bin/sh", "-c", "exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("exited with status 3") && stderr.contains("no snapshot"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_program_is_one_clear_error() {
    let (output, _dir) = exec(&["/nonexistent/program"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/program"), "{stderr}");
}
