//! The one sequence of every snapshot run, whatever the target: open it (its facts and debug
//! info), stage the snapshot (`preattach`), stop it, capture it (the stopped phase), resume it,
//! assemble the snapshot, conclude (`postattach`). A live process (by pid), a program caught at
//! its crash (`--exec`) and a core file differ only in what they plug in: how they are opened,
//! stopped and resumed, and what the run returns ([`Plug`], [`StoppedPlug`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::access::TargetAccess;
use super::assemble::{self, FaultMark};
use super::prepare::PreparedProcess;
use super::stop::{LeftOut, StopWatch};
use super::stopped_phase::Wanted;
use super::target::StoppedTarget;
use super::{modules, Session, SessionError};
use crate::procinfo::ProcessInfo;
use crate::snapshot::Snapshot;
use crate::tracer::TargetDeath;
use crate::variables::{GlobalPlan, GlobalVariable};

/// A target opened for a run: the plug that stops and resumes it, and what the run needs of it
/// before the stop.
pub(super) struct Opened<P> {
    /// What this kind of target plugs into the rest of the sequence.
    pub(super) plug: P,
    /// The process (as a core records it, for a core).
    pub(super) pid: i32,
    /// Its facts (name, executable, threads).
    pub(super) info: ProcessInfo,
    /// Its objects' debug info, loaded.
    pub(super) prepared: Arc<PreparedProcess>,
    /// The fault the snapshot records, when there is one.
    pub(super) fault: Option<FaultMark>,
}

/// What a kind of target plugs into the sequence between staging and its stop.
pub(super) trait Plug {
    /// The target once stopped.
    type Stopped: StoppedPlug;

    /// The modules' access to the target (its memory, its maps).
    fn access(&self, session: &Session, prepared: &Arc<PreparedProcess>) -> TargetAccess;

    /// The work between staging the snapshot (`preattach` has run) and the stop.
    fn before_stop(&mut self, session: &Session, prepared: &PreparedProcess, snapshot: &mut Snapshot);

    /// Stops the target (when it is not stopped already).
    fn stop(self, session: &Session, prepared: &PreparedProcess) -> Result<Self::Stopped, SessionError>;
}

/// What a kind of target plugs into the sequence from its stop to the end of the run.
pub(super) trait StoppedPlug {
    /// What the run returns.
    type Output;

    /// What the capture reads: the threads and the memory.
    fn target(&self) -> &dyn StoppedTarget;

    /// When the stop began, as the stop limit counts it.
    fn stopped_at(&self) -> Instant;

    /// The test hook `hold_stopped` (`--hold-stopped-ms`): keeps the target stopped a while.
    /// Returns whether the stop limit cut the hold short.
    fn hold(&self, session: &Session) -> Result<bool, SessionError>;

    /// Lets the target run again (a live process), or says how long it has been stopped so far
    /// (a crashed program, let go in [`finish`](Self::finish)); a core has nothing to resume.
    fn resume(&mut self) -> Result<Resumed, SessionError>;

    /// The run's result, once the snapshot is complete.
    fn finish(self, snapshot: Snapshot) -> Result<Self::Output, SessionError>;
}

/// What resuming a target tells.
pub(super) struct Resumed {
    /// How long the target was stopped.
    pub(super) stopped_for: Duration,
    /// Whether it died while it was stopped, and how.
    pub(super) death: Option<TargetDeath>,
}

/// What [`Session::stage`] prepared before the stop.
struct Staged {
    snapshot: Snapshot,
    globals: Vec<GlobalVariable>,
    thread_locals: Vec<GlobalVariable>,
    /// The plans of `thread_locals`, same order.
    thread_local_plans: Vec<GlobalPlan>,
    access: Option<Arc<TargetAccess>>,
}

