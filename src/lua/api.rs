//! The `pmodule` table: definition and registration, logging, options, the enumerations and
//! their aliases, memory and symbol reads, bt variables, synthesis, matches (§2).

use super::args::Args;
use super::context::context;
use super::format::format_args;
use super::objects::btvar::provider;
use super::objects::{LuaBacktrace, LuaBtVar, LuaFrame, LuaMatch, LuaVariable};
use crate::pmodule::{
    typed, AnnotationKind, CallbackId, Event, LogLevel, MatchType, PmapPerm, ProcessState, VariableKind,
};
use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table, Value};

/// Registry key of the table callback id → function.
pub const CALLBACKS_KEY: &str = "pmodule.callbacks";
/// Registry key of the table module key → `{unload =, reset =}`.
pub const LIFECYCLE_KEY: &str = "pmodule.lifecycle";

/// Adds function `pmodule.NAME` (label `"pmodule.NAME"`) to `table`.
fn add<R: IntoLuaMulti + 'static>(
    lua: &Lua,
    table: &Table,
    label: &'static str,
    f: fn(&Lua, &Args) -> mlua::Result<R>,
) -> mlua::Result<()> {
    let name = label.rsplit('.').next().unwrap_or(label);
    table.set(
        name,
        lua.create_function(move |lua, args: MultiValue| f(lua, &Args::new(label, args)))?,
    )
}

/// A table `name = value` of an enumeration.
fn enum_table(lua: &Lua, pairs: impl Iterator<Item = (&'static str, i64)>) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    for (name, value) in pairs {
        table.set(name, value)?;
    }
    Ok(table)
}

