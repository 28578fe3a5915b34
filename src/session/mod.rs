//! One snapshot run: options, the phases (prepare before the stop, capture while stopped, build
//! after resuming) and timing.
//!
//! Every run happens on a thread of its own ("ptrace-tracer"): ptrace binds a tracee to the thread
//! that attached, so all tracing of a run must come from one thread, whichever thread of a host
//! program calls in; a panic inside a run is contained there, after the tracer's guards have
//! detached the target.

mod access;
mod assemble;
mod capture;
mod core_target;
mod modules;
pub mod named;
mod pointees;
mod prepare;
mod stop;
mod target;
mod thread_tls;
mod warm;

use std::path::{Path, PathBuf};

use crate::cutoff::Cutoff;
use crate::debuginfo::DebugInfoError;
use crate::procinfo::{self, ProcInfoError};
use crate::snapshot::{AttributeValue, Snapshot};
use crate::tracer::{self, AbortFlag, ChildEnd, ExecOutcome, StopOptions, StoppedProcess, TracerError};
use crate::variables::VariableLimits;
use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

pub use access::TargetAccess;
pub use assemble::FaultMark;
pub use modules::ModuleSettings;

use crate::pmodule::{LogSink, PmoduleHost, StderrSink};
use crate::procinfo::ProcessInfo;
use crate::variables::{GlobalPlan, GlobalVariable, StringCopies};
use std::sync::Arc;
use stop::StopWatch;

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
    pub debuginfod: crate::debuginfod::Settings,
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
            debuginfod: crate::debuginfod::Settings::default(),
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
}

