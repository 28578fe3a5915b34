//! Backtrace from outside: the real `ptrace` CLI (and the C API) posting real snapshots of the
//! `crash` example to a recording HTTP server on 127.0.0.1 written here, which answers as a test
//! tells it (200 with an `_rxid`, a 4xx or 5xx, never, or by closing the connection): the
//! request and its document, both submission URL forms, `--format backtrace-json`, failures
//! that keep the snapshot, `ptrace submit [--remove]`, and proxies from the environment.
//!
//! Every server and proxy thread ends when its test drops it (or after [`LIFETIME`]), every
//! socket has read and write timeouts, and every `ptrace` run is killed past [`RUN_LIMIT`].

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The submission token: never printed by ptrace.
const TOKEN: &str = "T0k3n-s3cr3t-42";
/// Each socket's read and write timeout.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a server or proxy thread runs, whatever its test does.
const LIFETIME: Duration = Duration::from_secs(120);
/// The longest one `ptrace` run may take before it is killed and the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The environment variables ureq reads a proxy from.
const PROXY_VARIABLES: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// How the server answers one connection.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// 200 with `{"response":"ok","_rxid":"rx-N"}`.
    Accept,
    /// This HTTP status, with a JSON error body.
    Refuse(u16),
    /// Nothing: the connection stays open until the client gives up.
    Silent,
    /// The connection closed once the request is read, without an answer.
    Close,
}

/// One HTTP request, as received.
#[derive(Clone, Debug)]
struct Request {
    /// `METHOD TARGET VERSION`.
    line: String,
    /// The headers, names in lower case.
    headers: Vec<(String, String)>,
    /// The body.
    body: Vec<u8>,
}

impl Request {
    fn method(&self) -> &str {
        self.line.split(' ').next().unwrap_or_default()
    }

    /// The request target (`/post?...`, or an absolute URL or `host:port` for a proxy).
    fn target(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or_default()
    }

    fn path(&self) -> &str {
        self.target().split('?').next().unwrap_or_default()
    }

    /// The query's `name=value` pairs.
    fn query(&self) -> Vec<(String, String)> {
        let query = self.target().split_once('?').map(|x| x.1).unwrap_or_default();
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Reads one request (request line, headers, a `Content-Length` or chunked body) from
/// `reader`; `None` when the client closed or stalled first.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok().filter(|&n| n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        line: line.trim_end().to_string(),
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().ok()?;
        request.body = vec![0; length];
        reader.read_exact(&mut request.body).ok()?;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            request.body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(request)
}

/// A thread accepting connections on a 127.0.0.1 port of its own, stopped and joined when
/// dropped.
struct Accepting {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Accepting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `serve` on each connection accepted on a fresh 127.0.0.1 port (the connection's index
/// given), one at a time, until it is dropped or [`LIFETIME`] has passed.
fn accept_loop(serve: impl Fn(TcpStream, usize, &AtomicBool) + Send + 'static) -> Accepting {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    listener.set_nonblocking(true).expect("non-blocking listener");
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let start = Instant::now();
        let mut index = 0;
        while !stopped.load(Ordering::SeqCst) && start.elapsed() < LIFETIME {
            match listener.accept() {
                Ok((stream, _)) => {
                    let timeouts = stream
                        .set_nonblocking(false)
                        .and_then(|()| stream.set_read_timeout(Some(SOCKET_TIMEOUT)))
                        .and_then(|()| stream.set_write_timeout(Some(SOCKET_TIMEOUT)));
                    if timeouts.is_ok() {
                        serve(stream, index, &stopped);
                    }
                    index += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
    });
    Accepting {
        port,
        stop,
        thread: Some(thread),
    }
}

/// A recording Backtrace server: each connection gets the next of its answers (the last one
/// repeated).
struct Server {
    listener: Accepting,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(answers: &[Answer]) -> Server {
        let answers = answers.to_vec();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let listener = accept_loop(move |stream, index, stop| {
            let answer = answers
                .get(index)
                .or(answers.last())
                .copied()
                .unwrap_or(Answer::Accept);
            let mut reader = BufReader::new(&stream);
            let Some(request) = read_request(&mut reader) else {
                return;
            };
            recorded.lock().unwrap_or_else(|e| e.into_inner()).push(request);
            let respond = |status: u16, reason: &str, body: &str| {
                let text = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = (&stream).write_all(text.as_bytes());
                let _ = (&stream).flush();
            };
            match answer {
                Answer::Accept => respond(200, "OK", &format!(r#"{{"response":"ok","_rxid":"rx-{index}"}}"#)),
                Answer::Refuse(status) => respond(
                    status,
                    "Refused",
                    &format!(r#"{{"error":{{"code":{status},"message":"refused by the test"}}}}"#),
                ),
                Answer::Silent => {
                    // Until the client gives up (EOF), the test ends, or the socket's timeout.
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                    let until = Instant::now() + SOCKET_TIMEOUT;
                    let mut buffer = [0u8; 512];
                    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                        match (&stream).read(&mut buffer) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        }
                    }
                }
                Answer::Close => {}
            }
            let _ = stream.shutdown(Shutdown::Both);
        });
        Server { listener, requests }
    }

    /// The `/post` submission URL of this server.
    fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/post?format=json&token={TOKEN}",
            self.listener.port
        )
    }

    /// The submission URL as ptrace shows it.
    fn shown_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/post?format=json&token=***",
            self.listener.port
        )
    }