/// Installs the global `pmodule` table in `lua`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let pm = lua.create_table()?;
    let events = enum_table(lua, Event::ALL.iter().map(|e| (e.name(), e.value())))?;
    pm.set("event", events.clone())?;
    pm.set("event_type", events)?;
    pm.set(
        "log_level",
        enum_table(lua, LogLevel::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;
    pm.set(
        "annotation",
        enum_table(lua, AnnotationKind::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;
    pm.set(
        "match_type",
        enum_table(lua, MatchType::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;
    pm.set(
        "variable_type",
        enum_table(lua, VariableKind::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;
    pm.set(
        "process_state",
        enum_table(lua, ProcessState::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;
    pm.set(
        "pmap_perms",
        enum_table(lua, PmapPerm::ALL.iter().map(|e| (e.name(), e.value())))?,
    )?;

    super::objects::event_var::install(lua)?;
    add(lua, &pm, "pmodule.define", define)?;
    add(lua, &pm, "pmodule.register", register)?;
    add(lua, &pm, "pmodule.event_register", register)?;
    add(lua, &pm, "pmodule.log", log)?;
    add(lua, &pm, "pmodule.config_option", config_option)?;
    add(lua, &pm, "pmodule.backtrace", |_, _| Ok(LuaBacktrace))?;
    add(lua, &pm, "pmodule.address_read_raw", address_read_raw)?;
    add(lua, &pm, "pmodule.address_read_string", address_read_string)?;
    add(lua, &pm, "pmodule.symbol_address", symbol_address)?;
    add(lua, &pm, "pmodule.address_symbol", address_symbol)?;
    add(lua, &pm, "pmodule.symbol_read_raw", symbol_read_raw)?;
    add(lua, &pm, "pmodule.symbol_read_string", symbol_read_string)?;
    add(lua, &pm, "pmodule.pmap_enabled", |lua, _| {
        Ok(context(lua)?
            .engine
            .process_access()
            .is_some_and(|p| p.pmap_enabled()))
    })?;
    add(lua, &pm, "pmodule.pmap_cached", |lua, _| {
        Ok(context(lua)?
            .engine
            .process_access()
            .is_some_and(|p| p.pmap_cached()))
    })?;
    add(lua, &pm, "pmodule.bt_query", bt_query)?;
    add(lua, &pm, "pmodule.variable_from_bt", variable_from_bt)?;
    add(lua, &pm, "pmodule.deref", deref)?;
    add(lua, &pm, "pmodule.sizeof", sizeof)?;
    add(lua, &pm, "pmodule.create_variable", create_variable)?;
    add(lua, &pm, "pmodule.create_frame", |lua, a| {
        let frame = context(lua)?.engine.with_scene(|s| s.create_frame());
        let _ = a;
        Ok(LuaFrame(frame))
    })?;
    add(lua, &pm, "pmodule.match", |_, _| Ok(LuaMatch::default()))?;
    lua.globals().set("pmodule", pm)?;
    lua.set_named_registry_value(CALLBACKS_KEY, lua.create_table()?)?;
    lua.set_named_registry_value(LIFECYCLE_KEY, lua.create_table()?)?;
    Ok(())
}

fn optional_function(table: &Table, field: &str, function: &str) -> mlua::Result<Option<Function>> {
    match table.get::<Value>(field)? {
        Value::Nil => Ok(None),
        Value::Function(f) => Ok(Some(f)),
        other => Err(mlua::Error::runtime(format!(
            "bad argument #1 to '{function}' (definition): field '{field}' must be a function, got {}",
            super::args::type_name(&other)
        ))),
    }
}

/// `pmodule.define{ id =, load =, unload =, reset = }`: defines the module and runs `load`.
fn define(lua: &Lua, a: &Args) -> mlua::Result<()> {
    let definition = a
        .opt_table(1, "definition")?
        .ok_or_else(|| a.error(1, "definition", "table expected, got nil"))?;
    let id = match definition.get::<Value>("id")? {
        Value::String(s) => s.to_string_lossy(),
        other => {
            return Err(a.error(
                1,
                "definition",
                format!(
                    "field 'id' must be a string, got {}",
                    super::args::type_name(&other)
                ),
            ))
        }
    };
    let load = optional_function(&definition, "load", a.function())?
        .ok_or_else(|| a.error(1, "definition", "field 'load' (a function) is required"))?;
    let unload = optional_function(&definition, "unload", a.function())?;
    let reset = optional_function(&definition, "reset", a.function())?;
    let ctx = context(lua)?;
    let key = ctx
        .engine
        .define_module(&id, &ctx.file)
        .map_err(|e| mlua::Error::runtime(format!("pmodule.define: {e}")))?;
    ctx.defined.lock().unwrap_or_else(|e| e.into_inner()).push(key);
    let lifecycle: Table = lua.named_registry_value(LIFECYCLE_KEY)?;
    let entry = lua.create_table()?;
    entry.set("unload", unload)?;
    entry.set("reset", reset)?;
    lifecycle.set(key.0 as i64, entry)?;
    let previous = ctx.set_current(Some(key));
    let result = load.call::<()>(());
    ctx.set_current(previous);
    result
}

/// `pmodule.register(event, fn [, match])` (alias `event_register`).
fn register(lua: &Lua, a: &Args) -> mlua::Result<()> {
    let event = match a.get(1) {
        Value::String(s) => {
            let name = s.to_string_lossy();
            Event::from_name(&name).ok_or_else(|| a.error(1, "event", format!("'{name}' is not an event")))?
        }
        Value::Nil => return Err(a.error(1, "event", "pmodule.event value expected, got nil")),
        _ => {
            let value = a.integer(1, "event")?;
            Event::from_value(value)
                .ok_or_else(|| a.error(1, "event", format!("{value} is not a pmodule.event value")))?
        }
    };
    let callback = a.function_arg(2, "callback")?;
    let filter = a
        .opt_userdata::<LuaMatch>(3, "match", "match")?
        .map(|m| m.0.clone());
    let ctx = context(lua)?;
    let module = ctx.current_module().ok_or_else(|| {
        mlua::Error::runtime(format!(
            "{}: no module is being defined (register from the load function given to pmodule.define)",
            a.function()
        ))
    })?;
    let id = ctx
        .next_callback
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let callbacks: Table = lua.named_registry_value(CALLBACKS_KEY)?;
    callbacks.set(id as i64, callback)?;
    ctx.engine.register(module, event, filter, CallbackId(id));
    Ok(())
}

/// `pmodule.log(level, fmt, ...)`.
fn log(lua: &Lua, a: &Args) -> mlua::Result<()> {
    let value = a.integer(1, "level")?;
    let level = LogLevel::from_value(value)
        .ok_or_else(|| a.error(1, "level", format!("{value} is not a pmodule.log_level value")))?;
    let text = format_args(lua, a, 2)?;
    context(lua)?.log(level, &text);
    Ok(())
}

/// `pmodule.config_option(key)`.
fn config_option(lua: &Lua, a: &Args) -> mlua::Result<Option<String>> {
    let key = a.string(1, "key")?;
    let ctx = context(lua)?;
    Ok(ctx
        .current_module()
        .and_then(|m| ctx.engine.config_option(m, &key)))
}

/// Reads up to `len` bytes at `address` (nothing without target access).
fn read(lua: &Lua, address: u64, len: usize) -> mlua::Result<Vec<u8>> {
    Ok(context(lua)?
        .engine
        .process_access()
        .map(|p| {
            let mut bytes = p.read(address, len);
            bytes.truncate(len);
            bytes
        })
        .unwrap_or_default())
}

fn bytes_value(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if bytes.is_empty() {
        Ok(Value::Nil)
    } else {
        Ok(Value::String(lua.create_string(bytes)?))
    }
}

/// The text up to the first NUL of `bytes` (nil when nothing was read).
fn c_string(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Nil);
    }
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    Ok(Value::String(lua.create_string(&bytes[..end])?))
}

fn address_read_raw(lua: &Lua, a: &Args) -> mlua::Result<Value> {
    let address = a.address(1, "addr")?;
    let size = a.size(2, "size", context(lua)?.max_read)?;
    bytes_value(lua, &read(lua, address, size)?)
}

fn address_read_string(lua: &Lua, a: &Args) -> mlua::Result<Value> {
    let address = a.address(1, "addr")?;
    let max = a.size(2, "max", context(lua)?.max_read)?;
    c_string(lua, &read(lua, address, max)?)
}

fn symbol_address_of(lua: &Lua, symbol: &str, object: Option<&str>) -> mlua::Result<Option<u64>> {
    Ok(context(lua)?
        .engine
        .process_access()
        .and_then(|p| p.symbol_address(symbol, object)))
}

fn symbol_address(lua: &Lua, a: &Args) -> mlua::Result<Option<i64>> {
    let symbol = a.string(1, "symbol")?;
    let object = a.opt_string(2, "object")?;
    Ok(symbol_address_of(lua, &symbol, object.as_deref())?.map(|x| x as i64))
}

fn address_symbol(lua: &Lua, a: &Args) -> mlua::Result<Option<String>> {
    let address = a.address(1, "addr")?;
    Ok(context(lua)?
        .engine
        .process_access()
        .and_then(|p| p.address_symbol(address)))
}

fn symbol_read_raw(lua: &Lua, a: &Args) -> mlua::Result<Value> {
    let symbol = a.string(1, "symbol")?;
    let object = a.opt_string(2, "object")?;
    let size = a.size(3, "size", context(lua)?.max_read)?;
    match symbol_address_of(lua, &symbol, object.as_deref())? {
        Some(address) => bytes_value(lua, &read(lua, address, size)?),
        None => Ok(Value::Nil),
    }
}

fn symbol_read_string(lua: &Lua, a: &Args) -> mlua::Result<Value> {
    let symbol = a.string(1, "symbol")?;
    let object = a.opt_string(2, "object")?;
    let size = a.size(3, "size", context(lua)?.max_read)?;
    match symbol_address_of(lua, &symbol, object.as_deref())? {
        Some(address) => c_string(lua, &read(lua, address, size)?),
        None => Ok(Value::Nil),
    }
}

fn bt_query(lua: &Lua, a: &Args) -> mlua::Result<Option<LuaBtVar>> {
    let name = a.string(1, "name")?;
    let object = a.opt_string(2, "object")?;
    let cu = a.opt_string(3, "cu")?;
    let Some(typed) = context(lua)?.engine.typed_memory() else {
        return Ok(None);
    };
    Ok(typed
        .global(&name, object.as_deref(), cu.as_deref())
        .map(LuaBtVar))
}

fn variable_from_bt(lua: &Lua, a: &Args) -> mlua::Result<LuaVariable> {
    let bt = a.userdata::<LuaBtVar>(1, "btvar", "bt variable")?.0.clone();
    let variable = provider(lua, a.function())?.value(&bt);
    Ok(LuaVariable(
        context(lua)?.engine.with_scene(|s| s.detached_variable(variable)),
    ))
}

fn deref(lua: &Lua, a: &Args) -> mlua::Result<LuaBtVar> {
    let bt = a.userdata::<LuaBtVar>(1, "btvar", "bt variable")?.0.clone();
    let at = a.opt_integer(2, "address")?.map(|x| x as u64);
    let typed = provider(lua, a.function())?;
    typed::deref(typed.as_ref(), &bt, at)
        .map(LuaBtVar)
        .map_err(|e| mlua::Error::runtime(format!("{}: {e}", a.function())))
}

fn sizeof(lua: &Lua, a: &Args) -> mlua::Result<i64> {
    let bt = a.userdata::<LuaBtVar>(1, "btvar", "bt variable")?.0.clone();
    let typed = provider(lua, a.function())?;
    typed::size_of(typed.as_ref(), &bt)
        .map(|s| s as i64)
        .map_err(|e| mlua::Error::runtime(format!("{}: {e}", a.function())))
}

fn create_variable(lua: &Lua, a: &Args) -> mlua::Result<LuaVariable> {
    let type_name = a.string(1, "type_name")?;
    let name = a.string(2, "name")?;
    let address = a.address(3, "addr")?;
    let offset = a.integer(4, "offset")?;
    let owner = super::objects::event_var::opt_variable_arg(a, 5, "owner")?;
    let var = context(lua)?
        .engine
        .with_scene(|s| s.create_variable(&type_name, &name, address, offset, owner))
        .map_err(|e| mlua::Error::runtime(format!("{}: {e}", a.function())))?;
    Ok(LuaVariable(var))
}
