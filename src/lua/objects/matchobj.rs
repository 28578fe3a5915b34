//! `pmodule.match()` objects.

use super::super::args::Args;
use crate::pmodule::{FaultScope, Match, MatchType, VariableKind};
use mlua::{MultiValue, UserData, UserDataMethods};

/// A match object.
#[derive(Clone, Debug, Default)]
pub struct LuaMatch(pub Match);

fn match_type(args: &Args, n: usize) -> mlua::Result<MatchType> {
    match args.opt_integer(n, "match_type")? {
        None => Ok(MatchType::Exact),
        Some(v) => MatchType::from_value(v)
            .ok_or_else(|| args.error(n, "match_type", format!("{v} is not a pmodule.match_type value"))),
    }
}

/// Adds a text criterion method: `m:NAME(s [, mt])`.
fn text_criterion<M: UserDataMethods<LuaMatch>>(
    methods: &mut M,
    label: &'static str,
    add: fn(&mut Match, &str, MatchType),
) {
    let name = label.rsplit(':').next().unwrap_or(label);
    methods.add_method_mut(name, move |_, this, args: MultiValue| {
        let args = Args::new(label, args);
        let text = args.string(1, "text")?;
        let mt = match_type(&args, 2)?;
        add(&mut this.0, &text, mt);
        Ok(())
    });
}

impl UserData for LuaMatch {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("reset", |_, this, ()| {
            this.0.reset();
            Ok(())
        });
        text_criterion(methods, "match:add_object", Match::add_object);
        text_criterion(methods, "match:add_file", Match::add_file);
        text_criterion(methods, "match:add_frame_symbol", Match::add_frame_symbol);
        text_criterion(
            methods,
            "match:add_variable_base_type",
            Match::add_variable_base_type,
        );
        text_criterion(methods, "match:add_base_type", Match::add_variable_base_type);
        text_criterion(methods, "match:add_variable_name", Match::add_variable_name);
        methods.add_method_mut("add_variable_ptrace_type", |_, this, args: MultiValue| {
            let args = Args::new("match:add_variable_ptrace_type", args);
            let value = args.integer(1, "kind")?;
            let kind = VariableKind::from_value(value).ok_or_else(|| {
                args.error(1, "kind", format!("{value} is not a pmodule.variable_type value"))
            })?;
            this.0.add_variable_kind(kind);
            Ok(())
        });
        methods.add_method_mut("set_fault", |_, this, args: MultiValue| {
            let args = Args::new("match:set_fault", args);
            let thread = args.opt_boolean(1, "thread", false)?;
            this.0.set_fault(if thread {
                FaultScope::Thread
            } else {
                FaultScope::Frame
            });
            Ok(())
        });
    }
}
