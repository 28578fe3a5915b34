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

use ratatui::crossterm::event::{self, Event};

use crate::snapshot::Snapshot;

/// Shows `snapshot` in the terminal until the user quits. `Err`: one line saying why the
/// terminal could not be used (the terminal is restored by then).
pub fn run(snapshot: &Snapshot) -> Result<(), String> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(
            "ptrace view needs a terminal (ptrace dump FILE prints the snapshot as text)".to_string(),
        );
    }
    let theme = render::Theme::from_env();
    let mut app = app::App::new(snapshot);
    let mut session = terminal::Session::start()?;
    while !app.quit {
        session
            .terminal
            .draw(|frame| render::draw(frame, &app, theme))
            .map_err(|e| format!("cannot draw on the terminal: {e}"))?;
        match event::read().map_err(|e| format!("cannot read the terminal: {e}"))? {
            Event::Key(key) => keys::handle(&mut app, key),
            _ => continue,
        }
    }
    Ok(())
}
#[cfg(test)]
mod tests;
