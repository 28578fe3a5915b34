//! The backtrace object (`pmodule.backtrace()`, the argument of preattach, attach and postattach
//! callbacks).

use super::super::args::Args;
use super::super::context::context;
use super::globals::{iterator, Scope};
use super::{annotate, method, with_scene, LuaMatch, LuaPmap, LuaThread};
use crate::pmodule::{ProcessState, Target};
use crate::snapshot::AttributeValue;
use mlua::{MetaMethod, MultiValue, UserData, UserDataMethods, Value};

/// The backtrace (the snapshot and the process).
#[derive(Clone, Copy, Debug)]
pub struct LuaBacktrace;

impl UserData for LuaBacktrace {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        method(methods, "bt:pid", |lua, _: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(i64::from(s.snapshot()?.pid)))
        });
        method(methods, "bt:application_name", |lua, _: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.snapshot()?.application.clone()))
        });
        method(methods, "bt:process_state", |lua, _: &Self, a| {
            with_scene(lua, a.function(), |s| {
                Ok(ProcessState::from_snapshot(&s.snapshot()?.process_state).value())
            })
        });
        method(methods, "bt:pmap_entry", |lua, _: &Self, a| {
            let address = a.address(1, "addr")?;
            let ctx = context(lua)?;
            match ctx.engine.process_access().and_then(|p| p.pmap_entry(address)) {
                Some(entry) => Ok(Value::UserData(lua.create_userdata(LuaPmap(entry))?)),
                None => Ok(Value::Nil),
            }
        });
        method(methods, "bt:add_kv_int", |lua, _: &Self, a| {
            let key = a.string(1, "key")?;
            let value = a.integer(2, "value")?;
            with_scene(lua, a.function(), |s| {
                s.add_attribute(&key, AttributeValue::Int(value))
            })
        });
        method(methods, "bt:add_kv_string", |lua, _: &Self, a| {
            let key = a.string(1, "key")?;
            let value = a.string(2, "value")?;
            with_scene(lua, a.function(), |s| {
                s.add_attribute(&key, AttributeValue::Text(value))
            })
        });
        method(methods, "bt:add_classifier", |lua, _: &Self, a| {
            let c = a.string(1, "classifier")?;
            with_scene(lua, a.function(), |s| s.add_classifier(&c))
        });
        method(methods, "bt:add_tag", |lua, _: &Self, a| {
            let t = a.string(1, "tag")?;
            with_scene(lua, a.function(), |s| s.add_tag(&t))
        });
        method(methods, "bt:annotate", |lua, _: &Self, a| {
            annotate(lua, a, Target::Backtrace)
        });
        method(methods, "bt:variables", |lua, _: &Self, _| {
            iterator(lua, Scope::Globals, "bt:variables")
        });
        // `for thr in bt, m do`: bt(m, prev) gives the thread after prev that passes m.
        methods.add_meta_method(MetaMethod::Call, |lua, _, args: MultiValue| {
            let args = Args::new("bt iterator", args);
            let filter = args.opt_userdata::<LuaMatch>(1, "match", "match")?;
            let prev = args
                .opt_userdata::<LuaThread>(2, "previous", "thread")?
                .map(|t| t.0);
            let next = with_scene(lua, args.function(), |s| {
                s.next_thread(prev, filter.as_ref().map(|m| &m.0))
            })?;
            match next {
                Some(t) => Ok(Value::UserData(lua.create_userdata(LuaThread(t))?)),
                None => Ok(Value::Nil),
            }
        });
        methods.add_meta_method(MetaMethod::ToString, |lua, _, ()| {
            let pid = with_scene(lua, "tostring", |s| Ok(s.snapshot()?.pid)).unwrap_or(0);
            Ok(format!("backtrace (pid {pid})"))
        });
    }
}
