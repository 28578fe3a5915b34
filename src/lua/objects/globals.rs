//! `bt:variables()` and `thr:variables()`: iterator functions that take the filter table
//! (`{object =, cu =, name =}`) as the generic for's invariant state and yield `var, object, cu`.

use super::super::args::{type_name, Args};
use super::super::context::context;
use super::LuaVariable;
use crate::pmodule::{GlobalEntry, GlobalFilter, LogLevel};
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::sync::Mutex;

/// Which variables an iterator enumerates.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    /// Globals and file-statics.
    Globals,
    /// The thread-local variables of thread `tid`.
    ThreadLocals(i32),
}

fn filter_field(table: &Table, field: &str, function: &str) -> mlua::Result<Option<String>> {
    match table.get::<Value>(field)? {
        Value::Nil => Ok(None),
        Value::String(s) => Ok(Some(s.to_string_lossy())),
        other => Err(mlua::Error::runtime(format!(
            "bad filter to '{function}': field '{field}' must be a string, got {}",
            type_name(&other)
        ))),
    }
}

/// The iterator function of `scope`.
pub fn iterator(lua: &Lua, scope: Scope, function: &'static str) -> mlua::Result<Function> {
    let state: Mutex<Option<(Vec<GlobalEntry>, usize)>> = Mutex::new(None);
    lua.create_function(move |lua, args: MultiValue| {
        let args = Args::new(function, args);
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            let filter = match args.opt_table(1, "filter")? {
                None => GlobalFilter::default(),
                Some(t) => GlobalFilter {
                    object: filter_field(&t, "object", function)?,
                    cu: filter_field(&t, "cu", function)?,
                    name: filter_field(&t, "name", function)?,
                },
            };
            let ctx = context(lua)?;
            let entries = match ctx.engine.typed_memory() {
                Some(typed) => match scope {
                    Scope::Globals => typed.globals(&filter),
                    Scope::ThreadLocals(tid) => typed.thread_locals(tid, &filter),
                },
                None => {
                    ctx.log(
                        LogLevel::Warning,
                        &format!("{function}: no typed memory (no debug information): nothing to iterate"),
                    );
                    Vec::new()
                }
            };
            *state = Some((entries, 0));
        }
        let Some((entries, next)) = state.as_mut() else {
            return Ok(MultiValue::new());
        };
        let Some(entry) = entries.get(*next).cloned() else {
            return Ok(MultiValue::new());
        };
        *next += 1;
        let ctx = context(lua)?;
        let Some(typed) = ctx.engine.typed_memory() else {
            return Ok(MultiValue::new());
        };
        let variable = typed.value(&entry.var);
        let var = ctx.engine.with_scene(|scene| scene.detached_variable(variable));
        Ok(MultiValue::from_iter([
            Value::UserData(lua.create_userdata(LuaVariable(var))?),
            Value::String(lua.create_string(&entry.object)?),
            Value::String(lua.create_string(&entry.cu)?),
        ]))
    })
}
