//! [`PmoduleHost`]: the seam the session (and the C embedding API) calls: load modules, give the
//! engine access to the target, fire events on the snapshot under construction.

use super::access::{BtVar, ProcessAccess, TypedMemory};
use super::dispatch::{dispatch, dispatch_to};
use super::engine::{Engine, Listener};
use super::handles::{FrameRef, ThreadRef, VarOwner, VarPath, VarRef};
use super::kinds::{Event, LogLevel};
use super::loader::{LoadError, ModuleLoader};
use super::log::LogSink;
use super::matcher::Match;
use super::module::{EventArgs, ModuleKey};
use super::options::ModuleOptions;
use super::scene::{Insertion, Origin};
use crate::snapshot::{Snapshot, Timing};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Gives the bt variables of the variables of one thread, by their positions as extracted (the
/// walker keeps track of what modules insert).
pub trait VariableSource {
    /// The bt variable of top-level variable `var` of frame `frame` of thread `thread`.
    fn frame_variable(&self, thread: usize, frame: usize, var: usize) -> Option<BtVar> {
        let _ = (thread, frame, var);
        None
    }
    /// The bt variable of thread-local variable `var` of thread `thread`.
    fn thread_local(&self, thread: usize, var: usize) -> Option<BtVar> {
        let _ = (thread, var);
        None
    }
    /// Where thread-local variable `var` of thread `thread` is defined.
    fn thread_local_origin(&self, thread: usize, var: usize) -> Option<Origin> {
        let _ = (thread, var);
        None
    }
}

/// No bt variables at all.
impl VariableSource for () {}

/// The module host.
pub struct PmoduleHost {
    engine: Arc<Engine>,
    loaders: Vec<Box<dyn ModuleLoader>>,
}

/// An empty snapshot, left in the caller's place while the real one is in the scene.
/// The listeners of one event, taken again only when the registrations change (a callback may
/// register or unregister): the variable events ask for them once per variable.
struct CurrentListeners {
    event: Event,
    version: u64,
    list: Arc<[Listener]>,
}

impl CurrentListeners {
    fn new(engine: &Engine, event: Event) -> Self {
        let version = engine.listeners_version();
        CurrentListeners {
            event,
            version,
            list: engine.ready_listeners(event),
        }
    }

    /// The listeners as the registrations are now.
    fn current(&mut self, engine: &Engine) -> &[Listener] {
        if engine.listeners_version() != self.version {
            *self = CurrentListeners::new(engine, self.event);
        }
        &self.list
    }
}

fn placeholder_snapshot() -> Snapshot {
    Snapshot {
        format: String::new(),
        version: 0,
        pid: 0,
        nspid: None,
        application: String::new(),
        executable: String::new(),
        process_state: String::new(),
        timestamp: 0,
        fault: None,
        threads: Vec::new(),
        globals: Vec::new(),
        attributes: BTreeMap::new(),
        classifiers: Vec::new(),
        tags: Vec::new(),
        annotations: Vec::new(),
        modules: Vec::new(),
        timing: Timing::default(),
        warnings: Vec::new(),
        module_failures: Vec::new(),
        incomplete: false,
        core: None,
    }
}

/// Puts the snapshot back where it came from, even when unwinding.
struct SnapshotLoan<'a> {
    engine: &'a Engine,
    place: &'a mut Snapshot,
}

impl Drop for SnapshotLoan<'_> {
    fn drop(&mut self) {
        if let Some(snapshot) = self.engine.with_scene(|scene| scene.snapshot.take()) {
            *self.place = snapshot;
        }
    }
}

impl PmoduleHost {
    /// A host with no loader yet; module options from `--module`, log lines to `log`.
    pub fn new(options: ModuleOptions, log: Arc<dyn LogSink>) -> Self {
        Self::with_cutoff(options, log, Arc::default())
    }

    /// [`new`](Self::new), with callbacks ended early when `cutoff` says.
    pub fn with_cutoff(
        options: ModuleOptions,
        log: Arc<dyn LogSink>,
        cutoff: Arc<crate::cutoff::Cutoff>,
    ) -> Self {
        PmoduleHost {
            engine: Engine::with_cutoff(options, log, cutoff),
            loaders: Vec::new(),
        }
    }

    /// Adds a loader (one per module language).
    pub fn add_loader(&mut self, loader: Box<dyn ModuleLoader>) {
        self.loaders.push(loader);
    }