    /// The requests received so far.
    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A recording HTTP proxy: it records each request line it gets and, for `CONNECT host:port`,
/// opens the tunnel to that address and relays both ways; any other request gets a 501.
struct Proxy {
    listener: Accepting,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&lines);
        let listener = accept_loop(move |stream, _, _| {
            let Ok(reading) = stream.try_clone() else { return };
            let mut reader = BufReader::new(reading);
            let Some(request) = read_request(&mut reader) else {
                return;
            };
            recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(request.line.clone());
            let upstream = (request.method() == "CONNECT")
                .then(|| request.target().to_socket_addrs().ok()?.next())
                .flatten()
                .and_then(|address| TcpStream::connect_timeout(&address, SOCKET_TIMEOUT).ok());
            let Some(upstream) = upstream else {
                let _ = (&stream).write_all(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n");
                return;
            };
            let _ = upstream.set_read_timeout(Some(SOCKET_TIMEOUT));
            let _ = upstream.set_write_timeout(Some(SOCKET_TIMEOUT));
            if (&stream)
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_err()
            {
                return;
            }
            let Ok(mut to_upstream) = upstream.try_clone() else {
                return;
            };
            // Client to server on a thread (what the reader buffered first), server to client
            // here; each side's end of input ends the other's output.
            let forward = std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut to_upstream);
                let _ = to_upstream.shutdown(Shutdown::Write);
            });
            let _ = std::io::copy(&mut &upstream, &mut &stream);
            let _ = stream.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
            let _ = forward.join();
        });
        Proxy { listener, lines }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.listener.port)
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A port on 127.0.0.1 nobody listens on (bound, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A `ptrace` command whose environment names no proxy and no debuginfod server.
fn ptrace() -> Command {
    let mut command = Command::new(ptrace_bin());
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command.env_remove("DEBUGINFOD_URLS");
    command
}

/// What one bounded run gave.
struct Run {
    output: Output,
    took: Duration,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// The `ptrace:` lines of stderr that are not warnings about the snapshot.
    fn lines(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.starts_with("ptrace:") && !l.starts_with("ptrace: warning:"))
            .map(str::to_string)
            .collect()
    }

    /// Asserts the token appears nowhere in what ptrace printed.
    fn assert_token_hidden(&self) {
        assert!(
            !self.stdout().contains(TOKEN),
            "stdout shows the token: {}",
            self.stdout()
        );
        assert!(
            !self.stderr().contains(TOKEN),
            "stderr shows the token: {}",
            self.stderr()
        );
    }
}

/// Runs `command` to its end, killed (and the test failed) past [`RUN_LIMIT`].
fn run(command: &mut Command) -> Run {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ptrace");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ptrace") {
            break status;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ptrace ran longer than {RUN_LIMIT:?}: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    let output = Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    Run { output, took }
}

/// `ptrace --exec ARGS... -- crash segv`.
fn exec_segv(args: &[&str]) -> Run {
    let crash = example("crash");
    run(ptrace()
        .arg("--exec")
        .args(args)
        .arg("--")
        .arg(&crash)
        .arg("segv"))
}

