//! The `ptrace` CLI on real running processes: frames, lines, threads, options, and the target's
//! state afterwards.

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

    // The readable dump: fault first, then frames with symbol (file:line).
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
        stdout.contains("recurse+0x") && stdout.contains("crash.c:"),
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
