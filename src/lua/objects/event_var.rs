//! The variable of a variable event, as the callback gets it: a light userdata carrying the
//! callback's number, not a full userdata. Making one costs no allocation, no finalizer and
//! nothing for the collector, which matters on the tens of thousands of variable callbacks of
//! one stop. Light userdata share one metatable per Lua state; the one set here gives them the
//! variable methods: `name`, `type` and `value` answered directly (by raw C functions, see
//! [`fast_name`]), the others forwarded to a full [`LuaVariable`] made on demand. A handle kept
//! past its callback raises "no longer valid" (the API's objects are valid only during their
//! callback).

use super::variable::{var_name, var_type, var_value, LuaVariable, ShortText};
use crate::lua::args::Args;
use crate::lua::context::LuaContext;
use crate::pmodule::{Engine, ScalarValue, Scene, SceneError, VarRef};
use mlua::{ffi, Function, LightUserData, Lua, MultiValue, ObjectLike, Value};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    let name = lua.create_function(|lua, h: LightUserData| {
        let name = with_event_var(h, "variable:name", var_name)?;
        lua.create_string(name.as_bytes())
    })?;
    methods.set("name", fast(lua, fast_name, name)?)?;
    let kind = lua.create_function(|_, h: LightUserData| with_event_var(h, "variable:type", var_type))?;
    methods.set("type", fast(lua, fast_type, kind)?)?;
    let value = lua.create_function(|_, h: LightUserData| {
        let value = with_event_var(h, "variable:value", var_value)?;
        Ok(super::variable::value_to_lua(value))
    })?;
    methods.set("value", fast(lua, fast_value, value)?)?;
    for &name in FORWARDED {
        methods.set(
            name,
            lua.create_function(move |lua, (h, rest): (LightUserData, MultiValue)| {
                let var = resolve(h, name)?;
                lua.create_userdata(LuaVariable(var))?
                    .call_method::<MultiValue>(name, rest)
            })?,
        )?;
    }
    let metatable = lua.create_table()?;
    metatable.set("__index", methods)?;
    metatable.set(
        "__tostring",
        lua.create_function(|_, h: LightUserData| {
            Ok(with_event_var(h, "tostring", |s, var| {
                let v = s.var(var)?;
                Ok(format!("variable {} ({}, {})", v.name, v.type_name, v.kind))
            })
            .unwrap_or_else(|_| "variable (stale)".into()))
        })?,
    )?;
    lua.set_type_metatable::<LightUserData>(Some(metatable));
    Ok(())
}

/// The variable of the variable callback running on this thread: the number its handle
/// carries, and the engine whose scene holds it.
struct Binding {
    number: u64,
    var: VarRef,
    engine: Arc<Engine>,
}

thread_local! {
    /// The binding of the variable callback running on this thread (callbacks run on the
    /// thread that dispatches them).
    static CURRENT: RefCell<Option<Binding>> = const { RefCell::new(None) };
}

/// The number the next handle carries: unique across the Lua states, so that a number
/// identifies its binding.
static NEXT_NUMBER: AtomicU64 = AtomicU64::new(1);

/// What [`bind`] replaced, for [`unbind`].
pub(crate) struct Bound(Option<Binding>);

/// Makes `var` the event variable of the callback about to run; returns its handle.
pub(crate) fn bind(ctx: &LuaContext, var: VarRef) -> (LightUserData, Bound) {
    // Never 0: a null light userdata is not a handle.
    let number = NEXT_NUMBER.fetch_add(1, Ordering::Relaxed).max(1);
    let binding = Binding {
        number,
        var,
        engine: ctx.engine.clone(),
    };
    let previous = CURRENT.with(|c| c.borrow_mut().replace(binding));
    (LightUserData(number as usize as *mut c_void), Bound(previous))
}

/// Ends the callback [`bind`] started: its handle is no longer valid.
pub(crate) fn unbind(bound: Bound) {
    CURRENT.with(|c| *c.borrow_mut() = bound.0);
}

fn stale(function: &str) -> mlua::Error {
    mlua::Error::runtime(format!(
        "{function}: the variable is no longer valid (objects are valid only during their callback)"
    ))
}

/// Runs `f` on the scene and the variable the handle `h` stands for; `None` when `h` is not the
/// running callback's handle.
fn on_event_var<R>(h: usize, f: impl FnOnce(&mut Scene, &VarRef) -> R) -> Option<R> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(b) if b.number as usize == h => Some(b.engine.with_scene(|s| f(s, &b.var))),
        _ => None,
    })
}

/// Runs `f` on the scene and the variable handle `h` stands for.
fn with_event_var<R>(
    h: LightUserData,
    function: &str,
    f: impl FnOnce(&mut Scene, &VarRef) -> Result<R, SceneError>,
) -> mlua::Result<R> {
    on_event_var(h.0 as usize, f)
        .ok_or_else(|| stale(function))?
        .map_err(|e| mlua::Error::runtime(format!("{function}: {e}")))
}

/// The variable handle `h` stands for.
fn resolve(h: LightUserData, function: &str) -> mlua::Result<VarRef> {
    on_event_var(h.0 as usize, |_, var| var.clone()).ok_or_else(|| stale(function))
}

// ---- the raw C methods ------------------------------------------------------------------------
//
// `name`, `type` and `value` run once or more per variable callback: mlua's callback machinery
// (argument conversion, error wrapping, app data) costs more than their answers. These raw C
// functions answer the running callback's handle directly; anything else (another argument, a
// stale handle, a scene error, a long name, a panic) goes to the mlua function they carry as
// their upvalue, which answers or raises as before. A Lua error is a longjmp: when one can
// happen (pushing a string may fail on the memory limit; the fallback may raise), their frames
// hold nothing with a destructor.

