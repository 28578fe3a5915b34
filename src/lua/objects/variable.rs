//! The pmodule variable object.

use super::{annotate, getter, method, with_scene, LuaBacktrace, LuaFrame, LuaThread};
use crate::pmodule::values::{is_string, pretty_type_name, scalar_value, value_kind};
use crate::pmodule::{ScalarValue, Scene, SceneError, Target, VarRef, VarValue};
use mlua::{Lua, MetaMethod, MultiValue, UserData, UserDataMethods, Value};

/// A copy of a text taken under the scene lock (the Lua string is made after it is released):
/// short texts, as variable names mostly are, are copied without an allocation.
pub(super) enum ShortText {
    Inline([u8; 48], usize),
    Heap(String),
}

impl ShortText {
    fn of(text: &str) -> Self {
        let mut bytes = [0u8; 48];
        match bytes.get_mut(..text.len()) {
            Some(slot) => {
                slot.copy_from_slice(text.as_bytes());
                ShortText::Inline(bytes, text.len())
            }
            None => ShortText::Heap(text.to_string()),
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            ShortText::Inline(bytes, len) => &bytes[..*len],
            ShortText::Heap(text) => text.as_bytes(),
        }
    }
}

/// A variable (of the snapshot, or detached).
#[derive(Clone, Debug)]
pub struct LuaVariable(pub VarRef);

/// The name of `var` (copied under the scene lock, without an allocation when short).
pub(super) fn var_name(s: &mut Scene, var: &VarRef) -> Result<ShortText, SceneError> {
    Ok(ShortText::of(&s.var(var)?.name))
}

/// `variable:type()`: the kind of the variable's *value*. A scalar whose value is not known
/// (optimized out, unreadable) has none, so it is `bottom` here (its C type stays in
/// `type_name()` and the snapshot's `kind`). Modules written for the original, like the
/// tutorial's, format `value()` of every `reference` with %x and must not meet a nil.
pub(super) fn var_type(s: &mut Scene, var: &VarRef) -> Result<i64, SceneError> {
    Ok(value_kind(s.var(var)?).value())
}

/// The scalar value of `var`.
pub(super) fn var_value(s: &mut Scene, var: &VarRef) -> Result<ScalarValue, SceneError> {
    Ok(scalar_value(s.var(var)?))
}

/// `variable:value()`'s results: one value, or two for a complex number.
pub(super) fn value_to_lua(value: ScalarValue) -> MultiValue {
    match value {
        ScalarValue::Int(i) => MultiValue::from_iter([Value::Integer(i)]),
        ScalarValue::Float(f) => MultiValue::from_iter([Value::Number(f)]),
        ScalarValue::Complex(re, im) => MultiValue::from_iter([Value::Number(re), Value::Number(im)]),
        ScalarValue::None => MultiValue::from_iter([Value::Nil]),
    }
}

fn set(lua: &Lua, this: &LuaVariable, function: &str, value: VarValue) -> mlua::Result<()> {
    with_scene(lua, function, |s| s.set_var_value(&this.0, value))
}

