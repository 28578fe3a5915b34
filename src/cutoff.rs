//! [`Cutoff`]: when the work of a snapshot must end early — the run was aborted (a signal to the
//! CLI, a C host's abort), or the target has been stopped for as long as it may be.
//!
//! One cutoff is shared by everything that may run long while the target is stopped: the
//! session between threads, the module dispatch between callbacks, and the Lua instruction hook
//! inside a callback. Native module code cannot be pre-empted; it is only bounded between its
//! callbacks (and by the CLI's watchdog, which exits so that the kernel lets the target go).

use crate::abort::AbortFlag;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The default bound on how long the target stays stopped (`--max-stop-ms`).
pub const DEFAULT_STOP_LIMIT: Duration = Duration::from_secs(2);

/// No deadline is set (the stored value).
const NO_DEADLINE: u64 = u64::MAX;

/// Why work had to end early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutoffReason {
    /// The run was aborted.
    Aborted,
    /// The target had been stopped for the limit.
    StopLimit(Duration),
}

impl std::fmt::Display for CutoffReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CutoffReason::Aborted => write!(f, "interrupted: ptrace was asked to stop"),
            CutoffReason::StopLimit(limit) => write!(
                f,
                "the stop limit of {} ms was reached (--max-stop-ms)",
                limit.as_millis()
            ),
        }
    }
}

/// The abort flag of the run and, while the target is stopped, the deadline of the stop.
#[derive(Debug)]
pub struct Cutoff {
    abort: AbortFlag,
    /// When the clock times below start.
    epoch: Instant,
    /// `epoch` on `CLOCK_MONOTONIC` (the clock of `Instant`), in nanoseconds: the coarse clock
    /// read per callback counts from it.
    epoch_ns: u64,
    /// The resolution of `CLOCK_MONOTONIC_COARSE`, in nanoseconds (how late it may be).
    coarse_resolution_ns: u64,
    /// The deadline, in nanoseconds after `epoch`, or [`NO_DEADLINE`].
    deadline: AtomicU64,
    /// The limit the deadline was set from, in nanoseconds (for messages).
    limit: AtomicU64,
    /// Whether the target is stopped now (with or without a deadline).
    stopped: AtomicBool,
}

impl Default for Cutoff {
    fn default() -> Self {
        Self::new(AbortFlag::new())
    }
}

