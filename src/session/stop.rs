//! [`StopWatch`]: the stop of one run under its limit — begun once every thread is stopped, ended
//! at the resume (or when the run fails), and the account of what the limit left out.

use crate::cutoff::Cutoff;
use crate::pmodule::PmoduleHost;
use std::time::{Duration, Instant};

/// The target's stop, as the cutoff knows it. Dropping it ends the stop (an error or a panic
/// leaves the target to its detach, and modules to the running phase).
pub(super) struct StopWatch<'a> {
    cutoff: &'a Cutoff,
    limit: Option<Duration>,
    host: Option<&'a PmoduleHost>,
}

impl<'a> StopWatch<'a> {
    /// The target's `threads` threads were stopped at `stopped_at` and may stay stopped for
    /// `limit`: the work that needs the stop ends early enough to resume them all within it.
    pub(super) fn start(
        cutoff: &'a Cutoff,
        host: Option<&'a PmoduleHost>,
        stopped_at: Instant,
        limit: Option<Duration>,
        threads: usize,
    ) -> Self {
        let reserve = limit.map_or(Duration::ZERO, |limit| resume_reserve(threads, limit));
        cutoff.begin_stop(stopped_at, limit, reserve);
        StopWatch { cutoff, limit, host }
    }

    /// The target runs again. Returns one warning naming what the limit left out, when it did
    /// (`left_out`, and the module events the dispatch did not deliver).
    pub(super) fn end(self, left: &LeftOut) -> Vec<String> {
        let events = self.host.map_or(0, |host| host.engine().cut_events());
        let mut left_out = Vec::new();
        if left.threads > 0 {
            left_out.push(format!(
                "the variables of {} of {} threads were not read",
                left.threads, left.of_threads
            ));
        }
        if left.events {
            left_out.push("no thread, frame or variable event was delivered to modules".to_string());
        } else if events > 0 {
            left_out.push(format!("{events} module events were not delivered"));
        }
        if left.hold {
            left_out.push("the hold asked for (--hold-stopped-ms) was cut short".to_string());
        }
        if left_out.is_empty() {
            return Vec::new();
        }
        let limit = self.limit.map_or(0, |limit| limit.as_millis());
        vec![format!(
            "the stop limit of {limit} ms was reached (--max-stop-ms): {}; the target was resumed",
            left_out.join(", ")
        )]
    }
}

/// The time kept back from the limit for ending the stopped phase (a callback cut short, the
/// events left counted) and resuming `threads` threads: detaching takes ~10 µs a thread
/// (measured at 256 and 1024 threads), kept four times over with a margin of 20 ms for a busy
/// machine (a sleep or a wakeup of the tracer late by ~10 ms was seen with two builds running on
/// two cores) or a debug build, and at most a quarter of the limit.
fn resume_reserve(threads: usize, limit: Duration) -> Duration {
    let estimate =
        Duration::from_millis(20) + Duration::from_micros(40) * u32::try_from(threads).unwrap_or(u32::MAX);
    estimate.min(limit / 4)
}

/// What the stopped phase left out when the limit was reached.
pub(super) struct LeftOut {
    /// Threads whose variables were not read.
    pub(super) threads: usize,
    /// Threads in all.
    pub(super) of_threads: usize,
    /// The modules' thread, frame and variable events were not fired at all.
    pub(super) events: bool,
    /// A `--hold-stopped-ms` hold was cut short.
    pub(super) hold: bool,
}

impl Drop for StopWatch<'_> {
    fn drop(&mut self) {
        self.cutoff.end_stop();
        if let Some(host) = self.host {
            host.engine().lift_benches();
        }
    }
}
