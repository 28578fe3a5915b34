//! `ptrace view FILE`: a terminal UI over a saved snapshot, on ratatui and crossterm.
//!
//! Three panes: the stack groups ([`crate::snapshot::groups`]: threads with identical stacks,
//! the faulting thread first), the frames of the selected group's representative thread
//! (recursion folded), and the variables of the selected frame as a tree. [`app`] holds the
//! state, [`rows`] what the frames and variables panes list, [`keys`] maps keys to the state,
//! [`search`] finds matches, [`render`] draws it and [`terminal`] sets the terminal up and
//! restores it (also on a panic).

pub mod app;
pub mod keys;
pub mod render;
pub mod rows;
pub mod search;
pub mod terminal;

use std::io::IsTerminal;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};

use crate::abort::AbortFlag;
use crate::snapshot::Snapshot;

/// `Err` (one line) unless standard input and output are a terminal the viewer can run in.
pub fn check_terminal() -> Result<(), String> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err("the viewer needs a terminal (ptrace dump FILE prints a snapshot as text)".to_string())
    }
}

/// How long the viewer waits for a key before it looks again at the abort flag and at resizes.
const IDLE_TICK: Duration = Duration::from_millis(200);

/// Shows `snapshot` in the terminal until the user quits, the terminal hangs up or `abort` is
/// raised (SIGTERM, SIGHUP: the CLI's handlers set it). `Err`: one line saying why the terminal
/// could not be used (the terminal is restored by then).
pub fn run(snapshot: &Snapshot, abort: &AbortFlag) -> Result<(), String> {
    check_terminal()?;
    let theme = render::Theme::from_env();
    let mut app = app::App::new(snapshot);
    let mut session = terminal::Session::start()?;
    let mut redraw = true;
    while !app.quit && !abort.is_aborted() {
        if redraw {
            session
                .terminal
                .draw(|frame| render::draw(frame, &app, theme))
                .map_err(|e| format!("cannot draw on the terminal: {e}"))?;
            redraw = false;
        }
        match terminal::wait_for_input(IDLE_TICK) {
            terminal::Input::HungUp => break,
            // A resize arrives as a signal crossterm turns into an event without input.
            terminal::Input::Idle => {
                if !event::poll(Duration::ZERO).map_err(read_error)? {
                    continue;
                }
            }
            terminal::Input::Ready => {}
        }
        // Only what is ready: crossterm's read never blocks here.
        while !app.quit && event::poll(Duration::ZERO).map_err(read_error)? {
            match event::read().map_err(read_error)? {
                Event::Key(key) => keys::handle(&mut app, key),
                Event::Resize(..) => {}
                _ => continue,
            }
            redraw = true;
        }
    }
    Ok(())
}

fn read_error(e: std::io::Error) -> String {
    format!("cannot read the terminal: {e}")
}

#[cfg(test)]
mod tests;
