//! The engine shared by the host and every module instance: module records (ids unique),
//! registrations, module options, the log sink, the providers of target access, and the scene.
//! Module instances hold an `Arc<Engine>` and call it from their API functions; the engine never
//! calls into a module while it holds one of its locks.

use super::access::{ProcessAccess, TypedMemory};
use super::failures::{failure_text, no_more_text, FailureLog, Say};
use super::kinds::{Event, LogLevel};
use super::log::{LogRecord, LogSink};
use super::matcher::Match;
use super::module::{CallbackFailure, CallbackId, ModuleInstance, ModuleKey};
use super::options::ModuleOptions;
use super::scene::Scene;
use crate::cutoff::{Cutoff, CutoffReason};
use crate::snapshot::ModuleFailure;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// Why a module could not be defined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefineError {
    /// Another module already has this id.
    #[error("module id '{id}' is already defined by {first}; the module of {second} is refused")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where the first definition came from.
        first: String,
        /// Where the refused one came from.
        second: String,
    },
    /// The id is empty or not printable.
    #[error("module id {0:?} is invalid: it must be a non-empty string without spaces or ':'")]
    InvalidId(String),
}

/// One registered callback.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The module.
    pub module: ModuleKey,
    /// Registration order within the engine.
    pub seq: u64,
    /// The event.
    pub event: Event,
    /// The filter (a copy taken at registration: later changes to the match object do not
    /// apply).
    pub filter: Option<Match>,
    /// The callback.
    pub callback: CallbackId,
}

struct ModuleRecord {
    id: String,
    source: String,
    active: bool,
    instance: Option<Arc<dyn ModuleInstance>>,
}

#[derive(Default)]
struct Registry {
    modules: Vec<ModuleRecord>,
    registrations: Vec<Registration>,
    next_seq: u64,
}

/// One listener of an event, ready to run: its registration, its module's instance (none for a
/// module being loaded) and whether the callback takes the bt variable.
#[derive(Clone)]
pub struct Listener {
    /// The registration.
    pub registration: Registration,
    /// The instance that runs the callback.
    pub instance: Option<Arc<dyn ModuleInstance>>,
    /// Whether the callback receives the bt variable of variable events.
    pub wants_bt: bool,
}

/// The listeners of every event, as of the registry's last change.
#[derive(Default)]
struct ListenerCache {
    /// A few events, searched in order: cheaper than hashing, as this is asked per variable.
    by_event: Vec<(Event, Arc<[Listener]>)>,
    /// Bumped on every change, so that a list computed across a change is not kept.
    version: u64,
}

#[derive(Default, Clone)]
struct Providers {
    process: Option<Arc<dyn ProcessAccess>>,
    typed: Option<Arc<dyn TypedMemory>>,
}

/// The shared engine.
pub struct Engine {
    scene: Mutex<Scene>,
    registry: Mutex<Registry>,
    options: RwLock<ModuleOptions>,
    log: Arc<dyn LogSink>,
    providers: RwLock<Providers>,
    listeners: Mutex<ListenerCache>,
    /// Bumped with the listener cache's version, readable without its lock.
    listeners_version: AtomicU64,
    /// When callbacks must end early (abort, stop limit); whether the target is stopped.
    cutoff: Arc<Cutoff>,
    /// The failures of the snapshot under way, and the benched modules.
    failures: Mutex<FailureLog>,
    /// Whether a module is benched now (read per callback without the lock).
    any_benched: AtomicBool,
    /// Events not delivered this snapshot because the cutoff was reached.
    cut_events: AtomicU64,
    /// How long the slow callbacks timed lately took, in nanoseconds: while the target is
    /// stopped, a callback does not start when it would likely end past the deadline.
    slowest_callback: AtomicU64,
    /// Callbacks run this snapshot (every [`TIMED_CALLBACK_EVERY`]th is timed).
    callbacks_run: AtomicU64,
}

