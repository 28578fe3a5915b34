//! The thread object.

use super::super::args::Args;
use super::globals::{iterator, Scope};
use super::{annotate, method, with_scene, LuaBacktrace, LuaFrame, LuaMatch};
use crate::pmodule::{FrameRef, Target, ThreadRef};
use mlua::{MetaMethod, MultiValue, UserData, UserDataMethods, Value};

/// A thread of the snapshot.
#[derive(Clone, Copy, Debug)]
pub struct LuaThread(pub ThreadRef);

impl UserData for LuaThread {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        method(methods, "thread:tid", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(i64::from(s.thread(this.0)?.tid)))
        });
        method(methods, "thread:fault", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.thread(this.0)?.fault))
        });
        method(methods, "thread:backtrace", |_, _: &Self, _| Ok(LuaBacktrace));
        method(methods, "thread:n_frames", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| Ok(s.thread(this.0)?.frames.len() as i64))
        });
        // Kernel stacks are not captured.
        method(methods, "thread:n_kframes", |lua, this: &Self, a| {
            with_scene(lua, a.function(), |s| s.thread(this.0).map(|_| 0i64))
        });
        method(methods, "thread:set_name", |lua, this: &Self, a| {
            let name = a.string(1, "name")?;
            with_scene(lua, a.function(), |s| s.set_thread_name(this.0, &name))
        });
        method(methods, "thread:add_frame", |lua, this: &Self, a| {
            let frame = a.userdata::<LuaFrame>(1, "frame", "frame")?.0;
            let first = a.opt_boolean(2, "first", true)?;
            with_scene(lua, a.function(), |s| s.thread_add_frame(this.0, frame, first))?;
            Ok(())
        });
        method(methods, "thread:annotate", |lua, this: &Self, a| {
            annotate(lua, a, Target::Thread(this.0))
        });
        method(methods, "thread:variables", |lua, this: &Self, a| {
            let tid = with_scene(lua, a.function(), |s| Ok(s.thread(this.0)?.tid))?;
            iterator(lua, Scope::ThreadLocals(tid), "thread:variables")
        });
        // `for fr in thr, m do`: frames, innermost first.
        methods.add_meta_method(MetaMethod::Call, |lua, this, args: MultiValue| {
            let args = Args::new("thread iterator", args);
            let filter = args.opt_userdata::<LuaMatch>(1, "match", "match")?;
            let prev = match args.opt_userdata::<LuaFrame>(2, "previous", "frame")? {
                None => None,
                Some(f) => match with_scene(lua, args.function(), |s| s.resolve_frame(f.0))? {
                    FrameRef::Node { thread, frame } if thread == this.0 .0 => Some(frame),
                    _ => return Err(args.error(2, "previous", "not a frame of this thread")),
                },
            };
            let next = with_scene(lua, args.function(), |s| {
                s.next_frame(this.0, prev, filter.as_ref().map(|m| &m.0))
            })?;
            match next {
                Some(f) => Ok(Value::UserData(lua.create_userdata(LuaFrame(f))?)),
                None => Ok(Value::Nil),
            }
        });
        methods.add_meta_method(MetaMethod::ToString, |lua, this, ()| {
            let tid = with_scene(lua, "tostring", |s| Ok(s.thread(this.0)?.tid)).unwrap_or(0);
            Ok(format!("thread {tid}"))
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: mlua::AnyUserData| {
            Ok(other.borrow::<LuaThread>().is_ok_and(|o| o.0 == this.0))
        });
    }
}
