//! Where the CLI writes a snapshot, run on real targets: standard output (`-o -`), FIFOs,
//! devices, sockets and symbolic links written into or through, owner-only files whatever the
//! umask, outputs refused before the target is ever stopped, `--exec` keeping the program's
//! status, and signals during the write (128 + signal, nothing left behind).
//!
//! Several tests need root (mounting tmpfs, chown, mknod, writing /dev/null): they fail, never
//! skip, without it.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a target is held stopped by `--hold-stopped-ms` in the tests that show it was never
/// stopped: a check made after the stop would show up as a pause at least this long.
const HOLD_MS: u64 = 1000;

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The one line a failed run wrote on stderr.
fn one_line(output: &Output) -> String {
    let text = stderr_of(output).trim().to_string();
    assert_eq!(text.lines().count(), 1, "expected one stderr line, got: {text}");
    text
}

/// The CLI with `args`, not yet run.
fn ptrace(args: &[&str]) -> Command {
    let mut command = Command::new(ptrace_bin());
    command.args(args);
    command
}

/// Runs `command` with the umask set to `mask`.
fn with_umask(command: &mut Command, mask: libc::mode_t) -> &mut Command {
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        command.pre_exec(move || {
            libc::umask(mask);
            Ok(())
        })
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 test path")
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").mode() & 0o7777
}

/// Sends `signal` to a child process.
fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Waits for `child` to exit within `limit`; kills it and fails otherwise.
fn exit_within(mut child: Child, limit: Duration) -> Output {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("collect output");
    panic!(
        "ptrace did not exit within {limit:?}; stderr: {}",
        stderr_of(&output)
    );
}

