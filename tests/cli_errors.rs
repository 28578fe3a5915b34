//! Bad input gets one clear error line (or a warning) and never leaves the target stopped.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn one_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).trim().to_string();
    assert_eq!(text.lines().count(), 1, "expected one error line, got: {text}");
    text
}

#[test]
fn no_such_process() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let (output, dir) = run_ptrace(&[&pid.to_string()]);
    assert!(!output.status.success());
    let line = one_line(&output.stderr);
    assert!(line.contains(&format!("no process with pid {pid}")), "{line}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no snapshot written"
    );
}

#[test]
fn permission_denied_says_what_to_do() {
    if Command::new("runuser").arg("--help").output().is_err() {
        eprintln!("runuser is not installed: skipping");
        return;
    }
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let output = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(ptrace_bin())
        .args(["-O", dir.path().to_str().unwrap(), &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let line = one_line(&output.stderr);
    assert!(line.contains("permission"), "{line}");
    assert!(line.contains("CAP_SYS_PTRACE") || line.contains("root"), "{line}");
    assert_running_untraced(target.pid());
}

/// Builds the crash example without debug info (and optionally stripped) into `dir`.
fn build_crash_variant(dir: &Path, name: &str, strip: bool) -> std::path::PathBuf {
    let src = repo().join("c-examples");
    let out = dir.join(name);
    let status = Command::new("cc")
        .args(["-O0", "-pthread", "-D_GNU_SOURCE", "-std=c11", "-o"])
        .arg(&out)
        .args(["crash.c", "invalid_write.c", "hang.c"].map(|f| src.join(f)))
        .status()
        .unwrap();
    assert!(status.success());
    if strip {
        assert!(Command::new("strip").arg(&out).status().unwrap().success());
    }
    out
}

#[test]
fn a_binary_without_debug_info_gives_frames_from_symbols_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_crash_variant(dir.path(), "crash-nodebug", false);
    let target = Target::start(&program, &["hang", "1"]);
    let (output, _out) = run_ptrace(&[&target.pid().to_string()]);
    let snap = snapshot_ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no debug info"), "{stderr}");
    let fs = frames(thread(&snap, target.pid()));
    let recurse = fs.iter().filter(|f| f.0 == "recurse").count();
    assert_eq!(recurse, 6, "{fs:?}");
    assert!(fs
        .iter()
        .filter(|f| f.0 == "recurse")
        .all(|f| f.1.is_none() && f.2.is_none()));
    assert!(fs.iter().any(|f| f.0 == "main"));
    assert_running_untraced(target.pid());
}

#[test]
fn a_stripped_binary_gives_addresses_and_object_names() {
    let dir = tempfile::tempdir().unwrap();
    let program = build_crash_variant(dir.path(), "crash-stripped", true);
    let target = Target::start(&program, &["hang", "1"]);
    let (output, _out) = run_ptrace(&[&target.pid().to_string()]);
    let snap = snapshot_ok(&output);
    let t = thread(&snap, target.pid());
    let in_program: Vec<&serde_json::Value> = t["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"].as_str() == program.to_str())
        .collect();
    // recurse x6 and main at least; unwound through the executable's .eh_frame.
    assert!(
        in_program.len() >= 7,
        "frames in the stripped program: {}",
        in_program.len()
    );
    for frame in in_program {
        assert!(frame["pc"].as_str().unwrap().starts_with("0x"));
        assert!(frame["symbol"].is_null() || frame["symbol"].as_str() != Some("recurse"));
    }
    assert_running_untraced(target.pid());
}