    /// The engine (for language bindings and tests).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    // ---- loading -------------------------------------------------------------------------

    /// Loads one module file (`--module-load`); returns the ids it defined. A failure is also
    /// logged; nothing of a failed file stays registered.
    pub fn load_file(&self, path: &Path) -> Result<Vec<String>, LoadError> {
        let result = match self.loaders.iter().find(|l| l.accepts(path)) {
            Some(loader) => loader.load(path, &self.engine),
            None => Err(LoadError {
                path: path.display().to_string(),
                message: format!(
                    "no module loader takes this file (known: {})",
                    self.loaders
                        .iter()
                        .map(|l| l.language())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        };
        match result {
            Ok(keys) => Ok(keys.into_iter().map(|k| self.engine.module_id(k)).collect()),
            Err(e) => {
                self.engine.log(
                    &path_label(path),
                    LogLevel::Error,
                    &format!("module not loaded: {e}"),
                );
                Err(e)
            }
        }
    }

    /// Loads every module file of `dir` a loader takes, in name order (`--module-path`).
    /// Files that fail are reported (returned and logged) and skipped; the others load.
    pub fn load_path(&self, dir: &Path) -> Result<Vec<LoadError>, LoadError> {
        let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
            path: dir.display().to_string(),
            message: format!("cannot read the module directory: {e}"),
        })?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && self.loaders.iter().any(|l| l.accepts(p)))
            .collect();
        files.sort();
        Ok(files.iter().filter_map(|f| self.load_file(f).err()).collect())
    }

    /// The ids of the loaded modules, in load order.
    pub fn module_ids(&self) -> Vec<String> {
        self.engine.modules().into_iter().map(|(_, id, _)| id).collect()
    }

    // ---- target access -------------------------------------------------------------------

    /// Sets (or clears) the raw target access modules read memory and symbols through.
    pub fn set_process_access(&self, access: Option<Arc<dyn ProcessAccess>>) {
        self.engine.set_process_access(access);
    }

    /// Sets (or clears) the typed memory behind bt variables.
    pub fn set_typed_memory(&self, typed: Option<Arc<dyn TypedMemory>>) {
        self.engine.set_typed_memory(typed);
    }

    // ---- what modules listen to ----------------------------------------------------------

    /// Whether any module listens to `event`.
    pub fn wants(&self, event: Event) -> bool {
        self.engine.wants(event)
    }

    /// Whether any module listens to variable events (else the session may skip building bt
    /// variables).
    pub fn wants_variable_events(&self) -> bool {
        self.wants(Event::Variable)
    }

    /// Whether a variable callback receives bt variables (else the session need not build them).
    pub fn wants_variable_bt(&self) -> bool {
        self.engine.wants_bt(Event::Variable)
    }

    /// Whether a registered variable match selects the global `name` of `object` / `cu` by name
    /// (such globals are extracted and get their variable event with no `--global` option).
    pub fn selects_global(&self, name: &str, object: &str, cu: &str) -> bool {
        self.global_selectors()
            .iter()
            .any(|m| m.selects_global(name, object, cu))
    }

    /// The variable-event matches that name variables (to select globals by name).
    pub fn global_selectors(&self) -> Vec<Match> {
        self.engine
            .listeners(Event::Variable)
            .into_iter()
            .filter_map(|r| r.filter)
            .filter(|m| !m.names.is_empty())
            .collect()
    }

    // ---- events --------------------------------------------------------------------------

    /// Runs `f` with `snapshot` in the scene.
    fn with_snapshot<R>(&self, snapshot: &mut Snapshot, attached: bool, f: impl FnOnce(&Engine) -> R) -> R {
        let taken = std::mem::replace(snapshot, placeholder_snapshot());
        self.engine.with_scene(|scene| {
            scene.snapshot = Some(taken);
            scene.attached = attached;
        });
        let _loan = SnapshotLoan {
            engine: &self.engine,
            place: snapshot,
        };
        f(&self.engine)
    }

    fn fire_backtrace(&self, snapshot: &mut Snapshot, event: Event, attached: bool) {
        if !self.wants(event) {
            return;
        }
        self.with_snapshot(snapshot, attached, |engine| {
            dispatch(engine, event, EventArgs::Backtrace)
        });
    }

