//! Turning a located value and its type into a snapshot [`Variable`]: kind, type names, value,
//! symbol (string contents, enum label, function name), children down to the depth limit; the
//! numbers as the snapshot writes them ([`encode`]); and the building deferred until the target
//! runs again ([`deferred`]).

mod deferred;
pub(crate) mod encode;

use std::borrow::Cow;

use serde_json::Value;

use crate::memory::MemoryReader;
use crate::snapshot::{
    Address, Annotation, AnnotationLevel, SharedStr, Variable, VariableKind, VariableState,
};
use crate::variables::location::{ByteState, ValueImage, MAX_IMAGE_BYTES};
use crate::variables::types::{BaseEncoding, BitField, Type, TypeKind};

pub(crate) use deferred::Deferral;
pub use deferred::{CopiedStrings, StringCopies};
pub use encode::{float as encode_float, integer as encode_integer};

/// Bounds of what is extracted for one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableLimits {
    /// How many levels of children structs and arrays are expanded into (`--depth`; a variable's
    /// own children are level 1).
    pub depth: usize,
    /// Most elements shown per array (the variable is then `truncated`).
    pub max_elements: usize,
    /// Most bytes of a string read (`char *` targets and `char` arrays).
    pub max_string: usize,
}

impl Default for VariableLimits {
    fn default() -> Self {
        Self {
            depth: 4,
            max_elements: 100,
            max_string: 256,
        }
    }
}

/// What building a variable needs besides its type and bytes.
pub(crate) struct Builder<'a> {
    /// The bounds.
    pub limits: &'a VariableLimits,
    /// Target memory (strings pointed to, parts of big values).
    pub memory: &'a dyn MemoryReader,
    /// The function symbol at a runtime address (`name` or `name+0x10`).
    pub symbolize: &'a dyn Fn(u64) -> Option<String>,
}

/// The bytes of a part of a value, or what is wrong with them.
enum Part<'b> {
    Known(Cow<'b, [u8]>),
    Missing(ByteState, String),
}