impl Cutoff {
    /// A cutoff reading `abort`, with no deadline.
    pub fn new(abort: AbortFlag) -> Self {
        let epoch = Instant::now();
        Cutoff {
            abort,
            epoch,
            epoch_ns: clock_ns(libc::CLOCK_MONOTONIC),
            coarse_resolution_ns: coarse_resolution_ns(),
            deadline: AtomicU64::new(NO_DEADLINE),
            limit: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// The abort flag read.
    pub fn abort_flag(&self) -> AbortFlag {
        self.abort.clone()
    }

    /// The target was stopped at `stopped_at` and may stay stopped for `limit` (no deadline when
    /// `None`): work must end `reserve` before, the time that resuming it takes.
    pub fn begin_stop(&self, stopped_at: Instant, limit: Option<Duration>, reserve: Duration) {
        self.stopped.store(true, Ordering::Release);
        let Some(limit) = limit else {
            self.deadline.store(NO_DEADLINE, Ordering::Release);
            return;
        };
        let at = stopped_at
            .checked_add(limit.saturating_sub(reserve))
            .map_or(Duration::MAX, |deadline| {
                deadline.saturating_duration_since(self.epoch)
            });
        self.limit.store(
            u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.deadline.store(
            u64::try_from(at.as_nanos()).unwrap_or(NO_DEADLINE - 1),
            Ordering::Release,
        );
    }

    /// The target runs again: no deadline any more.
    pub fn end_stop(&self) {
        self.deadline.store(NO_DEADLINE, Ordering::Release);
        self.stopped.store(false, Ordering::Release);
    }

    /// Whether the target is stopped (between [`begin_stop`](Self::begin_stop) and
    /// [`end_stop`](Self::end_stop)).
    pub fn target_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Why work must end now, if it must: the abort first, then the deadline.
    pub fn reason(&self) -> Option<CutoffReason> {
        self.reason_within(Duration::ZERO)
    }

    /// Why work that takes `margin` must not start now, if it must not: the abort, or the
    /// deadline passing within `margin`. Read before each module callback, so the time is the
    /// coarse clock's (a few nanoseconds rather than tens), its resolution added to `margin`.
    pub fn reason_within(&self, margin: Duration) -> Option<CutoffReason> {
        if self.is_aborted() {
            return Some(CutoffReason::Aborted);
        }
        let deadline = self.deadline.load(Ordering::Acquire);
        if deadline == NO_DEADLINE {
            return None;
        }
        let margin = u64::try_from(margin.as_nanos()).unwrap_or(u64::MAX);
        let now = clock_ns(libc::CLOCK_MONOTONIC_COARSE)
            .saturating_sub(self.epoch_ns)
            .saturating_add(self.coarse_resolution_ns)
            .saturating_add(margin);
        (now >= deadline)
            .then(|| CutoffReason::StopLimit(Duration::from_nanos(self.limit.load(Ordering::Relaxed))))
    }

    /// Whether the run was aborted.
    pub fn is_aborted(&self) -> bool {
        self.abort.is_aborted()
    }

    /// [`CutoffReason::StopLimit`] once the deadline has passed (whether or not the run was
    /// aborted).
    pub fn deadline_passed(&self) -> Option<CutoffReason> {
        let deadline = self.deadline.load(Ordering::Acquire);
        if deadline == NO_DEADLINE {
            return None;
        }
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        (now >= deadline)
            .then(|| CutoffReason::StopLimit(Duration::from_nanos(self.limit.load(Ordering::Relaxed))))
    }

    /// The limit of the stop under way, when it has one.
    pub fn limit(&self) -> Option<Duration> {
        (self.deadline.load(Ordering::Acquire) != NO_DEADLINE)
            .then(|| Duration::from_nanos(self.limit.load(Ordering::Relaxed)))
    }

    /// How long ago the deadline passed (`None` before it, or without one).
    pub fn overdue(&self) -> Option<Duration> {
        let deadline = self.deadline.load(Ordering::Acquire);
        if deadline == NO_DEADLINE {
            return None;
        }
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        now.checked_sub(deadline).map(Duration::from_nanos)
    }

    /// How long until the deadline (zero once passed; `None` without one).
    pub fn remaining(&self) -> Option<Duration> {
        let deadline = self.deadline.load(Ordering::Acquire);
        if deadline == NO_DEADLINE {
            return None;
        }
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(deadline.saturating_sub(now)))
    }
}

/// The time on `clock`, in nanoseconds (0 should the clock be unreadable, which Linux's
/// monotonic clocks never are).
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return 0;
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The resolution of `CLOCK_MONOTONIC_COARSE` (a scheduler tick), in nanoseconds.
fn coarse_resolution_ns() -> u64 {
    let mut resolution = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `resolution` is a valid, writable timespec for the duration of the call.
    if unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut resolution) } != 0 {
        return 10_000_000;
    }
    let seconds = u64::try_from(resolution.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(resolution.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_passes_only_while_armed() {
        let cutoff = Cutoff::default();
        assert_eq!(cutoff.reason(), None);
        assert!(!cutoff.target_stopped());
        let limit = Duration::from_millis(20);
        cutoff.begin_stop(Instant::now(), Some(limit), Duration::ZERO);
        assert!(cutoff.target_stopped());
        assert_eq!(cutoff.reason(), None);
        assert_eq!(
            cutoff.reason_within(Duration::from_millis(25)),
            Some(CutoffReason::StopLimit(limit)),
            "work that would end past the deadline must not start"
        );
        assert!(cutoff.remaining().is_some_and(|r| r <= limit));
        assert_eq!(cutoff.overdue(), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cutoff.reason(), Some(CutoffReason::StopLimit(limit)));
        assert_eq!(cutoff.remaining(), Some(Duration::ZERO));
        assert!(cutoff
            .overdue()
            .is_some_and(|late| late >= Duration::from_millis(5)));
        cutoff.end_stop();
        assert_eq!(cutoff.reason(), None);
        assert!(!cutoff.target_stopped());
        cutoff.begin_stop(Instant::now(), None, Duration::ZERO);
        assert!(cutoff.target_stopped());
        assert_eq!(cutoff.remaining(), None);
    }

    #[test]
    fn the_reserve_comes_off_the_limit_but_not_off_its_message() {
        let cutoff = Cutoff::default();
        let limit = Duration::from_secs(10);
        cutoff.begin_stop(Instant::now(), Some(limit), Duration::from_millis(9_990));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(cutoff.reason(), Some(CutoffReason::StopLimit(limit)));
        assert!(cutoff.reason().unwrap().to_string().contains("10000 ms"));
    }

    #[test]
    fn the_abort_comes_first() {
        let flag = AbortFlag::new();
        let cutoff = Cutoff::new(flag.clone());
        cutoff.begin_stop(
            Instant::now() - Duration::from_secs(5),
            Some(Duration::from_secs(1)),
            Duration::ZERO,
        );
        assert!(matches!(cutoff.reason(), Some(CutoffReason::StopLimit(_))));
        flag.abort();
        assert_eq!(cutoff.reason(), Some(CutoffReason::Aborted));
        assert!(cutoff
            .reason()
            .is_some_and(|r| r.to_string().contains("interrupted")));
    }
}