/// Waits until `pid` has been traced and is free again: the snapshot's stop is over.
fn wait_until_released(pid: i32) {
    wait_until_traced(pid, Duration::from_secs(20));
    let until = Instant::now() + Duration::from_secs(20);
    while state_and_tracer(pid).1 != 0 {
        assert!(Instant::now() < until, "{pid} stayed traced");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A `threads` target whose ticker thread records, in a shared file, the longest time it could
/// not run: what a stop looks like from inside the target.
struct WatchedTarget {
    target: Target,
    pause_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl WatchedTarget {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pause_file = dir.path().join("pause");
        let mut child = Command::new(example("threads"))
            .args(["2", "3"])
            .env("THREADS_PAUSE_FILE", &pause_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start threads");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the target's stdout");
        assert_eq!(line.trim(), "ready");
        let watched = Self {
            target: Target { child },
            pause_file,
            _dir: dir,
        };
        watched.reset_pause();
        watched
    }

    fn pid(&self) -> i32 {
        self.target.pid()
    }

    /// Forgets the pauses seen so far (written in place: the target maps the file).
    fn reset_pause(&self) {
        let file = OpenOptions::new()
            .write(true)
            .open(&self.pause_file)
            .expect("open pause file");
        file.write_all_at(&0i64.to_le_bytes(), 0).expect("reset pause");
    }

    /// The longest time the target could not run since the last reset.
    fn longest_pause(&self) -> Duration {
        let mut bytes = [0u8; 8];
        File::open(&self.pause_file)
            .expect("open pause file")
            .read_exact_at(&mut bytes, 0)
            .expect("read pause");
        Duration::from_nanos(u64::try_from(i64::from_le_bytes(bytes)).expect("a positive pause"))
    }
}

/// Runs the CLI with `args`, the watched target's pid and `--hold-stopped-ms`, and checks it
/// failed with one line holding every one of `expected`, the target never stopped.
fn assert_refused_before_the_stop(target: &WatchedTarget, args: &[&str], expected: &[&str]) {
    target.reset_pause();
    let pid = target.pid().to_string();
    let hold = HOLD_MS.to_string();
    let mut all = vec!["--hold-stopped-ms", &hold];
    all.extend_from_slice(args);
    all.push(&pid);
    let output = ptrace(&all).output().expect("run ptrace");
    assert_eq!(output.status.code(), Some(1), "{args:?}: {}", stderr_of(&output));
    let line = one_line(&output);
    for part in expected {
        assert!(line.contains(part), "{args:?}: {part:?} not in: {line}");
    }
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    // Held for HOLD_MS had it been stopped: the ticker would have seen it.
    let pause = target.longest_pause();
    assert!(
        pause < Duration::from_millis(HOLD_MS / 2),
        "{args:?}: the target was stopped ({pause:?})"
    );
    assert_running_untraced(target.pid());
}

/// The reading end of a FIFO, opened without waiting for a writer; every read waits at most a
/// limit, so a writer that never comes fails the test instead of hanging it.
struct FifoReader(File);

impl FifoReader {
    fn open(path: &Path) -> Self {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .expect("open the FIFO");
        Self(file)
    }

    /// Up to `buffer.len()` bytes, waiting at most `limit` for some; 0 once the writer closed.
    fn read(&mut self, buffer: &mut [u8], limit: Duration) -> usize {
        use std::os::fd::AsRawFd;
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let mut pollfd = libc::pollfd {
                fd: self.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for a descriptor we own. Before any writer came, a FIFO
            // polls as neither readable nor hung up.
            let ready = unsafe { libc::poll(&mut pollfd, 1, left.as_millis() as i32) };
            assert!(ready > 0, "nothing came through the FIFO within {limit:?}");
            match self.0.read(buffer) {
                Ok(n) => return n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("read the FIFO: {e}"),
            }
        }
    }

    /// Everything until the writer closes, each read waiting at most `limit`.
    fn read_to_end(&mut self, received: &mut Vec<u8>, limit: Duration) {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let n = self.read(&mut buffer, limit);
            if n == 0 {
                return;
            }
            received.extend_from_slice(&buffer[..n]);
        }
    }
}

/// The first connection to `listener` within `limit` (a test fails rather than hangs when
/// nobody connects), reads on it waiting at most `limit`.
fn accept_within(listener: &UnixListener, limit: Duration) -> std::os::unix::net::UnixStream {
    listener.set_nonblocking(true).unwrap();
    let until = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(limit)).unwrap();
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < until, "nobody connected within {limit:?}");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A tmpfs mounted on a fresh folder, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Self {
        require_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -t tmpfs -o {options} failed");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        let mut file = File::create(self.path().join("filler")).expect("create filler");
        let chunk = vec![0u8; 64 << 10];
        loop {
            if let Err(e) = std::io::Write::write_all(&mut file, &chunk) {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                return;
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn dash_writes_the_snapshot_to_stdout_and_nothing_else() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let cwd = tempfile::tempdir().unwrap();
    let pid = target.pid().to_string();
    let output = ptrace(&["-o", "-", &pid])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let snapshot: Value = serde_json::from_slice(&output.stdout).expect("stdout is the JSON alone");
    assert_eq!(snapshot["pid"], target.pid());
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "no file named - (nor any other)"
    );

    // The readable dump goes to stderr then, stdout stays the document.
    let output = ptrace(&["-o", "-", "--pretty-print", &pid])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let snapshot: Value = serde_json::from_slice(&output.stdout).expect("stdout is the JSON alone");
    assert_eq!(snapshot["pid"], target.pid());
    let stderr = stderr_of(&output);
    assert!(stderr.contains(&format!("thread {pid} ")), "{stderr}");
    assert!(stderr.contains(" in recurse ("), "{stderr}");
    assert_running_untraced(target.pid());
}

#[test]
fn dev_null_stays_a_character_device() {
    require_root();
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let output = ptrace(&["-o", "/dev/null", &target.pid().to_string()])
        .output()
        .unwrap();
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    let intact = meta.file_type().is_char_device() && meta.rdev() == libc::makedev(1, 3);
    if !intact {
        // Put the machine right before failing.
        let _ = std::fs::remove_file("/dev/null");
        let _ = Command::new("mknod")
            .args(["-m", "666", "/dev/null", "c", "1", "3"])
            .status();
        panic!("ptrace replaced /dev/null");
    }
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "/dev/null");
    assert_running_untraced(target.pid());
}