impl Builder<'_> {
    /// The variable `name` of type `ty`, whose bytes are `image`.
    pub fn variable(&self, name: &SharedStr, ty: &Type, image: &ValueImage, parameter: bool) -> Variable {
        let mut variable = self.build(name, ty, image, 0, 0);
        variable.parameter = parameter;
        if image.from_entry_value && variable.state == VariableState::Ok {
            variable.annotations.push(Annotation::Text {
                level: AnnotationLevel::Comment,
                text: "value on entry to the function (recovered from the caller's call site)".into(),
            });
        }
        variable
    }

    /// The value (as `Variable::value` holds it) of a scalar of type `ty` (an integer, enum or
    /// pointer) whose bits are `bits` (a register's, little-endian); nothing else is read.
    pub fn scalar_value(ty: &Type, bits: u64) -> Value {
        let stripped = ty.resolved();
        let size = stripped
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(8)
            .clamp(1, 8);
        let bytes = &bits.to_le_bytes()[..size];
        match stripped.kind() {
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                encode::address(zero_extend(bytes) as u64)
            }
            _ if stripped.is_signed()
                || matches!(
                    stripped.encoding(),
                    Some(BaseEncoding::Signed | BaseEncoding::SignedChar)
                ) =>
            {
                encode::integer(sign_extend(bytes))
            }
            _ => encode::integer(zero_extend(bytes)),
        }
    }

    /// Builds the variable at `offset` bytes into `image`, `level` levels below the top.
    fn build(
        &self,
        name: &SharedStr,
        ty: &Type,
        image: &ValueImage,
        offset: usize,
        level: usize,
    ) -> Variable {
        let stripped = ty.resolved();
        let mut variable = skeleton(
            name,
            ty,
            &stripped,
            image.address.map(|a| a.wrapping_add(offset as u64)),
        );
        // A value missing entirely is shown as such, whatever its type.
        if let Some(size) = stripped
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .filter(|s| *s > 0)
        {
            let held = size.min(image.len().saturating_sub(offset));
            let missing = if held > 0 {
                all_missing(image, offset, held)
            } else if image.address.is_none() {
                Some(ByteState::OptimizedOut)
            } else {
                None
            };
            if let Some(missing) = missing {
                let reason = image
                    .reason
                    .as_deref()
                    .unwrap_or("its location is smaller than its type")
                    .to_string();
                mark_missing(&mut variable, missing, Some(reason));
                return variable;
            }
        }
        match stripped.kind() {
            TypeKind::Base => self.base_value(&mut variable, &stripped, image, offset),
            TypeKind::Enum => self.enum_value(&mut variable, &stripped, image, offset),
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                self.pointer_value(&mut variable, &stripped, image, offset)
            }
            TypeKind::PointerToMember => {
                if let Some(bytes) = self.known(&mut variable, image, offset, 8) {
                    variable.value = encode::integer(i128::from(le_signed(&bytes)));
                }
            }
            TypeKind::Struct | TypeKind::Class | TypeKind::Union => {
                self.struct_value(&mut variable, &stripped, image, offset, level)
            }
            TypeKind::Array => self.array_value(&mut variable, &stripped, image, offset, level),
            _ => {}
        }
        variable
    }

    /// The bytes `offset..offset + len` of the value (read from memory past the image when the
    /// value has an address).
    fn part<'b>(&self, image: &'b ValueImage, offset: usize, len: usize) -> Part<'b> {
        match image.state_of(offset, len) {
            Some(ByteState::Known) => Part::Known(Cow::Borrowed(&image.bytes[offset..offset + len])),
            Some(state) => Part::Missing(
                state,
                image.reason.as_deref().unwrap_or("not available").to_string(),
            ),
            None => match image.address {
                Some(address) => {
                    let at = address.wrapping_add(offset as u64);
                    match self.memory.read_exact(at, len) {
                        Some(bytes) => Part::Known(Cow::Owned(bytes)),
                        None => Part::Missing(
                            ByteState::Unreadable,
                            format!("memory at {at:#x} is not readable"),
                        ),
                    }
                }
                None => Part::Missing(
                    ByteState::OptimizedOut,
                    image
                        .reason
                        .as_deref()
                        .unwrap_or("its location is smaller than its type")
                        .to_string(),
                ),
            },
        }
    }

    /// The known bytes of a scalar, or marks the variable missing.
    fn known<'b>(
        &self,
        variable: &mut Variable,
        image: &'b ValueImage,
        offset: usize,
        len: usize,
    ) -> Option<Cow<'b, [u8]>> {
        match self.part(image, offset, len) {
            Part::Known(bytes) => Some(bytes),
            Part::Missing(state, reason) => {
                mark_missing(variable, state, Some(reason));
                None
            }
        }
    }

    fn base_value(&self, variable: &mut Variable, ty: &Type, image: &ValueImage, offset: usize) {
        let Some(size) = ty.size().and_then(|s| usize::try_from(s).ok()).filter(|s| *s > 0) else {
            return;
        };
        let Some(bytes) = self.known(variable, image, offset, size) else {
            return;
        };
        match ty.encoding() {
            Some(BaseEncoding::Float) => variable.value = float_value(ty, &bytes),
            Some(BaseEncoding::ComplexFloat) => {
                let half = size / 2;
                let part = |b: &[u8]| -> Value {
                    match half {
                        4 => encode::float(f64::from(f32::from_le_bytes(b.try_into().unwrap_or([0; 4])))),
                        8 => encode::float(f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                        _ => encode::x87_extended(b).map(encode::float).unwrap_or(Value::Null),
                    }
                };
                variable.value = Value::Array(vec![part(&bytes[..half]), part(&bytes[half..])]);
            }
            Some(BaseEncoding::Signed | BaseEncoding::SignedChar) => {
                variable.value = encode::integer(sign_extend(&bytes));
            }
            _ => variable.value = encode::integer(zero_extend(&bytes)),
        }
    }

    fn enum_value(&self, variable: &mut Variable, ty: &Type, image: &ValueImage, offset: usize) {
        let size = ty
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(4)
            .clamp(1, 16);
        let Some(bytes) = self.known(variable, image, offset, size) else {
            return;
        };
        let value = if ty.is_signed() {
            sign_extend(&bytes)
        } else {
            zero_extend(&bytes)
        };
        variable.value = encode::integer(value);
        variable.symbol = ty
            .enumerators()
            .into_iter()
            .find(|e| e.value == value)
            .map(|e| e.name);
    }

    fn pointer_value(&self, variable: &mut Variable, ty: &Type, image: &ValueImage, offset: usize) {
        let size = ty
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(8)
            .clamp(1, 8);
        let Some(bytes) = self.known(variable, image, offset, size) else {
            return;
        };
        let address = zero_extend(&bytes) as u64;
        variable.value = encode::address(address);
        let Some(pointee) = ty.target() else {
            return;
        };
        if ty.kind() != TypeKind::Pointer || address == 0 {
            return;
        }
        if pointee.strip_typedefs().kind() == TypeKind::Function {
            variable.symbol = (self.symbolize)(address);
        } else if let Some(width) = char_width(&pointee) {
            variable.symbol = self.read_string(address, width);
        }
    }

    /// A NUL-terminated string of `width`-byte characters at `address`, bounded.
    fn read_string(&self, address: u64, width: usize) -> Option<String> {
        let max = self.limits.max_string.max(width);
        let mut buffer = vec![0u8; max - max % width];
        let read = self.memory.read_at(address, &mut buffer);
        if read == 0 {
            return None;
        }
        buffer.truncate(read - read % width);
        Some(decode_string(&buffer, width))
    }

    fn struct_value(
        &self,
        variable: &mut Variable,
        ty: &Type,
        image: &ValueImage,
        offset: usize,
        level: usize,
    ) {
        if level >= self.limits.depth {
            variable.state = VariableState::Truncated;
            return;
        }
        for member in ty.members() {
            let name = match (&member.name, member.is_base) {
                (Some(name), _) => name.clone(),
                (None, true) => SharedStr::from(format!("<{}>", member.ty.name())),
                (None, false) => SharedStr::default(),
            };
            let Some(member_offset) = member.offset.and_then(|o| usize::try_from(o).ok()) else {
                let mut child = self.build(&name, &member.ty, &ValueImage::default(), 0, level + 1);
                mark_missing(
                    &mut child,
                    ByteState::OptimizedOut,
                    Some("its offset is only known at run time (virtual base)".into()),
                );
                variable.children.push(child);
                continue;
            };
            let child_offset = offset.saturating_add(member_offset);
            let child = match member.bit_field {
                Some(bits) => self.bit_field(&name, &member.ty, image, offset, bits, level + 1),
                None => self.build(&name, &member.ty, image, child_offset, level + 1),
            };
            variable.children.push(child);
        }
    }

    fn bit_field(
        &self,
        name: &SharedStr,
        ty: &Type,
        image: &ValueImage,
        struct_offset: usize,
        bits: BitField,
        level: usize,
    ) -> Variable {
        let first = usize::try_from(bits.bit_offset / 8).unwrap_or(usize::MAX);
        let last = usize::try_from((bits.bit_offset + bits.bit_size.max(1) - 1) / 8).unwrap_or(usize::MAX);
        let stripped = ty.strip_typedefs();
        let mut variable = skeleton(
            name,
            ty,
            &stripped,
            image
                .address
                .map(|a| a.wrapping_add((struct_offset + first) as u64)),
        );
        let _ = level;
        // The field's bytes are gathered into a u128: a field reaching past 128 bits from its
        // first byte's start cannot be decoded here, and is said so rather than given wrong.
        let Some(len) = last.checked_sub(first).map(|d| d + 1).filter(|l| *l <= 16) else {
            let reason = format!(
                "a bit field of {} bits at bit {}: wider than the 128 bits this reader decodes",
                bits.bit_size,
                bits.bit_offset % 8
            );
            mark_missing(&mut variable, ByteState::Unreadable, Some(reason));
            return variable;
        };
        let Some(bytes) = self.known(&mut variable, image, struct_offset.saturating_add(first), len) else {
            return variable;
        };
        let mut raw: u128 = 0;
        for (i, byte) in bytes.iter().enumerate() {
            raw |= u128::from(*byte) << (8 * i);
        }
        let shift = bits.bit_offset % 8;
        let width = bits.bit_size.min(128);
        let mut value = raw >> shift;
        if width < 128 {
            value &= (1u128 << width) - 1;
        }
        let signed = stripped.is_signed();
        let number = if signed && width > 0 && width < 128 && value >> (width - 1) & 1 == 1 {
            (value as i128) - (1i128 << width)
        } else {
            value as i128
        };
        variable.value = encode::integer(number);
        if stripped.kind() == TypeKind::Enum {
            variable.symbol = stripped
                .enumerators()
                .into_iter()
                .find(|e| e.value == number)
                .map(|e| e.name);
        }
        variable.annotations.push(Annotation::Text {
            level: AnnotationLevel::Comment,
            text: format!("bit field: {} bits at bit {}", bits.bit_size, bits.bit_offset % 8),
        });
        variable
    }

    fn array_value(
        &self,
        variable: &mut Variable,
        ty: &Type,
        image: &ValueImage,
        offset: usize,
        level: usize,
    ) {
        let Some(element) = ty.target() else {
            return;
        };
        let stripped_element = element.strip_typedefs();
        let count = ty.element_count();
        if let (Some(width), Some(count)) = (char_width(&element), count) {
            if stripped_element.kind() != TypeKind::Array {
                variable.kind = VariableKind::String;
                let len = usize::try_from(count)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(width)
                    .min(self.limits.max_string.max(width));
                let len = len - len % width;
                if let Some(bytes) = self.known(variable, image, offset, len) {
                    variable.symbol = Some(decode_string(&bytes, width));
                    if (len as u64) < count.saturating_mul(width as u64)
                        && !bytes.chunks(width).any(|c| c.iter().all(|b| *b == 0))
                    {
                        variable.state = VariableState::Truncated;
                    }
                }
                return;
            }
        }
        let Some(count) = count else {
            return;
        };
        if level >= self.limits.depth {
            variable.state = VariableState::Truncated;
            return;
        }
        let element_size = element.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let shown = usize::try_from(count)
            .unwrap_or(usize::MAX)
            .min(self.limits.max_elements);
        // One read for the elements shown when they lie beyond the image.
        let extended;
        let (source, base) = match image.address {
            Some(address)
                if offset.saturating_add(shown.saturating_mul(element_size)) > image.len()
                    && shown.saturating_mul(element_size) <= MAX_IMAGE_BYTES =>
            {
                extended = ValueImage::from_memory(
                    address.wrapping_add(offset as u64),
                    shown * element_size,
                    self.memory,
                );
                (&extended, 0)
            }
            _ => (image, offset),
        };
        for index in 0..shown {
            let child_offset = base.saturating_add(index.saturating_mul(element_size));
            let child = self.build(&element_name(index), &element, source, child_offset, level + 1);
            variable.children.push(child);
        }
        if (shown as u64) < count {
            variable.state = VariableState::Truncated;
        }
    }
}

