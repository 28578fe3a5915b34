//! One-line text of a snapshot variable's value, as gdb prints values: `5`, `true`,
//! `0x7ff.. "text"`, `0x5628.. <hang_lock>`, `GREEN`, `{depth = 0, tag = 49374}`, `{1, 2, 3...}`,
//! `<optimized out>`; and of a frame variable with its entry value, as gdb prints a parameter
//! (`n = n@entry=5`, `n = 6, n@entry=5`, `n = <optimized out>, n@entry=5`).

use std::fmt::Write;

use serde_json::Value;

use super::{Variable, VariableKind, VariableState};

/// The value of `variable` (and its children) on one line.
pub fn render_value(variable: &Variable) -> String {
    let mut out = String::new();
    write_value(&mut out, variable);
    out
}

/// `name = value` for `variable`, with the entry value of a parameter the way gdb prints it in
/// a frame line: `n = n@entry=5` when it still holds its entry value, `n = 6, n@entry=5` when it
/// does not, `n = <optimized out>, n@entry=5` when only its entry value is known.
pub fn render_assignment(variable: &Variable) -> String {
    let value = render_value(variable);
    let name = &variable.name;
    if variable.entry_value.is_null() {
        return format!("{name} = {value}");
    }
    // The entry value alone, rendered like the value (`true`, an address without a symbol).
    let entry = render_value(&Variable {
        value: variable.entry_value.clone(),
        state: VariableState::Ok,
        symbol: None,
        target_symbol: None,
        children: Vec::new(),
        annotations: Vec::new(),
        ..variable.clone()
    });
    if variable.state == VariableState::Ok && variable.value == variable.entry_value {
        format!("{name} = {name}@entry={value}")
    } else {
        format!("{name} = {value}, {name}@entry={entry}")
    }
}

/// A parameter as gdb prints it in a frame line: `name=value` (`n=n@entry=5`, `n=6, n@entry=5`,
/// `n=<optimized out>, n@entry=5`), a struct or array as `...` (gdb's `print frame-arguments
/// scalars`).
pub fn render_argument(variable: &Variable) -> String {
    if matches!(variable.kind, VariableKind::Tuple | VariableKind::Array)
        && variable.state != VariableState::OptimizedOut
        && variable.state != VariableState::Unreadable
    {
        return format!("{}=...", variable.name);
    }
    render_assignment(variable).replacen(" = ", "=", 1)
}

fn write_value(out: &mut String, variable: &Variable) {
    match variable.state {
        VariableState::OptimizedOut => return out.push_str("<optimized out>"),
        VariableState::Unreadable => return out.push_str("<unreadable>"),
        VariableState::Ok | VariableState::Truncated => {}
    }
    match variable.kind {
        VariableKind::Tuple | VariableKind::Array => {
            if variable.children.is_empty() {
                out.push_str(if variable.state == VariableState::Truncated {
                    "{...}"
                } else {
                    "{}"
                });
                return;
            }
            out.push('{');
            for (i, child) in variable.children.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if variable.kind == VariableKind::Tuple && !child.name.is_empty() {
                    let _ = write!(out, "{} = ", child.name);
                }
                write_value(out, child);
            }
            if variable.state == VariableState::Truncated {
                out.push_str("...");
            }
            out.push('}');
        }
        VariableKind::String => {
            let _ = write!(out, "{:?}", variable.symbol.as_deref().unwrap_or(""));
        }
        VariableKind::Enum => match &variable.symbol {
            Some(label) => out.push_str(label),
            None => write_scalar(out, &variable.value),
        },
        VariableKind::Reference | VariableKind::Fn => {
            write_scalar(out, &variable.value);
            if let Some(target) = &variable.target_symbol {
                let _ = write!(out, " <{target}>");
            }
            match (&variable.symbol, variable.kind) {
                (Some(symbol), VariableKind::Fn) if variable.target_symbol.is_none() => {
                    let _ = write!(out, " <{symbol}>");
                }
                (Some(_), VariableKind::Fn) | (None, _) => {}
                (Some(text), _) => {
                    let _ = write!(out, " {text:?}");
                }
            }
        }
        _ if is_boolean(variable) => match variable.value.as_i64() {
            Some(0) => out.push_str("false"),
            Some(1) => out.push_str("true"),
            _ => write_scalar(out, &variable.value),
        },
        _ => write_scalar(out, &variable.value),
    }
}