    /// `preattach`: before the target is stopped (the snapshot holds what is known so far).
    pub fn fire_preattach(&self, snapshot: &mut Snapshot) {
        self.fire_backtrace(snapshot, Event::Preattach, false);
    }

    /// `attach`: every thread stopped, before extraction.
    pub fn fire_attach(&self, snapshot: &mut Snapshot) {
        self.fire_backtrace(snapshot, Event::Attach, true);
    }

    /// `postattach`: the target runs again and the snapshot is complete. The extracted members
    /// of variables modules skipped are dropped before it, and again after it, when the
    /// snapshot's states are settled (see [`super::state`]).
    pub fn fire_postattach(&self, snapshot: &mut Snapshot) {
        super::state::settle(snapshot, false);
        self.fire_backtrace(snapshot, Event::Postattach, false);
        super::state::settle(snapshot, true);
    }

    /// The variable event of the variable at `path` (a frame, thread-local or global variable
    /// of `snapshot`), with its bt variable. Returns what modules inserted.
    pub fn fire_variable(&self, snapshot: &mut Snapshot, path: VarPath, bt: Option<BtVar>) -> Vec<Insertion> {
        if !self.wants(Event::Variable) {
            return Vec::new();
        }
        self.with_snapshot(snapshot, true, |engine| {
            dispatch(
                engine,
                Event::Variable,
                EventArgs::Variable {
                    var: VarRef::Node(path),
                    bt,
                },
            )
        })
    }

    /// The frame event of frame `frame` of thread `thread`. Returns what modules inserted.
    pub fn fire_frame(&self, snapshot: &mut Snapshot, thread: usize, frame: usize) -> Vec<Insertion> {
        if !self.wants(Event::Frame) {
            return Vec::new();
        }
        self.with_snapshot(snapshot, true, |engine| {
            dispatch(
                engine,
                Event::Frame,
                EventArgs::Frame(FrameRef::Node { thread, frame }),
            )
        })
    }

    /// The thread event of thread `thread`. Returns what modules inserted.
    pub fn fire_thread(&self, snapshot: &mut Snapshot, thread: usize) -> Vec<Insertion> {
        if !self.wants(Event::Thread) {
            return Vec::new();
        }
        self.with_snapshot(snapshot, true, |engine| {
            dispatch(engine, Event::Thread, EventArgs::Thread(ThreadRef(thread)))
        })
    }

    /// Records where global `index` of `snapshot` is defined and fires its variable event.
    pub fn fire_global(&self, snapshot: &mut Snapshot, index: usize, origin: Origin, bt: Option<BtVar>) {
        self.engine
            .with_scene(|scene| scene.set_global_origin(index, origin));
        self.fire_variable(snapshot, VarPath::top(VarOwner::Global, index), bt);
    }

