//! The `ptrace` CLI on real running processes: frames, lines, threads, options, and the target's
//! state afterwards.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::time::Duration;

#[test]
fn crash_hang_snapshot_by_pid_shows_every_thread_and_resumes_it() {
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);

    assert_eq!(snap["format"], "ptrace-snapshot");
    assert_eq!(snap["pid"], pid);
    assert_eq!(snap["application"], "crash");
    assert!(snap["fault"].is_null());
    assert_eq!(
        snap["threads"].as_array().map(Vec::len),
        Some(3),
        "main + 2 hang threads"
    );

    // The main thread: recurse at every depth (5..0), then main, all in crash.c.
    let main = frames(thread(&snap, pid));
    let first_recurse = main
        .iter()
        .position(|f| f.0 == "recurse")
        .expect("a recurse frame");
    let recurse: Vec<_> = main[first_recurse..]
        .iter()
        .take_while(|f| f.0 == "recurse")
        .collect();
    assert_eq!(recurse.len(), 6, "recurse frames: {main:?}");
    for frame in &recurse {
        assert_eq!(frame.1.as_deref(), Some("crash.c"));
        assert!(frame.2.is_some());
    }
    let after = &main[first_recurse + recurse.len()];
    assert_eq!(after.0, "main", "{main:?}");
    assert_eq!(after.1.as_deref(), Some("crash.c"));
    // Frames above recurse are libc's (the park call): they have file and line from libc's
    // separate debug file.
    for frame in &main[..first_recurse] {
        assert!(
            frame.1.is_some() && frame.2.is_some(),
            "libc frame without file:line: {frame:?}"
        );
    }

    // The other threads are parked in hang.c functions.
    for t in snap["threads"].as_array().unwrap() {
        if t["tid"] == pid {
            continue;
        }
        let fs = frames(t);
        assert!(
            fs.iter().any(|f| f.1.as_deref() == Some("hang.c")),
            "thread {} has no hang.c frame: {fs:?}",
            t["tid"]
        );
    }

    // Frame 0 carries the full register file; every frame has pc, cfa and object.
    let frame0 = &thread(&snap, pid)["frames"][0];
    assert!(frame0["registers"]["rip"].as_str().unwrap().starts_with("0x"));
    assert!(frame0["registers"]["rsp"].is_string());
    assert!(snap["timing"]["stopped_us"].as_u64().unwrap() > 0);
    assert!(snap["timing"]["total_us"].as_u64().unwrap() >= snap["timing"]["stopped_us"].as_u64().unwrap());
    assert!(snap["modules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["path"].as_str().unwrap().ends_with("/crash")));

    // Afterwards the process runs free, and gdb can attach to it.
    assert_running_untraced(pid);
    let gdb = gdb_backtraces(pid);
    assert_eq!(gdb.len(), 3, "gdb could not attach after ptrace: {gdb:?}");
    assert_running_untraced(pid);
}

#[test]
fn threads_frames_match_gdb() {
    let target = Target::start(&example("threads"), &["64", "20"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 65);
    assert_running_untraced(pid);

    let gdb = gdb_backtraces(pid);
    assert_eq!(gdb.len(), 65, "gdb saw {} threads", gdb.len());
    for t in threads {
        let tid = t["tid"].as_i64().unwrap() as i32;
        let ours: Vec<String> = frames(t).into_iter().map(|f| f.0).collect();
        if tid != pid {
            assert_eq!(
                ours.iter().filter(|s| *s == "threads_recurse").count(),
                20,
                "thread {tid}: {ours:?}"
            );
        }
        let theirs = &gdb[&tid];
        assert_eq!(&ours, theirs, "thread {tid}: ptrace vs gdb");
    }
}

#[test]
fn sigint_while_the_target_is_held_stopped_leaves_it_running() {
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let pid = target.pid();
    let dir = tempfile::tempdir().unwrap();
    let ptrace = std::process::Command::new(ptrace_bin())
        .args([
            "--hold-stopped-ms",
            "20000",
            "-O",
            dir.path().to_str().unwrap(),
            &pid.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_traced(pid, Duration::from_secs(10));
    // Held stopped: every thread is in a ptrace stop.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(state_and_tracer(pid).0, 't');
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(ptrace.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let output = ptrace.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ptrace took too long to give up"
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(output.stdout.is_empty(), "no snapshot path is printed");
    assert_running_untraced(pid);
}

#[test]
fn options_reach_the_snapshot() {
    let target = Target::start(&example("crash"), &["hang", "3"]);
    let pid = target.pid();
    let tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().parse().unwrap())
        .collect();
    let other = *tids.iter().find(|t| **t != pid).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let output = std::process::Command::new(ptrace_bin())
        .args([
            "-o",
            out.to_str().unwrap(),
            "--kv",
            "build:42,branch:main",
            "--kv",
            "region:eu",
            "--classifier",
            "hang",
            "--classifier",
            "test",
            "--application",
            "crashapp",
            "--fault-thread",
            &other.to_string(),
            "--pretty-print",
            &pid.to_string(),
        ])
        .output()
        .unwrap();
    let snap = snapshot_ok(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap(),
        out.to_str().unwrap()
    );
    assert_eq!(snap["attributes"]["build"], 42);
    assert_eq!(snap["attributes"]["branch"], "main");
    assert_eq!(snap["attributes"]["region"], "eu");
    assert_eq!(snap["classifiers"], serde_json::json!(["hang", "test"]));
    assert_eq!(snap["application"], "crashapp");
    assert_eq!(snap["fault"]["tid"], other);
    assert_eq!(thread(&snap, other)["fault"], true);
    assert_eq!(thread(&snap, other)["frames"][0]["fault"], true);
    assert_eq!(thread(&snap, pid)["fault"], false);

    // The readable dump: fault first, then frames as gdb's frame lines (`in fn (args) at file:line`).
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fault_line = stdout
        .lines()
        .position(|l| l.starts_with("fault:"))
        .expect("a fault line");
    let faulted_thread = stdout
        .lines()
        .position(|l| l.starts_with(&format!("thread {other} ")))
        .unwrap();
    let main_thread = stdout
        .lines()
        .position(|l| l.starts_with(&format!("thread {pid} ")))
        .unwrap();
    assert!(
        fault_line < faulted_thread && faulted_thread < main_thread,
        "{stdout}"
    );
    assert!(
        stdout.contains(" in recurse (") && stdout.contains("crash.c:"),
        "{stdout}"
    );

    // --thread: only that thread.
    let (output, _d) = run_ptrace(&["--thread", &other.to_string(), &pid.to_string()]);
    let snap = snapshot_ok(&output);
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["tid"], other);
    assert_running_untraced(pid);
}

#[test]
fn default_file_name_is_application_pid_time() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid();
    let (output, dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let expected = dir.path().join(format!("crash.{pid}.{}.json", snap["timestamp"]));
    assert_eq!(printed, expected.to_str().unwrap());
}

/// The text of the snapshot file whose path the CLI printed.
fn snapshot_text(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.lines().last().expect("a path").trim().to_string();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[test]
fn layouts_write_the_same_document_with_different_whitespace() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();
    let mut documents = Vec::new();
    let mut texts = Vec::new();
    let mut dirs = Vec::new();
    for layout in [None, Some("rows"), Some("compact"), Some("pretty")] {
        let mut args = vec![pid.as_str()];
        if let Some(layout) = layout {
            args.extend(["--layout", layout]);
        }
        let (output, dir) = run_ptrace(&args);
        let text = snapshot_text(&output);
        let mut document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        // What differs from one run to the next.
        document["timing"] = serde_json::Value::Null;
        document["timestamp"] = serde_json::Value::Null;
        documents.push(document);
        texts.push(text);
        dirs.push(dir);
    }
    for document in &documents[1..] {
        assert_eq!(document, &documents[0]);
    }
    // The default is rows: the structure indented, each variable on one line of its own.
    assert_eq!(texts[0].lines().count(), texts[1].lines().count());
    assert!(texts[0].contains("\n  \"threads\": [\n"), "{}", texts[0]);
    let variables = documents[0]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .map(|f| f["variables"].as_array().unwrap().len())
        .sum::<usize>();
    assert!(variables > 0);
    let variable_lines = texts[0]
        .lines()
        .filter(|l| l.trim_start().starts_with("{\"name\":"))
        .count();
    assert!(
        variable_lines >= variables,
        "{variable_lines} lines for {variables} variables"
    );
    // compact: one line (and the final newline); pretty: the most lines and bytes.
    assert_eq!(texts[2].lines().count(), 1);
    assert!(texts[3].lines().count() > texts[1].lines().count());
    assert!(texts[3].len() > texts[1].len() && texts[1].len() > texts[2].len());
    assert_running_untraced(target.pid());
}

#[test]
fn caller_frames_record_registers_only_when_asked() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid();
    let recorded = |args: &[&str]| {
        let mut all = vec![pid.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let (output, _dir) = run_ptrace(&all);
        let snap = snapshot_ok(&output);
        let frames = thread(&snap, pid)["frames"].as_array().unwrap().clone();
        assert!(frames.len() > 3, "{frames:?}");
        assert!(frames[0]["registers"]["rip"].is_string());
        assert!(frames[0]["registers"]["fs_base"].is_string());
        frames
            .iter()
            .skip(1)
            .filter(|f| f["cfa"].is_string())
            .map(|f| {
                f["registers"]
                    .as_object()
                    .expect("registers is always an object")
                    .len()
            })
            .collect::<Vec<_>>()
    };
    let default = recorded(&[]);
    assert!(
        !default.is_empty() && default.iter().all(|&n| n == 0),
        "{default:?}"
    );
    let all = recorded(&["--all-registers"]);
    assert!(all.iter().all(|&n| n > 0), "{all:?}");
    assert_running_untraced(pid);
}
