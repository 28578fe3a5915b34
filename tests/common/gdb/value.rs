//! gdb's value syntax, as `bt full`, `info locals` and `print` show it with `set print pretty off`
//! and the pretty-printers disabled, parsed into a tree ([`GdbValue`]).
//!
//! What gdb prints, and what it becomes here:
//! - `42`, `-514`, `18446744073709551615` → [`GdbValue::Int`] (a float with an integral value is
//!   printed the same way: `1` for `1.0`);
//! - `2.5`, `-0.83333333333333337`, `1.0000000000000001e+301`, `inf`, `-nan(0x8000000000000)` →
//!   [`GdbValue::Float`];
//! - `97 'a'`, `-3 '\375'` → [`GdbValue::Char`]; `true` / `false` → [`GdbValue::Bool`];
//! - `0x0`, `0x55... <papa>`, `0x55... "kids"`, `(struct nested *) 0x55...`,
//!   `{int (int)} 0x55... <f>` → [`GdbValue::Pointer`];
//! - `@0x7ffe...: {...}` (a C++ reference) → [`GdbValue::Reference`];
//! - `"abc"`, `"ab", '\000' <repeats 14 times>`, `'\000' <repeats 15 times>` (char arrays) →
//!   [`GdbValue::CharArray`];
//! - `{1, 2, 0 <repeats 28 times>}` → [`GdbValue::Array`] (repeats expanded);
//! - `{a = 1, <Base> = {...}, {x = 1, y = 2}, <No data fields>}` → [`GdbValue::Struct`] (members,
//!   base-class sections, anonymous union/struct members);
//! - `CRASH_MODE_HANG`, `shop::inventory::Category::Tools`, `(A | B)` → [`GdbValue::Enum`];
//! - `<optimized out>` → [`GdbValue::OptimizedOut`], `<error: ...>` → [`GdbValue::Error`], other
//!   `<...>` markers (`<unavailable>`, `<synthetic pointer>`) → [`GdbValue::Unavailable`].

use std::fmt;

/// Most elements a `<repeats N times>` run may expand to (a bigger N is a parse error).
const MAX_REPEAT: u64 = 1 << 20;

/// A value printed by gdb.
#[derive(Clone, Debug, PartialEq)]
pub enum GdbValue {
    /// A decimal integer. gdb prints a float with an integral value (1.0) as `1`: this variant
    /// then stands for that float.
    Int(i128),
    /// A floating-point number (`inf`, `-inf` and `nan(...)` included).
    Float(f64),
    /// A character: its code and the literal between the quotes, as printed (`65 'A'`).
    Char {
        /// The character's code, signed as gdb printed it.
        code: i64,
        /// The literal as printed between the quotes (escapes kept: `\375`).
        literal: String,
    },
    /// `true` or `false`.
    Bool(bool),
    /// A pointer (data or function).
    Pointer(GdbPointer),
    /// A C++ reference: `@ADDRESS: VALUE`.
    Reference {
        /// The address the reference binds to; `None` for `@<synthetic pointer>`.
        address: Option<u64>,
        /// The value referred to.
        target: Box<GdbValue>,
    },
    /// A character array, printed as a string.
    CharArray {
        /// The bytes, escapes decoded and `<repeats>` expanded.
        bytes: Vec<u8>,
        /// gdb stopped at its `print elements` limit (the string ended with `...`).
        truncated: bool,
    },
    /// An array (of anything but characters).
    Array {
        /// The elements, `<repeats N times>` expanded.
        elements: Vec<GdbValue>,
        /// gdb stopped at its `print elements` limit (`...` before the closing brace).
        truncated: bool,
    },
    /// A struct, class or union.
    Struct(Vec<GdbField>),
    /// An enumerator label (`CRASH_MODE_HANG`, `ns::Color::Red`) or a flag-enum combination as
    /// printed (`(A | B)`, `(A | unknown: 0x8)`).
    Enum(String),
    /// `<optimized out>`.
    OptimizedOut,
    /// `<error: MESSAGE>`: gdb could not read the value.
    Error(String),
    /// Another `<...>` marker without a value (`<unavailable>`, `<synthetic pointer>`).
    Unavailable(String),
    /// Text this parser does not understand (kept so one odd value does not hide a frame).
    Unparsed(String),
}

