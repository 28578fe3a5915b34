//! debuginfod: the real `ptrace` CLI on a stripped build of a c-example whose debug file only a
//! debuginfod server holds — elfutils' own server, started here on 127.0.0.1 — and on servers
//! that misbehave (tiny HTTP servers written here, on real sockets): the debug file is fetched
//! before the stop and cached, a bad server costs one warning line and never a longer stop.
//!
//! Needs `debuginfod` (elfutils): run `scripts/install-test-tools.sh`.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the real server may take to index the debug file.
const INDEX_PATIENCE: Duration = Duration::from_secs(30);

/// A stripped copy of `c-examples/build/crash`, its debug file kept apart.
struct Stripped {
    dir: tempfile::TempDir,
    program: PathBuf,
    build_id: String,
}

impl Stripped {
    /// `crash` stripped of everything (`strip --strip-all`), its debug file
    /// (`objcopy --only-keep-debug`) in `<dir>/served/crash.debug`.
    fn build() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let full = example("crash");
        let served = dir.path().join("served");
        std::fs::create_dir(&served).expect("served dir");
        run_tool(
            Command::new("objcopy")
                .arg("--only-keep-debug")
                .arg(&full)
                .arg(served.join("crash.debug")),
        );
        let program = dir.path().join("crash");
        run_tool(
            Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(&program)
                .arg(&full),
        );
        let notes = run_tool(Command::new("readelf").arg("-n").arg(&program));
        let build_id = notes
            .lines()
            .find_map(|line| line.trim().strip_prefix("Build ID:"))
            .map(|id| id.trim().to_string())
            .expect("the stripped program keeps its build id note");
        Self {
            dir,
            program,
            build_id,
        }
    }

    fn served(&self) -> PathBuf {
        self.dir.path().join("served")
    }
}

/// Runs a tool, asserts it succeeded, returns its stdout.
fn run_tool(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A port nobody listens on at the moment, on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// elfutils' debuginfod serving a folder, killed when dropped.
struct Debuginfod {
    child: Child,
    port: u16,
}

impl Debuginfod {
    /// Starts `debuginfod -F <folder>` on a free port (its database in `state`).
    fn start(folder: &Path, state: &Path) -> Self {
        let port = free_port();
        let child = Command::new("debuginfod")
            .arg("-p")
            .arg(port.to_string())
            .arg("-d")
            .arg(state.join("debuginfod.sqlite"))
            .args(["-c", "1", "-F"])
            .arg(folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start debuginfod ({e}): run scripts/install-test-tools.sh to install it")
            });
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until the server gives the debug file of `build_id` (it has indexed the folder).
    fn wait_until_serving(&mut self, build_id: &str) {
        let url = format!("{}/buildid/{build_id}/debuginfo", self.url());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let until = Instant::now() + INDEX_PATIENCE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("debuginfod exited: {status}");
            }
            if let Ok(response) = agent.get(&url).call() {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < until,
                "debuginfod did not serve {url} within {INDEX_PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Debuginfod {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a fake server answers.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// 404.
    NotFound,
    /// 200 with bytes that are not ELF.
    Garbage,
    /// 200 with an ELF file of another build.
    OtherBuild,
    /// Accepts, reads the request, never answers.
    Silent,
}

/// A tiny HTTP server on 127.0.0.1 that misbehaves; counts the requests it gets.
struct FakeServer {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl FakeServer {
    fn start(how: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let other_build = std::fs::read(example("threads")).expect("read threads");
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                read_request(&mut stream);
                counted.fetch_add(1, Ordering::SeqCst);
                let body: &[u8] = match how {
                    Misbehaviour::NotFound => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                        );
                        continue;
                    }
                    Misbehaviour::Silent => {
                        held.push(stream);
                        continue;
                    }
                    Misbehaviour::Garbage => b"\x7fELG this is not an ELF file at all",
                    Misbehaviour::OtherBuild => &other_build,
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
            }
        });
        Self { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Reads an HTTP request's head (up to the blank line).
fn read_request(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
}

/// Runs `ptrace` on `pid` with `DEBUGINFOD_URLS=urls` and the cache `cache` (no proxy, no other
/// debuginfod variable), extra `args` first; returns its output, snapshot and how long it took.
fn ptrace_with(urls: &str, cache: &Path, args: &[&str], pid: i32) -> (Output, Value, Duration) {
    let out = tempfile::tempdir().expect("temp dir");
    let file = out.path().join("snapshot.json");
    let started = Instant::now();
    let mut command = Command::new(ptrace_bin());
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "DEBUGINFOD_TIMEOUT",
        "DEBUGINFOD_URLS",
    ] {
        command.env_remove(var);
    }
    if !urls.is_empty() {
        command.env("DEBUGINFOD_URLS", urls);
    }
    let output = command
        .env("DEBUGINFOD_CACHE_PATH", cache)
        .arg("-o")
        .arg(&file)
        .args(args)
        .arg(pid.to_string())
        .output()
        .expect("run ptrace");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "ptrace failed: {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("the snapshot is written");
    let snapshot = serde_json::from_str(&text).expect("the snapshot is JSON");
    (output, snapshot, took)
}

/// The `recurse` frames of the main thread.
fn recurse_frames(snap: &Value, pid: i32) -> Vec<&Value> {
    thread(snap, pid)["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["symbol"] == "recurse")
        .collect()
}

/// Asserts the main thread of `crash hang 0` has its names, lines and variables: six `recurse`
/// frames in crash.c with `n` from 0 to 5, then `main`.
fn assert_debug_info(snap: &Value, pid: i32) {
    let recurse = recurse_frames(snap, pid);
    assert_eq!(recurse.len(), 6, "{:?}", frames(thread(snap, pid)));
    for (depth, frame) in recurse.iter().enumerate() {
        assert!(
            frame["file"].as_str().is_some_and(|f| f.ends_with("crash.c")),
            "{frame}"
        );
        assert!(frame["line"].as_u64().is_some_and(|l| l > 0), "{frame}");
        let n = frame["variables"]
            .as_array()
            .expect("variables")
            .iter()
            .find(|v| v["name"] == "n")
            .unwrap_or_else(|| panic!("no n in {frame}"));
        assert_eq!(n["value"], depth as u64, "{n}");
    }
    assert!(frames(thread(snap, pid)).iter().any(|f| f.0 == "main"));
}

/// The snapshot's entry for the program at `program`.
fn module_of<'a>(snap: &'a Value, program: &Path) -> &'a Value {
    let wanted = program.to_str().expect("utf-8 path");
    snap["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|m| m["path"] == wanted)
        .unwrap_or_else(|| panic!("no module {wanted}"))
}

/// The lines of stderr that speak of debuginfod or of the build id.
fn debuginfod_lines(output: &Output, build_id: &str) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("debuginfod") || l.contains(build_id))
        .map(str::to_string)
        .collect()
}