/// What the stopped phase leaves for after the resume.
struct AfterStop {
    /// The threads, when they still have to be put into the snapshot.
    captured: Vec<capture::CapturedThread>,
    /// The globals read, when they still have to be put into the snapshot.
    global_values: Vec<crate::snapshot::Variable>,
    /// Whether the threads and globals are in the snapshot already (modules saw them).
    assembled: bool,
    /// The strings the variables left to build point to, copied while stopped.
    strings: StringCopies,
    /// How many threads' variables were not read (the stop limit was reached first).
    threads_left_out: usize,
    /// Whether the modules' thread, frame and variable events were not fired at all (the stop
    /// limit was reached before).
    events_skipped: bool,
    /// What the modules' events used while stopped (bt variables): freed after the resume, as
    /// freeing is not work the stop needs.
    _leftovers: Option<modules::CapturedBtVariables>,
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
        on_tracer_thread(|| self.snapshot_pid_here(pid))
    }

    /// Runs `program` traced until it exits or a thread gets a fatal signal; on a fatal signal,
    /// snapshots it, then lets the signal take its course.
    pub fn run_and_catch(&self, program: &OsStr, args: &[OsString]) -> Result<ExecResult, SessionError> {
        on_tracer_thread(|| self.run_and_catch_here(program, args))
    }

    /// Reads the core file at `core` (of a process run from `exe` when given; else the
    /// executable the core names) and returns the snapshot the process would have given, the
    /// modules' events fired as for a live process. Nothing runs or is stopped.
    pub fn snapshot_core(&self, core: &Path, exe: Option<&Path>) -> Result<Snapshot, SessionError> {
        on_tracer_thread(|| self.snapshot_core_here(core, exe))
    }

    fn snapshot_core_here(&self, path: &Path, exe: Option<&Path>) -> Result<Snapshot, SessionError> {
        let started = Instant::now();
        if let Some(host) = &self.host {
            host.engine().begin_snapshot();
        }
        let core = crate::core::CoreFile::open(path).map_err(|source| SessionError::Core {
            file: path.display().to_string(),
            source,
        })?;
        let (maps, core_warnings) = core_target::object_maps(&core, exe);
        let prepared = Arc::new(prepare::PreparedProcess::load_from(
            maps,
            core.memory(),
            &self.options.core_search(),
            &self.options.debuginfod,
        )?);
        core_target::check_executable(&prepared, &core, exe)?;
        core_target::read_left_out_from_files(&core, &prepared);
        let executable = match exe {
            Some(exe) => std::fs::canonicalize(exe)
                .unwrap_or_else(|_| exe.to_path_buf())
                .display()
                .to_string(),
            None => core.executable_path().unwrap_or_default(),
        };
        let (pid, info) = core_target::process_info(&core, executable);
        let fault = match self.options.fault_thread {
            Some(tid) => Some(FaultMark::marked_thread(tid)),
            None => core_target::fault(&core),
        };
        let origin = core_target::origin(&core, path);
        let target = core_target::CoreTarget::new(core, self.options.only_thread, self.options.stack_limit);
        let Staged {
            mut snapshot,
            globals,
            thread_locals,
            thread_local_plans,
            access,
        } = self.stage(pid, &info, &prepared, || {
            TargetAccess::of_core(
                core_target::shared_memory(&target),
                prepared.clone(),
                self.options.variable_limits(),
            )
        });
        snapshot.warnings.extend(core_warnings);
        snapshot.core = Some(origin);
        self.check_abort()?;
        // Nothing is stopped, but the limit bounds the modules' work as it does for a process.
        let threads = target::StoppedTarget::threads(&target).len();
        let stop = StopWatch::start(
            &self.cutoff,
            self.active_host(),
            Instant::now(),
            self.options.stop_limit,
            threads,
        );
        let after = self.stopped_phase(
            &target,
            &prepared,
            &info,
            &mut snapshot,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                thread_local_plans: &thread_local_plans,
                tls_thread: fault.as_ref().map_or(pid, |f| f.0.tid),
            },
            fault.clone(),
            access.as_deref(),
        );
        let cut_short = stop.end(&stop::LeftOut {
            threads: after.threads_left_out,
            of_threads: threads,
            events: after.events_skipped,
            hold: false,
        });
        self.check_abort()?;
        self.finish_assembly(&mut snapshot, after, &info, &prepared, fault, &thread_local_plans);
        assemble::set_timing(&mut snapshot, Duration::ZERO, started);
        self.conclude(&mut snapshot, cut_short);
        self.check_abort()?;
        Ok(snapshot)
    }

    fn snapshot_pid_here(&self, pid: i32) -> Result<Snapshot, SessionError> {
        let started = Instant::now();
        if let Some(host) = &self.host {
            host.engine().begin_snapshot();
        }
        tracer::check_traceable(pid)?;
        let info = procinfo::read_process(pid)?;
        // Everything heavy happens now, before the stop.
        let prepared = Arc::new(
            prepare::PreparedProcess::load(pid, &self.options.debug_search(pid), &self.options.debuginfod)
                .map_err(|e| match e {
                    DebugInfoError::Maps { source, .. }
                        if source.kind() == std::io::ErrorKind::PermissionDenied =>
                    {
                        SessionError::Tracer(TracerError::permission_denied(pid))
                    }
                    other => other.into(),
                })?,
        );
        let Staged {
            mut snapshot,
            globals,
            thread_locals,
            thread_local_plans,
            access,
        } = self.stage(pid, &info, &prepared, || self.process_access(pid, &prepared));
        if self.options.variables {
            // What the stop will read of the DWARF, guessed from the running threads' stacks.
            warm::prepare_stopped_code(
                pid,
                &prepared,
                &self.options.variable_limits(),
                self.options.stack_limit,
            );
        }
        self.check_abort()?;
        let mut stopped = StoppedProcess::stop(pid, &self.stop_options(&prepared), &self.abort)?;
        let stop = StopWatch::start(
            &self.cutoff,
            self.active_host(),
            stopped.stopped_at(),
            self.options.stop_limit,
            stopped.threads().len(),
        );
        let fault = self.options.fault_thread.map(FaultMark::marked_thread);
        let after = self.stopped_phase(
            &stopped,
            &prepared,
            &info,
            &mut snapshot,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                thread_local_plans: &thread_local_plans,
                tls_thread: self.options.fault_thread.unwrap_or(pid),
            },
            fault.clone(),
            access.as_deref(),
        );
        let held_to_the_limit = self.hold_if_asked(&stopped)?;
        self.check_abort()?;
        let stopped_for = stopped.detach()?;
        let death = stopped.died_while_stopped();
        let threads = stopped.threads().len();
        drop(stopped);
        let cut_short = stop.end(&stop::LeftOut {
            threads: after.threads_left_out,
            of_threads: threads,
            events: after.events_skipped,
            hold: held_to_the_limit,
        });
        self.check_abort()?;
        self.finish_assembly(&mut snapshot, after, &info, &prepared, fault, &thread_local_plans);
        self.check_abort()?;
        assemble::set_timing(&mut snapshot, stopped_for, started);
        if let Some(death) = death {
            snapshot.incomplete = true;
            snapshot.process_state = crate::pmodule::ProcessState::Dead.name().to_string();
            snapshot.warnings.push(format!(
                "process {pid} {death} while it was stopped: what was read after it died is missing"
            ));
        }
        self.conclude(&mut snapshot, cut_short);
        self.check_abort()?;
        match death {
            Some(death) => Err(SessionError::TargetDied {
                pid,
                death,
                snapshot: Box::new(snapshot),
            }),
            None => Ok(snapshot),
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
    fn check_abort(&self) -> Result<(), SessionError> {
        if self.abort.is_aborted() {
            return Err(SessionError::Aborted);
        }
        Ok(())
    }

    /// Everything between loading the debug info and the stop: the snapshot's skeleton, the
    /// globals and thread-locals to read, the function-name tables the stopped phase searches,
    /// the modules' access to the process, and `preattach`.
    fn stage(
        &self,
        pid: i32,
        info: &ProcessInfo,
        prepared: &Arc<prepare::PreparedProcess>,
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
    fn globals_to_read(
        &self,
        prepared: &prepare::PreparedProcess,
        snapshot: &mut Snapshot,
    ) -> Vec<GlobalVariable> {
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
    fn thread_locals(
        &self,
        prepared: &prepare::PreparedProcess,
        snapshot: &mut Snapshot,
    ) -> Vec<GlobalVariable> {
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

    /// The modules' access to live process `pid`.
    fn process_access(&self, pid: i32, prepared: &Arc<prepare::PreparedProcess>) -> TargetAccess {
        TargetAccess::new(pid, prepared.clone(), self.options.variable_limits())
    }

    /// Takes the process access away from the modules (the snapshot is done).
    fn disconnect_modules(&self) {
        if let Some(host) = self.active_host() {
            host.set_process_access(None);
            host.set_typed_memory(None);
        }
    }

    /// The work done while the target is stopped: `attach`, unwinding, variables (tail-call
    /// frames' and each thread's thread-local ones included) and globals, and (only when modules
    /// listen to them) the frames symbolized and the variable, frame and thread events fired.
    /// Without such modules, symbolization waits for the resume.
    #[allow(clippy::too_many_arguments)]
    fn stopped_phase(
        &self,
        stopped: &dyn target::StoppedTarget,
        prepared: &prepare::PreparedProcess,
        info: &ProcessInfo,
        snapshot: &mut Snapshot,
        wanted: &Wanted<'_>,
        fault: Option<FaultMark>,
        access: Option<&TargetAccess>,
    ) -> AfterStop {
        let host = self.active_host();
        if let Some(host) = host {
            host.fire_attach(snapshot);
        }
        let mut captured = capture::capture(
            stopped,
            &prepared.unwinder,
            self.options.max_frames,
            !self.options.sequential_capture,
        );
        if let Some(access) = access {
            for thread in &captured {
                access.set_thread_pointer(thread.tid, thread.user_regs.fs_base);
            }
        }
        let limits = self.options.variable_limits();
        let with_bt = host.is_some_and(modules::wants_bt_variables);
        let strings = StringCopies::new();
        // Modules that see variables while stopped need them built now; otherwise they are only
        // located now and built after the resume.
        let extraction = if with_bt {
            capture::Extraction::BuiltWithBt
        } else if host.is_some_and(modules::wants_stopped_events) || self.options.build_while_stopped {
            capture::Extraction::Built
        } else {
            capture::Extraction::Pending(&strings)
        };
        let threads_left_out = if self.options.variables {
            capture::capture_variables(
                stopped,
                &mut captured,
                prepared,
                wanted.thread_local_plans,
                &limits,
                extraction,
                !self.options.sequential_capture,
                &self.cutoff,
            )
        } else {
            0
        };
        let global_values =
            capture::capture_globals(stopped, prepared, wanted.globals, &limits, wanted.tls_thread);
        let listening = host.filter(|h| modules::wants_stopped_events(h));
        // Once the limit is reached, the threads are not put together for the modules' events
        // while stopped (none could be delivered): that waits for the resume.
        let events_skipped = listening.is_some() && self.cutoff.reason().is_some();
        let Some(host) = listening.filter(|_| !events_skipped) else {
            return AfterStop {
                captured,
                global_values,
                assembled: false,
                strings,
                threads_left_out,
                events_skipped,
                _leftovers: None,
            };
        };
        let mut builder = assemble::FrameBuilder::new(self.options.all_registers);
        let bts = assemble::add_threads(snapshot, &mut captured, info, prepared, fault, &mut builder);
        snapshot.globals.extend(global_values);
        let source = modules::CapturedBtVariables::new(
            bts,
            captured
                .iter_mut()
                .map(|thread| std::mem::take(&mut thread.thread_local_bt_variables))
                .collect(),
            wanted.thread_locals.iter().map(modules::origin_of).collect(),
        );
        for thread in 0..snapshot.threads.len() {
            host.fire_thread_events(snapshot, thread, &source);
        }
        for (index, global) in wanted.globals.iter().enumerate() {
            let bt = with_bt.then(|| {
                access::wrap(capture::global_bt_variable(
                    stopped,
                    prepared,
                    global,
                    wanted.tls_thread,
                ))
            });
            host.fire_global(snapshot, index, modules::origin_of(global), bt);
        }
        AfterStop {
            // What is left of the threads once in the snapshot, to free after the resume.
            captured,
            global_values: Vec::new(),
            assembled: true,
            strings,
            threads_left_out,
            events_skipped: false,
            _leftovers: Some(source),
        }
    }

    /// After the resume: puts the threads and globals into the snapshot unless the stopped
    /// phase did.
    fn finish_assembly(
        &self,
        snapshot: &mut Snapshot,
        mut after: AfterStop,
        info: &ProcessInfo,
        prepared: &prepare::PreparedProcess,
        fault: Option<FaultMark>,
        thread_local_plans: &[GlobalPlan],
    ) {
        if after.assembled {
            pointees::name_pointees(snapshot, &prepared.objects);
            snapshot.warnings.extend(prepared.objects.debug_warnings());
            return;
        }
        capture::build_pending(
            &mut after.captured,
            prepared,
            &self.options.variable_limits(),
            &std::mem::take(&mut after.strings).freeze(),
            thread_local_plans,
        );
        let mut builder = assemble::FrameBuilder::new(self.options.all_registers);
        assemble::add_threads(snapshot, &mut after.captured, info, prepared, fault, &mut builder);
        snapshot.globals.extend(after.global_values);
        pointees::name_pointees(snapshot, &prepared.objects);
        // Once the frames are symbolized and their variables built: most defects of the debug
        // info are found doing that.
        snapshot.warnings.extend(prepared.objects.debug_warnings());
    }

    fn run_and_catch_here(&self, program: &OsStr, args: &[OsString]) -> Result<ExecResult, SessionError> {
        let stop = StopOptions {
            stack_limit: self.options.stack_limit,
            ..StopOptions::default()
        };
        if let Some(host) = &self.host {
            host.engine().begin_snapshot();
        }
        let crash = match tracer::run_until_crash(program, args, &stop, &self.abort)? {
            ExecOutcome::Exited(code) => return Ok(ExecResult::Ended(ChildEnd::Exited(code))),
            ExecOutcome::Signaled(signal) => return Ok(ExecResult::Ended(ChildEnd::Signaled(signal))),
            ExecOutcome::Crashed(crash) => crash,
        };
        let started = crash.stopped.stopped_at();
        let pid = crash.stopped.pid();
        // The program is stopped at its fault: what is read now cannot change any more.
        let info = procinfo::read_process(pid)?;
        // Nothing is downloaded while the program waits: only the debuginfod cache is used.
        let prepared = Arc::new(prepare::PreparedProcess::load(
            pid,
            &self.options.debug_search(pid),
            &self.options.debuginfod.cache_only(),
        )?);
        let Staged {
            mut snapshot,
            globals,
            thread_locals,
            thread_local_plans,
            access,
        } = self.stage(pid, &info, &prepared, || self.process_access(pid, &prepared));
        let fault = FaultMark::from_tracer(&crash.fault);
        // The debug info is loaded after the crash, while the program waits: the limit bounds
        // the work of the stopped phase from here on.
        let stop_watch = StopWatch::start(
            &self.cutoff,
            self.active_host(),
            Instant::now(),
            self.options.stop_limit,
            crash.stopped.threads().len(),
        );
        let after = self.stopped_phase(
            &crash.stopped,
            &prepared,
            &info,
            &mut snapshot,
            &Wanted {
                globals: &globals,
                thread_locals: &thread_locals,
                thread_local_plans: &thread_local_plans,
                tls_thread: crash.fault.tid,
            },
            Some(fault.clone()),
            access.as_deref(),
        );
        let held_to_the_limit = self.hold_if_asked(&crash.stopped)?;
        self.check_abort()?;
        let cut_short = stop_watch.end(&stop::LeftOut {
            threads: after.threads_left_out,
            of_threads: crash.stopped.threads().len(),
            events: after.events_skipped,
            hold: held_to_the_limit,
        });
        let stopped_for = crash.stopped.stopped_at().elapsed();
        self.finish_assembly(
            &mut snapshot,
            after,
            &info,
            &prepared,
            Some(fault),
            &thread_local_plans,
        );
        assemble::set_timing(&mut snapshot, stopped_for, started);
        // Letting the fatal signal through ends the program: `postattach` runs before, while its
        // memory can still be read.
        self.conclude(&mut snapshot, cut_short);
        let end = crash.finish()?;
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
    /// [`SessionError::Aborted`] when the abort flag is set, and when the target dies. Returns
    /// whether the stop limit cut the hold short.
    fn hold_if_asked(&self, stopped: &StoppedProcess) -> Result<bool, SessionError> {
        let Some(hold) = self.options.hold_stopped else {
            return Ok(false);
        };
        let until = Instant::now() + hold;
        loop {
            self.check_abort()?;
            if self.cutoff.deadline_passed().is_some() {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= until || stopped.seems_dead() {
                return Ok(false);
            }
            let step = (until - now)
                .min(self.cutoff.remaining().unwrap_or(Duration::MAX))
                .min(Duration::from_millis(5));
            std::thread::sleep(step);
        }
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

/// What [`Session::stage`] prepared before the stop.
struct Staged {
    snapshot: Snapshot,
    globals: Vec<GlobalVariable>,
    thread_locals: Vec<GlobalVariable>,
    /// The plans of `thread_locals`, same order.
    thread_local_plans: Vec<GlobalPlan>,
    access: Option<Arc<TargetAccess>>,
}

/// The variables a run reads besides the frames': globals asked for, thread-local variables, and
/// the thread whose thread-local globals are read (the faulting one, else the main thread).
struct Wanted<'a> {
    globals: &'a [GlobalVariable],
    thread_locals: &'a [GlobalVariable],
    /// The plans of `thread_locals`, same order.
    thread_local_plans: &'a [GlobalPlan],
    tls_thread: i32,
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
