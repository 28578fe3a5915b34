//! A loaded Lua module file: its sandboxed state, and the [`ModuleInstance`] that runs its
//! callbacks under the budget; [`LuaLoader`] makes them from files.

use super::api::{self, CALLBACKS_KEY, LIFECYCLE_KEY};
use super::context::{Budget, LuaContext, NO_MODULE};
use super::objects::{event_var, LuaBacktrace, LuaBtVar, LuaFrame, LuaThread};
use super::options::LuaOptions;
use super::sandbox;
use crate::pmodule::{
    CallbackFailure, CallbackId, Engine, Event, EventArgs, FailureKind, LoadError, ModuleInstance, ModuleKey,
    ModuleLoader,
};
use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, Table, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Most bytes one memory read may return.
pub const MAX_READ: usize = 16 << 20;

/// The message and traceback of a Lua error.
pub fn failure_of(error: &mlua::Error) -> CallbackFailure {
    match error {
        mlua::Error::CallbackError { traceback, cause } => {
            let inner = failure_of(cause);
            CallbackFailure {
                traceback: inner.traceback.or_else(|| Some(traceback.clone())),
                ..inner
            }
        }
        mlua::Error::WithContext { context, cause } => {
            let inner = failure_of(cause);
            CallbackFailure {
                message: format!("{context}: {}", inner.message),
                ..inner
            }
        }
        mlua::Error::RuntimeError(text) => with_traceback(text),
        mlua::Error::MemoryError(text) => CallbackFailure::new(format!(
            "memory limit exceeded (lua_memory_limit): {}",
            text.lines().next().unwrap_or(text)
        ))
        .with_kind(FailureKind::OutOfMemory),
        mlua::Error::SyntaxError { message, .. } => CallbackFailure::new(message.clone()),
        other => with_traceback(&other.to_string()),
    }
}

/// A failure from an error text that may end with a Lua stack traceback.
fn with_traceback(text: &str) -> CallbackFailure {
    match text.split_once("\nstack traceback:") {
        Some((message, rest)) => CallbackFailure {
            traceback: Some(format!("stack traceback:{rest}")),
            ..CallbackFailure::new(message)
        },
        None => CallbackFailure::new(text),
    }
}

/// A registered callback, looked up once: its function and whether it can see a second
/// argument (the bt variable of variable events).
struct Callback {
    function: Function,
    takes_bt: bool,
}

/// The modules of one Lua file.
pub struct LuaModule {
    lua: Lua,
    ctx: Arc<LuaContext>,
    /// The callbacks looked up so far, by id (a few: searched in order, cheaper than hashing
    /// on every call).
    callbacks: Mutex<Vec<(u64, Arc<Callback>)>>,
    /// A failed callback left garbage to free (a state out of memory works again only once it
    /// is freed): done before the next callback.
    garbage: AtomicBool,
}

impl LuaModule {
    /// Runs `f` as module `module`'s code under a fresh budget. After a failure the garbage is
    /// freed at once, or, while the target is stopped, just before the module's next callback
    /// (a benched module's next one runs after the resume).
    fn run(
        &self,
        module: ModuleKey,
        f: impl FnOnce(&Lua) -> mlua::Result<()>,
    ) -> Result<(), CallbackFailure> {
        if self.garbage.swap(false, Ordering::Relaxed) {
            let _ = self.lua.gc_collect();
        }
        let previous = self.ctx.set_current(Some(module));
        self.ctx.budget.start();
        let result = f(&self.lua);
        self.ctx.set_current(previous);
        result.map_err(|e| {
            if self.ctx.engine.cutoff().target_stopped() {
                self.garbage.store(true, Ordering::Relaxed);
            } else {
                let _ = self.lua.gc_collect();
            }
            let failure = failure_of(&e);
            // The budget knows when it (or the cutoff) ended the callback, whatever the error
            // became on its way out (caught and raised again, wrapped, ...).
            match self.ctx.budget.failure_kind() {
                Some(kind) if failure.kind == FailureKind::Error => failure.with_kind(kind),
                _ => failure,
            }
        })
    }