/// A pointer as gdb prints it: `(TYPE) 0xADDR <SYMBOL> "STRING"`, every part but the address
/// optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GdbPointer {
    /// The address.
    pub address: u64,
    /// The type gdb put in front (`(struct nested *)`, or `{int (int)}` for a function).
    pub type_name: Option<String>,
    /// The symbol gdb resolved the address to (`papa`, `vtable for Tool+16`).
    pub symbol: Option<String>,
    /// The string a character pointer points to.
    pub string: Option<Vec<u8>>,
    /// gdb stopped reading the string at its `print elements` limit.
    pub string_truncated: bool,
}

/// One entry of a struct.
#[derive(Clone, Debug, PartialEq)]
pub struct GdbField {
    /// What the entry is.
    pub name: GdbFieldName,
    /// Its value.
    pub value: GdbValue,
}

/// What a struct entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GdbFieldName {
    /// A data member: `name = value` (`_vptr.Item` included; `static` members keep the
    /// `static ` prefix when gdb prints them).
    Member(String),
    /// A base-class section: `<Base> = {...}`.
    Base(String),
    /// An anonymous union or struct member: a bare `{...}` among named members.
    Anonymous,
}

/// Why a value did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gdb value: expected {expected} at byte {offset} of {text:?}")]
pub struct ValueParseError {
    /// What the parser was looking for.
    pub expected: &'static str,
    /// Where, in bytes from the start of the text.
    pub offset: usize,
    /// The whole text being parsed (shortened to 300 bytes).
    pub text: String,
}

impl GdbValue {
    /// Parses a whole value; trailing text is an error.
    pub fn parse(text: &str) -> Result<GdbValue, ValueParseError> {
        let mut cursor = Cursor::new(text);
        let value = cursor.value()?;
        if !cursor.at_end() {
            return Err(cursor.error("the end of the value"));
        }
        Ok(value)
    }

    /// Parses a whole value, or keeps the text as [`GdbValue::Unparsed`].
    pub fn parse_lenient(text: &str) -> GdbValue {
        GdbValue::parse(text).unwrap_or_else(|_| GdbValue::Unparsed(text.to_string()))
    }

    /// Whether gdb printed something that stands for the variable's contents (not optimized
    /// out, not an error or marker, not unparsed).
    pub fn has_value(&self) -> bool {
        !matches!(
            self,
            GdbValue::OptimizedOut | GdbValue::Error(_) | GdbValue::Unavailable(_) | GdbValue::Unparsed(_)
        )
    }

    /// The member `name` of a struct, looked up like C++ does: own members first, then inside
    /// anonymous members and base-class sections (depth first). A reference is looked through.
    pub fn field(&self, name: &str) -> Option<&GdbValue> {
        let fields = match self {
            GdbValue::Struct(fields) => fields,
            GdbValue::Reference { target, .. } => return target.field(name),
            _ => return None,
        };
        if let Some(found) = fields
            .iter()
            .find(|f| f.name == GdbFieldName::Member(name.to_string()))
        {
            return Some(&found.value);
        }
        fields
            .iter()
            .filter(|f| !matches!(f.name, GdbFieldName::Member(_)))
            .find_map(|f| f.value.field(name))
    }

    /// The value at a path of member names (see [`GdbValue::field`]).
    pub fn path(&self, names: &[&str]) -> Option<&GdbValue> {
        names.iter().try_fold(self, |value, name| value.field(name))
    }

