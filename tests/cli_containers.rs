//! Targets in containers, snapshotted by the real CLI: a process in its own mount namespace whose
//! executable and library paths name other files than the host's (it is symbolized from its own
//! files, through /proc/PID/map_files or /proc/PID/root, and a file that is not the mapped one is
//! refused), and processes in a pid namespace (host tids with NSpid; ptrace run inside it).
//! `unshare`, `setpriv` and `mount` come with util-linux; the tests run as root, as CI does.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_running_untraced, ptrace_bin, spawn_written_program};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The library: `shape_wait` (what the program calls) blocks in a static function whose name says
/// which build this is.
const LIBRARY: &str = r#"
#include <unistd.h>
__attribute__((noinline)) static void SIDE_lib_block(int how_long) {
    volatile int waited = how_long;
    while (waited >= 0) pause();
}
void shape_wait(int how_long) { SIDE_lib_block(how_long + 1); }
"#;

/// The program: `SIDE_work` calls into the library with a local computed from its parameter.
const PROGRAM: &str = r#"
#include <stdio.h>
extern void shape_wait(int);
__attribute__((noinline)) void SIDE_work(int marker) {
    volatile int local = marker * 2;
    shape_wait(local);
}
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    puts("ready");
    SIDE_work(MARKER);
    return 0;
}
"#;

/// Two builds of one program and its library: `host` at the paths the program names, `inside`
/// elsewhere, to be bind-mounted over them in a mount namespace.
struct TwoBuilds {
    dir: tempfile::TempDir,
}