/// How many array element names (`[0]`, `[1]`...) are made once and shared.
const SHARED_ELEMENT_NAMES: usize = 256;

/// The name of array element `index`: shared for the first [`SHARED_ELEMENT_NAMES`] indexes,
/// which every array of a snapshot uses.
fn element_name(index: usize) -> SharedStr {
    static NAMES: std::sync::OnceLock<Vec<SharedStr>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (0..SHARED_ELEMENT_NAMES)
            .map(|i| SharedStr::from(format!("[{i}]")))
            .collect()
    });
    match names.get(index) {
        Some(name) => name.clone(),
        None => SharedStr::from(format!("[{index}]")),
    }
}

/// A variable with its names and kind, no value yet.
fn skeleton(name: &SharedStr, ty: &Type, stripped: &Type, address: Option<u64>) -> Variable {
    let (type_name, base_type) = ty.names();
    Variable {
        name: name.clone(),
        type_name,
        base_type,
        kind: kind_of(stripped),
        address: address.map(Address),
        value: Value::Null,
        symbol: None,
        parameter: false,
        state: VariableState::Ok,
        entry_value: Value::Null,
        target_symbol: None,
        children: Vec::new(),
        annotations: Vec::new(),
        marks: Default::default(),
    }
}

/// When the bytes `offset..offset + len` of the image are all missing (none known), how.
fn all_missing(image: &ValueImage, offset: usize, len: usize) -> Option<ByteState> {
    let states = image.states.get(offset..offset.checked_add(len)?)?;
    if states.is_empty() || states.contains(&ByteState::Known) {
        return None;
    }
    Some(if states.contains(&ByteState::OptimizedOut) {
        ByteState::OptimizedOut
    } else {
        ByteState::Unreadable
    })
}

