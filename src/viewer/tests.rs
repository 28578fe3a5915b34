//! Key handling and rendering on ratatui's `TestBackend`, on a small snapshot: five threads
//! waiting in one stack, one faulting thread whose frame holds a struct.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::app::{App, Overlay, Pane};
use super::keys::handle;
use super::render::{self, Theme};
use super::rows::Scope;
use crate::pmodule::testdata;
use crate::snapshot::{Address, Fault, Snapshot, Variable};

fn int(name: &str, value: i64) -> Variable {
    let mut v = testdata::variable(name, "int", "int", "ll");
    v.value = serde_json::json!(value);
    v
}

fn sample() -> Snapshot {
    let waiting = || {
        vec![
            testdata::frame("futex_wait", "/lib/libc.so.6", "futex.c"),
            testdata::frame("worker", "/b/crash", "crash.c"),
            testdata::frame("start_thread", "/lib/libc.so.6", "pthread.c"),
        ]
    };
    let mut threads: Vec<_> = (101..106)
        .map(|tid| {
            let mut thread = testdata::thread(tid, waiting());
            thread.variables = vec![int("tls_counter", i64::from(tid) * 1000)];
            thread
        })
        .collect();
    let mut crash = testdata::frame("crash_here", "/b/crash", "crash.c");
    crash.fault = true;
    let mut point = testdata::variable("point", "struct point", "point", "tuple");
    point.children = vec![int("x", 1), int("needle_y", 2)];
    let mut hidden = int("gone", 0);
    hidden.state = crate::snapshot::VariableState::OptimizedOut;
    hidden.value = serde_json::Value::Null;
    let mut message = testdata::variable("message", "const char *", "char", "string");
    message.value = serde_json::json!("0x4000");
    let words: Vec<String> = (0..120).map(|i| format!("word{i}")).collect();
    message.symbol = Some(format!("{} END_OF_MESSAGE", words.join(" ")));
    crash.variables = vec![int("count", 7), point, hidden, message];
    crash.registers = [
        ("rip".to_string(), Address(0x401234)),
        ("rsp".to_string(), Address(0x7ffc0000)),
    ]
    .into_iter()
    .collect();
    let mut faulting = testdata::thread(100, vec![crash, testdata::frame("main", "/b/crash", "crash.c")]);
    faulting.fault = true;
    threads.insert(0, faulting);
    let mut snapshot = testdata::snapshot(100, threads);
    snapshot.globals = vec![int("config_global", 42)];
    snapshot.fault = Some(Fault {
        tid: 100,
        signal: 11,
        signal_name: Some("SIGSEGV".into()),
        code: 1,
        address: None,
        reason: "address not mapped".into(),
    });
    snapshot
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App<'_>, keys: &str) {
    for c in keys.chars() {
        handle(app, key(KeyCode::Char(c)));
    }
}

/// The screen of `app` in an 80×24 terminal, one string per line.
fn screen(app: &App<'_>) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| render::draw(frame, app, Theme { color: false }))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..24)
        .map(|y| (0..80).map(|x| buffer[(x, y)].symbol().to_string()).collect())
        .collect()
}

fn shows(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

#[test]
fn the_first_screen_shows_the_fault_then_the_group() {
    let snapshot = sample();
    let app = App::new(&snapshot);
    let lines = screen(&app);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with("crash (pid 100) — sleeping, 6 threads, 2 groups"),
        "{text}"
    );
    assert!(shows(&lines, "FAULT thread 100"), "{text}");
    assert!(
        shows(&lines, "5 threads  futex_wait  \"t\"  (101, 102, 103, 104, 105)"),
        "{text}"
    );
    assert!(shows(&lines, "#0   crash_here  at crash.c:10 [fault]"), "{text}");
    assert!(shows(&lines, "▸ point = "), "{text}");
    assert!(
        shows(&lines, "gone = <optimized out>  int  [optimized_out]"),
        "{text}"
    );
    assert!(shows(&lines, "q quit"), "{text}");
}

