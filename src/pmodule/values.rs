//! Variable values as modules see them (`var:value()`), the setters' encoding (`set_ll`,
//! `set_ref`, ...) into the snapshot's JSON forms, and type name helpers.

use super::kinds::VariableKind;
use crate::snapshot::Variable;
use serde_json::Value;

/// A variable's value for a module.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue {
    /// An integer (ll, enum, and ull / reference / fn wrapped to 64 bits two's complement).
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A complex number (real, imaginary).
    Complex(f64, f64),
    /// No value for this kind, or not known.
    None,
}

/// The largest magnitude written as a JSON number (2^53 - 1); larger integers are strings.
const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// An integer in the snapshot's form: a number up to 2^53 - 1, else a decimal string.
pub fn encode_integer(value: i128) -> Value {
    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
        Value::from(value as i64)
    } else {
        Value::String(value.to_string())
    }
}

/// A float in the snapshot's form: a number, or `"nan"`, `"inf"`, `"-inf"`.
pub fn encode_float(value: f64) -> Value {
    if value.is_nan() {
        Value::String("nan".into())
    } else if value.is_infinite() {
        Value::String(if value > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

/// An address in the snapshot's form: a `0x...` string.
pub fn encode_address(value: u64) -> Value {
    Value::String(format!("{value:#x}"))
}

fn decode_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            if let Some(hex) = s.strip_prefix("0x") {
                u64::from_str_radix(hex, 16).ok().map(|u| u as i64)
            } else {
                s.parse::<i128>().ok().map(|v| v as i64)
            }
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn decode_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "nan" => Some(f64::NAN),
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// The value of `var` as §2 defines `value()`: an integer for ll, ull, enum, reference (and fn
/// pointers), a number for flt, dbl, ldbl, two numbers for complex kinds, none otherwise.
pub fn scalar_value(var: &Variable) -> ScalarValue {
    match var.kind {
        VariableKind::Ll
        | VariableKind::Ull
        | VariableKind::Enum
        | VariableKind::Reference
        | VariableKind::Fn => decode_integer(&var.value).map_or(ScalarValue::None, ScalarValue::Int),
        VariableKind::Flt | VariableKind::Dbl | VariableKind::Ldbl => {
            decode_float(&var.value).map_or(ScalarValue::None, ScalarValue::Float)
        }
        VariableKind::Cflt | VariableKind::Cdbl | VariableKind::Cldbl => match &var.value {
            Value::Array(parts) if parts.len() == 2 => {
                match (decode_float(&parts[0]), decode_float(&parts[1])) {
                    (Some(re), Some(im)) => ScalarValue::Complex(re, im),
                    _ => ScalarValue::None,
                }
            }
            _ => ScalarValue::None,
        },
        VariableKind::String | VariableKind::Tuple | VariableKind::Array | VariableKind::Bottom => {
            ScalarValue::None
        }
    }
}

/// The kind of `var`'s *value*, as `variable:type()` gives it: a scalar whose value is not known
/// (optimized out, unreadable) has none, so it is `bottom` (its C type stays in `type_name` and
/// the snapshot's `kind`); aggregates keep their kind.
pub fn value_kind(var: &Variable) -> VariableKind {
    let aggregate = matches!(var.kind, VariableKind::Tuple | VariableKind::Array);
    if var.state.has_value() || aggregate {
        var.kind
    } else {
        VariableKind::Bottom
    }
}

/// Whether `var` holds text: a string, or a reference to characters whose text was read.
pub fn is_string(var: &Variable) -> bool {
    var.kind == VariableKind::String
        || (var.kind == VariableKind::Reference
            && var.symbol.is_some()
            && matches!(
                var.base_type.as_str(),
                "char" | "signed char" | "unsigned char" | "wchar_t" | "char8_t" | "char16_t" | "char32_t"
            ))
}

/// The base type of a C type name: qualifiers, pointers, references, array bounds and the
/// `struct`/`union`/`enum`/`class` keyword removed (`const struct crash *` → `crash`).
pub fn base_type_of(type_name: &str) -> String {
    let without_arrays = type_name.split('[').next().unwrap_or(type_name);
    let words: Vec<&str> = without_arrays
        .split(|c: char| c.is_whitespace() || c == '*' || c == '&')
        .filter(|w| {
            !w.is_empty()
                && !matches!(
                    *w,
                    "const" | "volatile" | "restrict" | "_Atomic" | "struct" | "union" | "enum" | "class"
                )
        })
        .collect();
    words.join(" ")
}

/// A C type name with its keywords tagged as the API prints them: `struct crash_ctx *` →
/// `struct(crash_ctx) *`; every aggregate (`struct`, `union`, `class`) becomes `struct(...)`,
/// an enum `enum(...)`. A name without keywords (a C++ class, whose type name is bare) is left
/// as it is: where debug information is at hand, `bt_type_pp` renders from it instead.
pub fn pretty_type_name(type_name: &str) -> String {
    let mut out = String::new();
    let mut words = type_name.split(' ').peekable();
    let mut first = true;
    while let Some(word) = words.next() {
        if !first {
            out.push(' ');
        }
        first = false;
        if matches!(word, "struct" | "union" | "enum" | "class") {
            if let Some(name) = words.peek().copied() {
                let end = name
                    .find(|c: char| {
                        !(c.is_alphanumeric() || c == '_' || c == ':' || c == '<' || c == '>' || c == ',')
                    })
                    .unwrap_or(name.len());
                if end > 0 {
                    words.next();
                    let tag = if word == "enum" { "enum" } else { "struct" };
                    out.push_str(&format!("{tag}({}){}", &name[..end], &name[end..]));
                    continue;
                }
            }
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmodule::testdata::variable;

    #[test]
    fn values_by_kind() {
        let mut v = variable("x", "int", "int", "ll");
        v.value = Value::from(-5);
        assert_eq!(scalar_value(&v), ScalarValue::Int(-5));
        v.value = Value::String("18446744073709551615".into());
        v.kind = crate::snapshot::VariableKind::Ull;
        assert_eq!(scalar_value(&v), ScalarValue::Int(-1), "wraps to 64 bits");
        v.kind = crate::snapshot::VariableKind::Reference;
        v.value = Value::String("0x7ffd1000".into());
        assert_eq!(scalar_value(&v), ScalarValue::Int(0x7ffd_1000));
        v.kind = crate::snapshot::VariableKind::Dbl;
        v.value = Value::from(2.5);
        assert_eq!(scalar_value(&v), ScalarValue::Float(2.5));
        v.value = Value::String("inf".into());
        assert_eq!(scalar_value(&v), ScalarValue::Float(f64::INFINITY));
        v.kind = crate::snapshot::VariableKind::Cdbl;
        v.value = serde_json::json!([1.0, -2.0]);
        assert_eq!(scalar_value(&v), ScalarValue::Complex(1.0, -2.0));
        v.kind = crate::snapshot::VariableKind::Tuple;
        assert_eq!(scalar_value(&v), ScalarValue::None);
        v.kind = crate::snapshot::VariableKind::Ll;
        v.value = Value::Null;
        assert_eq!(scalar_value(&v), ScalarValue::None, "optimized out");
    }

    #[test]
    fn encodings() {
        assert_eq!(encode_integer(42), Value::from(42));
        assert_eq!(encode_integer(1 << 60), Value::String((1i64 << 60).to_string()));
        assert_eq!(encode_float(f64::NAN), Value::String("nan".into()));
        assert_eq!(encode_address(0x10), Value::String("0x10".into()));
    }

    #[test]
    fn type_names() {
        assert_eq!(base_type_of("const struct crash_ctx *"), "crash_ctx");
        assert_eq!(base_type_of("unsigned int[4]"), "unsigned int");
        assert_eq!(base_type_of("char **"), "char");
        assert_eq!(pretty_type_name("struct crash"), "struct(crash)");
        assert_eq!(pretty_type_name("struct crash_ctx *"), "struct(crash_ctx) *");
        assert_eq!(pretty_type_name("const union u[3]"), "const struct(u)[3]");
        assert_eq!(pretty_type_name("class ns::C<int> &"), "struct(ns::C<int>) &");
        assert_eq!(pretty_type_name("enum e"), "enum(e)");
        assert_eq!(pretty_type_name("int"), "int");
    }

    #[test]
    fn strings() {
        let mut v = variable("s", "const char *", "char", "reference");
        assert!(!is_string(&v));
        v.symbol = Some("papa".into());
        assert!(is_string(&v));
        let arr = variable("m", "char[32]", "char", "string");
        assert!(is_string(&arr));
    }
}
