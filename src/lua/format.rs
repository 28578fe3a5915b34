//! The text of `log` and `annotate`: `string.format(fmt, ...)` when arguments follow `fmt`, and
//! `fmt` as it is when none does (modules pass pre-formatted text that may contain `%`).

use super::args::Args;
use mlua::{Function, Lua, MultiValue};

/// Where the state's original `string.format` is kept (a module replacing its global
/// `string.format` does not change how the API formats).
pub const FORMAT_KEY: &str = "pmodule.string_format";

/// The text made of arguments `n` (the format) and following of `args`.
pub fn format_args(lua: &Lua, args: &Args, n: usize) -> mlua::Result<String> {
    let fmt = args.string(n, "fmt")?;
    if args.len() <= n {
        return Ok(fmt);
    }
    let format: Function = lua.named_registry_value(FORMAT_KEY)?;
    let mut call_args = vec![args.get(n).clone()];
    call_args.extend(args.rest(n + 1));
    let text: mlua::LuaString = format.call(MultiValue::from_iter(call_args)).map_err(|e| {
        args.error(
            n,
            "fmt",
            format!("formatting failed: {}", first_line(&e.to_string())),
        )
    })?;
    Ok(text.to_string_lossy())
}

/// The first line of a message.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
