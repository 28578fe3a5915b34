//! One-line text of a snapshot variable's value, as gdb prints values: `5`, `0x7ff.. "text"`,
//! `GREEN`, `{depth = 0, tag = 49374}`, `{1, 2, 3...}`, `<optimized out>`.

use std::fmt::Write;

use serde_json::Value;

use super::value::{kind, state};
use crate::snapshot::Variable;

/// The value of `variable` (and its children) on one line.
pub fn render_value(variable: &Variable) -> String {
    let mut out = String::new();
    write_value(&mut out, variable);
    out
}

fn write_value(out: &mut String, variable: &Variable) {
    match variable.state.as_str() {
        state::OPTIMIZED_OUT => return out.push_str("<optimized out>"),
        state::UNREADABLE => return out.push_str("<unreadable>"),
        _ => {}
    }
    match variable.kind.as_str() {
        kind::TUPLE | kind::ARRAY => {
            if variable.children.is_empty() {
                out.push_str(if variable.state == state::TRUNCATED {
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
                if variable.kind == kind::TUPLE && !child.name.is_empty() {
                    let _ = write!(out, "{} = ", child.name);
                }
                write_value(out, child);
            }
            if variable.state == state::TRUNCATED {
                out.push_str("...");
            }
            out.push('}');
        }
        kind::STRING => {
            let _ = write!(out, "{:?}", variable.symbol.as_deref().unwrap_or(""));
        }
        kind::ENUM => match &variable.symbol {
            Some(label) => out.push_str(label),
            None => write_scalar(out, &variable.value),
        },
        kind::REFERENCE | kind::FN => {
            write_scalar(out, &variable.value);
            match (&variable.symbol, variable.kind.as_str()) {
                (Some(symbol), kind::FN) => {
                    let _ = write!(out, " <{symbol}>");
                }
                (Some(text), _) => {
                    let _ = write!(out, " {text:?}");
                }
                (None, _) => {}
            }
        }
        _ => write_scalar(out, &variable.value),
    }
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

    fn scalar(name: &str, kind: &str, value: Value, symbol: Option<&str>) -> Variable {
        Variable {
            name: crate::snapshot::SharedStr::copy_of(name),
            type_name: "t".into(),
            base_type: "t".into(),
            kind: crate::snapshot::SharedStr::copy_of(kind),
            address: Some(Address(0x10)),
            value,
            symbol: symbol.map(str::to_string),
            parameter: false,
            state: state::OK.into(),
            children: Vec::new(),
            annotations: Vec::new(),
        }
    }

    #[test]
    fn values_render_like_gdb() {
        let mut frame = scalar("frame", kind::TUPLE, Value::Null, None);
        frame.children = vec![
            scalar("depth", kind::LL, Value::from(0), None),
            scalar("name", kind::REFERENCE, Value::from("0x1000"), Some("papa")),
            scalar("mode", kind::ENUM, Value::from(0), Some("CRASH_MODE_HANG")),
            scalar("fp", kind::FN, Value::from("0x2000"), Some("square")),
        ];
        assert_eq!(
            render_value(&frame),
            r#"{depth = 0, name = 0x1000 "papa", mode = CRASH_MODE_HANG, fp = 0x2000 <square>}"#
        );
        let mut gone = scalar("n", kind::LL, Value::Null, None);
        gone.state = state::OPTIMIZED_OUT.into();
        assert_eq!(render_value(&gone), "<optimized out>");
        let mut array = scalar("a", kind::ARRAY, Value::Null, None);
        array.children = vec![scalar("[0]", kind::DBL, Value::from(2.5), None)];
        array.state = state::TRUNCATED.into();
        assert_eq!(render_value(&array), "{2.5...}");
        assert_eq!(
            render_value(&scalar("s", kind::STRING, Value::Null, Some("hi"))),
            "\"hi\""
        );
        assert_eq!(
            render_value(&scalar("c", kind::CDBL, Value::from(vec![1.5, -2.0]), None)),
            "1.5 + -2.0i"
        );
    }
}