impl TwoBuilds {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let builds = Self { dir };
        for (side, marker) in [("host", 1), ("inside", 7)] {
            let src = builds.path(side);
            std::fs::create_dir_all(&src).expect("create folder");
            let library = src.join(format!("{side}_lib.c"));
            std::fs::write(&library, LIBRARY.replace("SIDE", side)).expect("write library");
            let program = src.join(format!("{side}.c"));
            std::fs::write(&program, PROGRAM.replace("SIDE", side)).expect("write program");
            let lib_dir = builds.lib_dir();
            std::fs::create_dir_all(&lib_dir).expect("lib folder");
            // The host's build sits where the program looks; the inside one beside its sources.
            let (lib_out, app_out) = if side == "host" {
                (lib_dir.join("libshape.so"), builds.app())
            } else {
                (src.join("libshape.so"), src.join("app"))
            };
            std::fs::create_dir_all(builds.app().parent().expect("bin folder")).expect("bin folder");
            compile(&[
                "-g",
                "-O0",
                "-shared",
                "-fPIC",
                "-o",
                path_str(&lib_out),
                path_str(&library),
            ]);
            compile(&[
                "-g",
                "-O0",
                &format!("-DMARKER={marker}"),
                "-o",
                path_str(&app_out),
                path_str(&program),
                "-L",
                path_str(&lib_dir),
                "-lshape",
                &format!("-Wl,-rpath,{}", lib_dir.display()),
            ]);
        }
        builds
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where the program lives (the host's build on the host).
    fn app(&self) -> PathBuf {
        self.path("bin/app")
    }

    /// Where the program finds its library.
    fn lib_dir(&self) -> PathBuf {
        self.path("lib")
    }

    /// Starts the program in a mount namespace of its own where the inside build is at the
    /// host's paths.
    fn start_inside(&self) -> Started {
        Started::new(Command::new("unshare").args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &self.inside_script(),
        ]))
    }

    /// The shell script that, in a new mount namespace, puts the inside build over the host's
    /// paths and runs the program.
    fn inside_script(&self) -> String {
        format!(
            "mount --bind {inside_app} {app} && mount --bind {inside_lib} {lib} && exec {app}",
            inside_app = self.path("inside/app").display(),
            app = self.app().display(),
            inside_lib = self.path("inside/libshape.so").display(),
            lib = self.lib_dir().join("libshape.so").display(),
        )
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn compile(args: &[&str]) {
    let output = Command::new("cc").args(args).output().expect("run cc");
    assert!(
        output.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A target started by `command`, which prints `ready` when blocked; killed when dropped.
struct Started {
    child: Child,
}

impl Started {
    fn new(command: &mut Command) -> Self {
        let mut child = spawn_written_program(command.stdout(Stdio::piped()).stderr(Stdio::inherit()))
            .expect("start the target");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the target's stdout");
        assert_eq!(line.trim(), "ready", "the target did not get ready");
        Self { child }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn snapshot(args: &[&str]) -> (Output, Value) {
    snapshot_by(Command::new(ptrace_bin()), args)
}

/// Runs `command` (the CLI, or a wrapper whose arguments end with it) with `args` and `-o FILE`;
/// returns its output and the snapshot.
fn snapshot_by(mut command: Command, args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = command
        .args(args)
        .args(["-o", path_str(&out)])
        .output()
        .expect("run ptrace");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("read the snapshot");
    (output, serde_json::from_str(&text).expect("JSON"))
}

/// Every frame of every thread.
fn all_frames(snapshot: &Value) -> Vec<&Value> {
    snapshot["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .flat_map(|t| t["frames"].as_array().expect("frames").iter())
        .collect()
}

fn symbols(snapshot: &Value) -> Vec<String> {
    all_frames(snapshot)
        .iter()
        .map(|f| f["symbol"].as_str().unwrap_or("??").to_string())
        .collect()
}

fn frame_named<'a>(snapshot: &'a Value, symbol: &str) -> &'a Value {
    all_frames(snapshot)
        .into_iter()
        .find(|f| f["symbol"].as_str() == Some(symbol))
        .unwrap_or_else(|| panic!("no frame {symbol} in {:?}", symbols(snapshot)))
}

fn variable<'a>(frame: &'a Value, name: &str) -> &'a Value {
    frame["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no variable {name} in {frame}"))
}

/// Asserts the snapshot shows the inside build: its functions, sources and values.
fn assert_inside_build(snapshot: &Value) {
    let names = symbols(snapshot);
    assert!(
        !names.iter().any(|n| n.starts_with("host_")),
        "the host's files were used: {names:?}"
    );
    let work = frame_named(snapshot, "inside_work");
    assert!(
        work["file"].as_str().is_some_and(|f| f.ends_with("inside.c")),
        "{work}"
    );
    assert_eq!(variable(work, "marker")["value"], 7, "{work}");
    assert_eq!(variable(work, "local")["value"], 14, "{work}");
    let block = frame_named(snapshot, "inside_lib_block");
    assert!(
        block["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("inside_lib.c")),
        "{block}"
    );
    assert_eq!(variable(block, "how_long")["value"], 15, "{block}");
}

#[test]
fn a_target_in_its_own_mount_namespace_is_read_from_its_own_files() {
    let builds = TwoBuilds::new();
    let target = builds.start_inside();
    let pid = target.child.id() as i32;
    // The host's file at the program's path is the other build.
    let host_maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    assert!(host_maps.contains(path_str(&builds.app())), "{host_maps}");

    let (_, snapshot) = snapshot(&[&pid.to_string()]);
    assert_inside_build(&snapshot);
    assert_running_untraced(pid);

    // Without CAP_SYS_ADMIN (and CAP_CHECKPOINT_RESTORE) /proc/PID/map_files cannot be opened:
    // the files are then found under the target's root, /proc/PID/root.
    let (_, snapshot) = snapshot_as_without_map_files(&[&pid.to_string()]);
    assert_inside_build(&snapshot);
    assert_running_untraced(pid);
}

/// Runs the CLI without the capabilities that open /proc/PID/map_files.
fn snapshot_as_without_map_files(args: &[&str]) -> (Output, Value) {
    let mut setpriv = Command::new("setpriv");
    setpriv
        .args([
            "--inh-caps=-sys_admin,-checkpoint_restore",
            "--bounding-set=-sys_admin,-checkpoint_restore",
            "--",
        ])
        .arg(ptrace_bin());
    snapshot_by(setpriv, args)
}

#[test]
fn a_file_that_is_not_the_mapped_one_is_refused_and_its_frames_say_why() {
    let builds = TwoBuilds::new();
    let target = builds.start_inside();
    let pid = target.child.id() as i32;
    // A sysroot holding the host's builds at the target's paths: without map_files, these are
    // what the paths lead to, and their build ids are not those mapped.
    let sysroot = tempfile::tempdir().expect("sysroot");
    for file in [builds.app(), builds.lib_dir().join("libshape.so")] {
        let copy = sysroot.path().join(file.strip_prefix("/").expect("absolute"));
        std::fs::create_dir_all(copy.parent().expect("folder")).expect("sysroot folders");
        std::fs::copy(&file, &copy).expect("copy into the sysroot");
    }
    let (output, snapshot) =
        snapshot_as_without_map_files(&["--sysroot", path_str(sysroot.path()), &pid.to_string()]);
    let names = symbols(&snapshot);
    assert!(
        !names.iter().any(|n| n.starts_with("host_")),
        "a file that is not the mapped one was used: {names:?}"
    );
    let refused: Vec<&Value> = all_frames(&snapshot)
        .into_iter()
        .filter(|f| f["object"].as_str() == Some(path_str(&builds.app())))
        .collect();
    assert!(!refused.is_empty(), "no frame in the program: {names:?}");
    for frame in refused {
        let note = frame["annotations"].to_string();
        assert!(
            note.contains("not the file the process runs") && note.contains("build id"),
            "the frame does not say why: {frame}"
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings = snapshot["warnings"].to_string();
    assert!(
        warnings.contains("not the file the process runs")
            || stderr.contains("not the file the process runs"),
        "no warning: {warnings} {stderr}"
    );
    assert_running_untraced(pid);
}

/// The pid, in ptrace's namespace, of the only child of `parent`.
fn only_child(parent: u32) -> i32 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).unwrap_or_default();
        if let Some(child) = children.split_whitespace().next() {
            return child.parse().expect("numeric pid");
        }
        assert!(Instant::now() < until, "{parent} never had a child");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_target_in_a_pid_namespace_has_host_tids_and_its_own() {
    let program = common::example("threads");
    let target = Started::new(
        Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "--mount-proc"])
            .arg(&program)
            .args(["3", "5"]),
    );
    let pid = only_child(target.child.id());
    let (_, snapshot) = snapshot(&[&pid.to_string()]);
    assert_eq!(snapshot["pid"], pid);
    assert_eq!(
        snapshot["nspid"],
        serde_json::json!([pid, 1]),
        "the process is pid 1 inside"
    );
    let threads = snapshot["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 4);
    for thread in threads {
        let tid = thread["tid"].as_i64().expect("tid");
        let nspid = thread["nspid"]
            .as_array()
            .unwrap_or_else(|| panic!("no nspid: {thread}"));
        assert_eq!(nspid.len(), 2, "{thread}");
        assert_eq!(nspid[0].as_i64(), Some(tid), "the first id is ptrace's: {thread}");
        let inside = nspid[1].as_i64().expect("inner id");
        assert!(
            (1..100).contains(&inside),
            "a small id inside the namespace: {thread}"
        );
    }
    assert!(symbols(&snapshot).iter().any(|s| s == "main"));
    assert_running_untraced(pid);
}

#[test]
fn ptrace_inside_a_pid_namespace_snapshots_its_processes_as_on_the_host() {
    let program = common::example("threads");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    // Inside: start the target, wait for its "ready", snapshot it, report its tracer and state
    // afterwards, then end it.
    let script = format!(
        "mkfifo {fifo}; {program} 3 5 > {fifo} & read ready < {fifo}; \
         {ptrace} -o {out} $! > /dev/null || exit 9; \
         grep -h TracerPid /proc/$!/task/*/status | sort -u; kill $!",
        fifo = dir.path().join("fifo").display(),
        program = program.display(),
        ptrace = ptrace_bin().display(),
        out = out.display(),
    );
    let output = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("run unshare");
    assert!(
        output.status.success(),
        "ptrace inside a pid namespace failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tracers = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        tracers.trim(),
        "TracerPid:\t0",
        "the target stayed traced: {tracers}"
    );
    let snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("snapshot")).expect("JSON");
    let pid = snapshot["pid"].as_i64().expect("pid");
    assert!((2..100).contains(&pid), "the pid is the namespace's: {pid}");
    assert!(
        snapshot.get("nspid").is_none(),
        "same namespace as ptrace: no nspid"
    );
    assert_eq!(snapshot["threads"].as_array().expect("threads").len(), 4);
    assert!(symbols(&snapshot).iter().any(|s| s == "main"));
}
