//! The userdata modules get: backtrace, thread, frame, variable, bt variable, match, siginfo,
//! pmap. They hold handles into the engine's scene, never snapshot data, so they stay cheap and
//! always show the snapshot as it is now.

mod backtrace;
pub(crate) mod btvar;
pub(crate) mod event_var;
mod frame;
mod globals;
mod matchobj;
mod small;
mod thread;
mod variable;

pub use backtrace::LuaBacktrace;
pub use btvar::LuaBtVar;
pub use frame::LuaFrame;
pub use matchobj::LuaMatch;
pub use small::{LuaPmap, LuaSigInfo};
pub use thread::LuaThread;
pub use variable::LuaVariable;

use super::args::Args;
use super::context::context;
use super::format::format_args;
use crate::pmodule::{AnnotationKind, LogLevel, Scene, SceneError, Target};
use mlua::{Lua, MultiValue, UserData, UserDataMethods};

/// Runs `f` on the scene; a scene error becomes a Lua error naming `function`.
pub(crate) fn with_scene<R>(
    lua: &Lua,
    function: &str,
    f: impl FnOnce(&mut Scene) -> Result<R, SceneError>,
) -> mlua::Result<R> {
    // Borrowed, not cloned: this runs on every method call.
    let ctx = lua
        .app_data_ref::<std::sync::Arc<super::context::LuaContext>>()
        .ok_or_else(|| mlua::Error::runtime("pmodule: this Lua state has no module context"))?;
    ctx.engine
        .with_scene(f)
        .map_err(|e| mlua::Error::runtime(format!("{function}: {e}")))
}

/// Adds method `label` that takes no argument (extra arguments are ignored, as with
/// [`method`]) without collecting the arguments: the getters modules call on every object.
pub(crate) fn getter<T, R, M>(
    methods: &mut M,
    label: &'static str,
    f: fn(&Lua, &T, &'static str) -> mlua::Result<R>,
) where
    T: UserData + 'static,
    R: mlua::IntoLuaMulti + 'static,
    M: UserDataMethods<T>,
{
    let name = label.rsplit(':').next().unwrap_or(label);
    methods.add_method(name, move |lua, this, ()| f(lua, this, label));
}

/// Adds method `label` (`"thread:add_frame"`: the part after `:` is the method's name) whose
/// arguments are checked through [`Args`].
pub(crate) fn method<T, R, M>(methods: &mut M, label: &'static str, f: fn(&Lua, &T, &Args) -> mlua::Result<R>)
where
    T: UserData + 'static,
    R: mlua::IntoLuaMulti + 'static,
    M: UserDataMethods<T>,
{
    let name = label.rsplit(':').next().unwrap_or(label);
    methods.add_method(name, move |lua, this, args: MultiValue| {
        f(lua, this, &Args::new(label, args))
    });
}

/// `annotate(level, fmt, ...)` on `target` (arguments from position 1). A json annotation that
/// is not `{"json": {...}}` is logged as an error and not added.
pub(crate) fn annotate(lua: &Lua, args: &Args, target: Target) -> mlua::Result<()> {
    let level = args.integer(1, "level")?;
    let kind = AnnotationKind::from_value(level)
        .ok_or_else(|| args.error(1, "level", format!("{level} is not a pmodule.annotation value")))?;
    let text = format_args(lua, args, 2)?;
    let ctx = context(lua)?;
    match ctx
        .engine
        .with_scene(|scene| scene.annotate(&target, kind, &text))
    {
        Ok(()) => Ok(()),
        Err(SceneError::Annotation(e)) => {
            ctx.log(
                LogLevel::Error,
                &format!("{}: {e}; the annotation is not added", args.function()),
            );
            Ok(())
        }
        Err(e) => Err(mlua::Error::runtime(format!("{}: {e}", args.function()))),
    }
}
