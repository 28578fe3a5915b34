//! `--sentry-dsn`: snapshots sent to a real Sentry-protocol server, Bugsink (installed by
//! `scripts/install-bugsink.sh`; one instance for this file, `common::bugsink`), and read back
//! from what it stored: the event as Bugsink kept it (checked against Sentry's event schema on the
//! way in), the issue it made of it and the tags it indexed.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::bugsink::{self, Project};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `ptrace ARGS`.
fn ptrace(args: &[&str]) -> Output {
    Command::new(ptrace_bin())
        .args(args)
        .output()
        .expect("run ptrace")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The id in ptrace's `sent to sentry <DSN without key> as ID` line; asserts the line names the
/// project's server and hides its key.
fn sent_id(output: &Output, project: &Project) -> String {
    let text = stderr(output);
    let shown = format!(
        "ptrace: sent to sentry http://***@127.0.0.1:{}/{} as ",
        bugsink::shared().port,
        project.id
    );
    let line = text
        .lines()
        .find(|l| l.starts_with(&shown))
        .unwrap_or_else(|| panic!("no `{shown}` line in: {text}"));
    assert_no_key(&text, project);
    line[shown.len()..].trim().to_string()
}

/// The project's key (the DSN's user part), which ptrace never prints.
fn key(project: &Project) -> &str {
    let (_, rest) = project.dsn.split_once("://").expect("a DSN");
    rest.split('@').next().expect("a key")
}

fn assert_no_key(text: &str, project: &Project) {
    assert!(!text.contains(key(project)), "the key is printed: {text}");
}

/// The one event Bugsink stored for `project`, with its log when there is none.
fn only_event(project: &Project) -> Value {
    let mut events = bugsink::shared().events(project);
    assert_eq!(
        events.len(),
        1,
        "Bugsink stored {} events; its log:\n{}",
        events.len(),
        bugsink::shared().log()
    );
    events.remove(0)
}

/// The functions of a Sentry stack trace, in its order (outermost first).
fn functions(stacktrace: &Value) -> Vec<&str> {
    stacktrace["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("?"))
        .collect()
}

/// Sentry's debug id of an ELF build id, derived here independently of ptrace: the first 16
/// bytes as a little-endian GUID.
fn expected_debug_id(build_id: &str) -> String {
    let mut bytes: Vec<u8> = (0..32)
        .step_by(2)
        .map(|at| u8::from_str_radix(&build_id[at..at + 2], 16).expect("hex"))
        .collect();
    bytes[0..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[test]
fn a_crash_is_one_native_event_in_bugsink_and_sent_again_keeps_its_id() {
    let bugsink = bugsink::shared();
    let project = bugsink.project("crash");
    let crash = example("crash");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crash.json");
    let file_arg = file.to_str().expect("utf-8 path");
    let output = ptrace(&[
        "--exec",
        "--sentry-dsn",
        &project.dsn,
        "--classifier",
        "mytag",
        "--release",
        "crash@1.0.0",
        "--environment",
        "tests",
        "-o",
        file_arg,
        "--",
        crash.to_str().expect("utf-8 path"),
        "segv",
    ]);
    // The program's status, as without a backend.
    assert_eq!(
        output.status.code(),
        Some(128 + libc::SIGSEGV),
        "{}",
        stderr(&output)
    );
    let id = sent_id(&output, &project);
    // The snapshot file is written too.
    let snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the snapshot file")).expect("JSON");
    let fault = &snapshot["fault"];
    let reason = fault["reason"].as_str().expect("a reason");

    let stored = only_event(&project);
    assert_eq!(stored["event_id"], id.as_str(), "the id ptrace printed");
    let event = &stored["data"];
    assert_eq!(event["event_id"], id.as_str());
    assert_eq!(event["platform"], "native");
    assert_eq!(stored["level"], "fatal");
    assert_eq!(stored["release"], "crash@1.0.0");
    assert_eq!(stored["environment"], "tests");

    // The exception: the signal, the reason and the address; not handled.
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "SIGSEGV");
    let value = exception["value"].as_str().expect("a value");
    assert!(value.contains(reason) && value.contains("0x10"), "{value}");
    let mechanism = &exception["mechanism"];
    assert_eq!(mechanism["type"], "signalhandler");
    assert_eq!(mechanism["handled"], false);
    assert_eq!(mechanism["meta"]["signal"]["number"], 11);
    assert_eq!(mechanism["meta"]["signal"]["name"], "SIGSEGV");
    assert_eq!(mechanism["meta"]["signal"]["code"], fault["code"]);
    // Bugsink titles the issue with them (and indexes `handled`).
    assert_eq!(stored["issue"]["title"], format!("SIGSEGV: {value}"));
    assert_eq!(stored["tags"]["handled"], "false");

    // The crashed thread: main, then recurse(5) ... recurse(0), oldest first, with variables,
    // files and lines; the exception has the same stack.
    let threads = event["threads"]["values"].as_array().expect("threads");
    let crashed: Vec<&Value> = threads.iter().filter(|t| t["crashed"] == true).collect();
    assert_eq!(crashed.len(), 1, "{threads:?}");
    let thread = crashed[0];
    assert_eq!(thread["current"], true);
    assert_eq!(thread["id"], fault["tid"]);
    let names = functions(&thread["stacktrace"]);
    let main = names.iter().position(|&f| f == "main").expect("main");
    assert_eq!(names[main + 1..], ["recurse"; 6], "{names:?}");
    assert_eq!(functions(&exception["stacktrace"]), names);
    let frames = thread["stacktrace"]["frames"].as_array().expect("frames");
    let recurse = &frames[main + 1..];
    let depths: Vec<&str> = recurse
        .iter()
        .map(|f| f["vars"]["n"].as_str().expect("n"))
        .collect();
    assert_eq!(depths, ["5", "4", "3", "2", "1", "0"]);
    let innermost = frames.last().expect("a frame");
    assert!(
        innermost["filename"]
            .as_str()
            .expect("a file")
            .ends_with("crash.c"),
        "{innermost}"
    );
    assert_eq!(innermost["lineno"], marked_line("crash.c", "/* INVALID WRITE */"));
    assert_eq!(innermost["in_app"], true);
    assert_eq!(innermost["package"], crash.to_str().expect("utf-8 path"));
    assert!(innermost["instruction_addr"]
        .as_str()
        .expect("an address")
        .starts_with("0x"));
    assert!(frames[main]["vars"]["argc"].is_string(), "{}", frames[main]);

    // The executable's image: its build id and the debug id derived from it.
    let module = snapshot["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|m| m["path"] == crash.to_str().expect("utf-8 path"))
        .expect("the executable's module");
    let build_id = module["build_id"].as_str().expect("a build id");
    let images = event["debug_meta"]["images"].as_array().expect("images");
    let image = images
        .iter()
        .find(|i| i["code_file"] == module["path"])
        .expect("the executable's image");
    assert_eq!(image["type"], "elf");
    assert_eq!(image["code_id"], build_id);
    assert_eq!(image["debug_id"], expected_debug_id(build_id));
    assert_eq!(image["image_addr"], module["base"]);
    assert_eq!(image["image_size"], module["size"]);
    // Every image of a file: the ids Sentry's own library (symbolic) reads from that file.
    for image in images
        .iter()
        .filter(|i| i["code_file"].as_str().is_some_and(|f| f.starts_with('/')))
    {
        let file = Path::new(image["code_file"].as_str().expect("a path"));
        let (code_id, debug_id) = bugsink.ids(file);
        assert_eq!(image["code_id"], code_id, "{}", file.display());
        assert_eq!(image["debug_id"], debug_id, "{}", file.display());
    }

    // The classifier is a tag, which Bugsink indexed.
    assert_eq!(stored["tags"]["mytag"], "true");
    assert_eq!(stored["tags"]["classifier"], "mytag");
    assert_eq!(stored["tags"]["signal"], "SIGSEGV");

    // Sent again: the same id, and Bugsink keeps the one event it has (it refuses a second
    // event of the same id, answering as if it took it).
    let again = ptrace(&["submit", file_arg, "--sentry-dsn", &project.dsn]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(sent_id(&again, &project), id);
    let stored_again = only_event(&project);
    assert_eq!(stored_again["event_id"], id.as_str());
    assert_eq!(stored_again["issue"]["digested_event_count"], 1);
    assert!(file.exists(), "submit without --remove keeps the file");
}

#[test]
fn a_hang_snapshot_is_a_message_event_at_level_error_or_the_level_given() {
    let bugsink = bugsink::shared();
    let project = bugsink.project("hang");
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();

    let (output, _dir) = run_ptrace(&[&pid, "--sentry-dsn", &project.dsn]);
    let snapshot = snapshot_ok(&output);
    let id = sent_id(&output, &project);
    assert_running_untraced(target.pid());
    let (output, _dir) = run_ptrace(&[&pid, "--sentry-dsn", &project.dsn, "--sentry-level", "warning"]);
    snapshot_ok(&output);
    let warning_id = sent_id(&output, &project);
    assert_running_untraced(target.pid());
    assert_ne!(id, warning_id, "another snapshot, another event");

    let events = bugsink.events(&project);
    assert_eq!(events.len(), 2, "Bugsink's log:\n{}", bugsink.log());
    let (error, warning) = (&events[0], &events[1]);
    assert_eq!(error["event_id"], id.as_str());
    assert_eq!(error["level"], "error");
    assert_eq!(warning["event_id"], warning_id.as_str());
    assert_eq!(warning["level"], "warning");

    let event = &error["data"];
    assert!(event.get("exception").is_none(), "{event}");
    let message = event["logentry"]["formatted"].as_str().expect("a message");
    assert!(message.contains(&format!("(pid {pid})")), "{message}");
    let threads = snapshot["threads"].as_array().expect("threads").len();
    assert!(
        message.contains(&format!("snapshot of {threads} threads")),
        "{message}"
    );
    // Bugsink takes it as a log message titled with it.
    assert_eq!(error["title"], message);
    // Every thread, none crashed, the main thread current, each with its stack.
    let values = event["threads"]["values"].as_array().expect("threads");
    assert_eq!(values.len(), threads);
    assert!(values.iter().all(|t| t["crashed"] == false));
    let current: Vec<&Value> = values.iter().filter(|t| t["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"].to_string(), pid);
    assert!(
        functions(&current[0]["stacktrace"]).contains(&"recurse"),
        "{}",
        current[0]
    );
}

#[test]
fn a_refused_or_unanswered_submission_is_one_line_and_status_1_the_file_kept() {
    let bugsink = bugsink::shared();
    let project = bugsink.project("refused");
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();
    let wrong = Project {
        id: project.id,
        dsn: project
            .dsn
            .replacen(key(&project), "0123456789abcdef0123456789abcdef", 1),
    };
    let nobody = format!("http://0123456789abcdef@127.0.0.1:{}/1", free_port());
    for (dsn, why) in [
        (&wrong.dsn, "answered HTTP 403"),
        (&nobody, "no answer from http://***@127.0.0.1:"),
    ] {
        let (output, dir) = run_ptrace(&[&pid, "--sentry-dsn", dsn, "--submit-timeout", "20"]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let text = stderr(&output);
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("sentry")).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains(why), "{text}");
        assert!(lines[0].contains("the snapshot file is kept"), "{text}");
        assert!(!text.contains("0123456789abcdef"), "the key is printed: {text}");
        assert_no_key(&text, &project);
        // The snapshot was written before, and stays.
        let written: Vec<_> = std::fs::read_dir(dir.path())
            .expect("output dir")
            .flatten()
            .collect();
        assert_eq!(written.len(), 1, "{written:?}");
        assert_running_untraced(target.pid());
    }
    assert!(bugsink.events(&project).is_empty());
}

/// A port nobody listens on at the moment, on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn a_snapshot_too_large_for_one_event_is_cut_to_fit_and_stored() {
    let bugsink = bugsink::shared();
    let project = bugsink.project("large");
    // 201 threads 20 frames deep: megabytes of variables, too many stacks for one event.
    let target = Target::start(&example("threads"), &["200", "20"]);
    let (output, _dir) = run_ptrace(&[&target.pid().to_string(), "--sentry-dsn", &project.dsn]);
    let snapshot = snapshot_ok(&output);
    sent_id(&output, &project);
    assert_running_untraced(target.pid());

    let stored = only_event(&project);
    let event = &stored["data"];
    assert!(event.to_string().len() <= 1024 * 1024, "within Sentry's 1 MiB");
    let left_out: Vec<&str> = event["extra"]["left_out"]
        .as_array()
        .expect("extra.left_out")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        left_out.contains(&"the variables of the threads but the first are left out (event too large)"),
        "{left_out:?}"
    );
    // As many other threads as fit, the main thread with its variables.
    let sent = event["threads"]["values"].as_array().expect("threads");
    let all = snapshot["threads"].as_array().expect("threads").len();
    assert!(sent.len() > 1 && sent.len() < all, "{} of {all}", sent.len());
    let others = format!("{} of the {} threads but the first", all - sent.len(), all - 1);
    assert!(
        left_out.iter().any(|l| l.starts_with(&others)),
        "{others}: {left_out:?}"
    );
    let main = sent
        .iter()
        .find(|t| t["current"] == true)
        .expect("the main thread");
    assert_eq!(main["id"], snapshot["pid"]);
    let frames = main["stacktrace"]["frames"].as_array().expect("frames");
    assert!(frames.iter().any(|f| f.get("vars").is_some()), "{main}");
    assert!(sent
        .iter()
        .filter(|t| t["current"] == false)
        .all(|t| t["stacktrace"]["frames"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f.get("vars").is_none()))));
}
