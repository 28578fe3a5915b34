//! The sandboxed Lua state of a module: `string table math utf8 coroutine` and a safe base
//! library (no `load`, `loadfile`, `dofile`, `require`, `io`, `os`, `debug`; `collectgarbage`
//! limited to `collect`, `count` and `step`; `print` goes to the log with the module id), an
//! instruction budget per callback enforced by a global count hook (inherited by coroutines), a
//! memory limit per state. `--sandbox-whitelist` opens `io`, `os`, `package` (`require` of Lua
//! source files only) and `load` (`load`, `loadfile`, `dofile` of text chunks only). Bytecode is
//! never loaded.

use super::args::Args;
use super::context::{context, Budget};
use super::options::LuaOptions;
use crate::pmodule::LogLevel;
use mlua::chunk::ChunkMode;
use mlua::prelude::{LuaGcGenParams as GcGenParams, LuaGcMode as GcMode};
use mlua::{Function, HookTriggers, Lua, MultiValue, StdLib, Table, Value, VmState};
use std::sync::Arc;

/// Instructions between two budget checks.
pub const HOOK_STEP: u32 = 1000;

/// The signature that starts precompiled Lua chunks.
const BYTECODE_SIGNATURE: &[u8] = b"\x1bLua";

/// Wraps `pcall`, `xpcall` and `coroutine.resume` so that they do not swallow the error of an
/// exceeded budget; `__budget_exhausted` and `__budget_message` are removed from the globals
/// right after.
const PRELUDE: &str = r#"
local rawpcall, rawxpcall, coresume = pcall, xpcall, coroutine.resume
local exhausted, message, error = __budget_exhausted, __budget_message, error
local function check(ok, ...)
    if exhausted() then error(message(), 0) end
    return ok, ...
end
pcall = function(...) return check(rawpcall(...)) end
xpcall = function(...) return check(rawxpcall(...)) end
coroutine.resume = function(...) return check(coresume(...)) end
__budget_exhausted, __budget_message = nil, nil
"#;

/// A new sandboxed state with the budget hook and memory limit of `options`.
pub fn new_state(options: &LuaOptions, budget: Arc<Budget>) -> mlua::Result<Lua> {
    let mut libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::COROUTINE;
    if options.allows("io") {
        libs |= StdLib::IO;
    }
    if options.allows("os") {
        libs |= StdLib::OS;
    }
    if options.allows("package") {
        libs |= StdLib::PACKAGE;
    }
    let lua = Lua::new_with(libs, mlua::LuaOptions::new())?;
    let globals = lua.globals();
    for name in ["dofile", "loadfile", "load", "collectgarbage"] {
        globals.raw_set(name, Value::Nil)?;
    }
    globals.raw_set("collectgarbage", lua.create_function(limited_collectgarbage)?)?;
    globals.raw_set("print", lua.create_function(print_to_log)?)?;
    let string: Table = globals.get("string")?;
    let format: Function = string.get("format")?;
    lua.set_named_registry_value(super::format::FORMAT_KEY, format)?;
    if options.allows("load") {
        globals.raw_set("load", lua.create_function(text_load)?)?;
        globals.raw_set("loadfile", lua.create_function(text_loadfile)?)?;
        globals.raw_set("dofile", lua.create_function(text_dofile)?)?;
    }
    if options.allows("package") {
        restrict_package(&lua, &globals)?;
    }

    let b = budget.clone();
    globals.raw_set(
        "__budget_exhausted",
        lua.create_function(move |_, ()| Ok(b.exhausted()))?,
    )?;
    let b = budget.clone();
    globals.raw_set(
        "__budget_message",
        lua.create_function(move |_, ()| Ok(b.message()))?,
    )?;
    lua.load(PRELUDE)
        .set_name("=sandbox")
        .set_mode(ChunkMode::Text)
        .exec()?;

    let b = budget;
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_STEP),
        move |_, _| {
            if b.charge(u64::from(HOOK_STEP)) {
                Ok(VmState::Continue)
            } else {
                Err(mlua::Error::runtime(b.message()))
            }
        },
    )?;
    lua.set_memory_limit(options.memory_limit)?;
    // Callbacks make short-lived objects by the ten thousand while the target is stopped (one
    // per variable event): the generational collector frees them young, for much less work
    // than incremental cycles over the whole heap.
    lua.gc_set_mode(GcMode::Generational(GcGenParams::default()));
    Ok(lua)
}

/// `print(...)`: the arguments through `tostring`, tab-separated, logged at info level.
fn print_to_log(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let tostring: Function = lua.globals().get("tostring")?;
    let mut parts = Vec::new();
    for value in args {
        let text: mlua::LuaString = tostring.call(value)?;
        parts.push(text.to_string_lossy());
    }
    context(lua)?.log(LogLevel::Info, &parts.join("\t"));
    Ok(())
}

