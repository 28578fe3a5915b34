//! The variable of a variable event, as the callback gets it: a light userdata carrying the
//! callback's number, not a full userdata. Making one costs no allocation, no finalizer and
//! nothing for the collector, which matters on the tens of thousands of variable callbacks of
//! one stop. Light userdata share one metatable per Lua state; the one set here gives them the
//! variable methods: `name`, `type` and `value` answered directly, the others forwarded to a
//! full [`LuaVariable`] made on demand. A handle kept past its callback raises "no longer
//! valid" (the API's objects are valid only during their callback).

use super::variable::{var_name, var_type, var_value, LuaVariable};
use crate::lua::args::Args;
use crate::lua::context::LuaContext;
use crate::pmodule::{Scene, SceneError, VarRef};
use mlua::{LightUserData, Lua, MultiValue, ObjectLike, Value};
use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The methods forwarded to a full variable (all but the three answered directly).
pub(crate) const FORWARDED: &[&str] = &[
    "address",
    "type_name",
    "base_type",
    "symbol",
    "owner",
    "frame",
    "thread",
    "backtrace",
    "fprm_offset",
    "resolved",
    "is_string",
    "set_struct",
    "set_array",
    "set_function",
    "set_string",
    "set_enum",
    "set_ref",
    "set_ll",
    "set_ull",
    "set_dbl",
    "set_cdbl",
    "annotate",
];

/// Sets the light userdata metatable of `lua` (done once, when the API is installed).
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let methods = lua.create_table()?;
    methods.set(
        "name",
        lua.create_function(|lua, h: LightUserData| {
            let name = with_event_var(lua, h, "variable:name", var_name)?;
            lua.create_string(name.as_bytes())
        })?,
    )?;
    methods.set(
        "type",
        lua.create_function(|lua, h: LightUserData| with_event_var(lua, h, "variable:type", var_type))?,
    )?;
    methods.set(
        "value",
        lua.create_function(|lua, h: LightUserData| {
            let value = with_event_var(lua, h, "variable:value", var_value)?;
            Ok(super::variable::value_to_lua(value))
        })?,
    )?;
    for &name in FORWARDED {
        methods.set(
            name,
            lua.create_function(move |lua, (h, rest): (LightUserData, MultiValue)| {
                let var = resolve(lua, h, name)?;
                lua.create_userdata(LuaVariable(var))?
                    .call_method::<MultiValue>(name, rest)
            })?,
        )?;
    }
    let metatable = lua.create_table()?;
    metatable.set("__index", methods)?;
    metatable.set(
        "__tostring",
        lua.create_function(|lua, h: LightUserData| {
            Ok(with_event_var(lua, h, "tostring", |s, var| {
                let v = s.var(var)?;
                Ok(format!("variable {} ({}, {})", v.name, v.type_name, v.kind))
            })
            .unwrap_or_else(|_| "variable (stale)".into()))
        })?,
    )?;
    lua.set_type_metatable::<LightUserData>(Some(metatable));
    Ok(())
}

/// What [`bind`] replaced, for [`unbind`].
pub(crate) struct Bound(Option<(u64, VarRef)>);

/// Makes `var` the event variable of the callback about to run; returns its handle.
pub(crate) fn bind(ctx: &LuaContext, var: VarRef) -> (LightUserData, Bound) {
    // Never 0: a null light userdata is not a handle.
    let number = ctx.next_event_var.fetch_add(1, Ordering::Relaxed).max(1);
    let previous = lock(&ctx.event_var).replace((number, var));
    (LightUserData(number as usize as *mut c_void), Bound(previous))
}

/// Ends the callback [`bind`] started: its handle is no longer valid.
pub(crate) fn unbind(ctx: &LuaContext, bound: Bound) {
    *lock(&ctx.event_var) = bound.0;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn stale(function: &str) -> mlua::Error {
    mlua::Error::runtime(format!(
        "{function}: the variable is no longer valid (objects are valid only during their callback)"
    ))
}

/// Runs `f` on the scene and the variable handle `h` stands for.
fn with_event_var<R>(
    lua: &Lua,
    h: LightUserData,
    function: &str,
    f: impl FnOnce(&mut Scene, &VarRef) -> Result<R, SceneError>,
) -> mlua::Result<R> {
    let ctx = lua
        .app_data_ref::<Arc<LuaContext>>()
        .ok_or_else(|| mlua::Error::runtime("pmodule: this Lua state has no module context"))?;
    let slot = lock(&ctx.event_var);
    match &*slot {
        Some((number, var)) if *number as usize == h.0 as usize => ctx
            .engine
            .with_scene(|s| f(s, var))
            .map_err(|e| mlua::Error::runtime(format!("{function}: {e}"))),
        _ => Err(stale(function)),
    }
}

/// The variable handle `h` stands for.
fn resolve(lua: &Lua, h: LightUserData, function: &str) -> mlua::Result<VarRef> {
    let ctx = lua
        .app_data_ref::<Arc<LuaContext>>()
        .ok_or_else(|| mlua::Error::runtime("pmodule: this Lua state has no module context"))?;
    let slot = lock(&ctx.event_var);
    match &*slot {
        Some((number, var)) if *number as usize == h.0 as usize => Ok(var.clone()),
        _ => Err(stale(function)),
    }
}

/// Argument `n` as a variable, full or the event's handle.
pub(crate) fn variable_arg(lua: &Lua, a: &Args, n: usize, name: &str) -> mlua::Result<VarRef> {
    match a.get(n) {
        Value::LightUserData(h) => resolve(lua, *h, a.function()),
        _ => Ok(a.userdata::<LuaVariable>(n, name, "variable")?.0.clone()),
    }
}

/// Argument `n` as a variable, or `None` when nil or absent.
pub(crate) fn opt_variable_arg(lua: &Lua, a: &Args, n: usize, name: &str) -> mlua::Result<Option<VarRef>> {
    if a.is_nil(n) {
        Ok(None)
    } else {
        variable_arg(lua, a, n, name).map(Some)
    }
}