/// `crash segv` under `ptrace --exec`, its snapshot written to `file` and posted to `url`
/// (within 10 s).
fn crash_posted_to(url: &str, file: &Path) -> Run {
    exec_segv(&[
        "--backtrace-url",
        url,
        "--submit-timeout",
        "10",
        "-o",
        file.to_str().expect("utf-8 path"),
    ])
}

/// The JSON document in `path`.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Asserts `path` holds a complete ptrace snapshot of process `pid` (any when `None`).
fn assert_complete_snapshot(path: &Path, pid: Option<i32>) -> Value {
    let snapshot = read_json(path);
    assert_eq!(snapshot["format"], "ptrace-snapshot", "{}", path.display());
    assert_eq!(snapshot["incomplete"], false, "{}", path.display());
    assert!(
        !snapshot["threads"].as_array().expect("threads").is_empty(),
        "{}",
        path.display()
    );
    if let Some(pid) = pid {
        assert_eq!(snapshot["pid"], pid);
    }
    snapshot
}

/// Asserts `doc` is the Backtrace document of a `crash segv` snapshot: every required key with
/// its type, the faulting thread the main thread, its frames `recurse` ... `main` with lines,
/// 64-bit values as strings.
fn assert_crash_document(doc: &Value) {
    for key in [
        "uuid",
        "lang",
        "langVersion",
        "agent",
        "agentVersion",
        "mainThread",
    ] {
        assert!(doc[key].is_string(), "{key} is {}", doc[key]);
    }
    for key in ["threads", "attributes", "annotations"] {
        assert!(doc[key].is_object(), "{key} is {}", doc[key]);
    }
    for key in ["classifiers", "modules"] {
        assert!(doc[key].is_array(), "{key} is {}", doc[key]);
    }
    assert!(doc["timestamp"].is_u64(), "Unix seconds, a number");
    assert!(uuid::Uuid::parse_str(doc["uuid"].as_str().unwrap_or_default()).is_ok());
    assert_eq!(doc["agent"], "libptrace");
    let main_key = doc["mainThread"].as_str().unwrap_or_default();
    let main = &doc["threads"][main_key];
    assert_eq!(
        main["fault"], true,
        "mainThread {main_key} is the faulting thread"
    );
    let stack = main["stack"].as_array().expect("stack");
    let names: Vec<&str> = stack
        .iter()
        .map(|f| f["funcName"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        names[..7],
        ["recurse", "recurse", "recurse", "recurse", "recurse", "recurse", "main"],
        "{names:?}"
    );
    assert_eq!(stack[0]["faulted"], true);
    assert!(stack[1..].iter().all(|f| f["faulted"] == false));
    assert_eq!(
        stack[0]["line"],
        marked_line("crash.c", "/* INVALID WRITE */"),
        "a number"
    );
    for frame in &stack[..7] {
        assert!(frame["line"].is_u64(), "{frame}");
        assert_eq!(frame["library"], "crash", "{frame}");
        let file = frame["sourceCode"].as_str().expect("sourceCode");
        assert!(file.ends_with("crash.c"), "{frame}");
        assert_eq!(doc["sourceCode"][file]["path"], file);
    }
    for thread in doc["threads"].as_object().expect("threads").values() {
        assert!(thread["name"].is_string(), "{thread}");
        for frame in thread["stack"].as_array().expect("stack") {
            let address = frame["address"].as_str().expect("the address is a string");
            assert!(address.starts_with("0x"), "{frame}");
            assert!(frame["library"].is_string(), "{frame}");
        }
    }
    // The innermost frame's registers, 64-bit values as strings, typed by `arch`.
    let rip: u64 = stack[0]["registers"]["rip"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("rip as a decimal string");
    let pc = stack[0]["address"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("0x");
    assert_eq!(Some(rip), u64::from_str_radix(pc, 16).ok());
    assert_eq!(doc["arch"]["registers"]["rip"], "u64");
    let attributes = &doc["attributes"];
    assert_eq!(attributes["application"], "crash");
    assert!(attributes["process.id"].is_u64());
    assert_eq!(attributes["uname.sysname"], "Linux");
    assert!(attributes["hostname"].is_string());
    assert_eq!(attributes["error.type"], "Crash");
    assert!(attributes["error.message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("SIGSEGV"));
    assert!(doc["classifiers"]
        .as_array()
        .expect("classifiers")
        .contains(&Value::from("SIGSEGV")));
    let modules = doc["modules"].as_array().expect("modules");
    assert!(modules
        .iter()
        .all(|m| m["start"].is_string() && m["size"].is_string() && m["code_file"].is_string()));
    assert!(
        modules.iter().any(|m| m["code_file"]
            .as_str()
            .is_some_and(|f| f.ends_with("/build/crash"))),
        "the executable among {modules:?}"
    );
}

/// Asserts `doc` is the Backtrace document of the `crash segv` snapshot `snapshot`.
fn assert_document_of(doc: &Value, snapshot: &Value) {
    assert_crash_document(doc);
    assert_eq!(doc["timestamp"], snapshot["timestamp"]);
    assert_eq!(doc["attributes"]["process.id"], snapshot["pid"]);
    let tids: std::collections::BTreeSet<String> = snapshot["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| t["tid"].to_string())
        .collect();
    let keys: std::collections::BTreeSet<String> = doc["threads"]
        .as_object()
        .expect("threads")
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, tids, "threads keyed by thread id");
    assert_eq!(doc["mainThread"], snapshot["fault"]["tid"].to_string().as_str());
    let modules = doc["modules"].as_array().expect("modules");
    assert!(modules.iter().any(|m| m["code_file"] == snapshot["executable"]));
}

#[test]
fn a_crash_is_posted_as_backtrace_json_and_the_snapshot_written() {
    let server = Server::start(&[Answer::Accept]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crash.json");
    let url = server.url();
    let result = crash_posted_to(&url, &file);
    assert_eq!(result.code(), Some(128 + libc::SIGSEGV), "{}", result.stderr());
    result.assert_token_hidden();
    let snapshot = assert_complete_snapshot(&file, None);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one submission: {requests:#?}");
    let request = &requests[0];
    assert_eq!(request.method(), "POST");
    assert_eq!(request.path(), "/post");
    let query = request.query();
    assert!(query.contains(&("format".into(), "json".into())), "{query:?}");
    assert!(query.contains(&("token".into(), TOKEN.into())), "{query:?}");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_document_of(&request.json(), &snapshot);
    assert_eq!(
        result.lines(),
        [format!(
            "ptrace: sent to backtrace {} as rx-0",
            server.shown_url()
        )],
        "{}",
        result.stderr()
    );
}

#[test]
fn the_submit_backtrace_io_form_is_posted_to_its_path() {
    // https://submit.backtrace.io/UNIVERSE/TOKEN/json, on a local server of the same path shape.
    let server = Server::start(&[Answer::Accept]);
    let target = Target::start(&example("crash"), &["hang"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hang.json");
    let url = format!("http://127.0.0.1:{}/acme/{TOKEN}/json", server.listener.port);
    let result = run(ptrace()
        .arg(target.pid().to_string())
        .args(["--backtrace-url", &url, "--submit-timeout", "10", "-o"])
        .arg(&file));
    assert_eq!(result.code(), Some(0), "{}", result.stderr());
    result.assert_token_hidden();
    assert_running_untraced(target.pid());
    let snapshot = assert_complete_snapshot(&file, Some(target.pid()));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method(), "POST");
    assert_eq!(requests[0].target(), format!("/acme/{TOKEN}/json"));
    let doc = requests[0].json();
    assert_eq!(
        doc["mainThread"],
        target.pid().to_string(),
        "no fault: the main thread"
    );
    assert_eq!(doc["attributes"]["error.type"], "Snapshot");
    assert_eq!(doc["timestamp"], snapshot["timestamp"]);
    assert_eq!(
        result.lines(),
        [format!(
            "ptrace: sent to backtrace http://127.0.0.1:{}/acme/***/json as rx-0",
            server.listener.port
        )]
    );
}

#[test]
fn format_backtrace_json_writes_the_document_as_the_snapshot_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crash.backtrace.json");
    let result = exec_segv(&[
        "--format",
        "backtrace-json",
        "-o",
        file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(result.code(), Some(128 + libc::SIGSEGV), "{}", result.stderr());
    assert_eq!(result.stdout().trim(), file.to_str().expect("utf-8 path"));
    let doc = read_json(&file);
    assert!(doc.get("format").is_none(), "not a ptrace snapshot");
    assert_crash_document(&doc);

    // -O DIR: named like a snapshot.
    let target = Target::start(&example("crash"), &["hang"]);
    let out = tempfile::tempdir().expect("temp dir");
    let result = run(ptrace()
        .arg(target.pid().to_string())
        .args(["--format", "backtrace-json", "-O"])
        .arg(out.path()));
    assert_eq!(result.code(), Some(0), "{}", result.stderr());
    assert_running_untraced(target.pid());
    let written = PathBuf::from(result.stdout().trim());
    let name = written
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("crash.{}.", target.pid())) && name.ends_with(".json"),
        "{name}"
    );
    assert_eq!(written.parent(), Some(out.path()));
    let doc = read_json(&written);
    assert_eq!(doc["attributes"]["process.id"], target.pid());
    assert_eq!(doc["mainThread"], target.pid().to_string());
}

#[test]
fn a_failed_submission_costs_one_line_and_status_1_and_keeps_the_snapshot() {
    let target = Target::start(&example("crash"), &["hang"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&str, Option<Answer>, &str); 5] = [
        ("down", None, "no answer from"),
        ("slow", Some(Answer::Silent), "no answer from"),
        ("closed", Some(Answer::Close), "no answer from"),
        ("4xx", Some(Answer::Refuse(403)), "answered HTTP 403"),
        ("5xx", Some(Answer::Refuse(503)), "answered HTTP 503"),
    ];
    for (case, answer, why) in cases {
        let server = answer.map(|a| Server::start(&[a]));
        let port = server.as_ref().map_or_else(free_port, |s| s.listener.port);
        let url = format!("http://127.0.0.1:{port}/post?format=json&token={TOKEN}");
        let file = dir.path().join(format!("{case}.json"));
        let timeout = if case == "slow" { "1" } else { "10" };
        let result = run(ptrace()
            .arg(target.pid().to_string())
            .args(["--backtrace-url", &url, "--submit-timeout", timeout, "-o"])
            .arg(&file));
        assert_eq!(result.code(), Some(1), "{case}: {}", result.stderr());
        result.assert_token_hidden();
        let lines = result.lines();
        assert_eq!(lines.len(), 1, "{case}: {}", result.stderr());
        let shown = format!("http://127.0.0.1:{port}/post?format=json&token=***");
        assert!(
            lines[0].starts_with("ptrace: backtrace: ")
                && lines[0].contains(&shown)
                && lines[0].contains(why)
                && lines[0].ends_with("(the snapshot file is kept)"),
            "{case}: {}",
            lines[0]
        );
        assert_eq!(
            result.stdout().trim(),
            file.to_str().expect("utf-8 path"),
            "{case}"
        );
        assert_complete_snapshot(&file, Some(target.pid()));
        assert_running_untraced(target.pid());
        if let Some(server) = &server {
            assert_eq!(server.requests().len(), 1, "{case}: sent once, never again");
        }
        if case == "slow" {
            assert!(
                result.took < Duration::from_secs(6),
                "--submit-timeout 1 took {:?}",
                result.took
            );
        }
    }
}

#[test]
fn under_exec_a_failed_submission_still_exits_with_the_programs_status() {
    let server = Server::start(&[Answer::Refuse(500)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crash.json");
    let url = server.url();
    let result = crash_posted_to(&url, &file);
    assert_eq!(result.code(), Some(128 + libc::SIGSEGV), "{}", result.stderr());
    result.assert_token_hidden();
    assert_eq!(
        result.lines(),
        [format!(
            "ptrace: backtrace: {} answered HTTP 500: {} (the snapshot file is kept)",
            server.shown_url(),
            r#"{"error":{"code":500,"message":"refused by the test"}}"#
        )],
        "{}",
        result.stderr()
    );
    assert_complete_snapshot(&file, None);
}

#[test]
fn ptrace_submit_sends_a_saved_snapshot_again_with_the_same_uuid() {
    let first = Server::start(&[Answer::Accept]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("crash.json");
    let url = first.url();
    let result = crash_posted_to(&url, &file);
    assert_eq!(result.code(), Some(128 + libc::SIGSEGV), "{}", result.stderr());
    let sent = first.requests();
    assert_eq!(sent.len(), 1);

    let again = Server::start(&[Answer::Accept]);
    let url = again.url();
    let result =
        run(ptrace()
            .arg("submit")
            .arg(&file)
            .args(["--backtrace-url", &url, "--submit-timeout", "10"]));
    assert_eq!(result.code(), Some(0), "{}", result.stderr());
    result.assert_token_hidden();
    assert_eq!(
        result.lines(),
        [format!("ptrace: sent to backtrace {} as rx-0", again.shown_url())]
    );
    assert!(file.exists(), "kept without --remove");
    let resent = again.requests();
    assert_eq!(resent.len(), 1);
    let (before, after) = (sent[0].json(), resent[0].json());
    assert_eq!(after["uuid"], before["uuid"], "the same report for Backtrace");
    assert_eq!(after["timestamp"], before["timestamp"]);
    assert_eq!(after["mainThread"], before["mainThread"]);
    assert_eq!(after["threads"], before["threads"]);
    assert_document_of(&after, &read_json(&file));
}

#[test]
fn ptrace_submit_remove_removes_what_was_sent_and_keeps_what_failed() {
    let target = Target::start(&example("crash"), &["hang"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [dir.path().join("a.json"), dir.path().join("b.json")];
    for file in &files {
        let result = run(ptrace().arg(target.pid().to_string()).arg("-o").arg(file));
        assert_eq!(result.code(), Some(0), "{}", result.stderr());
    }
    let server = Server::start(&[Answer::Accept, Answer::Refuse(500)]);
    let url = server.url();
    let result = run(ptrace().arg("submit").args(&files).args([
        "--remove",
        "--backtrace-url",
        &url,
        "--submit-timeout",
        "10",
    ]));
    assert_eq!(result.code(), Some(1), "{}", result.stderr());
    result.assert_token_hidden();
    assert!(!files[0].exists(), "a.json was sent: removed");
    assert!(files[1].exists(), "b.json was refused: kept");
    assert_complete_snapshot(&files[1], Some(target.pid()));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_ne!(requests[0].json()["uuid"], requests[1].json()["uuid"]);
    let failures: Vec<String> = result
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("ptrace: sent to"))
        .collect();
    assert_eq!(failures.len(), 1, "{}", result.stderr());
    assert!(
        failures[0].starts_with(&format!("ptrace: {}: backtrace: ", files[1].display()))
            && failures[0].contains("answered HTTP 500"),
        "{}",
        failures[0]
    );
}

#[test]
fn ptrace_submit_refuses_a_file_that_is_not_a_snapshot() {
    let server = Server::start(&[Answer::Accept]);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = server.url();
    for (name, text) in [("notes.txt", "hello\n"), ("other.json", r#"{"uuid": "x"}"#)] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write the file");
        let result = run(ptrace()
            .arg("submit")
            .arg(&file)
            .args(["--backtrace-url", &url, "--remove"]));
        assert_eq!(result.code(), Some(1), "{name}: {}", result.stderr());
        result.assert_token_hidden();
        let lines = result.lines();
        assert_eq!(lines.len(), 1, "{name}: {}", result.stderr());
        assert!(
            lines[0].starts_with(&format!("ptrace: {}: not a ptrace snapshot", file.display())),
            "{}",
            lines[0]
        );
        assert!(file.exists(), "{name} is kept");
    }
    assert!(server.requests().is_empty(), "nothing sent");
}

#[test]
fn the_c_api_posts_once_written_and_a_refusal_is_efailed_with_the_file_kept() {
    use ptrace::embed::session::*;
    use std::ffi::{CStr, CString};

    let target = Target::start(&example("crash"), &["hang"]);
    let accepting = Server::start(&[Answer::Accept]);
    let refusing = Server::start(&[Answer::Refuse(503)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let c = |text: &str| CString::new(text).expect("no NUL");
    for (server, file, expected) in [
        (&accepting, dir.path().join("sent.json"), PTRACE_OK),
        (&refusing, dir.path().join("kept.json"), PTRACE_EFAILED),
    ] {
        let session = ptrace_session_create();
        assert!(!session.is_null());
        let path = c(file.to_str().expect("utf-8 path"));
        let mut written = std::ptr::null_mut();
        // SAFETY: a live session, NUL-terminated strings and a writable out pointer.
        let (code, why) = unsafe {
            for (name, value) in [
                ("backtrace-url", server.url()),
                ("submit-timeout", "10".to_string()),
                ("no-debuginfod", String::new()),
            ] {
                assert_eq!(
                    ptrace_session_set_option(session, c(name).as_ptr(), c(&value).as_ptr()),
                    PTRACE_OK,
                    "{name}"
                );
            }
            let code =
                ptrace_session_snapshot_pid_to_file(session, target.pid(), path.as_ptr(), &mut written);
            let why = CStr::from_ptr(ptrace_session_last_error(session))
                .to_string_lossy()
                .into_owned();
            if !written.is_null() {
                assert_eq!(CStr::from_ptr(written).to_str().ok(), file.to_str());
                ptrace_string_free(written);
            }
            ptrace_session_free(session);
            (code, why)
        };
        assert_eq!(code, expected, "{why}");
        assert_running_untraced(target.pid());
        assert_complete_snapshot(&file, Some(target.pid()));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path(), "/post");
        assert_eq!(requests[0].json()["attributes"]["process.id"], target.pid());
        if expected == PTRACE_EFAILED {
            assert!(written.is_null());
            assert!(why.contains("answered HTTP 503"), "{why}");
            assert!(why.contains(&format!("written to {}", file.display())), "{why}");
            assert!(!why.contains(TOKEN), "{why}");
        }
    }
}

#[test]
fn proxies_come_from_the_environment() {
    // ureq (src/http.rs) reads ALL_PROXY, HTTPS_PROXY, HTTP_PROXY (either case) and NO_PROXY,
    // and tunnels through an http:// proxy with CONNECT for http:// targets too: the proxy sees
    // `CONNECT host:port`, never the request line with the token in its query.
    let target = Target::start(&example("crash"), &["hang"]);
    let dir = tempfile::tempdir().expect("temp dir");
    for (variable, no_proxy) in [
        ("HTTP_PROXY", None),
        ("https_proxy", None),
        ("HTTP_PROXY", Some("127.0.0.1")),
    ] {
        let server = Server::start(&[Answer::Accept]);
        let proxy = Proxy::start();
        let url = server.url();
        let mut command = ptrace();
        command
            .arg(target.pid().to_string())
            .args(["--backtrace-url", &url, "--submit-timeout", "10", "-o"])
            .arg(dir.path().join("proxied.json"))
            .env(variable, proxy.url());
        if let Some(hosts) = no_proxy {
            command.env("NO_PROXY", hosts);
        }
        let result = run(&mut command);
        let case = format!("{variable} NO_PROXY={no_proxy:?}");
        assert_eq!(result.code(), Some(0), "{case}: {}", result.stderr());
        result.assert_token_hidden();
        assert_running_untraced(target.pid());
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{case}: the server got the submission");
        assert_eq!(requests[0].path(), "/post", "{case}");
        let lines = proxy.lines();
        match no_proxy {
            None => assert_eq!(
                lines,
                [format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.listener.port)],
                "{case}: through the proxy"
            ),
            Some(_) => assert!(lines.is_empty(), "{case}: around the proxy: {lines:?}"),
        }
    }
}

/// An HTTPS backend whose certificate no trusted authority signed: the submission is refused
/// before anything is sent (rustls checks certificates), one line, the snapshot kept. The server
/// is Python's, with a self-signed certificate openssl makes here; it records every request it
/// gets, and gets none.
#[test]
fn an_https_backend_with_an_untrusted_certificate_gets_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = free_port();
    let log = dir.path().join("requests.log");
    let server_code = r#"
import http.server, ssl, sys
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        open(log, "a").write(self.path + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"response":"ok","_rxid":"x"}')
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
"#;
    let mut server = Command::new("python3")
        .arg("-c")
        .arg(server_code)
        .arg(port.to_string())
        .arg(&cert)
        .arg(&key)
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the HTTPS server");
    let mut ready = String::new();
    let stdout = server.stdout.take().expect("piped stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready).expect("read ready");
    let file = dir.path().join("snapshot.json");
    let url = format!("https://127.0.0.1:{port}/post?format=json&token={TOKEN}");
    let result = crash_posted_to(&url, &file);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(ready.trim(), "ready");
    assert_eq!(result.code(), Some(139), "{}", result.stderr());
    result.assert_token_hidden();
    let lines = result.lines();
    assert_eq!(lines.len(), 1, "{}", result.stderr());
    assert!(
        lines[0].starts_with("ptrace: backtrace: no answer from")
            && lines[0].to_lowercase().contains("certificate"),
        "{}",
        lines[0]
    );
    assert_complete_snapshot(&file, None);
    assert!(
        !log.exists(),
        "the server got a request: {:?}",
        std::fs::read_to_string(&log)
    );
}
