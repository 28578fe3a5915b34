//! The frame object.

use super::super::args::Args;
use super::{annotate, method, with_scene, LuaBacktrace, LuaMatch, LuaSigInfo, LuaThread, LuaVariable};
use crate::pmodule::{FrameField, FrameRef, SigInfo, Target, VarRef};
use mlua::{Lua, MetaMethod, MultiValue, UserData, UserDataMethods, Value};
use std::sync::Mutex;

/// A frame (of a thread, or created and not inserted yet).
#[derive(Clone, Copy, Debug)]
pub struct LuaFrame(pub FrameRef);

fn opt_string(lua: &Lua, text: Option<String>) -> mlua::Result<Value> {
    match text {
        Some(t) => Ok(Value::String(lua.create_string(t)?)),
        None => Ok(Value::Nil),
    }
}

fn variable_value(lua: &Lua, var: Option<VarRef>) -> mlua::Result<Value> {
    match var {
        Some(v) => Ok(Value::UserData(lua.create_userdata(LuaVariable(v))?)),
        None => Ok(Value::Nil),
    }
}

fn set_field(lua: &Lua, this: &LuaFrame, a: &Args, field: FrameField) -> mlua::Result<()> {
    with_scene(lua, a.function(), |s| s.set_frame_field(this.0, field))
}

fn line_arg(a: &Args) -> mlua::Result<u32> {
    let line = a.integer(1, "line")?;
    u32::try_from(line).map_err(|_| a.error(1, "line", format!("{line} is not a line number")))
}

impl UserData for LuaFrame {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        method(methods, "frame:instruction", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.pc.0 as i64))
        });
        method(methods, "frame:symbol", |lua, this: &Self, a| {
            let symbol = with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.symbol.clone()))?;
            opt_string(lua, symbol)
        });
        method(methods, "frame:path", |lua, this: &Self, a| {
            let file = with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.file.clone()))?;
            opt_string(lua, file)
        });
        method(methods, "frame:object_file", |lua, this: &Self, a| {
            let object = with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.object.clone()))?;
            opt_string(lua, object)
        });
        method(methods, "frame:line", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.line.map(i64::from)))
        });
        method(methods, "frame:decl_line", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.decl_line(this.0)?.map(i64::from)))
        });
        method(methods, "frame:line_resolved", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.frame(this.0)?.line.is_some()))
        });
        method(methods, "frame:thread", |lua, this: &Self, a| {
            match with_scene(lua, a.function(), |s| s.frame_thread(this.0))? {
                Some(t) => Ok(Value::UserData(lua.create_userdata(LuaThread(t))?)),
                None => Ok(Value::Nil),
            }
        });
        method(methods, "frame:backtrace", |_, _: &Self, _| Ok(LuaBacktrace));
        method(methods, "frame:siginfo", |lua, this: &Self, a| {
            let info = with_scene(lua, a.function(), |s| {
                let faulting = s.frame(this.0)?.fault;
                Ok(s.snapshot()?
                    .fault
                    .as_ref()
                    .filter(|_| faulting)
                    .and_then(SigInfo::from_fault))
            })?;
            match info {
                Some(si) => Ok(Value::UserData(lua.create_userdata(LuaSigInfo(si))?)),
                None => Ok(Value::Nil),
            }
        });
        method(methods, "frame:fprm_at", |lua, this: &Self, a| {
            let index = a.integer(1, "index")?;
            let params = with_scene(lua, a.function(), |s| s.frame_parameters(this.0))?;
            let var = usize::try_from(index)
                .ok()
                .and_then(|i| params.into_iter().find(|(_, n)| *n == i))
                .map(|(v, _)| v);
            variable_value(lua, var)
        });
        // `for var, i in fr:fprm() do`.
        method(methods, "frame:fprm", |lua, this: &Self, a| {
            let params =
                Mutex::new(with_scene(lua, a.function(), |s| s.frame_parameters(this.0))?.into_iter());
            lua.create_function(move |lua, _: MultiValue| {
                let next = params.lock().unwrap_or_else(|e| e.into_inner()).next();
                match next {
                    Some((var, index)) => Ok(MultiValue::from_iter([
                        Value::UserData(lua.create_userdata(LuaVariable(var))?),
                        Value::Integer(index as i64),
                    ])),
                    None => Ok(MultiValue::new()),
                }
            })
        });
        method(methods, "frame:set_symbol", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::Symbol(a.string(1, "symbol")?))
        });
        method(methods, "frame:set_basename", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::Basename(a.string(1, "basename")?))
        });
        method(methods, "frame:set_directory", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::Directory(a.string(1, "directory")?))
        });
        method(methods, "frame:set_path", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::Path(a.string(1, "path")?))
        });
        method(methods, "frame:set_line", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::Line(line_arg(a)?))
        });
        method(methods, "frame:set_decl_line", |lua, this: &Self, a| {
            set_field(lua, this, a, FrameField::DeclLine(line_arg(a)?))
        });
        method(methods, "frame:add_variable", |lua, this: &Self, a| {
            let var = super::event_var::variable_arg(a, 1, "variable")?;
            let insert_after = a.opt_boolean(2, "insert_after", true)?;
            with_scene(lua, a.function(), |s| {
                s.frame_add_variable(this.0, &var, insert_after)
            })?;
            Ok(())
        });
        method(methods, "frame:add_frame", |lua, this: &Self, a| {
            let frame = a.userdata::<LuaFrame>(1, "frame", "frame")?.0;
            let insert_after = a.opt_boolean(2, "insert_after", false)?;
            with_scene(lua, a.function(), |s| {
                s.frame_add_frame(this.0, frame, insert_after)
            })?;
            Ok(())
        });
        method(methods, "frame:annotate", |lua, this: &Self, a| {
            annotate(lua, a, Target::Frame(this.0))
        });
        // `for var in fr, m do`: the frame's variables.
        methods.add_meta_method(MetaMethod::Call, |lua, this, args: MultiValue| {
            let args = Args::new("frame iterator", args);
            let filter = args.opt_userdata::<LuaMatch>(1, "match", "match")?;
            let prev = match super::event_var::opt_variable_arg(&args, 2, "previous")? {
                None => None,
                Some(v) => {
                    let (resolved, owner) = with_scene(lua, args.function(), |s| {
                        Ok((s.resolve_var(&v)?, s.frame_owner(this.0)?))
                    })?;
                    match resolved {
                        VarRef::Node(path) if path.owner == owner && path.indices.len() == 1 => {
                            Some(path.indices[0])
                        }
                        _ => return Err(args.error(2, "previous", "not a variable of this frame")),
                    }
                }
            };
            let next = with_scene(lua, args.function(), |s| {
                s.next_frame_variable(this.0, prev, filter.as_ref().map(|m| &m.0))
            })?;
            variable_value(lua, next)
        });
        methods.add_meta_method(MetaMethod::ToString, |lua, this, ()| {
            let text = with_scene(lua, "tostring", |s| {
                let f = s.frame(this.0)?;
                Ok(format!(
                    "frame #{} {} ({}:{})",
                    f.index,
                    f.symbol.as_deref().unwrap_or("??"),
                    f.file.as_deref().unwrap_or("??"),
                    f.line.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
                ))
            })
            .unwrap_or_else(|_| "frame (stale)".into());
            Ok(text)
        });
    }
}