#[test]
fn a_fifo_reader_receives_the_whole_snapshot() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut reader = FifoReader::open(&fifo);
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        reader.read_to_end(&mut text, Duration::from_secs(30));
        text
    });
    let output = ptrace(&["-o", path_str(&fifo), &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = reader.join().unwrap();
    let snapshot: Value = serde_json::from_slice(&text).expect("the reader got the whole JSON");
    assert_eq!(snapshot["pid"], target.pid());
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_running_untraced(target.pid());
}

#[test]
fn a_unix_socket_listener_receives_the_whole_snapshot() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("socket");
    let listener = UnixListener::bind(&socket).unwrap();
    let reader = std::thread::spawn(move || {
        let mut stream = accept_within(&listener, Duration::from_secs(30));
        let mut text = Vec::new();
        stream.read_to_end(&mut text).unwrap();
        text
    });
    let output = ptrace(&["-o", path_str(&socket), &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = reader.join().unwrap();
    let snapshot: Value = serde_json::from_slice(&text).expect("the listener got the whole JSON");
    assert_eq!(snapshot["pid"], target.pid());
    assert!(std::fs::symlink_metadata(&socket)
        .unwrap()
        .file_type()
        .is_socket());
    assert_running_untraced(target.pid());
}

#[test]
fn a_symlink_stays_and_the_file_it_points_to_is_replaced() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("real.json");
    std::fs::write(&file, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    let output = ptrace(&["-o", path_str(&link), &target.pid().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), path_str(&link));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.json"));
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(snapshot["pid"], target.pid());
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["link.json", "real.json"], "no temporary file left");
    assert_running_untraced(target.pid());
}

#[test]
fn snapshot_files_are_owner_only_under_umask_022() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();
    let dir = tempfile::tempdir().unwrap();

    // -o: a new file, and an existing world-readable one replaced.
    let new = dir.path().join("new.json");
    let old = dir.path().join("old.json");
    std::fs::write(&old, "old").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    for path in [&new, &old] {
        let output = with_umask(&mut ptrace(&["-o", path_str(path), &pid]), 0o022)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        assert_eq!(mode_of(path), 0o600, "{}", path.display());
    }

    // -O: the file named after the snapshot.
    let folder = tempfile::tempdir().unwrap();
    let output = with_umask(&mut ptrace(&["-O", path_str(folder.path()), &pid]), 0o022)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(mode_of(Path::new(&printed)), 0o600, "{printed}");
    assert_running_untraced(target.pid());
}

