//! Helpers shared by the integration tests: building the C examples, running target programs,
//! running the real `ptrace` CLI and reading what it wrote, and checking the target's state.

#![allow(dead_code)]

pub mod bugsink;
pub mod gdb;
pub mod install;
pub mod sleeper;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds `c-examples` once per test binary (serialised across binaries with a lock file) and
/// returns the path of `c-examples/build/<name>`.
pub fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = repo().join("c-examples");
        std::fs::create_dir_all(dir.join("build")).expect("create c-examples/build");
        let lock = std::fs::File::create(dir.join("build/.lock")).expect("lock file");
        // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let status = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&dir)
            .status()
            .expect("run make");
        assert!(status.success(), "make -C c-examples failed");
    });
    repo().join("c-examples/build").join(name)
}

/// The `ptrace` binary under test.
pub fn ptrace_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ptrace"))
}

/// A running target program, killed (and reaped) when dropped.
pub struct Target {
    /// The child process.
    pub child: Child,
}

/// Spawns `command`, whose program a test may have just written: while another test thread forks
/// a child, that child holds every open file of the process until its exec, the new program's
/// write descriptor too, and exec then fails with ETXTBSY ("Text file busy") for a moment.
pub fn spawn_written_program(command: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

impl Target {
    /// Starts `program args...` and waits until it prints `ready` on stdout.
    pub fn start(program: &Path, args: &[&str]) -> Target {
        let mut child = spawn_written_program(
            Command::new(program)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        )
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the target's stdout");
        assert_eq!(line.trim(), "ready", "{} did not get ready", program.display());
        Target { child }
    }

    /// The target's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CLI with `args` in a fresh output directory; returns its output and that directory.
pub fn run_ptrace(args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(ptrace_bin())
        .args(["-O", dir.path().to_str().expect("utf-8 temp path")])
        .args(args)
        .output()
        .expect("run ptrace");
    (output, dir)
}

/// The snapshot whose path the CLI printed as its last stdout line.
pub fn snapshot_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "ptrace printed no path; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let text = std::fs::read_to_string(path.trim()).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).expect("the snapshot is JSON")
}

/// Asserts the CLI succeeded and returns its snapshot.
pub fn snapshot_ok(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "ptrace failed: {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    snapshot_of(output)
}

/// The `State:` letter and `TracerPid:` of a process, from /proc/PID/status.
pub fn state_and_tracer(pid: i32) -> (char, i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let state = field("State:").chars().next().unwrap_or('?');
    let tracer = field("TracerPid:").parse().unwrap_or(-1);
    (state, tracer)
}

/// Asserts every thread of `pid` is free: not traced and not stopped.
pub fn assert_running_untraced(pid: i32) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read task dir");
    for task in tasks.flatten() {
        let tid: i32 = task.file_name().to_string_lossy().parse().expect("numeric tid");
        let (state, tracer) = state_and_tracer(tid);
        assert_eq!(tracer, 0, "thread {tid} is still traced");
        assert!(
            state != 't' && state != 'T',
            "thread {tid} is stopped (state {state})"
        );
    }
}

/// Waits until `pid` is traced by someone (polling /proc), or panics after `limit`.
pub fn wait_until_traced(pid: i32, limit: Duration) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if state_and_tracer(pid).1 != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("{pid} was never traced");
}

/// The frames of a thread as (symbol, file base name, line).
pub fn frames(thread: &Value) -> Vec<(String, Option<String>, Option<u64>)> {
    thread["frames"]
        .as_array()
        .expect("frames array")
        .iter()
        .map(|f| {
            (
                f["symbol"].as_str().unwrap_or("??").to_string(),
                f["file"].as_str().map(|p| {
                    Path::new(p)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                }),
                f["line"].as_u64(),
            )
        })
        .collect()
}

/// The thread with `tid` in a snapshot.
pub fn thread(snapshot: &Value, tid: i32) -> &Value {
    snapshot["threads"]
        .as_array()
        .expect("threads array")
        .iter()
        .find(|t| t["tid"].as_i64() == Some(i64::from(tid)))
        .unwrap_or_else(|| panic!("no thread {tid} in the snapshot"))
}

/// The variable named `name` in a list.
pub fn var<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a variable list")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no variable {name} in {list}"))
}

