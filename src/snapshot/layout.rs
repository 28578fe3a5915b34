//! How the JSON text of a snapshot file is laid out: [`Layout`], and the serde_json formatter of
//! the default layout ([`RowsFormatter`]).
//!
//! Every layout writes the same JSON document; only the whitespace differs.

use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// The whitespace of a snapshot file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// The document's structure indented (one key of the document, a thread or a frame per
    /// line), and each variable, module and annotation on one line of its own: readable, grep
    /// finds a variable with its whole value, and about half the bytes of `pretty`.
    #[default]
    Rows,
    /// The whole document on one line: the fewest bytes.
    Compact,
    /// Every value on its own line, indented by two spaces.
    Pretty,
}

/// The keys whose lists are written one element per line, each element on a single line.
const ROW_LISTS: &[&[u8]] = &[b"variables", b"globals", b"modules", b"annotations"];
/// The keys whose value is written on the key's line.
const INLINE: &[&[u8]] = &[b"registers"];

/// How one open array or object is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Each element on its own line, indented.
    Expanded,
    /// Each element on its own line, each element on a single line.
    Rows,
    /// Everything on the current line.
    Inline,
}

/// The formatter of [`Layout::Rows`]: indents the containers of the document down to the lists
/// named in `ROW_LISTS`, whose elements it writes on one line each.
#[derive(Debug, Default)]
pub struct RowsFormatter {
    /// The shapes of the open containers, outermost first.
    open: Vec<Shape>,
    /// Whether the innermost open container has an element yet.
    has_value: bool,
    /// Whether an object key is being written.
    in_key: bool,
    /// The key being written or whose value is being written, empty in an array (only its
    /// first bytes matter).
    key: Vec<u8>,
}

impl RowsFormatter {
    /// A formatter at the start of a document.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shape a container opened now takes.
    fn shape_of_new(&self) -> Shape {
        match self.open.last() {
            None => Shape::Expanded,
            Some(Shape::Expanded) => {
                let key = self.key.as_slice();
                if ROW_LISTS.contains(&key) {
                    Shape::Rows
                } else if INLINE.contains(&key) {
                    Shape::Inline
                } else {
                    Shape::Expanded
                }
            }
            Some(Shape::Rows | Shape::Inline) => Shape::Inline,
        }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        let shape = self.shape_of_new();
        self.open.push(shape);
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        let shape = self.open.pop();
        if self.has_value && shape != Some(Shape::Inline) {
            self.newline(writer)?;
        }
        writer.write_all(bracket)
    }

    /// Starts an element of the innermost container.
    fn element<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        match self.open.last() {
            Some(Shape::Inline) | None => Ok(()),
            Some(Shape::Expanded | Shape::Rows) => self.newline(writer),
        }
    }

    /// A new line indented to the depth of the open containers.
    fn newline<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        const SPACES: &[u8; 64] = b"                                                                ";
        writer.write_all(b"\n")?;
        let mut indent = 2 * self.open.len();
        while indent > 0 {
            let n = indent.min(SPACES.len());
            writer.write_all(&SPACES[..n])?;
            indent -= n;
        }
        Ok(())
    }
}

impl Formatter for RowsFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        // The key of the array names the array, not its elements.
        self.key.clear();
        self.element(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        self.key.clear();
        self.element(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        match self.open.last() {
            Some(Shape::Inline) => writer.write_all(b":"),
            _ => writer.write_all(b": "),
        }
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if self.in_key && self.key.len() < 16 {
            self.key.extend_from_slice(fragment.as_bytes());
        }
        CompactFormatter.write_string_fragment(writer, fragment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, RowsFormatter::new());
        serde::Serialize::serialize(value, &mut serializer).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn structure_is_indented_and_listed_variables_take_one_line_each() {
        let doc = json!({
            "threads": [{"frames": [{
                "registers": {"rip": "0x1", "rsp": "0x2"},
                "variables": [
                    {"children": [{"children": [], "name": "a"}], "name": "s"},
                    {"children": [], "name": "i"}
                ]
            }, {"registers": {}, "variables": [{"name": "j"}]}]}],
            "globals": [],
            "timing": {"total_us": 3}
        });
        let text = rows(&doc);
        let expected = r#"{
  "globals": [],
  "threads": [
    {
      "frames": [
        {
          "registers": {"rip":"0x1","rsp":"0x2"},
          "variables": [
            {"children":[{"children":[],"name":"a"}],"name":"s"},
            {"children":[],"name":"i"}
          ]
        },
        {
          "registers": {},
          "variables": [
            {"name":"j"}
          ]
        }
      ]
    }
  ],
  "timing": {
    "total_us": 3
  }
}"#;
        assert_eq!(text, expected);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn keys_named_like_row_lists_inside_a_row_do_not_change_it() {
        let doc = json!({"modules": [{"annotations": [{"variables": [1, 2]}], "path": "x\"y"}]});
        assert_eq!(
            rows(&doc),
            "{\n  \"modules\": [\n    {\"annotations\":[{\"variables\":[1,2]}],\"path\":\"x\\\"y\"}\n  ]\n}"
        );
    }
}