#[test]
fn file_mode_sets_the_mode_exactly_whatever_the_umask() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let output = with_umask(
        &mut ptrace(&[
            "--file-mode",
            "644",
            "-o",
            path_str(&path),
            &target.pid().to_string(),
        ]),
        0o077,
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(mode_of(&path), 0o644);
    assert_running_untraced(target.pid());

    let output = ptrace(&["--file-mode", "4755", "-o", path_str(&path), "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("setuid"), "{}", stderr_of(&output));
}

#[test]
fn a_link_planted_at_the_old_temporary_name_is_not_followed() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    // A shared folder, as /tmp, and a file elsewhere the link points to.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "secret").unwrap();
    let out = shared.path().join("out.json");

    // Held stopped long enough for the link to be in place before anything is written.
    let child = ptrace(&[
        "--hold-stopped-ms",
        "500",
        "-o",
        path_str(&out),
        &target.pid().to_string(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let planted = shared.path().join(format!(".out.json.{}.tmp", child.id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let output = exit_within(child, Duration::from_secs(60));

    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        std::fs::read_to_string(&victim).unwrap() == "secret",
        "the planted link was followed: the file it points to was overwritten"
    );
    assert_eq!(
        std::fs::read_link(&planted).unwrap(),
        victim,
        "the link is untouched"
    );
    let meta = std::fs::symlink_metadata(&out).unwrap();
    assert!(meta.is_file(), "the snapshot is a file of its own");
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(snapshot["pid"], target.pid());
    assert_running_untraced(target.pid());
}

#[test]
fn a_missing_output_folder_is_refused_before_the_target_is_stopped() {
    let target = WatchedTarget::start();
    assert_refused_before_the_stop(
        &target,
        &["-O", "/nonexistent/ptrace-out"],
        &["/nonexistent/ptrace-out", "does not exist"],
    );
    assert_refused_before_the_stop(
        &target,
        &["-o", "/nonexistent/ptrace-out/x.json"],
        &["/nonexistent/ptrace-out", "does not exist"],
    );

    // The watch is real: a run that does stop the target for HOLD_MS shows as a pause.
    let folder = tempfile::tempdir().unwrap();
    target.reset_pause();
    let output = ptrace(&[
        "--hold-stopped-ms",
        &HOLD_MS.to_string(),
        "-O",
        path_str(folder.path()),
        &target.pid().to_string(),
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(target.longest_pause() >= Duration::from_millis(HOLD_MS * 9 / 10));
    assert_running_untraced(target.pid());
}

#[test]
fn paths_that_are_no_file_are_refused_before_the_target_is_stopped() {
    require_root();
    let target = WatchedTarget::start();
    let dir = tempfile::tempdir().unwrap();
    assert_refused_before_the_stop(
        &target,
        &["-o", path_str(dir.path())],
        &[path_str(dir.path()), "is a folder"],
    );
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    assert_refused_before_the_stop(
        &target,
        &["-O", path_str(&file)],
        &[path_str(&file), "is not a folder"],
    );
    // A loop device node nothing is attached to: never written onto.
    let disk = dir.path().join("disk");
    nix::sys::stat::mknod(
        &disk,
        nix::sys::stat::SFlag::S_IFBLK,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        libc::makedev(7, 250),
    )
    .unwrap();
    assert_refused_before_the_stop(
        &target,
        &["-o", path_str(&disk)],
        &[path_str(&disk), "block device"],
    );
}

#[test]
fn an_unwritable_or_full_folder_is_refused_before_the_target_is_stopped() {
    let target = WatchedTarget::start();
    let read_only = Tmpfs::mount("ro,size=4m");
    assert_refused_before_the_stop(
        &target,
        &["-O", path_str(read_only.path())],
        &[path_str(read_only.path()), "Read-only file system"],
    );
    assert_refused_before_the_stop(
        &target,
        &["-o", path_str(&read_only.path().join("x.json"))],
        &[path_str(read_only.path()), "Read-only file system"],
    );

    let full = Tmpfs::mount("size=2m");
    full.fill();
    assert_refused_before_the_stop(
        &target,
        &["-O", path_str(full.path())],
        &[path_str(full.path()), "bytes free"],
    );
}

#[test]
fn another_users_file_or_link_in_a_sticky_folder_is_refused_before_the_stop() {
    require_root();
    let target = WatchedTarget::start();
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let nobody = 65534;

    let theirs = shared.path().join("theirs.json");
    std::fs::write(&theirs, "theirs").unwrap();
    std::os::unix::fs::chown(&theirs, Some(nobody), Some(nobody)).unwrap();
    assert_refused_before_the_stop(
        &target,
        &["-o", path_str(&theirs)],
        &[path_str(&theirs), "refusing to replace", "uid 65534"],
    );
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs");

    let elsewhere = tempfile::tempdir().unwrap();
    let mine = elsewhere.path().join("mine");
    std::fs::write(&mine, "mine").unwrap();
    let link = shared.path().join("link.json");
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(nobody), Some(nobody)).unwrap();
    assert_refused_before_the_stop(
        &target,
        &["-o", path_str(&link)],
        &[path_str(&link), "refusing to follow", "uid 65534"],
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
}

#[test]
fn stdout_open_only_for_reading_is_refused_before_the_stop() {
    let target = WatchedTarget::start();
    target.reset_pause();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::write(&input, "").unwrap();
    let output = ptrace(&[
        "--hold-stopped-ms",
        &HOLD_MS.to_string(),
        "-o",
        "-",
        &target.pid().to_string(),
    ])
    .stdout(File::open(&input).unwrap())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
    .wait_with_output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line(&output).contains("standard output is not open for writing"));
    assert!(target.longest_pause() < Duration::from_millis(HOLD_MS / 2));
    assert_running_untraced(target.pid());
}

#[test]
fn a_bad_output_under_exec_never_runs_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch {}", path_str(&marker));
    let output = ptrace(&[
        "-O",
        "/nonexistent/ptrace-out",
        "--exec",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line(&output).contains("/nonexistent/ptrace-out"));
    assert!(!marker.exists(), "the program ran");
}

#[test]
fn exec_keeps_the_programs_status_when_the_write_fails() {
    let crash = example("crash");
    // A socket nobody listens on any more passes every check and fails the write
    // (ECONNREFUSED); so does /dev/full (ENOSPC).
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("gone");
    drop(UnixListener::bind(&socket).unwrap());
    for (out, reason) in [
        (path_str(&socket), "Connection refused"),
        ("/dev/full", "No space left on device"),
    ] {
        let output = ptrace(&["-o", out, "--exec", "--", path_str(&crash), "segv"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(128 + libc::SIGSEGV),
            "{out}: {}",
            stderr_of(&output)
        );
        let stderr = stderr_of(&output);
        let line = stderr
            .lines()
            .find(|l| l.contains("cannot write the snapshot"))
            .unwrap_or_else(|| panic!("{out}: no line says the write failed: {stderr}"));
        assert!(line.contains(out) && line.contains(reason), "{line}");
        assert!(output.stdout.is_empty(), "{out}: no path printed");
    }
    assert!(std::fs::symlink_metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn a_taken_default_name_is_never_replaced() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid();
    let folder = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Every name the snapshot may take in the next seconds is taken.
    for time in now.saturating_sub(1)..now + 30 {
        std::fs::write(folder.path().join(format!("crash.{pid}.{time}.json")), "earlier").unwrap();
    }
    let output = ptrace(&["-O", path_str(folder.path()), &pid.to_string()])
        .output()
        .unwrap();
    let snapshot = snapshot_ok(&output);
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let expected = folder
        .path()
        .join(format!("crash.{pid}.{}-2.json", snapshot["timestamp"]));
    assert_eq!(printed, path_str(&expected));
    for time in now.saturating_sub(1)..now + 30 {
        let earlier = folder.path().join(format!("crash.{pid}.{time}.json"));
        assert_eq!(std::fs::read_to_string(earlier).unwrap(), "earlier");
    }
    assert_running_untraced(pid);
}

/// A target whose snapshot takes long to write (~13 MB of JSON; about a second in a debug
/// build): 64 threads, 50 frames each.
fn big_target() -> Target {
    Target::start(&example("threads"), &["64", "50"])
}

#[test]
fn sigint_while_writing_to_a_slow_fifo_reader_exits_130() {
    let target = big_target();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // The hold keeps the stop long enough for the poll below to see it: a release build stops
    // `crash hang 1` for a few milliseconds, which a 2 ms poll misses most of the time.
    let pid = target.pid().to_string();
    let child = ptrace(&["--hold-stopped-ms", "100", "-o", path_str(&fifo), &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A reader taking 4 KiB every 5 ms: the write lasts far longer than the test.
    let mut reader = FifoReader::open(&fifo);
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while received.len() < 256 << 10 {
        let n = reader.read(&mut buffer, Duration::from_secs(60));
        assert!(n > 0, "the write ended early");
        received.extend_from_slice(&buffer[..n]);
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, libc::SIGINT);
    let started = Instant::now();
    let drain = std::thread::spawn(move || {
        reader.read_to_end(&mut received, Duration::from_secs(10));
        received
    });
    let output = exit_within(child, Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(2), "not prompt");
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
    assert!(one_line(&output).contains("interrupted"));
    assert!(output.stdout.is_empty());
    let received = drain.join().unwrap();
    assert!(
        serde_json::from_slice::<Value>(&received).is_err(),
        "the whole snapshot was written ({} bytes)",
        received.len()
    );
    assert_running_untraced(target.pid());
}

/// The name of the next file created in the folder `inotify` watches, within `limit`.
fn next_created(inotify: &std::os::fd::OwnedFd, limit: Duration) -> String {
    use std::os::fd::AsRawFd;
    let mut pollfd = libc::pollfd {
        fd: inotify.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut pollfd, 1, limit.as_millis() as i32) };
    assert_eq!(ready, 1, "no file was created within {limit:?}");
    let mut buffer = [0u8; 4096];
    // SAFETY: reading into a buffer we own, of its size.
    let n = unsafe { libc::read(inotify.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
    assert!(n > 16, "inotify read {n}");
    // struct inotify_event: wd, mask, cookie, len, then len bytes of NUL-padded name.
    let length = u32::from_ne_bytes(buffer[12..16].try_into().unwrap()) as usize;
    let name = &buffer[16..16 + length];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

#[test]
fn sigint_while_writing_a_file_exits_130_and_leaves_no_file() {
    let target = big_target();
    let folder = tempfile::tempdir().unwrap();
    // SAFETY: inotify_init1 with a constant flag; the result is checked.
    let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    assert!(raw >= 0);
    // SAFETY: a new descriptor nothing else owns.
    let inotify = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let watched = std::ffi::CString::new(path_str(folder.path())).unwrap();
    // SAFETY: a valid descriptor and NUL-terminated path.
    let watch = unsafe { libc::inotify_add_watch(raw, watched.as_ptr(), libc::IN_CREATE) };
    assert!(watch >= 0);

    let child = ptrace(&["-O", path_str(folder.path()), &target.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The temporary file appears when the write begins (after the snapshot is built).
    let created = next_created(&inotify, Duration::from_secs(60));
    signal(&child, libc::SIGINT);
    assert!(created.starts_with('.') && created.ends_with(".tmp"), "{created}");
    let output = exit_within(child, Duration::from_secs(5));
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
    assert!(one_line(&output).contains("interrupted"));
    assert!(output.stdout.is_empty(), "no path printed");
    let left: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_running_untraced(target.pid());
}

#[test]
fn sigterm_while_waiting_for_a_fifo_reader_exits_143() {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // The hold keeps the stop long enough for the poll below to see it: a release build stops
    // `crash hang 1` for a few milliseconds, which a 2 ms poll misses most of the time.
    let pid = target.pid().to_string();
    let child = ptrace(&["--hold-stopped-ms", "100", "-o", path_str(&fifo), &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The stop is over; ptrace waits for a reader that never comes.
    wait_until_released(target.pid());
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let output = exit_within(child, Duration::from_secs(5));
    assert_eq!(
        output.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        stderr_of(&output)
    );
    assert!(one_line(&output).contains("interrupted"));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_running_untraced(target.pid());
}