#[test]
fn tab_and_vim_keys_move_between_and_within_panes() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    press(&mut app, "j");
    assert_eq!(app.group, 1);
    assert_eq!(app.thread().map(|t| t.tid), Some(101));
    press(&mut app, "jjj");
    assert_eq!(app.group, 1, "clamped to the last group");
    handle(&mut app, key(KeyCode::Tab));
    assert_eq!(app.pane, Pane::Frames);
    press(&mut app, "jj");
    assert_eq!(
        app.frame().and_then(|f| f.symbol.as_deref()),
        Some("start_thread")
    );
    press(&mut app, "k");
    assert_eq!(app.frame_row, 1);
    press(&mut app, "t");
    assert_eq!(app.thread().map(|t| t.tid), Some(102));
    assert_eq!(app.frame_row, 1, "the same frame of the next thread");
    assert!(app.status.contains("thread 102 (2 of 5)"), "{}", app.status);
    press(&mut app, "TT");
    assert_eq!(app.thread().map(|t| t.tid), Some(105), "wraps around");
    handle(&mut app, key(KeyCode::BackTab));
    assert_eq!(app.pane, Pane::Groups);
    press(&mut app, "f");
    assert_eq!((app.group, app.pane), (0, Pane::Frames));
    assert!(app.frame().is_some_and(|f| f.fault));
    press(&mut app, "q");
    assert!(app.quit);
}

#[test]
fn enter_expands_and_collapses_a_variable() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    handle(&mut app, key(KeyCode::Enter));
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(app.pane, Pane::Variables);
    press(&mut app, "j");
    assert_eq!(app.variable().map(|v| &*v.name), Some("point"));
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(app.var_rows.len(), 6);
    let lines = screen(&app);
    assert!(shows(&lines, "▾ point = "), "{}", lines.join("\n"));
    assert!(shows(&lines, "    x = 1  int"), "{}", lines.join("\n"));
    press(&mut app, "jh");
    assert_eq!(
        app.variable().map(|v| &*v.name),
        Some("point"),
        "h on a leaf: its parent"
    );
    press(&mut app, "h");
    assert_eq!(app.var_rows.len(), 4);
    press(&mut app, "l");
    assert_eq!(app.var_rows.len(), 6);
}

#[test]
fn search_moves_to_matches_and_expands_what_hides_them() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    press(&mut app, "/NEEDLE");
    assert_eq!(app.input.as_deref(), Some("NEEDLE"));
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(app.input, None);
    assert_eq!(app.pane, Pane::Variables);
    assert_eq!(app.variable().map(|v| &*v.name), Some("needle_y"));
    let lines = screen(&app);
    assert!(shows(&lines, "match 1 of 1"), "{}", lines.join("\n"));

    press(&mut app, "/worker");
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!((app.group, app.pane), (1, Pane::Frames));
    assert_eq!(app.frame().and_then(|f| f.symbol.as_deref()), Some("worker"));
    // Symbols, then files: `crash.c` is the file of crash_here, main and worker.
    press(&mut app, "/crash.c");
    handle(&mut app, key(KeyCode::Enter));
    let first = (app.group, app.frame_row);
    press(&mut app, "n");
    assert_ne!((app.group, app.frame_row), first);
    press(&mut app, "N");
    assert_eq!((app.group, app.frame_row), first);
    press(&mut app, "N");
    assert_eq!(
        app.frame().and_then(|f| f.symbol.as_deref()),
        Some("worker"),
        "wraps around"
    );

    press(&mut app, "/nothing here");
    handle(&mut app, key(KeyCode::Enter));
    assert!(app.status.contains("no match"), "{}", app.status);
}

