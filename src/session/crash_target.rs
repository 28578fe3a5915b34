//! A program run with `--exec` and caught at its fatal signal, as the run's target: it is
//! stopped already when it is opened (its debug info is loaded while it waits, from the
//! debuginfod cache only), it is not resumed before the snapshot is complete (`postattach` still
//! reads its memory), and the run ends by letting the signal take its course.

use std::ffi::{OsStr, OsString};
use std::sync::Arc;
use std::time::Instant;

use super::access::TargetAccess;
use super::assemble::FaultMark;
use super::prepare::PreparedProcess;
use super::process_target::{hold_if_asked, process_access};
use super::sequence::{Opened, Plug, Resumed, StoppedPlug};
use super::target::StoppedTarget;
use super::{ExecResult, Session, SessionError};
use crate::procinfo;
use crate::snapshot::Snapshot;
use crate::tracer::{self, ChildEnd, Crash, ExecOutcome, StopOptions};

/// The crashed program, stopped at its fault before the stop limit counts.
pub(super) struct CaughtCrash {
    crash: Box<Crash>,
}

/// The crashed program, the stop limit counting from `limit_from`.
pub(super) struct StoppedCrash {
    crash: Box<Crash>,
    limit_from: Instant,
}

/// Runs `program` with `args` traced until it crashes (`Ok`) or ends without a fatal signal
/// (`Err`, how it ended).
pub(super) fn run_until_crash(
    session: &Session,
    program: &OsStr,
    args: &[OsString],
) -> Result<Result<Box<Crash>, ChildEnd>, SessionError> {
    let stop = StopOptions {
        stack_limit: session.options.stack_limit,
        ..StopOptions::default()
    };
    Ok(
        match tracer::run_until_crash(program, args, &stop, &session.abort)? {
            ExecOutcome::Exited(code) => Err(ChildEnd::Exited(code)),
            ExecOutcome::Signaled(signal) => Err(ChildEnd::Signaled(signal)),
            ExecOutcome::Crashed(crash) => Ok(crash),
        },
    )
}

/// Reads the crashed program's facts and loads its debug info; the fault is the signal caught.
pub(super) fn open(session: &Session, crash: Box<Crash>) -> Result<Opened<CaughtCrash>, SessionError> {
    let pid = crash.stopped.pid();
    // The program is stopped at its fault: what is read now cannot change any more.
    let info = procinfo::read_process(pid)?;
    // Nothing is downloaded while the program waits: only the debuginfod cache is used.
    let prepared = Arc::new(PreparedProcess::load(
        pid,
        &session.options.debug_search(pid),
        &session.options.debuginfod.cache_only(),
    )?);
    let fault = FaultMark::from_tracer(&crash.fault);
    Ok(Opened {
        plug: CaughtCrash { crash },
        pid,
        info,
        prepared,
        fault: Some(fault),
    })
}

impl Plug for CaughtCrash {
    type Stopped = StoppedCrash;

    fn access(&self, session: &Session, prepared: &Arc<PreparedProcess>) -> TargetAccess {
        process_access(session, self.crash.stopped.pid(), prepared)
    }

    fn before_stop(&mut self, _session: &Session, _prepared: &PreparedProcess, _snapshot: &mut Snapshot) {}

    fn stop(self, _session: &Session, _prepared: &PreparedProcess) -> Result<StoppedCrash, SessionError> {
        // The debug info is loaded after the crash, while the program waits: the limit bounds
        // the work of the stopped phase from here on.
        Ok(StoppedCrash {
            crash: self.crash,
            limit_from: Instant::now(),
        })
    }
}

impl StoppedPlug for StoppedCrash {
    type Output = ExecResult;

    fn target(&self) -> &dyn StoppedTarget {
        &self.crash.stopped
    }

    fn stopped_at(&self) -> Instant {
        self.limit_from
    }

    fn hold(&self, session: &Session) -> Result<bool, SessionError> {
        hold_if_asked(session, &self.crash.stopped)
    }

    /// The program stays stopped: letting its fatal signal through ends it, so `postattach` runs
    /// before, while its memory can still be read.
    fn resume(&mut self) -> Result<Resumed, SessionError> {
        Ok(Resumed {
            stopped_for: self.crash.stopped.stopped_at().elapsed(),
            death: None,
        })
    }

    fn finish(self, snapshot: Snapshot) -> Result<ExecResult, SessionError> {
        let end = self.crash.finish()?;
        Ok(ExecResult::Crashed {
            snapshot: Box::new(snapshot),
            end,
        })
    }
}
