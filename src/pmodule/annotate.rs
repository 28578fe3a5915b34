//! Annotations made by modules: text ones (comment, warning, critical) and json ones, which must
//! be one JSON object whose single top-level key `json` holds an object.

use super::kinds::AnnotationKind;
use crate::snapshot::{Annotation, AnnotationLevel, JsonLevel};

/// Why a json annotation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    /// The text does not parse as JSON.
    #[error("json annotation is not valid JSON: {0}")]
    NotJson(String),
    /// It parses, but is not `{"json": {...}}`.
    #[error("json annotation must be one object whose single key \"json\" holds an object, got {0}")]
    WrongShape(String),
}

/// The annotation of `kind` with `text` (for json: the JSON text, validated).
pub fn make_annotation(kind: AnnotationKind, text: &str) -> Result<Annotation, AnnotationError> {
    let level = match kind {
        AnnotationKind::Comment => AnnotationLevel::Comment,
        AnnotationKind::Warning => AnnotationLevel::Warning,
        AnnotationKind::Critical => AnnotationLevel::Critical,
        AnnotationKind::Json => return json_annotation(text),
    };
    Ok(Annotation::Text {
        level,
        text: text.to_string(),
    })
}

fn json_annotation(text: &str) -> Result<Annotation, AnnotationError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AnnotationError::NotJson(e.to_string()))?;
    let shape = |v: &serde_json::Value| {
        let mut s = v.to_string();
        if s.len() > 80 {
            let cut = (0..=80).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.truncate(cut);
            s.push_str("...");
        }
        AnnotationError::WrongShape(s)
    };
    let serde_json::Value::Object(mut outer) = value else {
        return Err(shape(&value));
    };
    if outer.len() != 1 || !outer.get("json").is_some_and(|v| v.is_object()) {
        return Err(shape(&serde_json::Value::Object(outer)));
    }
    let json = outer.remove("json").unwrap_or_default();
    Ok(Annotation::Json {
        level: JsonLevel::Json,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_levels() {
        assert_eq!(
            make_annotation(AnnotationKind::Critical, "lua: struct var 100%").unwrap(),
            Annotation::Text {
                level: AnnotationLevel::Critical,
                text: "lua: struct var 100%".into()
            }
        );
        assert!(matches!(
            make_annotation(AnnotationKind::Comment, "{not json").unwrap(),
            Annotation::Text {
                level: AnnotationLevel::Comment,
                ..
            }
        ));
    }

    #[test]
    fn json_must_be_a_single_json_key_holding_an_object() {
        let ok = make_annotation(
            AnnotationKind::Json,
            "{\"json\": {\"context\": \"Signal\",\n  \"Num\": \"11\"}}",
        )
        .unwrap();
        assert_eq!(
            ok,
            Annotation::Json {
                level: JsonLevel::Json,
                json: serde_json::json!({"context": "Signal", "Num": "11"})
            }
        );
        for bad in [
            "",
            "{",
            "[1, 2]",
            "\"json\"",
            "{\"json\": 3}",
            "{\"json\": [1]}",
            "{\"other\": {}}",
            "{\"json\": {}, \"extra\": {}}",
            "{\"json\": {}} trailing",
        ] {
            assert!(
                make_annotation(AnnotationKind::Json, bad).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            make_annotation(AnnotationKind::Json, "nope"),
            Err(AnnotationError::NotJson(_))
        ));
        assert!(matches!(
            make_annotation(AnnotationKind::Json, "{\"json\": 1}"),
            Err(AnnotationError::WrongShape(_))
        ));
    }
}