#[test]
fn overlays_open_and_close() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    press(&mut app, "?");
    assert_eq!(app.overlay, Some(Overlay::Help));
    assert!(shows(&screen(&app), "jump to the fault"));
    press(&mut app, "i");
    assert_eq!(app.overlay, Some(Overlay::Info));
    assert!(shows(
        &screen(&app),
        "fault: SIGSEGV (signal 11, code 1) in thread 100"
    ));
    handle(&mut app, key(KeyCode::Esc));
    assert_eq!(app.overlay, None);
    press(&mut app, "m");
    assert_eq!(app.overlay, Some(Overlay::Modules));
    press(&mut app, "x");
    assert_eq!(app.overlay, None);
    handle(&mut app, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn recursion_is_folded_in_the_frames_pane() {
    let mut frames = vec![testdata::frame("wait", "/b/crash", "crash.c")];
    frames.extend((0..20).map(|_| testdata::frame("recurse", "/b/crash", "crash.c")));
    frames.push(testdata::frame("main", "/b/crash", "crash.c"));
    let snapshot = testdata::snapshot(1, vec![testdata::thread(1, frames)]);
    let app = App::new(&snapshot);
    assert_eq!(app.frame_rows.len(), 3);
    assert!(shows(&screen(&app), "#1   recurse  ×20 (#1-#20)  at crash.c:10"));
}

#[test]
fn v_shows_thread_locals_then_globals_then_the_frame_again() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    press(&mut app, "j");
    press(&mut app, "v");
    assert_eq!((app.scope, app.pane), (Scope::ThreadLocals, Pane::Variables));
    let lines = screen(&app);
    assert!(
        shows(&lines, "Thread-locals of thread 101 (1)"),
        "{}",
        lines.join("\n")
    );
    assert!(shows(&lines, "tls_counter = 101000  int"), "{}", lines.join("\n"));
    press(&mut app, "t");
    assert!(
        shows(&screen(&app), "tls_counter = 102000"),
        "the next thread's own"
    );
    press(&mut app, "v");
    assert_eq!(app.scope, Scope::Globals);
    assert!(shows(&screen(&app), "config_global = 42"));
    press(&mut app, "v");
    assert_eq!(app.scope, Scope::Frame);
    assert!(shows(&screen(&app), "Variables of #0 futex_wait"));
}

#[test]
fn search_finds_values_in_every_thread_of_a_group_and_in_globals() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    press(&mut app, "/104000");
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.thread().map(|t| t.tid),
        Some(104),
        "not the group's first thread"
    );
    assert_eq!((app.scope, app.pane), (Scope::ThreadLocals, Pane::Variables));
    assert_eq!(app.variable().map(|v| &*v.name), Some("tls_counter"));
    assert!(app.status.contains("thread 104 (4 of 5)"), "{}", app.status);
    press(&mut app, "/tls_counter");
    handle(&mut app, key(KeyCode::Enter));
    assert!(app.status.contains("match 1 of 5"), "{}", app.status);
    press(&mut app, "/config_global");
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(app.scope, Scope::Globals);
    assert_eq!(app.variable().map(|v| &*v.name), Some("config_global"));
}

#[test]
fn enter_on_a_leaf_shows_its_value_whole_and_r_the_registers() {
    let snapshot = sample();
    let mut app = App::new(&snapshot);
    let clipped = screen(&app).join("\n");
    assert!(!clipped.contains("END_OF_MESSAGE"), "the pane clips it");
    press(&mut app, "/message");
    handle(&mut app, key(KeyCode::Enter));
    handle(&mut app, key(KeyCode::Enter));
    assert_eq!(app.overlay, Some(Overlay::Variable));
    let lines = screen(&app);
    assert!(shows(&lines, "END_OF_MESSAGE"), "{}", lines.join("\n"));
    assert!(shows(&lines, "type   const char *"), "{}", lines.join("\n"));
    handle(&mut app, key(KeyCode::Esc));
    press(&mut app, "r");
    assert_eq!(app.overlay, Some(Overlay::Registers));
    let lines = screen(&app);
    assert!(
        shows(&lines, "rip      0x0000000000401234"),
        "{}",
        lines.join("\n")
    );
    assert!(shows(&lines, "#0 crash_here  pc "), "{}", lines.join("\n"));
}

#[test]
fn the_header_counts_one_thread_and_one_group_in_the_singular() {
    let frames = vec![testdata::frame("main", "/b/crash", "crash.c")];
    let one = testdata::snapshot(1, vec![testdata::thread(1, frames)]);
    let lines = screen(&App::new(&one));
    assert!(lines[0].contains(", 1 thread, 1 group"), "{}", lines[0]);
    assert!(!lines[0].contains("1 threads"), "{}", lines[0]);
    let many = sample();
    let lines = screen(&App::new(&many));
    assert!(lines[0].contains(", 6 threads, 2 groups"), "{}", lines[0]);
}
