//! bt variables: typed views of target memory. `btvar.member` follows pointers (any depth) to
//! reach a struct, then takes the member; `btvar[i]` is element `i` of an array or pointer.

use super::super::args::type_name;
use super::super::context::context;
use crate::pmodule::{typed, BtVar, TypedMemory};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value};
use std::sync::Arc;

/// A bt variable.
#[derive(Clone, Debug)]
pub struct LuaBtVar(pub BtVar);

/// The typed memory provider, or an error naming `function`.
pub fn provider(lua: &Lua, function: &str) -> mlua::Result<Arc<dyn TypedMemory>> {
    context(lua)?.engine.typed_memory().ok_or_else(|| {
        mlua::Error::runtime(format!(
            "{function}: typed memory is unavailable (no debug information loaded)"
        ))
    })
}

impl UserData for LuaBtVar {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Index, |lua, this, key: Value| {
            let typed = provider(lua, "bt variable")?;
            let result = match &key {
                Value::String(name) => {
                    let name = name.to_string_lossy();
                    typed::member(typed.as_ref(), &this.0, &name).map_err(|e| {
                        mlua::Error::runtime(format!("bt variable '{}': .{name}: {e}", this.0.name))
                    })?
                }
                Value::Integer(i) => typed::element(typed.as_ref(), &this.0, *i).map_err(|e| {
                    mlua::Error::runtime(format!("bt variable '{}': [{i}]: {e}", this.0.name))
                })?,
                Value::Number(f) if f.fract() == 0.0 => typed::element(typed.as_ref(), &this.0, *f as i64)
                    .map_err(|e| {
                        mlua::Error::runtime(format!("bt variable '{}': [{f}]: {e}", this.0.name))
                    })?,
                other => {
                    return Err(mlua::Error::runtime(format!(
                        "bt variable '{}': index with a member name or an integer, got {}",
                        this.0.name,
                        type_name(other)
                    )))
                }
            };
            Ok(LuaBtVar(result))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(match this.0.address {
                Some(a) => format!("bt variable {} ({}) at {a:#x}", this.0.name, this.0.type_name),
                None => format!("bt variable {} ({})", this.0.name, this.0.type_name),
            })
        });
    }
}