/// Marks a variable optimized out or unreadable, with the reason as a comment.
fn mark_missing(variable: &mut Variable, missing: ByteState, reason: Option<String>) {
    variable.value = Value::Null;
    variable.symbol = None;
    variable.children.clear();
    variable.state = match missing {
        ByteState::Unreadable => VariableState::Unreadable,
        _ => VariableState::OptimizedOut,
    };
    if let Some(reason) = reason {
        variable.annotations.push(Annotation::Text {
            level: AnnotationLevel::Comment,
            text: reason,
        });
    }
}

/// The pmodule kind of a type (typedefs and qualifiers already stripped).
pub(crate) fn kind_of(ty: &Type) -> VariableKind {
    match ty.kind() {
        TypeKind::Base => match ty.encoding() {
            Some(BaseEncoding::Float) => match ty.size() {
                Some(4) => VariableKind::Flt,
                Some(8) => VariableKind::Dbl,
                _ => VariableKind::Ldbl,
            },
            Some(BaseEncoding::ComplexFloat) => match ty.size() {
                Some(8) => VariableKind::Cflt,
                Some(16) => VariableKind::Cdbl,
                _ => VariableKind::Cldbl,
            },
            Some(BaseEncoding::Signed | BaseEncoding::SignedChar) => VariableKind::Ll,
            _ => VariableKind::Ull,
        },
        TypeKind::Enum => VariableKind::Enum,
        TypeKind::Pointer => match ty.target().map(|t| t.strip_typedefs().kind()) {
            Some(TypeKind::Function) => VariableKind::Fn,
            _ => VariableKind::Reference,
        },
        TypeKind::Reference | TypeKind::RvalueReference => VariableKind::Reference,
        TypeKind::PointerToMember => VariableKind::Ll,
        TypeKind::Struct | TypeKind::Class | TypeKind::Union => VariableKind::Tuple,
        TypeKind::Array => VariableKind::Array,
        TypeKind::Function => VariableKind::Fn,
        _ => VariableKind::Bottom,
    }
}

