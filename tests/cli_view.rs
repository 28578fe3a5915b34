//! `ptrace view FILE` on real snapshots: the first screen of `threads 256 20` (rendered on
//! ratatui's `TestBackend`) shows the group of 256 threads; search and expansion work on it;
//! a bad file gets one line and status 1 and the terminal is left alone.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_running_untraced, example, ptrace_bin, snapshot_ok, Target};
use ptrace::viewer::app::{App, Pane};
use ptrace::viewer::keys::handle;
use ptrace::viewer::render::{draw, Theme};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::process::Command;

fn screen(app: &App<'_>) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| draw(frame, app, Theme { color: false }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..24)
        .map(|y| {
            (0..80)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn keys(app: &mut App<'_>, text: &str) {
    for c in text.chars() {
        handle(app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn enter(app: &mut App<'_>) {
    handle(app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

#[test]
fn the_first_screen_of_threads_256_shows_the_group() {
    let target = Target::start(&example("threads"), &["256", "20"]);
    let pid = target.pid();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let output = Command::new(ptrace_bin())
        .args(["-o", file.to_str().unwrap(), &pid.to_string()])
        .output()
        .unwrap();
    snapshot_ok(&output);
    drop(target);

    let text = std::fs::read(&file).unwrap();
    let snapshot: ptrace::snapshot::Snapshot = serde_json::from_slice(&text).unwrap();
    let mut app = App::new(&snapshot);
    let first = screen(&app);
    assert!(first.lines().next().unwrap().contains("257 threads"), "{first}");
    assert!(
        first.contains("256 threads  ") && first.contains("\"threads\"  ("),
        "{first}"
    );
    assert!(first.contains(" threads_recurse  ×20 (#"), "{first}");

    // The search moves to the recursion's frame and its parameter.
    keys(&mut app, "/threads_recurse");
    enter(&mut app);
    assert_eq!(app.pane, Pane::Frames);
    assert_eq!(
        app.frame().and_then(|f| f.symbol.as_deref()),
        Some("threads_recurse")
    );
    assert!(screen(&app).contains("match 1 of "));

    // Expanding a variable with members shows them.
    let group = app.group;
    let found = (0..app.frame_rows.len()).find_map(|row| {
        app.select_frame_row(row);
        app.var_rows
            .iter()
            .position(|r| {
                ptrace::viewer::rows::variable_at(app.variables(), &r.path)
                    .is_some_and(|v| !v.children.is_empty())
            })
            .map(|i| (row, i))
    });
    if let Some((row, i)) = found {
        app.select_frame_row(row);
        app.pane = Pane::Variables;
        app.var_row = i;
        let before = app.var_rows.len();
        enter(&mut app);
        assert!(app.var_rows.len() > before, "{}", screen(&app));
        assert!(screen(&app).contains('▾'));
    }
    assert_eq!(app.group, group);
}

#[test]
fn a_bad_file_gets_one_line_and_the_terminal_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not json at all\n").unwrap();
    let output = Command::new(ptrace_bin())
        .arg("view")
        .arg(&garbage)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a ptrace snapshot"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing written to the terminal");
}

/// Runs `tmux` on the test's own server `socket`, returns its stdout.
fn tmux(socket: &str, args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits (up to 20 s) for the pane of `socket` to show `text`; returns the screen.
fn wait_for(socket: &str, text: &str) -> String {
    let mut screen = String::new();
    for _ in 0..200 {
        screen = tmux(socket, &["capture-pane", "-p", "-t", "view"]);
        if screen.contains(text) {
            return screen;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no {text:?} on the screen:\n{screen}");
}

/// A tmux server of the test's own (killed when dropped) running `command` in a session `view`
/// of 80×24.
struct TmuxServer(String);

impl TmuxServer {
    fn start(name: &str, command: &str) -> Self {
        if Command::new("tmux").arg("-V").output().is_err() {
            panic!("tmux is missing: scripts/install-test-tools.sh installs it");
        }
        let socket = format!("ptrace-view-{name}-{}", std::process::id());
        tmux(
            &socket,
            &["new-session", "-d", "-s", "view", "-x", "80", "-y", "24", command],
        );
        Self(socket)
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.0, "kill-server"]).output();
    }
}

/// A snapshot of `threads 4 3` saved in `dir`.
fn small_snapshot(dir: &std::path::Path) -> std::path::PathBuf {
    let target = Target::start(&example("threads"), &["4", "3"]);
    let file = dir.join("snap.json");
    let output = Command::new(ptrace_bin())
        .args(["-o", file.to_str().unwrap(), &target.pid().to_string()])
        .output()
        .unwrap();
    snapshot_ok(&output);
    file
}

/// The real binary in a real terminal (tmux, 80×24): it opens a saved snapshot, searches,
/// expands, quits with status 0, and the terminal is as before (canonical mode and echo back,
/// the alternate screen left, the cursor shown).
#[test]
fn the_real_binary_in_tmux_opens_searches_expands_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_snapshot(dir.path());
    let command = format!(
        "'{}' view '{}'; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo END; sleep 60",
        ptrace_bin().display(),
        file.display()
    );
    let server = TmuxServer::start("restores", &command);
    let socket = server.0.clone();

    let first = wait_for(&socket, "Stack groups (");
    assert!(first.contains("4 threads  "), "{first}");
    assert_eq!(
        tmux(&socket, &["display", "-p", "-t", "view", "#{alternate_on}"]).trim(),
        "1"
    );
    tmux(&socket, &["send-keys", "-t", "view", "/threads_recurse", "Enter"]);
    let found = wait_for(&socket, "match 1 of ");
    assert!(found.contains(" threads_recurse  ×3 (#"), "{found}");
    // A variable found, then expanded.
    tmux(&socket, &["send-keys", "-t", "view", "/window", "Enter"]);
    wait_for(&socket, "for \"window\"");
    tmux(&socket, &["send-keys", "-t", "view", "Enter"]);
    let expanded = wait_for(&socket, "▾ window = {1, 2, 3, 4}");
    assert!(expanded.contains("    [0] = 1"), "{expanded}");
    tmux(&socket, &["send-keys", "-t", "view", "?"]);
    wait_for(&socket, "jump to the fault");
    tmux(&socket, &["send-keys", "-t", "view", "Escape", "q"]);
    let after = wait_for(&socket, "END");
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(after.contains("icanon echo"), "raw mode left:\n{after}");
    assert_eq!(
        tmux(&socket, &["display", "-p", "-t", "view", "#{alternate_on}"]).trim(),
        "0"
    );
    assert_eq!(
        tmux(&socket, &["display", "-p", "-t", "view", "#{cursor_flag}"]).trim(),
        "1"
    );
}

/// The terminal goes away under the viewer (the tmux server killed, as an ssh connection that
/// drops): the viewer ends within a few seconds instead of spinning on a terminal that is gone.
#[test]
fn the_viewer_ends_when_its_terminal_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_snapshot(dir.path());
    let command = format!("exec '{}' view '{}'", ptrace_bin().display(), file.display());
    let server = TmuxServer::start("hangup", &command);
    wait_for(&server.0, "Stack groups (");
    let pid = tmux(&server.0, &["display", "-p", "-t", "view", "#{pane_pid}"]);
    let pid: u32 = pid.trim().parse().unwrap();
    assert!(
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap()
            .contains("view"),
        "the pane runs the viewer itself"
    );
    drop(server);
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // Ended, not yet reaped by whoever inherited it.
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z')),
        }
    });
    if !gone {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("the viewer {pid} still runs 5 s after its terminal hung up");
    }
}

/// `ptrace --view PID` in a real terminal: the snapshot is written, the viewer opens on it while
/// the target runs again (untraced), q ends both with status 0.
#[test]
fn view_after_a_snapshot_opens_the_viewer_on_it_with_the_target_running() {
    let target = Target::start(&example("threads"), &["3", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let command = format!(
        "'{}' --view -o '{}' {}; echo EXIT=$?; sleep 60",
        ptrace_bin().display(),
        file.display(),
        target.pid()
    );
    let server = TmuxServer::start("snapshot-view", &command);
    let first = wait_for(&server.0, "Stack groups (");
    assert!(first.contains("3 threads  "), "{first}");
    assert_running_untraced(target.pid());
    let text = std::fs::read(&file).unwrap();
    let snapshot: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(snapshot["pid"], target.pid());
    tmux(&server.0, &["send-keys", "-t", "view", "q"]);
    let after = wait_for(&server.0, "EXIT=");
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(
        after.contains(&file.display().to_string()),
        "the path printed: {after}"
    );
}

/// `--view` without a terminal, or with the snapshot going to standard output: one line, status
/// 1, and the target never touched (no snapshot written).
#[test]
fn view_without_a_terminal_is_refused_before_the_target_is_touched() {
    let target = Target::start(&example("threads"), &["2", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    for args in [
        vec!["--view".to_string(), "-o".to_string(), file.display().to_string()],
        vec!["--view".to_string(), "-o".to_string(), "-".to_string()],
    ] {
        let output = Command::new(ptrace_bin())
            .args(&args)
            .arg(target.pid().to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("needs a terminal") || stderr.contains("-o - writes it to standard output"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
        assert!(!file.exists());
    }
    assert_running_untraced(target.pid());
}