/// Every annotation of `snapshot` as `where: level text json`: the snapshot's, each thread's, its
/// thread-local variables', each frame's and its variables', and the globals' (children too),
/// with the pointer value the tutorial writes between brackets (which ASLR changes from run to
/// run) replaced by `addr`.
pub fn annotations(snapshot: &Value) -> Vec<String> {
    fn one(place: &str, a: &Value) -> String {
        let text = a["text"].as_str().unwrap_or_default();
        let text = match (text.strip_prefix('['), text.find(']')) {
            (Some(_), Some(end)) => format!("[addr{}", &text[end..]),
            _ => text.to_string(),
        };
        format!("{place}: {} {text} {}", a["level"], a["json"])
    }
    fn variables(place: &str, list: &Value, out: &mut Vec<String>) {
        for v in list.as_array().into_iter().flatten() {
            let here = format!("{place}/{}", v["name"].as_str().unwrap_or("?"));
            for a in v["annotations"].as_array().into_iter().flatten() {
                out.push(one(&here, a));
            }
            variables(&here, &v["children"], out);
        }
    }
    let mut out = Vec::new();
    for a in snapshot["annotations"].as_array().into_iter().flatten() {
        out.push(one("snapshot", a));
    }
    for (t, thread) in snapshot["threads"].as_array().into_iter().flatten().enumerate() {
        for a in thread["annotations"].as_array().into_iter().flatten() {
            out.push(one(&format!("thread {t}"), a));
        }
        variables(&format!("thread {t} tls"), &thread["variables"], &mut out);
        for (f, frame) in thread["frames"].as_array().into_iter().flatten().enumerate() {
            let place = format!("thread {t} frame {f} {}", frame["symbol"]);
            for a in frame["annotations"].as_array().into_iter().flatten() {
                out.push(one(&place, a));
            }
            variables(&place, &frame["variables"], &mut out);
        }
    }
    variables("globals", &snapshot["globals"], &mut out);
    out
}

/// One line the tutorial modules log, without what changes from run to run: the address
/// between `: [` and `] string` becomes `[addr]`, numbers of 9 digits or more become `N`.
pub fn tutorial_line(text: &str) -> String {
    let text = match (text.find(": ["), text.find("] string")) {
        (Some(start), Some(end)) if start < end => format!("{}[addr{}", &text[..start + 2], &text[end..]),
        _ => text.to_string(),
    };
    let mut normal = String::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        normal.push_str(if digits.len() >= 9 { "N" } else { &digits });
        digits.clear();
        if c != '\0' {
            normal.push(c);
        }
    }
    normal
}

/// Asserts the tutorial's iterations (lines made by `tutorial_line`) logged what the `crash`
/// example holds: the global `invalid_write_counter`, the thread-local `hang_tls_counter` and the
/// string read at `global_version`; `what` labels a failure.
pub fn assert_tutorial_iterations(lines: &[String], what: &str) {
    for wanted in [
        "name: invalid_write_counter, value: 41",
        "name: hang_tls_counter, value: 100",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(wanted)),
            "{what}: no {wanted:?} in {lines:#?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.ends_with("[addr] string: crash 1.0.0")),
        "{what}: no string read at global_version in {lines:#?}"
    );
}

/// The 1-based line of the first line of `c-examples/<file>` containing `marker`.
pub fn marked_line(file: &str, marker: &str) -> u64 {
    let text = std::fs::read_to_string(repo().join("c-examples").join(file)).expect("read example source");
    let index = text
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} in {file}"));
    index as u64 + 1
}

/// Function names per thread as gdb's `thread apply all bt` prints them, keyed by tid.
pub fn gdb_backtraces(pid: i32) -> std::collections::HashMap<i32, Vec<String>> {
    let output = Command::new("gdb")
        .args([
            "-nx",
            "-batch",
            "-p",
            &pid.to_string(),
            "-ex",
            "set pagination off",
            "-ex",
            "set backtrace past-main on",
            "-ex",
            "thread apply all bt",
        ])
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut result = std::collections::HashMap::new();
    let mut current: Option<i32> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Thread ") {
            // "Thread 2 (Thread 0x7f... (LWP 1234) "name"):"
            current = rest
                .split("(LWP ")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .and_then(|s| s.trim().parse().ok());
            if let Some(tid) = current {
                result.insert(tid, Vec::new());
            }
        } else if let (Some(tid), Some(rest)) = (current, line.strip_prefix('#')) {
            // "#1  0x... in name (args) at file:line" or "#0  name (args) at ..."
            let after_index = rest.split_once(' ').map(|x| x.1).unwrap_or("").trim_start();
            let after_addr = match after_index.split_once(" in ") {
                Some((addr, name)) if addr.starts_with("0x") => name,
                _ => after_index,
            };
            let name = after_addr.split(' ').next().unwrap_or("").to_string();
            if let Some(list) = result.get_mut(&tid) {
                list.push(name);
            }
        }
    }
    result
}

/// Compiles `tests/fixtures/native/<name>.c` into `<dir>/<name>.so` the way the original's
/// modules are built (strict C11, `cc -shared -fPIC`, no -lptrace).
#[allow(dead_code)]
pub fn fixture_module(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.so"));
    build_module(&repo().join(format!("tests/fixtures/native/{name}.c")), &out);
    out
}

/// Compiles the native module `source` into `out` as modules are built (strict C11 with
/// warnings as errors, `cc -shared -fPIC` against `include/`, no -lptrace).
#[allow(dead_code)]
pub fn build_module(source: &Path, out: &Path) {
    let output = Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-shared",
            "-fPIC",
            "-I",
        ])
        .arg(repo().join("include"))
        .arg(source)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run cc");
    assert!(
        output.status.success(),
        "cc {}: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}
