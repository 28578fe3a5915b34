//! The tracer's fixture program (`tests/fixtures/tracer/sleeper.c`): building it, running it and
//! watching it from outside (its status file counts the signals it handled). Shared by the
//! library's tracer tests (`src/tracer/tests`, through `#[path]`) and the CLI's tests.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a test waits for the target to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The fixture compiled into a private temporary directory.
pub struct Fixture {
    dir: TempDir,
    binary: PathBuf,
}

impl Fixture {
    /// Compiles `tests/fixtures/tracer/sleeper.c`.
    pub fn build() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let binary = dir.path().join("sleeper");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tracer/sleeper.c");
        let output = Command::new("cc")
            .args(["-Wall", "-Wextra", "-Werror", "-O0", "-g", "-pthread", "-o"])
            .arg(&binary)
            .arg(&source)
            .output()
            .expect("cc runs");
        assert!(
            output.status.success(),
            "cc failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { dir, binary }
    }

    /// The compiled program.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// A path in the fixture's private directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `sleeper churn N STATUS`: two steady threads and `churners` threads that create
    /// short-lived threads without pause; waits until it reports its status.
    pub fn spawn_churn(&self, churners: usize) -> Target {
        self.spawn("churn", churners)
    }

    /// Starts `sleeper threads N STATUS` and waits until all its threads exist.
    pub fn spawn_threads(&self, threads: usize) -> Target {
        let target = self.spawn("threads", threads);
        assert_eq!(target.tids().len(), threads);
        target
    }

    /// Starts `sleeper MODE COUNT STATUS` and waits until it reports its status.
    fn spawn(&self, mode: &str, count: usize) -> Target {
        let status = self.path("status");
        // A status file left by an earlier target would pass for this one's.
        let _ = std::fs::remove_file(&status);
        let child = Command::new(&self.binary)
            .arg(mode)
            .arg(count.to_string())
            .arg(&status)
            .spawn()
            .expect("fixture starts");
        let target = Target { child, status };
        wait_until("the fixture reports its status", || target.try_status().is_some());
        target
    }
}

/// What the fixture's status file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub ticks: u64,
    pub usr1: u64,
    pub rt: u64,
}

/// A running `sleeper threads` process; killed and reaped when dropped.
pub struct Target {
    child: Child,
    status: PathBuf,
}

impl Target {
    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its thread ids, from `/proc/PID/task`.
    pub fn tids(&self) -> BTreeSet<i32> {
        tids_of(self.pid())
    }

    /// The status file, if it parses.
    pub fn try_status(&self) -> Option<Status> {
        let text = std::fs::read_to_string(&self.status).ok()?;
        let mut fields = text
            .split_whitespace()
            .map(|field| field.split_once('=').and_then(|(_, v)| v.parse().ok()));
        Some(Status {
            ticks: fields.next()??,
            usr1: fields.next()??,
            rt: fields.next()??,
        })
    }

    /// The status file (which exists once the target is ready).
    pub fn status(&self) -> Status {
        self.try_status().expect("status file parses")
    }

    /// Waits until the target's ticks advance: it is running.
    pub fn assert_running(&self) {
        let before = self.status().ticks;
        wait_until("the target runs again", || self.status().ticks > before + 2);
    }

    /// Sends signal `sig` (any number, real-time included) to the process.
    pub fn signal(&self, sig: i32) {
        send_signal(self.pid(), sig);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `sig` to process `pid`.
pub fn send_signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes plain integers.
    let result = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        result,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// Thread ids of `pid` from `/proc/PID/task`.
pub fn tids_of(pid: i32) -> BTreeSet<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A field of `/proc/PID/task/TID/status` (e.g. "State", "TracerPid").
pub fn thread_status_field(pid: i32, tid: i32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .strip_prefix(':')
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// The one-letter state of thread `tid` (e.g. 'S', 'R', 't' traced, 'T' stopped).
pub fn thread_state(pid: i32, tid: i32) -> char {
    thread_status_field(pid, tid, "State")
        .chars()
        .next()
        .unwrap_or('?')
}

/// Asserts that no thread of `pid` is traced or in a tracing stop (threads that end while
/// they are looked at are passed over).
pub fn assert_untraced(pid: i32) {
    let tids = tids_of(pid);
    assert!(!tids.is_empty(), "process {pid} still exists");
    for tid in tids {
        let tracer = thread_status_field(pid, tid, "TracerPid");
        if tracer.is_empty() && !Path::new(&format!("/proc/{pid}/task/{tid}")).exists() {
            continue;
        }
        assert_eq!(tracer, "0", "thread {tid} is not traced");
        assert_ne!(
            thread_state(pid, tid),
            't',
            "thread {tid} is not in a tracing stop"
        );
    }
}

/// Polls `condition` until it holds; fails the test after [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Our own pid.
pub fn own_pid() -> i32 {
    std::process::id() as i32
}
