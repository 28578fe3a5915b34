//! A live process, snapshotted by pid, as the run's target: opened while it runs (everything
//! heavy is loaded before the stop, and the DWARF the stop will read is guessed from its running
//! threads), stopped by the tracer and detached at the resume.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::access::TargetAccess;
use super::assemble::FaultMark;
use super::prepare::PreparedProcess;
use super::sequence::{Opened, Plug, Resumed, StoppedPlug};
use super::target::StoppedTarget;
use super::{warm, Session, SessionError};
use crate::debuginfo::DebugInfoError;
use crate::procinfo;
use crate::snapshot::Snapshot;
use crate::tracer::{self, StopOptions, StoppedProcess, TracerError};

/// Process `pid`, running.
pub(super) struct LiveProcess {
    pid: i32,
}

/// Process `pid`, stopped.
pub(super) struct StoppedLiveProcess {
    stopped: StoppedProcess,
}

/// Checks that `pid` can be snapshotted, reads its facts and loads its debug info (while it
/// runs); the fault is the thread `--fault-thread` marks.
pub(super) fn open(session: &Session, pid: i32) -> Result<Opened<LiveProcess>, SessionError> {
    tracer::check_traceable(pid)?;
    let info = procinfo::read_process(pid)?;
    // Everything heavy happens now, before the stop.
    let prepared = Arc::new(
        PreparedProcess::load(
            pid,
            &session.options.debug_search(pid),
            &session.options.debuginfod,
        )
        .map_err(|e| match e {
            DebugInfoError::Maps { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                SessionError::Tracer(TracerError::permission_denied(pid))
            }
            other => other.into(),
        })?,
    );
    Ok(Opened {
        plug: LiveProcess { pid },
        pid,
        info,
        prepared,
        fault: session.options.fault_thread.map(FaultMark::marked_thread),
    })
}

impl Plug for LiveProcess {
    type Stopped = StoppedLiveProcess;

    fn access(&self, session: &Session, prepared: &Arc<PreparedProcess>) -> TargetAccess {
        process_access(session, self.pid, prepared)
    }

    fn before_stop(&mut self, session: &Session, prepared: &PreparedProcess, _snapshot: &mut Snapshot) {
        if session.options.variables {
            // What the stop will read of the DWARF, guessed from the running threads' stacks.
            warm::prepare_stopped_code(
                self.pid,
                prepared,
                &session.options.variable_limits(),
                session.options.stack_limit,
            );
        }
    }

    fn stop(self, session: &Session, prepared: &PreparedProcess) -> Result<StoppedLiveProcess, SessionError> {
        let options = StopOptions {
            only_thread: session.options.only_thread,
            stack_limit: session.options.stack_limit,
            stack_regions: prepared.stack_regions(),
        };
        let stopped = StoppedProcess::stop(self.pid, &options, &session.abort)?;
        Ok(StoppedLiveProcess { stopped })
    }
}

impl StoppedPlug for StoppedLiveProcess {
    type Output = Snapshot;

    fn target(&self) -> &dyn StoppedTarget {
        &self.stopped
    }

    fn stopped_at(&self) -> Instant {
        self.stopped.stopped_at()
    }

    fn hold(&self, session: &Session) -> Result<bool, SessionError> {
        hold_if_asked(session, &self.stopped)
    }

    fn resume(&mut self) -> Result<Resumed, SessionError> {
        let stopped_for = self.stopped.detach()?;
        Ok(Resumed {
            stopped_for,
            death: self.stopped.died_while_stopped(),
        })
    }

    fn finish(self, snapshot: Snapshot) -> Result<Snapshot, SessionError> {
        Ok(snapshot)
    }
}

/// The modules' access to live process `pid`.
pub(super) fn process_access(session: &Session, pid: i32, prepared: &Arc<PreparedProcess>) -> TargetAccess {
    TargetAccess::new(pid, prepared.clone(), session.options.variable_limits())
}

/// The test hook `hold_stopped`: waits while `stopped` is stopped, returning early with
/// [`SessionError::Aborted`] when the abort flag is set, and when the target dies. Returns
/// whether the stop limit cut the hold short.
pub(super) fn hold_if_asked(session: &Session, stopped: &StoppedProcess) -> Result<bool, SessionError> {
    let Some(hold) = session.options.hold_stopped else {
        return Ok(false);
    };
    let until = Instant::now() + hold;
    loop {
        session.check_abort()?;
        if session.cutoff.deadline_passed().is_some() {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= until || stopped.seems_dead() {
            return Ok(false);
        }
        let step = (until - now)
            .min(session.cutoff.remaining().unwrap_or(Duration::MAX))
            .min(Duration::from_millis(5));
        std::thread::sleep(step);
    }
}
