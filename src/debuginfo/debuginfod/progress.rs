//! The one updating line on stderr that says how a fetch goes, shown only when stderr is a
//! terminal and the fetch lasts more than a moment.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// How long a fetch goes before its progress is shown.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// The progress line of one fetch.
pub(super) struct Progress {
    enabled: bool,
    started: Instant,
    shown: Option<usize>,
    total: usize,
    servers: String,
}

impl Progress {
    /// The line for a fetch of `total` objects from `servers`; `wanted` false (or stderr not a
    /// terminal) shows nothing.
    pub(super) fn new(wanted: bool, total: usize, servers: &[String]) -> Self {
        let mut hosts = servers
            .first()
            .map_or_else(String::new, |s| host_of(s).to_string());
        if servers.len() > 1 {
            hosts.push_str(&format!(" and {} more", servers.len() - 1));
        }
        Self {
            enabled: wanted && std::io::stderr().is_terminal(),
            started: Instant::now(),
            shown: None,
            total,
            servers: hosts,
        }
    }

    /// Shows that `done` objects are settled, once the fetch has lasted (the line is written
    /// again only when the count changes).
    pub(super) fn update(&mut self, done: usize) {
        if !self.enabled || self.started.elapsed() < SHOW_AFTER || self.shown == Some(done) {
            return;
        }
        self.shown = Some(done);
        let objects = if self.total == 1 { "object" } else { "objects" };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[Kptrace: fetching debug info for {} {objects} from {}: {done}/{}",
            self.total, self.servers, self.total
        );
        let _ = stderr.flush();
    }

    /// Ends the line, if one was shown.
    pub(super) fn finish(&mut self, done: usize) {
        if self.shown.is_some() {
            self.update(done);
            eprintln!();
        }
    }
}

/// The host (and port) of a URL: what is between `scheme://` and the next `/`.
pub(super) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_cut_from_urls() {
        assert_eq!(host_of("https://debuginfod.debian.net"), "debuginfod.debian.net");
        assert_eq!(host_of("http://127.0.0.1:8002/prefix"), "127.0.0.1:8002");
        assert_eq!(host_of("odd"), "odd");
    }
}
