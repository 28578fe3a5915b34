//! One snapshot run: options, the phases (prepare before the stop, capture while stopped, build
//! after resuming) and timing.
//!
//! Every run happens on a thread of its own ("ptrace-tracer"): ptrace binds a tracee to the thread
//! that attached, so all tracing of a run must come from one thread, whichever thread of a host
//! program calls in; a panic inside a run is contained there, after the tracer's guards have
//! detached the target.

mod assemble;
mod capture;
mod prepare;
mod thread_tls;

use crate::debuginfo::DebugInfoError;
use crate::procinfo::{self, ProcInfoError};
use crate::snapshot::{AttributeValue, Snapshot};
use crate::tracer::{self, AbortFlag, ChildEnd, ExecOutcome, StopOptions, StoppedProcess, TracerError};
use crate::variables::{GlobalVariable, VariableLimits};
use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

pub use assemble::FaultMark;

/// Options of a snapshot run (the CLI's options, minus where the output goes).
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Application name in the snapshot (default: the executable's base name).
    pub application: Option<String>,
    /// Snapshot only this thread (`--thread`).
    pub only_thread: Option<i32>,
    /// Mark this thread as the faulting one (`--fault-thread`).
    pub fault_thread: Option<i32>,
    /// Attributes to record (`--kv`).
    pub attributes: Vec<(String, AttributeValue)>,
    /// Classifiers to record (`--classifier`).
    pub classifiers: Vec<String>,
    /// Most frames unwound per thread.
    pub max_frames: usize,
    /// Most bytes of each thread's stack copied while stopped.
    pub stack_limit: usize,
    /// Test hook: keep the target stopped this long after capture (abortable).
    pub hold_stopped: Option<Duration>,
    /// How many levels of struct members and array elements are expanded (`--depth`).
    pub depth: usize,
    /// Globals to record, by name (`--global`).
    pub globals: Vec<String>,
    /// Whether frame variables are extracted at all.
    pub variables: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            application: None,
            only_thread: None,
            fault_thread: None,
            attributes: Vec::new(),
            classifiers: Vec::new(),
            max_frames: crate::unwind::MAX_FRAMES,
            stack_limit: StopOptions::default().stack_limit,
            hold_stopped: None,
            depth: VariableLimits::default().depth,
            globals: Vec::new(),
            variables: true,
        }
    }
}

impl SessionOptions {
    /// The bounds of variable extraction these options ask for.
    pub fn variable_limits(&self) -> VariableLimits {
        VariableLimits {
            depth: self.depth,
            ..VariableLimits::default()
        }
    }
}