/// One callback in this many is timed (a clock read before and after costs about a tenth of a
/// short Lua callback; callbacks of one module tend to take alike).
const TIMED_CALLBACK_EVERY: u64 = 8;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// An engine with these module options, logging to `log`.
    pub fn new(options: ModuleOptions, log: Arc<dyn LogSink>) -> Arc<Self> {
        Self::with_cutoff(options, log, Arc::default())
    }

    /// An engine whose callbacks end early when `cutoff` says (the session's abort flag and
    /// stop limit).
    pub fn with_cutoff(options: ModuleOptions, log: Arc<dyn LogSink>, cutoff: Arc<Cutoff>) -> Arc<Self> {
        Arc::new(Engine {
            scene: Mutex::new(Scene::new()),
            registry: Mutex::new(Registry::default()),
            options: RwLock::new(options),
            log,
            providers: RwLock::new(Providers::default()),
            listeners: Mutex::new(ListenerCache::default()),
            listeners_version: AtomicU64::new(0),
            cutoff,
            failures: Mutex::new(FailureLog::default()),
            any_benched: AtomicBool::new(false),
            cut_events: AtomicU64::new(0),
            slowest_callback: AtomicU64::new(0),
            callbacks_run: AtomicU64::new(0),
        })
    }

    // ---- modules -------------------------------------------------------------------------

    /// Defines module `id` from `source` (a file path, for messages). Ids are unique among
    /// active modules.
    pub fn define_module(&self, id: &str, source: &str) -> Result<ModuleKey, DefineError> {
        self.forget_listeners();
        if id.is_empty()
            || id
                .chars()
                .any(|c| c.is_whitespace() || c == ':' || c.is_control())
        {
            return Err(DefineError::InvalidId(id.to_string()));
        }
        let mut registry = lock(&self.registry);
        if let Some(first) = registry.modules.iter().find(|m| m.active && m.id == id) {
            return Err(DefineError::DuplicateId {
                id: id.to_string(),
                first: first.source.clone(),
                second: source.to_string(),
            });
        }
        registry.modules.push(ModuleRecord {
            id: id.to_string(),
            source: source.to_string(),
            active: true,
            instance: None,
        });
        Ok(ModuleKey(registry.modules.len() - 1))
    }

    /// Gives modules `keys` the instance that runs their callbacks.
    pub fn attach_instance(&self, keys: &[ModuleKey], instance: Arc<dyn ModuleInstance>) {
        self.forget_listeners();
        let mut registry = lock(&self.registry);
        for key in keys {
            if let Some(record) = registry.modules.get_mut(key.0) {
                record.instance = Some(instance.clone());
            }
        }
    }

    /// Drops every module instance (the host is going away; breaks the cycle instance → engine).
    pub fn clear_instances(&self) {
        self.forget_listeners();
        for record in lock(&self.registry).modules.iter_mut() {
            record.instance = None;
        }
    }

    /// Removes modules `keys` and their registrations (a file that failed to load).
    pub fn remove_modules(&self, keys: &[ModuleKey]) {
        self.forget_listeners();
        let mut registry = lock(&self.registry);
        for key in keys {
            if let Some(record) = registry.modules.get_mut(key.0) {
                record.active = false;
                record.instance = None;
            }
        }
        registry.registrations.retain(|r| !keys.contains(&r.module));
    }

    /// The id of module `key`.
    pub fn module_id(&self, key: ModuleKey) -> String {
        lock(&self.registry)
            .modules
            .get(key.0)
            .map(|m| m.id.clone())
            .unwrap_or_else(|| format!("#{}", key.0))
    }

    /// The active modules: key, id and source, in definition order.
    pub fn modules(&self) -> Vec<(ModuleKey, String, String)> {
        lock(&self.registry)
            .modules
            .iter()
            .enumerate()
            .filter(|(_, m)| m.active)
            .map(|(i, m)| (ModuleKey(i), m.id.clone(), m.source.clone()))
            .collect()
    }

    /// The instance of module `key`, if it is active.
    pub fn instance(&self, key: ModuleKey) -> Option<Arc<dyn ModuleInstance>> {
        lock(&self.registry)
            .modules
            .get(key.0)
            .filter(|m| m.active)
            .and_then(|m| m.instance.clone())
    }

    // ---- registrations -------------------------------------------------------------------

    /// Registers `callback` of `module` for `event`, filtered by `filter`.
    pub fn register(&self, module: ModuleKey, event: Event, filter: Option<Match>, callback: CallbackId) {
        self.forget_listeners();
        let mut registry = lock(&self.registry);
        let seq = registry.next_seq;
        registry.next_seq += 1;
        registry.registrations.push(Registration {
            module,
            seq,
            event,
            filter,
            callback,
        });
    }

    /// The registrations for `event` of active modules, in module definition order, then
    /// registration order.
    pub fn listeners(&self, event: Event) -> Vec<Registration> {
        let registry = lock(&self.registry);
        let mut list: Vec<Registration> = registry
            .registrations
            .iter()
            .filter(|r| r.event == event && registry.modules.get(r.module.0).is_some_and(|m| m.active))
            .cloned()
            .collect();
        list.sort_by_key(|r| (r.module, r.seq));
        list
    }

    /// The listeners of `event` (as [`Engine::listeners`] orders them) with their instances,
    /// cached until the registrations or instances change: the per-event dispatch costs one
    /// lock and no allocation.
    pub fn ready_listeners(&self, event: Event) -> Arc<[Listener]> {
        let version = {
            let cache = lock(&self.listeners);
            if let Some((_, list)) = cache.by_event.iter().find(|(e, _)| *e == event) {
                return list.clone();
            }
            cache.version
        };
        let list: Arc<[Listener]> = self
            .listeners(event)
            .into_iter()
            .map(|registration| {
                let instance = self.instance(registration.module);
                let wants_bt = instance
                    .as_ref()
                    .is_some_and(|i| i.wants_bt(registration.callback));
                Listener {
                    registration,
                    instance,
                    wants_bt,
                }
            })
            .collect();
        let mut cache = lock(&self.listeners);
        if cache.version == version && !cache.by_event.iter().any(|(e, _)| *e == event) {
            cache.by_event.push((event, list.clone()));
        }
        list
    }

    /// Whether a listener of `event` receives bt variables (else the caller need not make them).
    pub fn wants_bt(&self, event: Event) -> bool {
        self.ready_listeners(event).iter().any(|l| l.wants_bt)
    }

    /// Drops the listener cache (the registrations or instances changed).
    fn forget_listeners(&self) {
        let mut cache = lock(&self.listeners);
        cache.by_event.clear();
        cache.version = cache.version.wrapping_add(1);
        self.listeners_version.store(cache.version, Ordering::Release);
    }

    /// Changes whenever the registrations or instances change: a list from
    /// [`Engine::ready_listeners`] taken when it had this value is still current while it keeps it.
    pub fn listeners_version(&self) -> u64 {
        self.listeners_version.load(Ordering::Acquire)
    }

    /// Whether any active module listens to `event`.
    pub fn wants(&self, event: Event) -> bool {
        let registry = lock(&self.registry);
        registry
            .registrations
            .iter()
            .any(|r| r.event == event && registry.modules.get(r.module.0).is_some_and(|m| m.active))
    }

    // ---- options and log -----------------------------------------------------------------

    /// The `--module` option `key` of module `module`.
    pub fn config_option(&self, module: ModuleKey, key: &str) -> Option<String> {
        let id = self.module_id(module);
        self.options
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id, key)
            .map(str::to_string)
    }

    /// Replaces the module options.
    pub fn set_options(&self, options: ModuleOptions) {
        *self.options.write().unwrap_or_else(|e| e.into_inner()) = options;
    }

    /// Logs `text` at `level` for module `module_id`.
    pub fn log(&self, module_id: &str, level: LogLevel, text: &str) {
        self.log.log(&LogRecord {
            module: module_id.to_string(),
            level,
            text: text.to_string(),
        });
    }

    // ---- cutoff and failures ---------------------------------------------------------------

    /// When callbacks must end early, and whether the target is stopped (the session sets it;
    /// the dispatch and the Lua instruction hook read it).
    pub fn cutoff(&self) -> &Cutoff {
        &self.cutoff
    }

    /// Starts the failures of a new snapshot: those left from before (loading, `reset`) were
    /// logged already and are forgotten.
    pub fn begin_snapshot(&self) {
        *lock(&self.failures) = FailureLog::default();
        self.any_benched.store(false, Ordering::Release);
        self.cut_events.store(0, Ordering::Relaxed);
        self.slowest_callback.store(0, Ordering::Relaxed);
        self.callbacks_run.store(0, Ordering::Relaxed);
    }

    /// Why a callback must not start now, if it must not: the run was aborted, or the stop
    /// limit is reached or would likely be before the callback ends (judged by the slowest
    /// callbacks timed lately, up to a tenth of the limit).
    pub fn callback_cutoff(&self) -> Option<CutoffReason> {
        let slowest = Duration::from_nanos(self.slowest_callback.load(Ordering::Relaxed));
        // At most a tenth of the limit is given up for it: a module whose callbacks are
        // legitimately long is not starved, and Lua code is interrupted anyway.
        let margin = slowest.min(self.cutoff.limit().unwrap_or_default() / 10);
        self.cutoff.reason_within(margin)
    }

    /// Whether to time the callback about to run (one in `TIMED_CALLBACK_EVERY`).
    pub fn time_this_callback(&self) -> bool {
        // One dispatching thread at a time: a load and a store, not a locked add.
        let run = self.callbacks_run.load(Ordering::Relaxed);
        self.callbacks_run.store(run.wrapping_add(1), Ordering::Relaxed);
        run.is_multiple_of(TIMED_CALLBACK_EVERY)
    }

    /// A timed callback took `took`. The estimate is the slowest of the recent ones: each
    /// sample takes an eighth off it, so that one slow callback (a module's first, setting
    /// itself up) does not hold back the callbacks of the rest of the stop.
    pub fn note_callback_time(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let old = self.slowest_callback.load(Ordering::Relaxed);
        self.slowest_callback
            .store((old - old / 8).max(nanos), Ordering::Relaxed);
    }

    /// Counts `events` not delivered to their callbacks because the cutoff was reached.
    pub fn note_cut_events(&self, events: u64) {
        self.cut_events.fetch_add(events, Ordering::Relaxed);
    }

    /// How many events were not delivered this snapshot because the cutoff was reached.
    pub fn cut_events(&self) -> u64 {
        self.cut_events.load(Ordering::Relaxed)
    }

    /// Records that a callback of module `module` failed in `event` (an event name, or
    /// `reset`, `unload`): counted for the snapshot, logged as [`FailureLog`] says. A module that
    /// runs out of its budget or memory while the target is stopped is benched until it runs
    /// again.
    pub fn record_failure(&self, module: ModuleKey, event: &str, failure: &CallbackFailure) {
        let id = self.module_id(module);
        let stopped = self.cutoff.target_stopped();
        let recorded = lock(&self.failures).record(module, &id, event, failure, stopped);
        if recorded.benched {
            self.any_benched.store(true, Ordering::Release);
        }
        let mut text = match recorded.say {
            Say::Nothing => String::new(),
            Say::WithTraceback => failure_text(&id, event, failure, true),
            Say::OneLine => failure_text(&id, event, failure, false),
            Say::NoMore => no_more_text(&id),
        };
        if recorded.benched {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!(
                "module {id}: no more events for it while the target is stopped"
            ));
        }
        if !text.is_empty() {
            self.log(&id, LogLevel::Error, &text);
        }
    }

    /// Whether module `module` is benched (it gets no more events while the target is
    /// stopped); counts the callback skipped when it is.
    pub fn skip_benched(&self, module: ModuleKey) -> bool {
        if !self.any_benched.load(Ordering::Acquire) {
            return false;
        }
        let mut failures = lock(&self.failures);
        let benched = failures.is_benched(module);
        if benched {
            failures.note_skipped(module);
        }
        benched
    }

    /// The target runs again: benched modules get events again.
    pub fn lift_benches(&self) {
        lock(&self.failures).lift_benches();
        self.any_benched.store(false, Ordering::Release);
    }

    /// The failures of the snapshot so far, each distinct one once; each module with more to
    /// say than what was logged gets one line summing its failures up. Starts a new list.
    pub fn take_failures(&self) -> Vec<ModuleFailure> {
        let (failures, summaries) = lock(&self.failures).take();
        self.any_benched.store(false, Ordering::Release);
        for (module, text) in summaries {
            self.log(&module, LogLevel::Error, &text);
        }
        failures
    }

    // ---- providers -----------------------------------------------------------------------

    /// Sets (or clears) the raw target access.
    pub fn set_process_access(&self, access: Option<Arc<dyn ProcessAccess>>) {
        self.providers.write().unwrap_or_else(|e| e.into_inner()).process = access;
    }

    /// Sets (or clears) the typed memory provider.
    pub fn set_typed_memory(&self, typed: Option<Arc<dyn TypedMemory>>) {
        self.providers.write().unwrap_or_else(|e| e.into_inner()).typed = typed;
    }

    /// The raw target access, if any.
    pub fn process_access(&self) -> Option<Arc<dyn ProcessAccess>> {
        self.providers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .process
            .clone()
    }

    /// The typed memory provider, if any.
    pub fn typed_memory(&self) -> Option<Arc<dyn TypedMemory>> {
        self.providers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .typed
            .clone()
    }

    // ---- scene ---------------------------------------------------------------------------

    /// Runs `f` on the scene (the lock is held only during `f`: never call a module from it).
    pub fn with_scene<R>(&self, f: impl FnOnce(&mut Scene) -> R) -> R {
        f(&mut lock(&self.scene))
    }
}