impl UserData for LuaVariable {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        getter(methods, "variable:name", |lua, this: &Self, a| {
            let name = with_scene(lua, a, |s| var_name(s, &this.0))?;
            lua.create_string(name.as_bytes())
        });
        getter(methods, "variable:address", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(s.var(&this.0)?.address.map(|x| x.0 as i64)))
        });
        // The kind of the variable's *value*: a scalar whose value is not known (optimized out,
        // unreadable) has none, so it is `bottom` here (its C type stays in `type_name()` and the
        // snapshot's `kind`). Modules written for the original, like the tutorial's, format
        // `value()` of every `reference` with %x and must not meet a nil.
        getter(methods, "variable:type", |lua, this: &Self, a| {
            with_scene(lua, a, |s| var_type(s, &this.0))
        });
        getter(methods, "variable:type_name", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(pretty_type_name(&s.var(&this.0)?.type_name)))
        });
        getter(methods, "variable:base_type", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(s.var(&this.0)?.base_type.to_string()))
        });
        getter(methods, "variable:symbol", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(s.var(&this.0)?.symbol.clone()))
        });
        getter(methods, "variable:value", |lua, this: &Self, a| {
            let value = with_scene(lua, a, |s| var_value(s, &this.0))?;
            Ok(value_to_lua(value))
        });
        getter(
            methods,
            "variable:owner",
            |lua, this: &Self, a| match with_scene(lua, a, |s| s.var_owner(&this.0))? {
                Some(v) => Ok(Value::UserData(lua.create_userdata(LuaVariable(v))?)),
                None => Ok(Value::Nil),
            },
        );
        getter(
            methods,
            "variable:frame",
            |lua, this: &Self, a| match with_scene(lua, a, |s| s.var_frame(&this.0))? {
                Some(f) => Ok(Value::UserData(lua.create_userdata(LuaFrame(f))?)),
                None => Ok(Value::Nil),
            },
        );
        getter(
            methods,
            "variable:thread",
            |lua, this: &Self, a| match with_scene(lua, a, |s| s.var_thread(&this.0))? {
                Some(t) => Ok(Value::UserData(lua.create_userdata(LuaThread(t))?)),
                None => Ok(Value::Nil),
            },
        );
        method(methods, "variable:backtrace", |_, _: &Self, _| Ok(LuaBacktrace));
        getter(methods, "variable:fprm_offset", |lua, this: &Self, a| {
            with_scene(lua, a, |s| s.fprm_offset(&this.0))
        });
        getter(methods, "variable:resolved", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(s.var(&this.0)?.state.has_value()))
        });
        getter(methods, "variable:is_string", |lua, this: &Self, a| {
            with_scene(lua, a, |s| Ok(is_string(s.var(&this.0)?)))
        });
        method(methods, "variable:set_struct", |lua, this: &Self, a| {
            set(lua, this, a.function(), VarValue::Struct)
        });
        method(methods, "variable:set_array", |lua, this: &Self, a| {
            set(lua, this, a.function(), VarValue::Array)
        });
        method(methods, "variable:set_function", |lua, this: &Self, a| {
            let sym = a.opt_string(1, "symbol")?;
            set(lua, this, a.function(), VarValue::Function(sym))
        });
        method(methods, "variable:set_string", |lua, this: &Self, a| {
            let text = a.string(1, "string")?;
            let sym = a.opt_string(2, "symbol")?;
            set(lua, this, a.function(), VarValue::String(text, sym))
        });
        method(methods, "variable:set_enum", |lua, this: &Self, a| {
            let n = a.integer(1, "value")?;
            let sym = a.opt_string(2, "symbol")?;
            set(lua, this, a.function(), VarValue::Enum(n, sym))
        });
        method(methods, "variable:set_ref", |lua, this: &Self, a| {
            let address = a.address(1, "address")?;
            let sym = a.opt_string(2, "symbol")?;
            set(lua, this, a.function(), VarValue::Ref(address, sym))
        });
        method(methods, "variable:set_ll", |lua, this: &Self, a| {
            let n = a.integer(1, "value")?;
            set(lua, this, a.function(), VarValue::Ll(n))
        });
        method(methods, "variable:set_ull", |lua, this: &Self, a| {
            let n = a.integer(1, "value")?;
            set(lua, this, a.function(), VarValue::Ull(n as u64))
        });
        method(methods, "variable:set_dbl", |lua, this: &Self, a| {
            let x = a.number(1, "value")?;
            set(lua, this, a.function(), VarValue::Dbl(x))
        });
        method(methods, "variable:set_cdbl", |lua, this: &Self, a| {
            let re = a.number(1, "real")?;
            let im = a.number(2, "imaginary")?;
            set(lua, this, a.function(), VarValue::Cdbl(re, im))
        });
        method(methods, "variable:annotate", |lua, this: &Self, a| {
            annotate(lua, a, Target::Variable(this.0.clone()))
        });
        methods.add_meta_method(MetaMethod::ToString, |lua, this, ()| {
            let text = with_scene(lua, "tostring", |s| {
                let v = s.var(&this.0)?;
                Ok(format!("variable {} ({}, {})", v.name, v.type_name, v.kind))
            })
            .unwrap_or_else(|_| "variable (stale)".into());
            Ok(text)
        });
    }
}