    /// The base-class section named `base` of a struct.
    pub fn base(&self, base: &str) -> Option<&GdbValue> {
        match self {
            GdbValue::Struct(fields) => fields
                .iter()
                .find(|f| f.name == GdbFieldName::Base(base.to_string()))
                .map(|f| &f.value),
            GdbValue::Reference { target, .. } => target.base(base),
            _ => None,
        }
    }

    /// The integer, for [`GdbValue::Int`], [`GdbValue::Char`] and [`GdbValue::Bool`].
    pub fn as_int(&self) -> Option<i128> {
        match self {
            GdbValue::Int(n) => Some(*n),
            GdbValue::Char { code, .. } => Some(i128::from(*code)),
            GdbValue::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    /// The number, for [`GdbValue::Float`] and [`GdbValue::Int`].
    pub fn as_float(&self) -> Option<f64> {
        match self {
            GdbValue::Float(x) => Some(*x),
            GdbValue::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The address, for [`GdbValue::Pointer`] and [`GdbValue::Reference`].
    pub fn as_address(&self) -> Option<u64> {
        match self {
            GdbValue::Pointer(p) => Some(p.address),
            GdbValue::Reference { address, .. } => *address,
            _ => None,
        }
    }

    /// The contents of a libstdc++ `std::string` printed raw (pretty-printers disabled):
    /// `_M_dataplus._M_p` holds the characters, `_M_string_length` their number. A reference to
    /// a string is looked through.
    pub fn std_string(&self) -> Option<String> {
        let length = usize::try_from(self.path(&["_M_string_length"])?.as_int()?).ok()?;
        let GdbValue::Pointer(pointer) = self.path(&["_M_dataplus", "_M_p"])? else {
            return None;
        };
        let bytes = pointer.string.as_ref()?;
        if bytes.len() < length {
            return None;
        }
        String::from_utf8(bytes.get(..length)?.to_vec()).ok()
    }

    /// The `(_M_start, _M_finish, _M_end_of_storage)` pointers of a libstdc++ `std::vector`
    /// printed raw. `(finish - start) / sizeof(T)` is its length.
    pub fn std_vector_bounds(&self) -> Option<(u64, u64, u64)> {
        let get = |name| self.path(&["_M_impl", name]).and_then(GdbValue::as_address);
        Some((get("_M_start")?, get("_M_finish")?, get("_M_end_of_storage")?))
    }

    /// Calls `visit` on this value and every value inside it (depth first).
    pub fn walk(&self, visit: &mut dyn FnMut(&GdbValue)) {
        visit(self);
        match self {
            GdbValue::Reference { target, .. } => target.walk(visit),
            GdbValue::Array { elements, .. } => elements.iter().for_each(|e| e.walk(visit)),
            GdbValue::Struct(fields) => fields.iter().for_each(|f| f.value.walk(visit)),
            _ => {}
        }
    }
}

impl fmt::Display for GdbValue {
    /// A short rendering for mismatch messages (not gdb's exact syntax).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GdbValue::Int(n) => write!(f, "{n}"),
            GdbValue::Float(x) => write!(f, "{x}"),
            GdbValue::Char { code, literal } => write!(f, "{code} '{literal}'"),
            GdbValue::Bool(b) => write!(f, "{b}"),
            GdbValue::Pointer(p) => write!(f, "{:#x}", p.address),
            GdbValue::Reference { address, .. } => match address {
                Some(a) => write!(f, "@{a:#x}"),
                None => write!(f, "@<synthetic pointer>"),
            },
            GdbValue::CharArray { bytes, .. } => write!(f, "{:?}", String::from_utf8_lossy(bytes)),
            GdbValue::Array { elements, .. } => write!(f, "{{{} elements}}", elements.len()),
            GdbValue::Struct(fields) => write!(f, "{{{} fields}}", fields.len()),
            GdbValue::Enum(label) => write!(f, "{label}"),
            GdbValue::OptimizedOut => write!(f, "<optimized out>"),
            GdbValue::Error(message) => write!(f, "<error: {message}>"),
            GdbValue::Unavailable(what) => write!(f, "<{what}>"),
            GdbValue::Unparsed(text) => write!(f, "unparsed {text:?}"),
        }
    }
}

/// A position in the text being parsed. Every method leaves the position unchanged on failure
/// unless it says otherwise.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    /// The current offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` (an offset previously returned by [`Cursor::pos`]).
    pub(crate) fn reset(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The text not consumed yet.
    pub(crate) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Whether everything was consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Consumes `prefix` if the rest starts with it.
    pub(crate) fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, prefix: &str, what: &'static str) -> Result<(), ValueParseError> {
        if self.eat(prefix) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// An error at the current position.
    pub(crate) fn error(&self, expected: &'static str) -> ValueParseError {
        let mut end = self.text.len().min(300);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        ValueParseError {
            expected,
            offset: self.pos,
            text: self.text.get(..end).unwrap_or("").to_string(),
        }
    }

    /// Consumes the longest prefix whose bytes satisfy `keep`, returning it.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// Consumes a bracketed group starting at the current `open` byte, up to its matching
    /// `close` (nested `open`/`close` pairs counted, other bracket kinds ignored), skipping
    /// over quoted strings and character literals. Returns the text between the brackets.
    pub(crate) fn balanced(&mut self, open: u8, close: u8) -> Result<&'a str, ValueParseError> {
        let start = self.pos;
        if self.peek() != Some(open) {
            return Err(self.error("an opening bracket"));
        }
        let bytes = self.text.as_bytes();
        let mut depth = 0usize;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' | b'\'' => {
                    // Skip the quoted text, honouring backslash escapes. An unterminated
                    // quote runs to the end of the text: the group is then unbalanced.
                    i += 1;
                    while let Some(&q) = bytes.get(i) {
                        if q == b'\\' {
                            i += 2;
                            continue;
                        }
                        if q == b {
                            break;
                        }
                        i += 1;
                    }
                }
                _ if b == open => depth += 1,
                _ if b == close => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok(self.text.get(start + 1..i).unwrap_or(""));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(self.error("a closing bracket"))
    }

    /// Parses one value at the current position.
    pub(crate) fn value(&mut self) -> Result<GdbValue, ValueParseError> {
        let start = self.pos;
        let result = self.value_inner();
        if result.is_err() {
            self.pos = start;
        }
        result
    }

    fn value_inner(&mut self) -> Result<GdbValue, ValueParseError> {
        match self.peek() {
            Some(b'{') => self.brace_value(),
            Some(b'@') => self.reference(),
            Some(b'<') => self.marker(),
            Some(b'"') | Some(b'\'') => self.char_array(),
            Some(b'(') => self.parenthesised(),
            Some(b'0') if self.rest().starts_with("0x") => self.pointer(None),
            Some(b'-') | Some(b'0'..=b'9') => self.number(),
            Some(b'L') | Some(b'u') | Some(b'U') if self.string_prefix_len().is_some() => self.char_array(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.word(),
            _ => Err(self.error("a value")),
        }
    }

    /// `{...}`: a struct or array, or the `{TYPE} 0xADDR <sym>` form of a function.
    fn brace_value(&mut self) -> Result<GdbValue, ValueParseError> {
        let start = self.pos;
        if let Ok(inside) = self.balanced(b'{', b'}') {
            if self.rest().starts_with(" 0x") {
                self.pos += 1;
                return self.pointer(Some(inside.to_string()));
            }
        }
        self.pos = start;
        self.brace_list()
    }

    /// `@0xADDR: VALUE` or `@<synthetic pointer>: VALUE`.
    fn reference(&mut self) -> Result<GdbValue, ValueParseError> {
        self.expect("@", "@")?;
        let address = if self.rest().starts_with("0x") {
            Some(self.hex()?)
        } else {
            self.balanced(b'<', b'>')?;
            None
        };
        self.expect(": ", "': ' after a reference address")?;
        let target = self.value()?;
        Ok(GdbValue::Reference {
            address,
            target: Box::new(target),
        })
    }

    /// `<optimized out>`, `<error: ...>` or another `<...>` marker.
    fn marker(&mut self) -> Result<GdbValue, ValueParseError> {
        let inside = self.balanced(b'<', b'>')?;
        Ok(if inside == "optimized out" {
            GdbValue::OptimizedOut
        } else if let Some(message) = inside.strip_prefix("error: ") {
            GdbValue::Error(message.to_string())
        } else {
            GdbValue::Unavailable(inside.to_string())
        })
    }

    /// `(TYPE) VALUE` (a cast gdb puts in front of pointers) or `(A | B)` (a flag enum).
    fn parenthesised(&mut self) -> Result<GdbValue, ValueParseError> {
        let start = self.pos;
        let inside = self.balanced(b'(', b')')?;
        if self.eat(" ") {
            let after_cast = self.pos;
            if let Ok(value) = self.value() {
                return Ok(match value {
                    GdbValue::Pointer(mut p) => {
                        p.type_name = Some(inside.to_string());
                        GdbValue::Pointer(p)
                    }
                    other => other,
                });
            }
            self.pos = after_cast - 1;
        }
        if inside.contains(" | ") {
            return Ok(GdbValue::Enum(format!("({inside})")));
        }
        self.pos = start;
        Err(self.error("a cast followed by a value, or a flag enum"))
    }

    /// A hexadecimal number `0x...`.
    fn hex(&mut self) -> Result<u64, ValueParseError> {
        let start = self.pos;
        self.expect("0x", "0x")?;
        let digits = self.take_while(|b| b.is_ascii_hexdigit());
        u64::from_str_radix(digits, 16).map_err(|_| {
            self.pos = start;
            self.error("a 64-bit hexadecimal number")
        })
    }

    /// `0xADDR`, then optionally ` <SYMBOL>` and ` "STRING"`.
    fn pointer(&mut self, type_name: Option<String>) -> Result<GdbValue, ValueParseError> {
        let address = self.hex()?;
        let mut pointer = GdbPointer {
            address,
            type_name,
            ..GdbPointer::default()
        };
        if self.rest().starts_with(" <") && !self.rest().starts_with(" <repeats ") {
            let before = self.pos;
            self.pos += 1;
            match self.balanced(b'<', b'>') {
                Ok(symbol) => pointer.symbol = Some(symbol.to_string()),
                Err(_) => self.pos = before,
            }
        }
        if self.rest().starts_with(" \"") || self.rest().starts_with(" '") {
            let before = self.pos;
            self.pos += 1;
            match self.char_array() {
                Ok(GdbValue::CharArray { bytes, truncated }) => {
                    pointer.string = Some(bytes);
                    pointer.string_truncated = truncated;
                }
                _ => self.pos = before,
            }
        }
        Ok(GdbValue::Pointer(pointer))
    }

    /// A decimal integer, a float, `-inf`, `-nan(...)`, or an integer followed by a character
    /// literal (`65 'A'`).
    fn number(&mut self) -> Result<GdbValue, ValueParseError> {
        let start = self.pos;
        self.eat("-");
        if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            // -inf, -nan(0x...)
            return match self.word()? {
                GdbValue::Float(x) => Ok(GdbValue::Float(-x)),
                _ => {
                    self.pos = start;
                    Err(self.error("a number"))
                }
            };
        }
        let int_digits = self.take_while(|b| b.is_ascii_digit());
        if int_digits.is_empty() {
            self.pos = start;
            return Err(self.error("digits"));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') && !self.rest().starts_with("...") {
            self.pos += 1;
            self.take_while(|b| b.is_ascii_digit());
            is_float = true;
        }
        if self.peek() == Some(b'e') {
            let before_exponent = self.pos;
            self.pos += 1;
            if !self.eat("+") {
                self.eat("-");
            }
            if self.take_while(|b| b.is_ascii_digit()).is_empty() {
                self.pos = before_exponent;
            } else {
                is_float = true;
            }
        }
        let token = self.text.get(start..self.pos).unwrap_or("");
        if is_float {
            return token.parse::<f64>().map(GdbValue::Float).map_err(|_| {
                self.pos = start;
                self.error("a floating-point number")
            });
        }
        let n: i128 = token.parse().map_err(|_| {
            self.pos = start;
            self.error("a decimal integer")
        })?;
        if self.rest().starts_with(" '") {
            self.pos += 1;
            let literal_start = self.pos;
            self.quoted(b'\'')?;
            let literal = self
                .text
                .get(literal_start + 1..self.pos - 1)
                .unwrap_or("")
                .to_string();
            let code = i64::try_from(n).map_err(|_| self.error("a character code"))?;
            return Ok(GdbValue::Char { code, literal });
        }
        Ok(GdbValue::Int(n))
    }

    /// A bare word: `true`, `false`, `inf`, `nan(0x...)` or an enumerator label (qualified
    /// names and template arguments included: `ns::Ring<int, 4>::Kind::A`).
    fn word(&mut self) -> Result<GdbValue, ValueParseError> {
        let start = self.pos;
        loop {
            self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
            if self.peek() == Some(b'<') && !self.rest().starts_with("<repeats ") {
                self.balanced(b'<', b'>')?;
                continue;
            }
            break;
        }
        let word = self.text.get(start..self.pos).unwrap_or("");
        Ok(match word {
            "" => return Err(self.error("a word")),
            "true" => GdbValue::Bool(true),
            "false" => GdbValue::Bool(false),
            "inf" => GdbValue::Float(f64::INFINITY),
            "nan" if self.peek() == Some(b'(') => {
                self.balanced(b'(', b')')?;
                GdbValue::Float(f64::NAN)
            }
            "nan" => GdbValue::Float(f64::NAN),
            label => GdbValue::Enum(label.to_string()),
        })
    }

    /// The length of a string-literal prefix (`L`, `u`, `U`, `u8`) directly followed by a quote.
    fn string_prefix_len(&self) -> Option<usize> {
        ["u8", "L", "u", "U"].iter().find_map(|p| {
            let rest = self.rest().strip_prefix(p)?;
            (rest.starts_with('"') || rest.starts_with('\'')).then_some(p.len())
        })
    }

    /// A quoted string or character literal starting at the current quote; returns the
    /// decoded bytes.
    fn quoted(&mut self, quote: u8) -> Result<Vec<u8>, ValueParseError> {
        let start = self.pos;
        if self.peek() != Some(quote) {
            return Err(self.error("a quote"));
        }
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                self.pos = start;
                return Err(self.error("a closing quote"));
            };
            self.pos += 1;
            if b == quote {
                return Ok(bytes);
            }
            if b != b'\\' {
                bytes.push(b);
                continue;
            }
            let Some(e) = self.peek() else {
                self.pos = start;
                return Err(self.error("an escape sequence"));
            };
            self.pos += 1;
            let decoded = match e {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'v' => 0x0b,
                b'e' => 0x1b,
                b'0'..=b'7' => {
                    let mut value = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                value = value * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    (value & 0xff) as u8
                }
                b'x' => {
                    let digits = self.take_while(|d| d.is_ascii_hexdigit());
                    u32::from_str_radix(digits, 16)
                        .map(|v| (v & 0xff) as u8)
                        .map_err(|_| self.error("hex digits after \\x"))?
                }
                other => other,
            };
            bytes.push(decoded);
        }
    }

    /// ` <repeats N times>` after a value, if present.
    fn repeats(&mut self) -> Result<Option<u64>, ValueParseError> {
        if !self.rest().starts_with(" <repeats ") {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += " <repeats ".len();
        let digits = self.take_while(|b| b.is_ascii_digit());
        let count: u64 = digits.parse().map_err(|_| self.error("a repeat count"))?;
        if !self.eat(" times>") || count > MAX_REPEAT {
            self.pos = start;
            return Err(self.error("' times>' after a repeat count no larger than 2^20"));
        }
        Ok(Some(count))
    }

    /// A character array: `"..."` and `'c' <repeats N times>` segments joined by `, `, then
    /// `...` when gdb stopped at its element limit. Another `"..."` segment only continues the
    /// string after a repeat segment (gdb never prints two quoted segments in a row), so
    /// `{"ab", "cd"}` stays an array of two strings.
    fn char_array(&mut self) -> Result<GdbValue, ValueParseError> {
        let mut bytes = Vec::new();
        loop {
            if let Some(len) = self.string_prefix_len() {
                self.pos += len;
            }
            let after_repeat = match self.peek() {
                Some(b'"') => {
                    bytes.extend(self.quoted(b'"')?);
                    false
                }
                Some(b'\'') => {
                    let c = self.quoted(b'\'')?;
                    let count = self.repeats()?.unwrap_or(1);
                    for _ in 0..count {
                        bytes.extend_from_slice(&c);
                    }
                    true
                }
                _ => return Err(self.error("a string segment")),
            };
            let continues = self.rest().starts_with(", '")
                && self.rest().get(2..).is_some_and(|r| {
                    let mut probe = Cursor::new(r);
                    probe.quoted(b'\'').is_ok() && probe.rest().starts_with(" <repeats ")
                })
                || after_repeat && self.rest().starts_with(", \"");
            if !continues {
                break;
            }
            self.pos += 2;
        }
        let truncated = self.eat("...");
        Ok(GdbValue::CharArray { bytes, truncated })
    }

    /// `{ITEM, ITEM, ...}`: a struct when some item is named (`name = v`, `<Base> = v`) or is
    /// `<No data fields>`, an array otherwise.
    fn brace_list(&mut self) -> Result<GdbValue, ValueParseError> {
        self.expect("{", "{")?;
        let mut fields: Vec<GdbField> = Vec::new();
        let mut elements: Vec<GdbValue> = Vec::new();
        let mut is_struct = false;
        let mut truncated = false;
        if self.eat("}") {
            return Ok(GdbValue::Struct(Vec::new()));
        }
        loop {
            if self.eat("<No data fields>") {
                is_struct = true;
            } else if let Some(name) = self.field_name() {
                is_struct = true;
                let value = self.value()?;
                fields.push(GdbField { name, value });
            } else {
                let value = self.value()?;
                let count = self.repeats()?.unwrap_or(1);
                for _ in 0..count {
                    elements.push(value.clone());
                }
                fields.push(GdbField {
                    name: GdbFieldName::Anonymous,
                    value,
                });
            }
            if self.eat("...") {
                truncated = true;
            }
            if self.eat("}") {
                break;
            }
            self.expect(", ", "', ' or '}' in a brace list")?;
        }
        Ok(if is_struct {
            GdbValue::Struct(fields)
        } else {
            GdbValue::Array { elements, truncated }
        })
    }

    /// `name = ` or `<Base> = ` at the current position (consumed), or `None` (nothing
    /// consumed). Member names are C identifiers plus `.` (`_vptr.Item`), optionally after
    /// `static `.
    fn field_name(&mut self) -> Option<GdbFieldName> {
        let start = self.pos;
        if self.peek() == Some(b'<') {
            if let Ok(base) = self.balanced(b'<', b'>') {
                if self.eat(" = ") {
                    return Some(GdbFieldName::Base(base.to_string()));
                }
            }
            self.pos = start;
            return None;
        }
        let is_static = self.eat("static ");
        let first = self.peek();
        if !first.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$') {
            self.pos = start;
            return None;
        }
        let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.');
        if self.eat(" = ") {
            let name = if is_static {
                format!("static {name}")
            } else {
                name.to_string()
            };
            return Some(GdbFieldName::Member(name));
        }
        self.pos = start;
        None
    }
}