    /// Callback `id`: from the cache, else from the registry table (then cached).
    fn callback(&self, id: CallbackId) -> mlua::Result<Arc<Callback>> {
        let mut cache = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, callback)) = cache.iter().find(|(known, _)| *known == id.0) {
            return Ok(callback.clone());
        }
        let callbacks: Table = self.lua.named_registry_value(CALLBACKS_KEY)?;
        let function: Function = callbacks.get(id.0 as i64)?;
        let info = function.info();
        let callback = Arc::new(Callback {
            // A Lua function declaring one parameter, not variadic, cannot see a second
            // argument (a C function reports itself variadic).
            takes_bt: info.is_vararg || info.num_params >= 2,
            function,
        });
        cache.push((id.0, callback.clone()));
        Ok(callback)
    }

    /// Calls `callback` with the objects of `args`.
    fn call(&self, callback: &Callback, args: &EventArgs) -> mlua::Result<()> {
        let lua = &self.lua;
        let function = &callback.function;
        match args {
            EventArgs::Backtrace => function.call(lua.create_userdata(LuaBacktrace)?),
            EventArgs::Thread(t) => function.call(lua.create_userdata(LuaThread(*t))?),
            EventArgs::Frame(f) => function.call(lua.create_userdata(LuaFrame(*f))?),
            EventArgs::Variable { var, bt } => {
                // The variable as a light handle, valid until the callback returns.
                let (var, bound) = event_var::bind(&self.ctx, var.clone());
                let result = match bt {
                    Some(bt) if callback.takes_bt => lua
                        .create_userdata(LuaBtVar(bt.clone()))
                        .and_then(|bt| function.call((var, bt))),
                    _ if callback.takes_bt => function.call((var, Value::Nil)),
                    _ => function.call(var),
                };
                event_var::unbind(bound);
                result
            }
        }
    }

    fn lifecycle(&self, module: ModuleKey, which: &str) -> Result<(), CallbackFailure> {
        self.run(module, |lua| {
            let table: Table = lua.named_registry_value(LIFECYCLE_KEY)?;
            let entry: Option<Table> = table.get(module.0 as i64)?;
            match entry
                .map(|e| e.get::<Option<Function>>(which))
                .transpose()?
                .flatten()
            {
                Some(f) => f.call::<()>(()),
                None => Ok(()),
            }
        })
    }
}

impl ModuleInstance for LuaModule {
    fn invoke(
        &self,
        module: ModuleKey,
        callback: CallbackId,
        _event: Event,
        args: &EventArgs,
    ) -> Result<(), CallbackFailure> {
        self.run(module, |_| {
            let callback = self.callback(callback)?;
            self.call(&callback, args)
        })
    }

    fn wants_bt(&self, callback: CallbackId) -> bool {
        self.callback(callback).map_or(true, |c| c.takes_bt)
    }

    fn unload(&self, module: ModuleKey) -> Result<(), CallbackFailure> {
        self.lifecycle(module, "unload")
    }

    fn reset(&self, module: ModuleKey) -> Result<(), CallbackFailure> {
        self.lifecycle(module, "reset")
    }
}

/// Loads `*.lua` module files into sandboxed states of their own.
pub struct LuaLoader {
    options: LuaOptions,
}

impl LuaLoader {
    /// A loader making states with `options`.
    pub fn new(options: LuaOptions) -> Self {
        LuaLoader { options }
    }

    fn error(path: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

impl ModuleLoader for LuaLoader {
    fn language(&self) -> &str {
        "lua"
    }

    fn accepts(&self, path: &Path) -> bool {
        path.extension().is_some_and(|e| e == "lua")
    }

    fn load(&self, path: &Path, engine: &Arc<Engine>) -> Result<Vec<ModuleKey>, LoadError> {
        self.options
            .validate()
            .map_err(|e| Self::error(path, e.to_string()))?;
        let source = std::fs::read(path).map_err(|e| Self::error(path, format!("cannot read: {e}")))?;
        if source.starts_with(b"\x1bLua") {
            return Err(Self::error(
                path,
                "precompiled Lua (bytecode) is refused: load modules from source",
            ));
        }
        let budget = Arc::new(Budget::new(self.options.instruction_budget, engine.clone()));
        let ctx = Arc::new(LuaContext {
            engine: engine.clone(),
            file: path.display().to_string(),
            current: AtomicUsize::new(NO_MODULE),
            defined: Mutex::new(Vec::new()),
            budget: budget.clone(),
            next_callback: AtomicU64::new(1),
            max_read: MAX_READ.min(self.options.memory_limit),
        });
        let lua = sandbox::new_state(&self.options, budget.clone()).map_err(|e| {
            Self::error(
                path,
                format!("cannot create the Lua state: {}", failure_of(&e).message),
            )
        })?;
        lua.set_app_data(ctx.clone());
        api::install(&lua).map_err(|e| {
            Self::error(
                path,
                format!("cannot install the API: {}", failure_of(&e).message),
            )
        })?;
        budget.start();
        let result = lua
            .load(&source[..])
            .set_name(format!("@{}", path.display()))
            .set_mode(ChunkMode::Text)
            .exec();
        let keys = ctx.defined.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Err(e) = result {
            engine.remove_modules(&keys);
            let failure = failure_of(&e);
            let mut message = failure.message;
            if let Some(tb) = failure.traceback {
                message.push('\n');
                message.push_str(&tb);
            }
            return Err(Self::error(path, message));
        }
        if keys.is_empty() {
            return Err(Self::error(
                path,
                "defines no module (pmodule.define was not called)",
            ));
        }
        engine.attach_instance(
            &keys,
            Arc::new(LuaModule {
                lua,
                ctx,
                callbacks: Mutex::new(Vec::new()),
                garbage: AtomicBool::new(false),
            }),
        );
        Ok(keys)
    }
}