/// Why a snapshot run failed. In every case the target has been detached and runs again.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Reading `/proc` failed (no such process, ...).
    #[error(transparent)]
    Process(#[from] ProcInfoError),
    /// Stopping, reading or resuming the target failed.
    #[error(transparent)]
    Tracer(#[from] TracerError),
    /// The maps or debug information could not be read.
    #[error(transparent)]
    DebugInfo(#[from] DebugInfoError),
    /// The run was aborted (a signal to the CLI, or the host's abort).
    #[error("aborted; the target was resumed")]
    Aborted,
    /// A bug: the run panicked. The target was resumed.
    #[error("internal error (the target was resumed): {0}")]
    Panicked(String),
    /// The tracer thread could not be started.
    #[error("cannot start the tracer thread: {0}")]
    Thread(std::io::Error),
}

/// The result of `--exec`: either the program crashed and was snapshotted, or it ended without a
/// fatal signal and no snapshot was taken.
#[derive(Debug)]
pub enum ExecResult {
    /// A fatal signal was caught: the snapshot, and how the program ended afterwards.
    Crashed {
        /// The snapshot taken at the fault.
        snapshot: Box<Snapshot>,
        /// How the program ended once the signal was let through.
        end: ChildEnd,
    },
    /// The program ended without a fatal signal; no snapshot.
    Ended(ChildEnd),
}

/// A snapshot session: options and an abort flag shared with whoever may interrupt it.
pub struct Session {
    options: SessionOptions,
    abort: AbortFlag,
}

impl Session {
    /// A session with these options.
    pub fn new(options: SessionOptions) -> Self {
        Self {
            options,
            abort: AbortFlag::new(),
        }
    }

    /// The flag that aborts a run in progress (the target is detached and resumed).
    pub fn abort_flag(&self) -> AbortFlag {
        self.abort.clone()
    }

    /// The options.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// Stops process `pid`, captures every thread, resumes it and returns the snapshot.
    pub fn snapshot_pid(&self, pid: i32) -> Result<Snapshot, SessionError> {
        on_tracer_thread(|| self.snapshot_pid_here(pid))
    }

    /// Runs `program` traced until it exits or a thread gets a fatal signal; on a fatal signal,
    /// snapshots it, then lets the signal take its course.
    pub fn run_and_catch(&self, program: &OsStr, args: &[OsString]) -> Result<ExecResult, SessionError> {
        on_tracer_thread(|| self.run_and_catch_here(program, args))
    }

    fn snapshot_pid_here(&self, pid: i32) -> Result<Snapshot, SessionError> {
        let started = Instant::now();
        let info = procinfo::read_process(pid)?;
        // Everything heavy happens now, before the stop.
        let prepared = prepare::PreparedProcess::load(pid).map_err(|e| match e {
            DebugInfoError::Maps { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                SessionError::Tracer(TracerError::permission_denied(pid))
            }
            other => other.into(),
        })?;
        let (globals, mut variable_warnings) = prepared.resolve_globals(&self.options.globals);
        let (thread_locals, tls_warnings) = self.thread_locals(&prepared);
        variable_warnings.extend(tls_warnings);
        let stopped = StoppedProcess::stop(pid, &self.stop_options(&prepared), &self.abort)?;
        let mut captured = capture::capture(&stopped, &prepared.unwinder, self.options.max_frames);
        let tls_thread = self.options.fault_thread.unwrap_or(pid);
        let global_values = self.capture_variables(
            &stopped,
            &prepared,
            &mut captured,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                tls_thread,
            },
        );
        self.hold_if_asked()?;
        let stopped_for = stopped.resume()?;
        let fault = self.options.fault_thread.map(FaultMark::marked_thread);
        let mut snapshot = assemble::assemble(assemble::Parts {
            options: &self.options,
            pid,
            info,
            prepared: &prepared,
            captured,
            fault,
            stopped_for,
            started,
        });
        with_globals(&mut snapshot, global_values, variable_warnings);
        Ok(snapshot)
    }

    /// The thread-local variables to read in every thread (none without frame variables), and
    /// the warnings about them.
    fn thread_locals(&self, prepared: &prepare::PreparedProcess) -> (Vec<GlobalVariable>, Vec<String>) {
        if self.options.variables {
            prepared.thread_locals()
        } else {
            (Vec::new(), Vec::new())
        }
    }

    /// Reads every frame's variables and each thread's thread-local variables (when enabled) and
    /// the globals, while stopped.
    fn capture_variables(
        &self,
        stopped: &StoppedProcess,
        prepared: &prepare::PreparedProcess,
        captured: &mut [capture::CapturedThread],
        wanted: &Wanted<'_>,
    ) -> Vec<crate::snapshot::Variable> {
        let limits = self.options.variable_limits();
        if self.options.variables {
            capture::capture_variables(stopped, captured, prepared, wanted.thread_locals, &limits);
        }
        capture::capture_globals(stopped, prepared, wanted.globals, &limits, wanted.tls_thread)
    }

    fn run_and_catch_here(&self, program: &OsStr, args: &[OsString]) -> Result<ExecResult, SessionError> {
        let stop = StopOptions {
            stack_limit: self.options.stack_limit,
            ..StopOptions::default()
        };
        let crash = match tracer::run_until_crash(program, args, &stop, &self.abort)? {
            ExecOutcome::Exited(code) => return Ok(ExecResult::Ended(ChildEnd::Exited(code))),
            ExecOutcome::Signaled(signal) => return Ok(ExecResult::Ended(ChildEnd::Signaled(signal))),
            ExecOutcome::Crashed(crash) => crash,
        };
        let started = crash.stopped.stopped_at();
        let pid = crash.stopped.pid();
        // The program is stopped at its fault: what is read now cannot change any more.
        let info = procinfo::read_process(pid)?;
        let prepared = prepare::PreparedProcess::load(pid)?;
        let (globals, mut variable_warnings) = prepared.resolve_globals(&self.options.globals);
        let (thread_locals, tls_warnings) = self.thread_locals(&prepared);
        variable_warnings.extend(tls_warnings);
        let mut captured = capture::capture(&crash.stopped, &prepared.unwinder, self.options.max_frames);
        let global_values = self.capture_variables(
            &crash.stopped,
            &prepared,
            &mut captured,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                tls_thread: crash.fault.tid,
            },
        );
        self.hold_if_asked()?;
        let stopped_for = crash.stopped.stopped_at().elapsed();
        let fault = FaultMark::from_tracer(&crash.fault);
        let end = crash.finish()?;
        let mut snapshot = assemble::assemble(assemble::Parts {
            options: &self.options,
            pid,
            info,
            prepared: &prepared,
            captured,
            fault: Some(fault),
            stopped_for,
            started,
        });
        with_globals(&mut snapshot, global_values, variable_warnings);
        Ok(ExecResult::Crashed {
            snapshot: Box::new(snapshot),
            end,
        })
    }

    fn stop_options(&self, prepared: &prepare::PreparedProcess) -> StopOptions {
        StopOptions {
            only_thread: self.options.only_thread,
            stack_limit: self.options.stack_limit,
            stack_regions: prepared.stack_regions(),
        }
    }

    /// The test hook `hold_stopped`: waits while stopped, returning early with
    /// [`SessionError::Aborted`] when the abort flag is set.
    fn hold_if_asked(&self) -> Result<(), SessionError> {
        let Some(hold) = self.options.hold_stopped else {
            return Ok(());
        };
        let until = Instant::now() + hold;
        while Instant::now() < until {
            if self.abort.is_aborted() {
                return Err(SessionError::Aborted);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.abort.is_aborted() {
            return Err(SessionError::Aborted);
        }
        Ok(())
    }
}

/// The variables a run reads besides the frames': globals asked for, thread-local variables, and
/// the thread whose thread-local globals are read (the faulting one, else the main thread).
struct Wanted<'a> {
    globals: &'a [GlobalVariable],
    thread_locals: &'a [GlobalVariable],
    tls_thread: i32,
}

/// Puts the globals read into the snapshot, and the warnings about variables (globals not found,
/// thread-local variables left out).
fn with_globals(snapshot: &mut Snapshot, globals: Vec<crate::snapshot::Variable>, warnings: Vec<String>) {
    snapshot.globals.extend(globals);
    snapshot.warnings.extend(warnings);
}

/// Runs `work` on a fresh thread and returns its result; a panic becomes
/// [`SessionError::Panicked`] (the tracer's guards detach the target while unwinding).
fn on_tracer_thread<T: Send>(
    work: impl FnOnce() -> Result<T, SessionError> + Send,
) -> Result<T, SessionError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("ptrace-tracer".into())
            .spawn_scoped(scope, work)
            .map_err(SessionError::Thread)?;
        handle.join().unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(SessionError::Panicked(message))
        })
    })
}