fn stopped_us(snap: &Value) -> u64 {
    snap["timing"]["stopped_us"].as_u64().expect("timing.stopped_us")
}

/// The stop with fetching must not be longer than without, give or take what a busy machine
/// adds: four times the baseline plus 50 ms (the fetch bounds here are seconds).
fn assert_stop_not_inflated(with: u64, without: u64) {
    assert!(
        with <= without * 4 + 50_000,
        "stopped {with} µs with debuginfod, {without} µs without"
    );
}

#[test]
fn a_stripped_program_gets_its_debug_info_from_debuginfod_then_from_the_cache() {
    let stripped = Stripped::build();
    let target = Target::start(&stripped.program, &["hang", "0"]);
    let pid = target.pid();
    let cache = tempfile::tempdir().expect("cache dir");

    // Without debuginfod the stripped program has no names.
    let (_, bare, _) = ptrace_with("", cache.path(), &[], pid);
    assert!(recurse_frames(&bare, pid).is_empty(), "the program is stripped");
    assert!(module_of(&bare, &stripped.program)["debug_file"].is_null());
    assert_running_untraced(pid);

    let state = tempfile::tempdir().expect("server state dir");
    let mut server = Debuginfod::start(&stripped.served(), state.path());
    server.wait_until_serving(&stripped.build_id);
    // Two servers: one without the file first, then elfutils' server.
    let missing = FakeServer::start(Misbehaviour::NotFound);
    let urls = format!("{} {}", missing.url(), server.url());
    let (output, fetched, cold) = ptrace_with(&urls, cache.path(), &[], pid);
    assert_running_untraced(pid);
    assert_debug_info(&fetched, pid);
    let cached = cache.path().join(&stripped.build_id).join("debuginfo");
    assert_eq!(
        module_of(&fetched, &stripped.program)["debug_file"],
        cached.to_str().expect("utf-8 path")
    );
    assert!(
        debuginfod_lines(&output, &stripped.build_id).is_empty(),
        "a server that has the file settles it: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_stop_not_inflated(stopped_us(&fetched), stopped_us(&bare));

    // The server gone, the cache answers, without waiting for anyone.
    server.stop();
    let asked = missing.requests.load(Ordering::SeqCst);
    let (output, again, warm) = ptrace_with(&urls, cache.path(), &[], pid);
    assert_running_untraced(pid);
    assert_debug_info(&again, pid);
    assert_eq!(
        missing.requests.load(Ordering::SeqCst),
        asked,
        "a cache hit asks no server"
    );
    assert!(debuginfod_lines(&output, &stripped.build_id).is_empty());
    assert!(
        warm < Duration::from_secs(10),
        "the cached run took {warm:?} (cold: {cold:?})"
    );

    // --no-debuginfod: neither servers nor cache.
    let (_, off, _) = ptrace_with(&urls, cache.path(), &["--no-debuginfod"], pid);
    assert!(recurse_frames(&off, pid).is_empty());
    assert_running_untraced(pid);
}

#[test]
fn bad_servers_cost_one_warning_line_and_never_a_longer_stop() {
    let stripped = Stripped::build();
    let target = Target::start(&stripped.program, &["hang", "0"]);
    let pid = target.pid();
    let unused = tempfile::tempdir().expect("cache dir");
    let (_, bare, _) = ptrace_with("", unused.path(), &[], pid);
    let bound = Duration::from_secs(3);
    let bound_arg = bound.as_secs().to_string();
    for (how, reason) in [
        (Misbehaviour::NotFound, "not found (HTTP 404)"),
        (Misbehaviour::Garbage, "not an ELF file"),
        (Misbehaviour::OtherBuild, "not the one asked for"),
        (Misbehaviour::Silent, "no answer within the total bound of 3 s"),
    ] {
        let server = FakeServer::start(how);
        let cache = tempfile::tempdir().expect("cache dir");
        let (output, snap, took) = ptrace_with(
            &server.url(),
            cache.path(),
            &["--debuginfod-timeout", &bound_arg],
            pid,
        );
        assert_running_untraced(pid);
        assert!(recurse_frames(&snap, pid).is_empty(), "{how:?}");
        let lines = debuginfod_lines(&output, &stripped.build_id);
        assert_eq!(lines.len(), 1, "{how:?}: {lines:?}");
        let line = &lines[0];
        for part in [
            reason,
            &stripped.build_id,
            &server.url(),
            stripped.program.to_str().unwrap_or("?"),
        ] {
            assert!(line.contains(part), "{how:?}: {part:?} not in {line:?}");
        }
        assert!(
            snap["warnings"]
                .as_array()
                .expect("warnings")
                .iter()
                .any(|w| w.as_str().is_some_and(|w| w.contains(reason))),
            "{how:?}: the snapshot's warnings say it too"
        );
        assert!(
            took < bound + Duration::from_secs(10),
            "{how:?}: ptrace took {took:?}"
        );
        assert_stop_not_inflated(stopped_us(&snap), stopped_us(&bare));
        let entry = cache.path().join(&stripped.build_id).join("debuginfo");
        let folder = cache.path().join(&stripped.build_id);
        let leftovers: Vec<_> = std::fs::read_dir(&folder)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        match how {
            Misbehaviour::NotFound => {
                // The miss is remembered as elfutils remembers it: an empty file; the next run
                // asks nobody.
                assert_eq!(std::fs::metadata(&entry).map(|m| m.len()).ok(), Some(0));
                let asked = server.requests.load(Ordering::SeqCst);
                let (output, _, _) = ptrace_with(&server.url(), cache.path(), &[], pid);
                assert_eq!(server.requests.load(Ordering::SeqCst), asked);
                let lines = debuginfod_lines(&output, &stripped.build_id);
                assert_eq!(lines.len(), 1, "{lines:?}");
                assert!(lines[0].contains("had none"), "{lines:?}");
            }
            Misbehaviour::Silent => assert!(took >= bound, "{how:?}: waited {took:?}"),
            _ => assert!(leftovers.is_empty(), "{how:?}: the cache holds {leftovers:?}"),
        }
        assert!(
            server.requests.load(Ordering::SeqCst) >= 1,
            "{how:?}: the server was asked"
        );
    }
}