/// A C `_Bool` or C++ `bool` (gdb prints 0 and 1 as `false` and `true`, anything else as a
/// number).
fn is_boolean(variable: &Variable) -> bool {
    matches!(variable.base_type.as_str(), "_Bool" | "bool")
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push('?'),
        Value::String(text) => out.push_str(text),
        Value::Array(parts) => {
            let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
            let _ = write!(
                out,
                "{} + {}i",
                parts.first().map_or("?", |s| s),
                parts.get(1).map_or("?", |s| s)
            );
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Address;

    fn scalar(name: &str, kind: VariableKind, value: Value, symbol: Option<&str>) -> Variable {
        Variable {
            name: crate::snapshot::SharedStr::copy_of(name),
            type_name: "t".into(),
            base_type: "t".into(),
            kind,
            address: Some(Address(0x10)),
            value,
            symbol: symbol.map(str::to_string),
            parameter: false,
            state: VariableState::Ok,
            entry_value: serde_json::Value::Null,
            target_symbol: None,
            children: Vec::new(),
            annotations: Vec::new(),
            marks: Default::default(),
        }
    }

    #[test]
    fn values_render_like_gdb() {
        let mut frame = scalar("frame", VariableKind::Tuple, Value::Null, None);
        frame.children = vec![
            scalar("depth", VariableKind::Ll, Value::from(0), None),
            scalar(
                "name",
                VariableKind::Reference,
                Value::from("0x1000"),
                Some("papa"),
            ),
            scalar(
                "mode",
                VariableKind::Enum,
                Value::from(0),
                Some("CRASH_MODE_HANG"),
            ),
            scalar("fp", VariableKind::Fn, Value::from("0x2000"), Some("square")),
        ];
        assert_eq!(
            render_value(&frame),
            r#"{depth = 0, name = 0x1000 "papa", mode = CRASH_MODE_HANG, fp = 0x2000 <square>}"#
        );
        let mut gone = scalar("n", VariableKind::Ll, Value::Null, None);
        gone.state = VariableState::OptimizedOut;
        assert_eq!(render_value(&gone), "<optimized out>");
        let mut array = scalar("a", VariableKind::Array, Value::Null, None);
        array.children = vec![scalar("[0]", VariableKind::Dbl, Value::from(2.5), None)];
        array.state = VariableState::Truncated;
        assert_eq!(render_value(&array), "{2.5...}");
        assert_eq!(
            render_value(&scalar("s", VariableKind::String, Value::Null, Some("hi"))),
            "\"hi\""
        );
        assert_eq!(
            render_value(&scalar(
                "c",
                VariableKind::Cdbl,
                Value::from(vec![1.5, -2.0]),
                None
            )),
            "1.5 + -2.0i"
        );
    }

    #[test]
    fn arguments_render_like_a_gdb_frame_line() {
        let mut n = scalar("n", VariableKind::Ll, Value::from(5), None);
        n.parameter = true;
        n.entry_value = Value::from(5);
        assert_eq!(render_argument(&n), "n=n@entry=5");
        n.value = Value::from(6);
        assert_eq!(render_argument(&n), "n=6, n@entry=5");
        let mut frame = scalar("frame", VariableKind::Tuple, Value::Null, None);
        frame.children = vec![scalar("depth", VariableKind::Ll, Value::from(0), None)];
        assert_eq!(render_argument(&frame), "frame=...");
        let mut flag = scalar("done", VariableKind::Ull, Value::from(1), None);
        flag.base_type = "_Bool".into();
        assert_eq!(render_argument(&flag), "done=true");
    }

    #[test]
    fn bools_pointees_and_entry_values_render_like_gdb() {
        let mut flag = scalar("done", VariableKind::Ull, Value::from(1), None);
        flag.base_type = "_Bool".into();
        assert_eq!(render_value(&flag), "true");
        flag.value = Value::from(0);
        flag.base_type = "bool".into();
        assert_eq!(render_value(&flag), "false");
        flag.value = Value::from(2);
        assert_eq!(render_value(&flag), "2");

        let mut lock = scalar("lock", VariableKind::Reference, Value::from("0x5628"), None);
        lock.target_symbol = Some("hang_forever+40".into());
        assert_eq!(render_value(&lock), "0x5628 <hang_forever+40>");
        let mut name = scalar("name", VariableKind::Reference, Value::from("0x5630"), Some("hi"));
        name.target_symbol = Some("buffer".into());
        assert_eq!(render_value(&name), r#"0x5630 <buffer> "hi""#);
        let mut callback = scalar("fp", VariableKind::Fn, Value::from("0x2000"), Some("square"));
        assert_eq!(render_value(&callback), "0x2000 <square>");
        callback.target_symbol = Some("square".into());
        assert_eq!(render_value(&callback), "0x2000 <square>");

        let mut n = scalar("n", VariableKind::Ll, Value::from(5), None);
        assert_eq!(render_assignment(&n), "n = 5");
        n.entry_value = Value::from(5);
        assert_eq!(render_assignment(&n), "n = n@entry=5");
        n.value = Value::from(6);
        assert_eq!(render_assignment(&n), "n = 6, n@entry=5");
        n.value = Value::Null;
        n.state = VariableState::OptimizedOut;
        assert_eq!(render_assignment(&n), "n = <optimized out>, n@entry=5");
        flag.value = Value::from(1);
        flag.entry_value = Value::from(0);
        assert_eq!(render_assignment(&flag), "done = true, done@entry=false");
        lock.entry_value = Value::from("0x5628");
        assert_eq!(
            render_assignment(&lock),
            "lock = lock@entry=0x5628 <hang_forever+40>"
        );
    }
}
