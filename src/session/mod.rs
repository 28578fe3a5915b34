//! One snapshot run: options, the phases (prepare before the stop, capture while stopped, build
//! after resuming) and timing. The run is one sequence (`sequence`) whatever the target: a
//! live process by pid (`process_target`), a program caught at its crash under `--exec`
//! (`crash_target`), a core file (`core_target`); each plugs in how it is opened, stopped and
//! resumed.
//!
//! Every run happens on a thread of its own ("ptrace-tracer"): ptrace binds a tracee to the thread
//! that attached, so all tracing of a run must come from one thread, whichever thread of a host
//! program calls in; a panic inside a run is contained there, after the tracer's guards have
//! detached the target.

mod access;
mod assemble;
mod capture;
mod core_target;
mod crash_target;
mod modules;
pub mod named;
mod pointees;
mod prepare;
mod process_target;
mod sequence;
mod stop;
mod stopped_phase;
mod target;
mod thread_tls;
mod warm;

use std::path::{Path, PathBuf};

use crate::abort::AbortFlag;
use crate::cutoff::Cutoff;
use crate::debuginfo::DebugInfoError;
use crate::procinfo::ProcInfoError;
use crate::snapshot::{AttributeValue, Snapshot};
use crate::tracer::{self, ChildEnd, StopOptions, TracerError};
use crate::variables::VariableLimits;
use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

pub use access::TargetAccess;
pub use assemble::FaultMark;
pub use modules::{standard_host, standard_host_with, ModuleSettings};

use crate::pmodule::{LogSink, PmoduleHost, StderrSink};
use std::sync::Arc;

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
    /// Whether every frame records the registers the unwinder recovered for it
    /// (`--all-registers`); otherwise only frame 0 has registers (all of them).
    pub all_registers: bool,
    /// The modules to load and how they run.
    pub modules: ModuleSettings,
    /// Build every frame variable while the target is stopped, as when modules watch them,
    /// rather than only locating them then and building them after the resume (the same
    /// snapshot, a longer stop): for comparisons.
    pub build_while_stopped: bool,
    /// Unwind and read the variables of every thread on the tracer thread alone, rather than on
    /// two CPUs when there are many threads (the same snapshot, a longer stop): for comparisons.
    pub sequential_capture: bool,
    /// The most time the target may stay stopped (`--max-stop-ms`; `None`: no limit). Once it
    /// is reached, module callbacks end (Lua code at its next instruction-count hook, native
    /// code when its callback returns), the variables of threads not read yet are left out, the
    /// target resumes, and the snapshot says what was left out.
    pub stop_limit: Option<Duration>,
    /// Folders searched for separate debug files before the target's and the host's
    /// `/usr/lib/debug` (`--debug-dir`, in order).
    pub debug_dirs: Vec<PathBuf>,
    /// A copy of the target's file tree, where its files are looked up instead of through
    /// `/proc/PID/root` (`--sysroot`); mapped objects are still opened through
    /// `/proc/PID/map_files` first.
    pub sysroot: Option<PathBuf>,
    /// Whether debug files missing here are fetched from the debuginfod servers that
    /// `DEBUGINFOD_URLS` names, before the stop, and for how long at most (`--no-debuginfod`,
    /// `--debuginfod-timeout`). With `--exec`, where the program is already stopped at its
    /// fault, only the cache is used.
    pub debuginfod: crate::debuginfo::debuginfod::Settings,
    /// The crash backends the snapshot is sent to once written (`--sentry-dsn`,
    /// `--backtrace-url`, ...); the session itself sends nothing: whoever writes the snapshot
    /// does, after the target runs again.
    pub backends: crate::backends::BackendSettings,
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
            all_registers: false,
            modules: ModuleSettings::default(),
            build_while_stopped: false,
            sequential_capture: false,
            stop_limit: Some(crate::cutoff::DEFAULT_STOP_LIMIT),
            debug_dirs: Vec::new(),
            sysroot: None,
            debuginfod: crate::debuginfo::debuginfod::Settings::default(),
            backends: crate::backends::BackendSettings::default(),
        }
    }
}

impl SessionOptions {
    /// Where the files of process `pid` and their debug files are looked for.
    pub fn debug_search(&self, pid: i32) -> crate::debuginfo::DebugSearch {
        crate::debuginfo::DebugSearch::for_target(
            crate::debuginfo::TargetFiles::of_process(pid, self.sysroot.clone()),
            &self.debug_dirs,
        )
    }