/// The names of the wide character types (typedefs in C, base types in C++).
const WIDE_CHARACTERS: [&str; 4] = ["wchar_t", "char8_t", "char16_t", "char32_t"];

/// The character width of a character type (`char`, `signed/unsigned char`, `char8/16/32_t`,
/// `wchar_t`, through typedefs and qualifiers), `None` for other types.
pub(crate) fn char_width(ty: &Type) -> Option<usize> {
    let mut current = ty.clone();
    for _ in 0..16 {
        if current.kind() == TypeKind::Typedef
            && current.dwarf_name().is_some_and(|n| WIDE_CHARACTERS.contains(&n))
        {
            let size = usize::try_from(current.size()?).ok()?;
            return matches!(size, 1 | 2 | 4).then_some(size);
        }
        match current.kind() {
            TypeKind::Typedef
            | TypeKind::Const
            | TypeKind::Volatile
            | TypeKind::Restrict
            | TypeKind::Atomic => {
                current = current.target()?;
            }
            _ => break,
        }
    }
    if current.kind() != TypeKind::Base {
        return None;
    }
    let size = usize::try_from(current.size()?).ok()?;
    match current.encoding()? {
        BaseEncoding::SignedChar | BaseEncoding::UnsignedChar if size == 1 => Some(1),
        BaseEncoding::Utf if matches!(size, 1 | 2 | 4) => Some(size),
        BaseEncoding::Signed | BaseEncoding::Unsigned
            if current.dwarf_name().is_some_and(|n| WIDE_CHARACTERS.contains(&n)) =>
        {
            Some(size)
        }
        _ => None,
    }
}

