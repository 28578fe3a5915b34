//! What each key does: [`handle`] applies a key press to the [`App`].

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, Overlay, Pane};

/// The rows PageUp and PageDown move.
pub const PAGE: isize = 10;

/// The help overlay's text: one key per line.
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    ("j k / ↓ ↑", "move down / up"),
    ("PgDn PgUp, g G", "move a page, to the top / bottom"),
    (
        "Enter",
        "expand / collapse a variable, show a leaf whole; other panes: next pane",
    ),
    (
        "l → / h ←",
        "expand / collapse (variables), next / previous pane (others)",
    ),
    ("/", "search symbols, files, variable names and values"),
    ("n / N", "next / previous match"),
    (
        "t / T",
        "next / previous thread of the group (its own frames and variables)",
    ),
    ("f", "jump to the fault"),
    (
        "v",
        "variables of the frame, then the thread's thread-locals, then globals",
    ),
    ("r", "registers of the selected frame"),
    (
        "i",
        "snapshot info: fault, attributes, classifiers, tags, annotations, warnings",
    ),
    ("m", "modules: objects, build ids, debug files"),
    ("?", "this help"),
    ("Esc", "close a view, cancel a search"),
    ("q, Ctrl-C", "quit"),
];

/// Applies `key` to `app`.
pub fn handle(app: &mut App<'_>, key: KeyEvent) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        app.quit = true;
        return;
    }
    if let Some(input) = app.input.as_mut() {
        match key.code {
            KeyCode::Enter => {
                let query = std::mem::take(input);
                app.input = None;
                app.start_search(&query);
            }
            KeyCode::Esc => app.input = None,
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
        return;
    }
    if app.overlay.is_some() {
        match key.code {
            KeyCode::Char('q') => app.quit = true,
            KeyCode::Down | KeyCode::Char('j') => app.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => app.move_by(-1),
            KeyCode::PageDown => app.move_by(PAGE),
            KeyCode::PageUp => app.move_by(-PAGE),
            KeyCode::Char(c @ ('?' | 'i' | 'm' | 'r')) if Some(overlay_of(c)) != app.overlay => {
                open(app, overlay_of(c))
            }
            _ => app.overlay = None,
        }
        return;
    }
    app.status.clear();
    match key.code {
        KeyCode::Char('q') => app.quit = true,
        KeyCode::Tab => app.pane = app.pane.next(),
        KeyCode::BackTab => app.pane = app.pane.previous(),
        KeyCode::Down | KeyCode::Char('j') => app.move_by(1),
        KeyCode::Up | KeyCode::Char('k') => app.move_by(-1),
        KeyCode::PageDown => app.move_by(PAGE),
        KeyCode::PageUp => app.move_by(-PAGE),
        KeyCode::Home | KeyCode::Char('g') => app.move_by(isize::MIN),
        KeyCode::End | KeyCode::Char('G') => app.move_by(isize::MAX),
        KeyCode::Enter if app.pane == Pane::Variables => app.toggle(),
        KeyCode::Enter => app.pane = app.pane.next(),
        KeyCode::Right | KeyCode::Char('l') if app.pane == Pane::Variables => app.expand(),
        KeyCode::Right | KeyCode::Char('l') => app.pane = app.pane.next(),
        KeyCode::Left | KeyCode::Char('h') if app.pane == Pane::Variables => app.collapse(),
        KeyCode::Left | KeyCode::Char('h') => app.pane = app.pane.previous(),
        KeyCode::Char('/') => app.input = Some(String::new()),
        KeyCode::Char('n') => app.next_match(true),
        KeyCode::Char('N') => app.next_match(false),
        KeyCode::Char('f') => app.jump_to_fault(),
        KeyCode::Char('t') => app.next_member(true),
        KeyCode::Char('T') => app.next_member(false),
        KeyCode::Char('v') => app.show_scope(app.scope.next()),
        KeyCode::Char(c @ ('?' | 'i' | 'm' | 'r')) => open(app, overlay_of(c)),
        _ => {}
    }
}

fn overlay_of(key: char) -> Overlay {
    match key {
        'i' => Overlay::Info,
        'm' => Overlay::Modules,
        'r' => Overlay::Registers,
        _ => Overlay::Help,
    }
}

fn open(app: &mut App<'_>, overlay: Overlay) {
    app.overlay = Some(overlay);
    app.overlay_scroll = 0;
}