/// `collectgarbage([opt])` limited to `collect`, `count` and `step` (a module must not stop
/// the collector or change its parameters).
fn limited_collectgarbage(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let args = Args::new("collectgarbage", args);
    let option = args.opt_string(1, "opt")?.unwrap_or_else(|| "collect".into());
    match option.as_str() {
        "collect" => {
            lua.gc_collect()?;
            Ok(Value::Integer(0))
        }
        "step" => {
            lua.gc_step()?;
            Ok(Value::Boolean(false))
        }
        "count" => Ok(Value::Number(lua.used_memory() as f64 / 1024.0)),
        other => Err(args.error(
            1,
            "opt",
            format!("'{other}' is not allowed in the sandbox (collect, count, step)"),
        )),
    }
}

/// Loads `source` as a text chunk named `name` (bytecode refused), with `env` when given.
fn load_text(lua: &Lua, source: &[u8], name: &str, env: Option<Table>) -> mlua::Result<Function> {
    if source.starts_with(BYTECODE_SIGNATURE) {
        return Err(mlua::Error::runtime(format!(
            "{name}: attempt to load a binary chunk (bytecode is refused by the sandbox)"
        )));
    }
    let mut chunk = lua.load(source).set_name(name).set_mode(ChunkMode::Text);
    if let Some(env) = env {
        chunk = chunk.set_environment(env);
    }
    chunk.into_function()
}

/// Lua's `(nil, message)` failure.
fn failure(lua: &Lua, error: &mlua::Error) -> mlua::Result<MultiValue> {
    let message = match error {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(message)?),
    ]))
}

/// `load(chunk [, chunkname [, mode [, env]]])`, text chunks only.
fn text_load(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new("load", args);
    let source: Vec<u8> = match args.get(1) {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Function(reader) => {
            let mut all = Vec::new();
            loop {
                match reader.call::<Value>(())? {
                    Value::String(piece) if !piece.as_bytes().is_empty() => {
                        all.extend_from_slice(&piece.as_bytes())
                    }
                    Value::Nil | Value::String(_) => break,
                    _ => return Err(args.error(1, "chunk", "reader function must return a string")),
                }
            }
            all
        }
        _ => return Err(args.error(1, "chunk", "string or function expected")),
    };
    let name = args
        .opt_string(2, "chunkname")?
        .unwrap_or_else(|| "=(load)".into());
    let env = args.opt_table(4, "env")?;
    match load_text(lua, &source, &name, env) {
        Ok(f) => Ok(MultiValue::from_iter([Value::Function(f)])),
        Err(e) => failure(lua, &e),
    }
}

/// `loadfile([filename [, mode [, env]]])`, text files only.
fn text_loadfile(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let args = Args::new("loadfile", args);
    let path = args.string(1, "filename")?;
    let env = args.opt_table(3, "env")?;
    match std::fs::read(&path) {
        Ok(bytes) => match load_text(lua, &bytes, &format!("@{path}"), env) {
            Ok(f) => Ok(MultiValue::from_iter([Value::Function(f)])),
            Err(e) => failure(lua, &e),
        },
        Err(e) => failure(lua, &mlua::Error::runtime(format!("cannot open {path}: {e}"))),
    }
}

/// `dofile(filename)`, text files only.
fn text_dofile(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let a = Args::new("dofile", args);
    let path = a.string(1, "filename")?;
    let bytes = std::fs::read(&path).map_err(|e| mlua::Error::runtime(format!("cannot open {path}: {e}")))?;
    load_text(lua, &bytes, &format!("@{path}"), None)?.call(())
}

/// `require` of Lua source files only: the C and all-in-one searchers are removed and the Lua
/// searcher loads text chunks; `package.loadlib` is removed.
fn restrict_package(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let package: Table = globals.get("package")?;
    package.raw_set("loadlib", Value::Nil)?;
    package.raw_set("cpath", "")?;
    let searchers: Table = package.get("searchers")?;
    let preload: Value = searchers.raw_get(1)?;
    let lua_searcher = lua.create_function(|lua, name: String| {
        let package: Table = lua.globals().get("package")?;
        let searchpath: Function = package.get("searchpath")?;
        let path: String = package.get("path")?;
        let (found, error): (Option<String>, Option<String>) = searchpath.call((name.as_str(), path))?;
        let Some(found) = found else {
            return Ok(MultiValue::from_iter([Value::String(
                lua.create_string(error.unwrap_or_default())?,
            )]));
        };
        let bytes =
            std::fs::read(&found).map_err(|e| mlua::Error::runtime(format!("cannot read {found}: {e}")))?;
        let loader = load_text(lua, &bytes, &format!("@{found}"), None)?;
        Ok(MultiValue::from_iter([
            Value::Function(loader),
            Value::String(lua.create_string(&found)?),
        ]))
    })?;
    let new_searchers = lua.create_table()?;
    new_searchers.raw_set(1, preload)?;
    new_searchers.raw_set(2, lua_searcher)?;
    package.raw_set("searchers", new_searchers)?;
    Ok(())
}
