//! The grouped text dump (`--pretty-print`) and `ptrace dump FILE` on the real CLI: `threads 256
//! 20` (256 workers parked 20 `threads_recurse` frames deep, and the main thread joining the
//! first) fits on a few screens, its 256 workers one group with the recursion folded;
//! `--dump-all` prints every thread; a bad file gets one line and status 1.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{example, ptrace_bin, snapshot_ok, Target};
use std::process::Command;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn threads_256_group_into_a_few_screens_and_dump_again_from_the_file() {
    let target = Target::start(&example("threads"), &["256", "20"]);
    let pid = target.pid();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let output = Command::new(ptrace_bin())
        .args(["-o", file.to_str().unwrap(), "--pretty-print", &pid.to_string()])
        .output()
        .unwrap();
    let snap = snapshot_ok(&output);
    assert_eq!(snap["threads"].as_array().unwrap().len(), 257);
    let printed = stdout(&output);
    // The dump, then the path of the file written.
    let dump = printed
        .strip_suffix(&format!("{}\n", file.display()))
        .expect("the path last")
        .to_string();
    let lines: Vec<&str> = dump.lines().collect();
    assert!(lines.len() < 200, "{} lines:\n{dump}", lines.len());
    assert!(
        lines[0].starts_with(&format!("threads (pid {pid}) ")) && lines[0].contains("257 threads"),
        "{dump}"
    );
    let group = lines
        .iter()
        .position(|l| l.starts_with("256 threads (") && l.contains(", …) \"threads\""))
        .unwrap_or_else(|| panic!("no group of 256:\n{dump}"));
    let main = lines
        .iter()
        .position(|l| l.starts_with(&format!("thread {pid} \"threads\"")))
        .unwrap_or_else(|| panic!("no main thread:\n{dump}"));
    assert!(group < main, "the largest group first:\n{dump}");
    let folded: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" in threads_recurse (") && l.contains("  ×20 (#"))
        .collect();
    assert_eq!(folded.len(), 1, "threads_recurse ×20 once:\n{dump}");
    assert!(
        lines
            .iter()
            .filter(|l| l.contains(" in threads_recurse ("))
            .count()
            == 1,
        "{dump}"
    );
    assert!(
        !dump.contains("__libc_tsd"),
        "libc's thread-locals left out:\n{dump}"
    );

    // `ptrace dump FILE`: the same dump.
    let again = Command::new(ptrace_bin())
        .args(["dump", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(stdout(&again), dump);

    // --dump-all: every thread, every frame.
    let all = Command::new(ptrace_bin())
        .args(["dump", "--dump-all", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(all.status.success());
    let all = stdout(&all);
    for thread in snap["threads"].as_array().unwrap() {
        let tid = thread["tid"].as_i64().unwrap();
        assert!(all.contains(&format!("\nthread {tid} \"")), "no thread {tid}");
    }
    assert_eq!(all.matches(" in threads_recurse (").count(), 256 * 20);
    assert!(all.contains("__libc_tsd"), "every thread-local with --dump-all");
    drop(target);
}

#[test]
fn bad_files_get_one_line_and_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = serde_json::json!({
        "format": "ptrace-snapshot", "version": 1, "pid": 1, "application": "a",
        "executable": "/a", "process_state": "sleeping", "timestamp": 0, "fault": null,
        "threads": [], "globals": [], "attributes": {}, "classifiers": [], "tags": [],
        "annotations": [], "modules": [], "timing": {"stopped_us": 0, "total_us": 0}
    });
    let text = snapshot.to_string();
    let good = dir.path().join("good.json");
    std::fs::write(&good, &text).unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, text.replace("\"version\":1", "\"version\":99")).unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"hello\": 1}").unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not json at all\n").unwrap();
    let missing = dir.path().join("missing.json");

    let ok = Command::new(ptrace_bin())
        .args(["dump"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        stdout(&ok).starts_with("a (pid 1) /a — sleeping, 0 threads"),
        "{}",
        stdout(&ok)
    );

    for (file, why) in [
        (&newer, "version 99 is newer"),
        (&truncated, "truncated"),
        (&other, "not a ptrace snapshot"),
        (&garbage, "not a ptrace snapshot"),
        (&missing, "cannot be read"),
    ] {
        let output = Command::new(ptrace_bin())
            .args(["dump"])
            .arg(file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{}: {stderr}", file.display());
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with("ptrace: ") && stderr.contains(why),
            "{}: {stderr}",
            file.display()
        );
        assert!(output.stdout.is_empty());
    }
}