/// Text of `width`-byte characters up to the first NUL (invalid sequences replaced).
pub(crate) fn decode_string(bytes: &[u8], width: usize) -> String {
    match width {
        2 => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|u| *u != 0)
                .collect();
            String::from_utf16_lossy(&units)
        }
        4 => bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .take_while(|u| *u != 0)
            .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        _ => {
            let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
            String::from_utf8_lossy(&bytes[..end]).into_owned()
        }
    }
}

/// A floating-point base type's value.
fn float_value(ty: &Type, bytes: &[u8]) -> Value {
    let value = match bytes.len() {
        4 => bytes.try_into().ok().map(|b| f64::from(f32::from_le_bytes(b))),
        8 => bytes.try_into().ok().map(f64::from_le_bytes),
        16 if ty.dwarf_name().is_some_and(|n| !n.contains("long double")) => encode::binary128(bytes),
        10 | 12 | 16 => encode::x87_extended(bytes),
        _ => None,
    };
    value.map(encode::float).unwrap_or(Value::Null)
}

/// Little-endian bytes (at most 16) as a signed integer.
pub(crate) fn sign_extend(bytes: &[u8]) -> i128 {
    let len = bytes.len().min(16);
    if len == 0 {
        return 0;
    }
    let unsigned = zero_extend(bytes);
    let bits = len * 8;
    if bits >= 128 {
        return unsigned;
    }
    let sign = 1i128 << (bits - 1);
    if unsigned & sign != 0 {
        unsigned - (1i128 << bits)
    } else {
        unsigned
    }
}

/// Little-endian bytes (at most 16) as an unsigned integer.
pub(crate) fn zero_extend(bytes: &[u8]) -> i128 {
    let mut value: u128 = 0;
    for (i, byte) in bytes.iter().take(16).enumerate() {
        value |= u128::from(*byte) << (8 * i);
    }
    value as i128
}

/// Up to 8 little-endian bytes as an i64.
fn le_signed(bytes: &[u8]) -> i64 {
    sign_extend(&bytes[..bytes.len().min(8)]) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_names_are_shared_then_made() {
        assert_eq!(element_name(0), "[0]");
        assert_eq!(
            element_name(SHARED_ELEMENT_NAMES - 1).as_str(),
            format!("[{}]", SHARED_ELEMENT_NAMES - 1)
        );
        assert_eq!(
            element_name(SHARED_ELEMENT_NAMES).as_str(),
            format!("[{SHARED_ELEMENT_NAMES}]")
        );
        assert_eq!(element_name(100_000), "[100000]");
        assert!(std::ptr::eq(element_name(7).as_str(), element_name(7).as_str()));
    }

    #[test]
    fn integers_extend() {
        assert_eq!(sign_extend(&[0xff]), -1);
        assert_eq!(zero_extend(&[0xff]), 255);
        assert_eq!(sign_extend(&[0x00, 0x80]), -32768);
        assert_eq!(sign_extend(&u64::MAX.to_le_bytes()), -1);
        assert_eq!(zero_extend(&u64::MAX.to_le_bytes()), u64::MAX as i128);
        assert_eq!(sign_extend(&[]), 0);
        // 128-bit values: unsigned max stays a bit pattern (callers use zero_extend for it).
        assert_eq!(sign_extend(&[0xff; 16]), -1);
    }

    #[test]
    fn strings_decode_by_width() {
        assert_eq!(decode_string(b"papa\0junk", 1), "papa");
        assert_eq!(decode_string(b"no nul", 1), "no nul");
        let wide: Vec<u8> = "hé"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .chain([0; 4])
            .collect();
        assert_eq!(decode_string(&wide, 4), "hé");
        let utf16: Vec<u8> = "ok".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_string(&utf16, 2), "ok");
        assert_eq!(decode_string(&[0xff, 0x41, 0], 1), "\u{fffd}A");
    }
}