impl Session {
    /// One run: `open` opens the target (the run counts from `started`); then the sequence
    /// stages, stops, captures, resumes, assembles and concludes, with what the target plugs
    /// in. Every step that can take a while is followed by a check of the abort flag.
    pub(super) fn run<P: Plug>(
        &self,
        started: Instant,
        open: impl FnOnce() -> Result<Opened<P>, SessionError>,
    ) -> Result<<P::Stopped as StoppedPlug>::Output, SessionError> {
        let earlier_runs = self.runs_begun.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(host) = &self.host {
            // A module's `reset` runs between the snapshots of one session (an embedding host
            // taking several), before the next begins, as pmodule.h's hosts do.
            if earlier_runs > 0 {
                host.reset();
            }
            host.engine().begin_snapshot();
        }
        let Opened {
            mut plug,
            pid,
            info,
            prepared,
            fault,
        } = open()?;
        let Staged {
            mut snapshot,
            globals,
            thread_locals,
            thread_local_plans,
            access,
        } = self.stage(pid, &info, &prepared, || plug.access(self, &prepared));
        plug.before_stop(self, &prepared, &mut snapshot);
        self.check_abort()?;
        let mut stopped = plug.stop(self, &prepared)?;
        let threads = stopped.target().threads().len();
        let stop_watch = StopWatch::start(
            &self.cutoff,
            self.active_host(),
            stopped.stopped_at(),
            self.options.stop_limit,
            threads,
        );
        let after = self.stopped_phase(
            stopped.target(),
            &prepared,
            &info,
            &mut snapshot,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                thread_local_plans: &thread_local_plans,
                // The faulting thread, else the main thread.
                tls_thread: fault.as_ref().map_or(pid, |fault| fault.0.tid),
            },
            fault.clone(),
            access.as_deref(),
        );
        let held_to_the_limit = stopped.hold(self)?;
        self.check_abort()?;
        let resumed = stopped.resume()?;
        let cut_short = stop_watch.end(&LeftOut {
            threads: after.threads_left_out,
            of_threads: threads,
            events: after.events_skipped,
            hold: held_to_the_limit,
        });
        self.check_abort()?;
        self.finish_assembly(&mut snapshot, after, &info, &prepared, fault, &thread_local_plans);
        self.check_abort()?;
        assemble::set_timing(&mut snapshot, resumed.stopped_for, started);
        if let Some(death) = resumed.death {
            snapshot.incomplete = true;
            snapshot.process_state = crate::pmodule::ProcessState::Dead.name().to_string();
            snapshot.warnings.push(format!(
                "process {pid} {death} while it was stopped: what was read after it died is missing"
            ));
        }
        self.conclude(&mut snapshot, cut_short);
        self.check_abort()?;
        if let Some(death) = resumed.death {
            return Err(SessionError::TargetDied {
                pid,
                death,
                snapshot: Box::new(snapshot),
            });
        }
        stopped.finish(snapshot)
    }

    /// Everything between loading the debug info and the stop: the snapshot's skeleton, the
    /// globals and thread-locals to read, the function-name tables the stopped phase searches,
    /// the modules' access to the process, and `preattach`.
    fn stage(
        &self,
        pid: i32,
        info: &ProcessInfo,
        prepared: &Arc<PreparedProcess>,
        access: impl FnOnce() -> TargetAccess,
    ) -> Staged {
        let mut snapshot = assemble::skeleton(&self.options, pid, info, prepared);
        let globals = self.globals_to_read(prepared, &mut snapshot);
        let thread_locals = self.thread_locals(prepared, &mut snapshot);
        let thread_local_plans = thread_locals.iter().map(GlobalVariable::plan).collect();
        if self.options.variables {
            // Tail calls are then searched while stopped.
            prepared.prepare_function_names();
        }
        let access = self.connect_modules(access);
        if let Some(host) = self.active_host() {
            host.fire_preattach(&mut snapshot);
        }
        Staged {
            snapshot,
            globals,
            thread_locals,
            thread_local_plans,
            access,
        }
    }

    /// The globals asked for with `--global` (warnings for those not found go into the
    /// snapshot), then those a module's variable match selects by name.
    fn globals_to_read(&self, prepared: &PreparedProcess, snapshot: &mut Snapshot) -> Vec<GlobalVariable> {
        let (mut globals, warnings) = prepared.resolve_globals(&self.options.globals);
        snapshot.warnings.extend(warnings);
        if let Some(host) = self.active_host() {
            for global in modules::selected_globals(host, &prepared.variables) {
                let known = globals.iter().any(|g| {
                    g.name() == global.name()
                        && g.object_path() == global.object_path()
                        && g.cu_name() == global.cu_name()
                });
                if !known {
                    globals.push(global);
                }
            }
        }
        globals
    }

    /// The thread-local variables to read in every thread (none without frame variables); the
    /// warnings about them go into the snapshot.
    fn thread_locals(&self, prepared: &PreparedProcess, snapshot: &mut Snapshot) -> Vec<GlobalVariable> {
        if !self.options.variables {
            return Vec::new();
        }
        let (found, warnings) = prepared.thread_locals();
        snapshot.warnings.extend(warnings);
        found
    }

    /// Gives the modules their access to the target (`access` makes it, when modules loaded).
    fn connect_modules(&self, access: impl FnOnce() -> TargetAccess) -> Option<Arc<TargetAccess>> {
        let host = self.active_host()?;
        let access = Arc::new(access());
        host.set_process_access(Some(access.clone()));
        host.set_typed_memory(Some(access.clone()));
        Some(access)
    }

    /// Takes the process access away from the modules (the snapshot is done).
    fn disconnect_modules(&self) {
        if let Some(host) = self.active_host() {
            host.set_process_access(None);
            host.set_typed_memory(None);
        }
    }

    /// The end of a run, once the threads are in the snapshot: what the stop limit left out
    /// (`left_out`, warnings) marks it incomplete; then `postattach`, and the failures of the
    /// modules' callbacks.
    fn conclude(&self, snapshot: &mut Snapshot, left_out: Vec<String>) {
        if !left_out.is_empty() {
            snapshot.incomplete = true;
            snapshot.warnings.extend(left_out);
        }
        if let Some(host) = self.active_host() {
            host.fire_postattach(snapshot);
            self.disconnect_modules();
            snapshot.module_failures = host.engine().take_failures();
        }
    }

    /// [`SessionError::Aborted`] once the abort was requested.
    pub(super) fn check_abort(&self) -> Result<(), SessionError> {
        if self.abort.is_aborted() {
            return Err(SessionError::Aborted);
        }
        Ok(())
    }
}