    /// Every event of thread `thread`, in the order of §1: the variable events of frame 0, frame
    /// 0's event, the variables of frame 1, frame 1, ..., then the thread-local variables and
    /// the thread event. The thread's frames and variables must be in `snapshot`. Frames and
    /// variables that modules insert get no events; the positions given to `source` are the
    /// extracted ones.
    pub fn fire_thread_events(&self, snapshot: &mut Snapshot, thread: usize, source: &dyn VariableSource) {
        let wants_vars = self.wants(Event::Variable);
        let wants_frames = self.wants(Event::Frame);
        let wants_thread = self.wants(Event::Thread);
        if !(wants_vars || wants_frames || wants_thread) {
            return;
        }
        self.with_snapshot(snapshot, true, |engine| {
            let tls_count = engine.with_scene(|scene| {
                let count = scene
                    .thread(ThreadRef(thread))
                    .map(|t| t.variables.len())
                    .unwrap_or(0);
                for i in 0..count {
                    if let Some(origin) = source.thread_local_origin(thread, i) {
                        scene.set_tls_origin(thread, i, origin);
                    }
                }
                count
            });
            let frame_count =
                engine.with_scene(|s| s.thread(ThreadRef(thread)).map(|t| t.frames.len()).unwrap_or(0));
            let mut variable_listeners = CurrentListeners::new(engine, Event::Variable);
            let mut position = 0usize;
            for extracted in 0..frame_count {
                if engine.callback_cutoff().is_some() {
                    // None of the rest would be delivered: counted, not walked.
                    let rest = engine.with_scene(|scene| {
                        let frames = scene
                            .thread(ThreadRef(thread))
                            .map(|t| t.frames.get(position..).unwrap_or_default())
                            .unwrap_or_default();
                        let variables: usize = frames.iter().map(|f| f.variables.len()).sum();
                        usize::from(wants_vars) * (variables + tls_count)
                            + usize::from(wants_frames) * frames.len()
                            + usize::from(wants_thread)
                    });
                    engine.note_cut_events(rest as u64);
                    return;
                }
                if wants_vars {
                    let var_count = engine.with_scene(|s| {
                        s.frame(FrameRef::Node {
                            thread,
                            frame: position,
                        })
                        .map(|f| f.variables.len())
                        .unwrap_or(0)
                    });
                    let mut var_position = 0usize;
                    for var in 0..var_count {
                        let owner = VarOwner::Frame {
                            thread,
                            frame: position,
                        };
                        let listeners = variable_listeners.current(engine);
                        let args = EventArgs::Variable {
                            var: VarRef::Node(VarPath::top(owner, var_position)),
                            bt: if listeners.iter().any(|l| l.wants_bt) {
                                source.frame_variable(thread, extracted, var)
                            } else {
                                None
                            },
                        };
                        for insertion in dispatch_to(engine, listeners, Event::Variable, args) {
                            follow(&insertion, thread, &mut position, Some(&mut var_position));
                        }
                        var_position += 1;
                    }
                }
                if wants_frames {
                    let args = EventArgs::Frame(FrameRef::Node {
                        thread,
                        frame: position,
                    });
                    for insertion in dispatch(engine, Event::Frame, args) {
                        follow(&insertion, thread, &mut position, None);
                    }
                }
                position += 1;
            }
            if wants_vars {
                let mut var_position = 0usize;
                for var in 0..tls_count {
                    let owner = VarOwner::ThreadLocal { thread };
                    let listeners = variable_listeners.current(engine);
                    let args = EventArgs::Variable {
                        var: VarRef::Node(VarPath::top(owner, var_position)),
                        bt: if listeners.iter().any(|l| l.wants_bt) {
                            source.thread_local(thread, var)
                        } else {
                            None
                        },
                    };
                    for insertion in dispatch_to(engine, listeners, Event::Variable, args) {
                        if let Insertion::Variable { owner: o, at } = insertion {
                            if o == owner && at <= var_position {
                                var_position += 1;
                            }
                        }
                    }
                    var_position += 1;
                }
            }
            if wants_thread {
                dispatch(engine, Event::Thread, EventArgs::Thread(ThreadRef(thread)));
            }
        });
    }

    // ---- lifecycle -----------------------------------------------------------------------

    /// Between snapshots: forgets the last snapshot's side data and runs every module's `reset`.
    pub fn reset(&self) {
        self.engine.with_scene(|scene| scene.clear());
        self.for_each_module("reset", |instance, key| instance.reset(key));
    }

    /// Before exit: runs every module's `unload`.
    pub fn unload(&self) {
        self.for_each_module("unload", |instance, key| instance.unload(key));
    }

    fn for_each_module(
        &self,
        what: &str,
        f: impl Fn(&dyn super::module::ModuleInstance, ModuleKey) -> Result<(), super::module::CallbackFailure>,
    ) {
        for (key, _, _) in self.engine.modules() {
            let Some(instance) = self.engine.instance(key) else {
                continue;
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(instance.as_ref(), key)))
                .unwrap_or_else(|_| Err(super::module::CallbackFailure::new("internal error (panic)")));
            if let Err(failure) = result {
                self.engine.record_failure(key, what, &failure);
            }
            self.engine.with_scene(|scene| scene.end_callback());
        }
    }
}

impl Drop for PmoduleHost {
    fn drop(&mut self) {
        self.engine.clear_instances();
    }
}

/// Keeps the walker's frame (and variable) position in place across one insertion.
fn follow(insertion: &Insertion, thread: usize, frame: &mut usize, var: Option<&mut usize>) {
    match insertion {
        Insertion::Frame { thread: t, at } if *t == thread && *at <= *frame => *frame += 1,
        Insertion::Variable {
            owner: VarOwner::Frame { thread: t, frame: f },
            at,
        } if *t == thread && *f == *frame => {
            if let Some(var) = var {
                if *at <= *var {
                    *var += 1;
                }
            }
        }
        _ => {}
    }
}

/// A label for log lines about a file (its base name).
fn path_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
