//! The terminal: raw mode and the alternate screen while the viewer runs, restored when it ends,
//! on an error and on a panic.

use std::io::{stdout, Stdout};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

/// The terminal in raw mode on the alternate screen; dropping it restores the terminal.
pub struct Session {
    /// The ratatui terminal drawn on.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Session {
    /// Enters raw mode and the alternate screen, and installs a panic hook that restores the
    /// terminal before the panic is reported.
    pub fn start() -> Result<Self, String> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        terminal::enable_raw_mode().map_err(|e| format!("cannot set up the terminal: {e}"))?;
        if let Err(e) = execute!(stdout(), terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(format!("cannot set up the terminal: {e}"));
        }
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(format!("cannot set up the terminal: {e}"))
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor (each step tried whatever the
/// others did).
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// What [`wait_for_input`] found on the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes to read: a key, a paste, a terminal reply.
    Ready,
    /// Nothing within the time asked.
    Idle,
    /// The terminal is gone (the ssh connection dropped, the tmux pane killed): nothing will
    /// ever be read from it again.
    HungUp,
}

/// Waits up to `timeout` for input on standard input (the terminal the viewer reads keys from).
/// The viewer asks this before each read, because crossterm's reader, given a terminal that hung
/// up, would read end-of-file in a loop forever instead of reporting it.
pub fn wait_for_input(timeout: std::time::Duration) -> Input {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;

    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(millis)) {
        Ok(0) => Input::Idle,
        Err(nix::errno::Errno::EINTR) => Input::Idle,
        Err(_) => Input::HungUp,
        Ok(_) => {
            let events = fds[0].revents().unwrap_or(PollFlags::POLLNVAL);
            if events.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                Input::HungUp
            } else {
                Input::Ready
            }
        }
    }
}
