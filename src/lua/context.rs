//! What every API function of one Lua state reaches through the state's app data: the engine,
//! the file being run, the module whose code runs now, and the instruction budget.

use crate::pmodule::{Engine, FailureKind, LogLevel, ModuleKey};
use mlua::Lua;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The instruction budget of one callback: the hook charges it every few instructions; once it
/// is exhausted, or once the engine's cutoff says work must end (the run was aborted, or the
/// target has been stopped for its limit), every further charge fails, and `pcall`, `xpcall` and
/// `coroutine.resume` re-raise instead of catching, so the callback cannot go on.
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    /// Why the callback must end: [`RUNS`], [`OUT_OF_BUDGET`] or [`CUT_OFF`].
    state: AtomicU8,
    engine: Arc<Engine>,
}

/// The callback may go on.
const RUNS: u8 = 0;
/// The callback used up its instructions.
const OUT_OF_BUDGET: u8 = 1;
/// The engine's cutoff ended the callback.
const CUT_OFF: u8 = 2;

impl Budget {
    /// A budget of `limit` instructions per callback, cut off early by `engine`'s cutoff.
    pub fn new(limit: u64, engine: Arc<Engine>) -> Self {
        Budget {
            limit,
            used: AtomicU64::new(0),
            state: AtomicU8::new(RUNS),
            engine,
        }
    }

    /// Starts a new callback with the full budget.
    pub fn start(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.state.store(RUNS, Ordering::Relaxed);
    }

    /// Charges `n` instructions; false once the budget is exceeded or the cutoff reached.
    pub fn charge(&self, n: u64) -> bool {
        if self.state.load(Ordering::Relaxed) != RUNS {
            return false;
        }
        let used = self.used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if used > self.limit {
            self.state.store(OUT_OF_BUDGET, Ordering::Relaxed);
            false
        } else if self.engine.cutoff().reason().is_some() {
            self.state.store(CUT_OFF, Ordering::Relaxed);
            false
        } else {
            true
        }
    }

    /// Whether this callback must end (budget exceeded or cut off).
    pub fn exhausted(&self) -> bool {
        self.state.load(Ordering::Relaxed) != RUNS
    }

    /// What kind of failure ended the callback, when the budget or the cutoff did.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self.state.load(Ordering::Relaxed) {
            OUT_OF_BUDGET => Some(FailureKind::OutOfBudget),
            CUT_OFF => Some(FailureKind::CutOff),
            _ => None,
        }
    }

    /// The message of the error raised when the callback must end.
    pub fn message(&self) -> String {
        match self.state.load(Ordering::Relaxed) {
            CUT_OFF => match self.engine.cutoff().reason() {
                Some(reason) => format!("callback cut short: {reason}"),
                None => "callback cut short".to_string(),
            },
            _ => format!(
                "instruction budget of {} exceeded (lua_instruction_budget)",
                self.limit
            ),
        }
    }
}

/// The value of [`LuaContext::current`] when no module's code runs.
pub const NO_MODULE: usize = usize::MAX;

/// The context of one Lua state (one module file).
pub struct LuaContext {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The file, for messages (its path).
    pub file: String,
    /// The module whose code runs now (its `load`, or one of its callbacks): its key, or
    /// [`NO_MODULE`]. An atomic, not a lock: it is set twice per callback.
    pub current: AtomicUsize,
    /// The modules this file defined.
    pub defined: Mutex<Vec<ModuleKey>>,
    /// The instruction budget.
    pub budget: Arc<Budget>,
    /// The next callback id.
    pub next_callback: AtomicU64,
    /// Most bytes one read may return (bounded by the state's memory limit).
    pub max_read: usize,
}

impl LuaContext {
    /// The module running now.
    pub fn current_module(&self) -> Option<ModuleKey> {
        Some(self.current.load(Ordering::Relaxed))
            .filter(|&key| key != NO_MODULE)
            .map(ModuleKey)
    }

    /// Makes `module` the running one; returns the previous one.
    pub fn set_current(&self, module: Option<ModuleKey>) -> Option<ModuleKey> {
        let previous = self
            .current
            .swap(module.map_or(NO_MODULE, |key| key.0), Ordering::Relaxed);
        Some(previous).filter(|&key| key != NO_MODULE).map(ModuleKey)
    }

    /// The name log lines carry: the running module's id, else the file's base name.
    pub fn label(&self) -> String {
        match self.current_module() {
            Some(key) => self.engine.module_id(key),
            None => std::path::Path::new(&self.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.file.clone()),
        }
    }

    /// Logs `text` for the running module.
    pub fn log(&self, level: LogLevel, text: &str) {
        self.engine.log(&self.label(), level, text);
    }
}

/// The context of `lua`.
pub fn context(lua: &Lua) -> mlua::Result<Arc<LuaContext>> {
    lua.app_data_ref::<Arc<LuaContext>>()
        .map(|c| c.clone())
        .ok_or_else(|| mlua::Error::runtime("pmodule: this Lua state has no module context"))
}
