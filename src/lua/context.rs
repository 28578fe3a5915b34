//! What every API function of one Lua state reaches through the state's app data: the engine,
//! the file being run, the module whose code runs now, and the instruction budget.

use crate::pmodule::{Engine, LogLevel, ModuleKey};
use mlua::Lua;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The instruction budget of one callback: the hook charges it every few instructions; once it
/// is exhausted every further charge fails, and `pcall`, `xpcall` and `coroutine.resume` re-raise
/// instead of catching, so the callback cannot go on.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
    exhausted: AtomicBool,
}

impl Budget {
    /// A budget of `limit` instructions.
    pub fn new(limit: u64) -> Self {
        Budget {
            limit,
            used: AtomicU64::new(0),
            exhausted: AtomicBool::new(false),
        }
    }

    /// Starts a new callback with the full budget.
    pub fn start(&self) {
        self.used.store(0, Ordering::Relaxed);
        self.exhausted.store(false, Ordering::Relaxed);
    }

    /// Charges `n` instructions; false once the budget is exceeded.
    pub fn charge(&self, n: u64) -> bool {
        let used = self.used.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if used > self.limit {
            self.exhausted.store(true, Ordering::Relaxed);
            false
        } else {
            true
        }
    }

    /// Whether the budget was exceeded in this callback.
    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// The message of the error raised when it is exceeded.
    pub fn message(&self) -> String {
        format!(
            "instruction budget of {} exceeded (lua_instruction_budget)",
            self.limit
        )
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