/// Wraps raw `function` with `fallback` as its upvalue.
fn fast(lua: &Lua, function: ffi::lua_CFunction, fallback: Function) -> mlua::Result<Function> {
    // SAFETY: the closure only makes a C closure of the function mlua pushed.
    unsafe { lua.exec_raw(fallback, |state| ffi::lua_pushcclosure(state, function, 1)) }
}

/// Calls the fallback with the arguments; returns its results.
///
/// # Safety
/// `state` must run a C closure made by [`fast`].
unsafe fn call_fallback(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: `state` runs a C closure made by `fast` (this function's precondition), so
    // upvalue 1 is the mlua fallback function; Lua gives a C function LUA_MINSTACK free slots,
    // and one is pushed (the fallback, moved below the arguments and called with them). An
    // error it raises unwinds through this frame, which holds nothing with a destructor.
    unsafe {
        let arguments = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, arguments, ffi::LUA_MULTRET);
        ffi::lua_gettop(state)
    }
}

/// Runs `f` on the event variable whose handle is the first argument: `None` when it is not the
/// running callback's handle, when `f` fails, or when it panics.
///
/// # Safety
/// `state` must be a valid Lua state running a C function.
unsafe fn answer<R>(
    state: *mut ffi::lua_State,
    f: impl FnOnce(&mut Scene, &VarRef) -> Result<R, SceneError>,
) -> Option<R> {
    // SAFETY: `state` is a valid state running a C function (this function's precondition);
    // index 1 is acceptable even with no argument (LUA_TNONE).
    if unsafe { ffi::lua_type(state, 1) } != ffi::LUA_TLIGHTUSERDATA {
        return None;
    }
    // SAFETY: as above; argument 1 is a light userdata (checked), whose pointer is only taken
    // as the handle's number, never dereferenced.
    let h = unsafe { ffi::lua_touserdata(state, 1) } as usize;
    catch_unwind(AssertUnwindSafe(|| on_event_var(h, f)))
        .ok()
        .flatten()
        .and_then(Result::ok)
}

/// The event variable's name when short (copied without an allocation).
///
/// # Safety
/// As [`answer`].
unsafe fn short_name(state: *mut ffi::lua_State) -> Option<([u8; 48], usize)> {
    // SAFETY: `state` is what this function's caller passed, with the guarantee `answer` needs.
    match unsafe { answer(state, var_name) }? {
        ShortText::Inline(bytes, len) => Some((bytes, len)),
        ShortText::Heap(_) => None,
    }
}

/// `name` (see the raw C methods above).
unsafe extern "C-unwind" fn fast_name(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this C closure (made by `fast` in `install`) with its running state.
    match unsafe { short_name(state) } {
        Some((bytes, len)) => {
            // SAFETY: `state` as above; `len` is at most the 48 bytes of the local `bytes`
            // (ShortText::Inline holds no more), which Lua copies. A memory error raised here
            // unwinds through a frame holding nothing with a destructor.
            unsafe { ffi::lua_pushlstring(state, bytes.as_ptr().cast(), len) };
            1
        }
        // SAFETY: `state` runs the C closure `fast` made, as `call_fallback` needs.
        None => unsafe { call_fallback(state) },
    }
}

/// `type` (see the raw C methods above).
unsafe extern "C-unwind" fn fast_type(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this C closure (made by `fast` in `install`) with its running state.
    match unsafe { answer(state, var_type) } {
        Some(kind) => {
            // SAFETY: `state` as above, with a free slot (Lua gives a C function LUA_MINSTACK).
            unsafe { ffi::lua_pushinteger(state, kind) };
            1
        }
        // SAFETY: `state` runs the C closure `fast` made, as `call_fallback` needs.
        None => unsafe { call_fallback(state) },
    }
}

/// `value` (see the raw C methods above).
unsafe extern "C-unwind" fn fast_value(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this C closure (made by `fast` in `install`) with its running state.
    let value = unsafe { answer(state, var_value) };
    // SAFETY: `state` as above; at most two values are pushed, within the LUA_MINSTACK free
    // slots Lua gives a C function; the fallback is the one `fast` attached.
    unsafe {
        match value {
            Some(ScalarValue::Int(i)) => ffi::lua_pushinteger(state, i),
            Some(ScalarValue::Float(f)) => ffi::lua_pushnumber(state, f),
            Some(ScalarValue::Complex(re, im)) => {
                ffi::lua_pushnumber(state, re);
                ffi::lua_pushnumber(state, im);
                return 2;
            }
            Some(ScalarValue::None) => ffi::lua_pushnil(state),
            None => return call_fallback(state),
        }
    }
    1
}

/// Argument `n` as a variable, full or the event's handle.
pub(crate) fn variable_arg(a: &Args, n: usize, name: &str) -> mlua::Result<VarRef> {
    match a.get(n) {
        Value::LightUserData(h) => resolve(*h, a.function()),
        _ => Ok(a.userdata::<LuaVariable>(n, name, "variable")?.0.clone()),
    }
}

/// Argument `n` as a variable, or `None` when nil or absent.
pub(crate) fn opt_variable_arg(a: &Args, n: usize, name: &str) -> mlua::Result<Option<VarRef>> {
    if a.is_nil(n) {
        Ok(None)
    } else {
        variable_arg(a, n, name).map(Some)
    }
}