    /// Where the files of a core and their debug files are looked for: under the sysroot when
    /// given, else by the paths the core records (no process to look through).
    pub fn core_search(&self) -> crate::debuginfo::DebugSearch {
        let files = match &self.sysroot {
            Some(root) => crate::debuginfo::TargetFiles::under(root.clone()),
            None => crate::debuginfo::TargetFiles::host(),
        };
        crate::debuginfo::DebugSearch::for_target(files, &self.debug_dirs)
    }

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
    /// The target died while it was stopped: what was captured, marked incomplete.
    #[error("process {pid} {death} while it was being captured; the snapshot is incomplete")]
    TargetDied {
        /// The process.
        pid: i32,
        /// How it ended.
        death: tracer::TargetDeath,
        /// What was captured before it died (`incomplete` set, a warning saying why).
        snapshot: Box<Snapshot>,
    },
    /// The tracer thread could not be started.
    #[error("cannot start the tracer thread: {0}")]
    Thread(std::io::Error),
    /// The core file could not be read.
    #[error("{}", core_message(file, source))]
    Core {
        /// The core file as given.
        file: String,
        /// What is wrong with it.
        source: crate::core::CoreError,
    },
    /// The executable given with a core is not the one the core's process ran.
    #[error("{exe} is not the core's executable: {why}")]
    CoreExecutable {
        /// The executable as given.
        exe: String,
        /// Why not (the build ids that differ).
        why: String,
    },
}

/// One line for a core that cannot be read: the file named once (an error opening it names it
/// already).
fn core_message(file: &str, error: &crate::core::CoreError) -> String {
    match error {
        crate::core::CoreError::Open { .. } => error.to_string(),
        other => format!("{file}: {other}"),
    }
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

/// A snapshot session: options, the loaded modules, and an abort flag shared with whoever may
/// interrupt it.
pub struct Session {
    options: SessionOptions,
    abort: AbortFlag,
    host: Option<PmoduleHost>,
    /// When the work of a run must end early (the abort, the stop limit); shared with the
    /// modules' engine.
    cutoff: Arc<Cutoff>,
    /// How many runs this session has begun: from the second on, the modules are reset first.
    runs_begun: std::sync::atomic::AtomicUsize,
}

impl Session {
    /// A session with these options; its modules (if any) are loaded now and log to stderr
    /// (`[id] level: text`).
    pub fn new(options: SessionOptions) -> Self {
        Self::build(options, Arc::new(StderrSink), AbortFlag::new())
    }

    /// A session whose modules log to `log` (load failures included, one line each).
    pub fn with_module_log(options: SessionOptions, log: Arc<dyn LogSink>) -> Self {
        Self::build(options, log, AbortFlag::new())
    }

    /// A session that `abort` aborts (a signal handler's flag, or one a host keeps across the
    /// sessions it rebuilds).
    pub fn with_abort_flag(options: SessionOptions, abort: AbortFlag) -> Self {
        Self::build(options, Arc::new(StderrSink), abort)
    }

    fn build(options: SessionOptions, log: Arc<dyn LogSink>, abort: AbortFlag) -> Self {
        let cutoff = Arc::new(Cutoff::new(abort.clone()));
        let host =
            (!options.modules.is_empty()).then(|| modules::load_host(&options.modules, log, cutoff.clone()));
        Self {
            options,
            abort,
            host,
            cutoff,
            runs_begun: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// When the work of a run must end early, and whether the target is stopped now (a
    /// watchdog of the host reads it).
    pub fn cutoff(&self) -> Arc<Cutoff> {
        self.cutoff.clone()
    }

    /// The module host, when modules were asked for.
    pub fn module_host(&self) -> Option<&PmoduleHost> {
        self.host.as_ref()
    }

    /// The host, when at least one module loaded.
    fn active_host(&self) -> Option<&PmoduleHost> {
        self.host.as_ref().filter(|h| !h.module_ids().is_empty())
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
        on_tracer_thread(|| self.run(Instant::now(), || process_target::open(self, pid)))
    }

    /// Runs `program` traced until it exits or a thread gets a fatal signal; on a fatal signal,
    /// snapshots it, then lets the signal take its course.
    pub fn run_and_catch(&self, program: &OsStr, args: &[OsString]) -> Result<ExecResult, SessionError> {
        on_tracer_thread(|| match crash_target::run_until_crash(self, program, args)? {
            Ok(crash) => self.run(crash.stopped.stopped_at(), || crash_target::open(self, crash)),
            Err(end) => Ok(ExecResult::Ended(end)),
        })
    }

    /// Reads the core file at `core` (of a process run from `exe` when given; else the
    /// executable the core names) and returns the snapshot the process would have given, the
    /// modules' events fired as for a live process. Nothing runs or is stopped.
    pub fn snapshot_core(&self, core: &Path, exe: Option<&Path>) -> Result<Snapshot, SessionError> {
        on_tracer_thread(|| self.run(Instant::now(), || core_target::open(self, core, exe)))
    }
}

impl Drop for Session {
    /// Runs every module's `unload` before the session goes.
    fn drop(&mut self) {
        if let Some(host) = &self.host {
            host.unload();
        }
    }
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
