//! The Lua host of pmodules (mlua, Lua 5.4 vendored): the whole Lua API of
//! the pmodule API (README "Modules", `include/pmodule.h`) on top of the language-neutral engine of
//! [`crate::pmodule`].
//!
//! Each module file gets a sandboxed state of its own ([`sandbox`]): a memory limit per state, an
//! instruction budget per callback (a global count hook, so coroutines are counted too), and only
//! `string table math utf8 coroutine` plus a safe base library unless `--sandbox-whitelist`
//! opens more. [`LuaLoader`] turns files into modules of the engine; the API functions reach the
//! engine through the state's [`context::LuaContext`]. Every API function checks its arguments
//! ([`args`]) and reports wrong ones as Lua errors naming the function and the argument.

pub mod api;
pub mod args;
pub mod context;
pub mod format;
pub mod instance;
pub mod objects;
pub mod options;
pub mod sandbox;

#[cfg(test)]
mod tests;

pub use instance::{LuaLoader, LuaModule};
pub use options::{LuaOptionError, LuaOptions};
