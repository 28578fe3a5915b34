//! Reading a bt variable's value: integers (bit fields included), addresses, floats, bounded
//! strings, raw bytes, and the whole value as a snapshot variable.

use super::place::Place;
use super::{BtError, BtVariable};
use crate::memory::MemoryReader;
use crate::snapshot::{Address, Variable};
use crate::variables::location::{Missing, ValueImage, MAX_IMAGE_BYTES};
use crate::variables::process_variables::ProcessVariables;
use crate::variables::types::{BaseEncoding, TypeKind};
use crate::variables::value::{char_width, decode_string, encode, Builder, VariableLimits};

/// An integer as read: its bits (zero-extended), its width in bits, and whether the type is
/// signed.
struct RawInteger {
    bits: u128,
    width: u32,
    signed: bool,
}

impl BtVariable {
    /// The bytes of the value (its type's size; for a bit field, the bytes it touches).
    pub fn read_bytes(&self, memory: &dyn MemoryReader) -> Result<Vec<u8>, BtError> {
        let len = match self.bits {
            Some(bits) => bits.byte_len(),
            None => usize::try_from(self.sizeof()?).unwrap_or(usize::MAX),
        };
        Ok(self.raw(len, memory)?.into_owned())
    }

    /// The value of a pointer or C++ reference: the address it holds.
    pub fn read_address(&self, memory: &dyn MemoryReader) -> Result<u64, BtError> {
        let stripped = self.ty.resolved();
        if !matches!(
            stripped.kind(),
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference
        ) || self.bits.is_some()
        {
            return Err(self.wrong_kind("an address"));
        }
        let size = stripped
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(8)
            .clamp(1, 8);
        let bytes = self.raw(size, memory)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)))
    }

    /// The value as a signed integer: integer, character and boolean types, enums, bit fields,
    /// pointers (their address). Unsigned values are zero-extended (a 128-bit unsigned value
    /// above `i128::MAX` wraps).
    pub fn read_int(&self, memory: &dyn MemoryReader) -> Result<i128, BtError> {
        let raw = self.integer(memory)?;
        let width = raw.width.min(128);
        if raw.signed && width > 0 && width < 128 && (raw.bits >> (width - 1)) & 1 == 1 {
            return Ok((raw.bits as i128).wrapping_sub(1i128 << width));
        }
        Ok(raw.bits as i128)
    }

    /// The value as an unsigned integer: the bits of the value, zero-extended from its type's
    /// width (an `int` of -1 reads as `0xffffffff`). Same types as [`read_int`](Self::read_int).
    pub fn read_uint(&self, memory: &dyn MemoryReader) -> Result<u128, BtError> {
        Ok(self.integer(memory)?.bits)
    }

    fn integer(&self, memory: &dyn MemoryReader) -> Result<RawInteger, BtError> {
        let stripped = self.ty.resolved();
        let signed = match stripped.kind() {
            TypeKind::Base => match stripped.encoding() {
                Some(BaseEncoding::Float | BaseEncoding::ComplexFloat) | None => {
                    return Err(self.wrong_kind("an integer"))
                }
                Some(BaseEncoding::Signed | BaseEncoding::SignedChar) => true,
                Some(_) => false,
            },
            TypeKind::Enum => stripped.is_signed(),
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => false,
            TypeKind::PointerToMember => true,
            _ => return Err(self.wrong_kind("an integer")),
        };
        if let Some(bits) = self.bits {
            let len = bits.byte_len();
            if len > 17 {
                return Err(self.wrong_kind("an integer of at most 128 bits"));
            }
            let bytes = self.raw(len, memory)?;
            let mut all: u128 = 0;
            let mut high: u128 = 0;
            for (i, byte) in bytes.iter().enumerate() {
                if i < 16 {
                    all |= u128::from(*byte) << (8 * i);
                } else {
                    high = u128::from(*byte);
                }
            }
            let shift = u32::from(bits.shift);
            let mut value = all >> shift;
            if shift > 0 {
                value |= high << (128 - shift);
            }
            let width = u32::try_from(bits.width.min(128)).unwrap_or(128);
            if width < 128 {
                value &= (1u128 << width) - 1;
            }
            return Ok(RawInteger {
                bits: value,
                width,
                signed,
            });
        }
        let size = match stripped.kind() {
            TypeKind::Enum => stripped.size().unwrap_or(4),
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                stripped.size().unwrap_or(8)
            }
            _ => stripped.size().ok_or_else(|| self.unknown_size())?,
        };
        let size = usize::try_from(size)
            .ok()
            .filter(|s| (1..=16).contains(s))
            .ok_or_else(|| self.wrong_kind("an integer of at most 128 bits"))?;
        let bytes = self.raw(size, memory)?;
        let bits = bytes
            .iter()
            .enumerate()
            .fold(0u128, |value, (i, byte)| value | (u128::from(*byte) << (8 * i)));
        Ok(RawInteger {
            bits,
            width: (size * 8) as u32,
            signed,
        })
    }

    /// The value of a floating-point variable (`float`, `double`, x87 `long double`,
    /// `_Float128`) as the nearest `f64`.
    pub fn read_float(&self, memory: &dyn MemoryReader) -> Result<f64, BtError> {
        let stripped = self.ty.resolved();
        if stripped.kind() != TypeKind::Base
            || stripped.encoding() != Some(BaseEncoding::Float)
            || self.bits.is_some()
        {
            return Err(self.wrong_kind("a float"));
        }
        let size = stripped
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| self.unknown_size())?;
        let bytes = self.raw(size, memory)?;
        let is_long_double = stripped.dwarf_name().is_none_or(|n| n.contains("long double"));
        let value = match size {
            4 => bytes
                .as_ref()
                .try_into()
                .ok()
                .map(|b| f64::from(f32::from_le_bytes(b))),
            8 => bytes.as_ref().try_into().ok().map(f64::from_le_bytes),
            16 if !is_long_double => encode::binary128(&bytes),
            10 | 12 | 16 => encode::x87_extended(&bytes),
            _ => None,
        };
        value.ok_or_else(|| self.wrong_kind("a float of 4, 8, 10, 12 or 16 bytes"))
    }

    /// The string this `char *` (or wide-character pointer) points to, or this character array
    /// holds: up to the first NUL, at most `max` bytes read (invalid UTF-8 replaced).
    pub fn read_string(&self, max: usize, memory: &dyn MemoryReader) -> Result<String, BtError> {
        let stripped = self.ty.resolved();
        match stripped.kind() {
            TypeKind::Pointer => {
                let width = stripped
                    .target()
                    .and_then(|t| char_width(&t))
                    .ok_or_else(|| self.wrong_kind("a string"))?;
                let address = self.read_address(memory)?;
                if address == 0 {
                    return Err(BtError::NullPointer {
                        path: self.path.clone(),
                        type_name: self.type_name(),
                    });
                }
                let mut buffer = vec![0u8; max - max % width];
                if buffer.is_empty() {
                    return Ok(String::new());
                }
                let read = memory.read_at(address, &mut buffer);
                if read == 0 {
                    return Err(BtError::Unreadable {
                        path: format!("*{}", self.path),
                        type_name: self.type_name(),
                        address,
                        len: buffer.len(),
                    });
                }
                buffer.truncate(read - read % width);
                Ok(decode_string(&buffer, width))
            }
            TypeKind::Array => {
                let element = stripped.target().ok_or_else(|| self.wrong_kind("a string"))?;
                let width = char_width(&element)
                    .filter(|_| element.strip_typedefs().kind() != TypeKind::Array)
                    .ok_or_else(|| self.wrong_kind("a string"))?;
                let count = stripped.element_count().ok_or_else(|| self.unknown_size())?;
                let len = usize::try_from(count)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(width)
                    .min(max);
                let len = len - len % width;
                let bytes = self.raw(len, memory)?;
                Ok(decode_string(&bytes, width))
            }
            _ => Err(self.wrong_kind("a string")),
        }
    }

    /// The value as a snapshot variable (what `pmodule.variable_from_bt` gives): name, type,
    /// kind, value, address, symbol (string, enum label, function name), children down to
    /// `limits.depth`. Never fails: what cannot be read is `unreadable` or `optimized_out`.
    pub fn value(
        &self,
        process: &ProcessVariables,
        memory: &dyn MemoryReader,
        limits: &VariableLimits,
    ) -> Variable {
        let symbolize = |address: u64| process.symbolize_function(address);
        let builder = Builder {
            limits,
            memory,
            symbolize: &symbolize,
        };
        let size = self.ty.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let image = match (&self.place, self.bits) {
            (Place::Missing { reason }, _) => {
                ValueImage::missing(size, Missing::optimized_out(reason.clone()))
            }
            (_, Some(_)) => match self.read_int(memory) {
                // The field's value, as bytes of its type for the builder to decode.
                Ok(value) => {
                    let mut bytes = value.to_le_bytes().to_vec();
                    bytes.truncate(size.clamp(1, 16));
                    ValueImage::known(bytes)
                }
                Err(e) => ValueImage::missing(size, Missing::unreadable(e.to_string())),
            },
            (Place::Memory(address), None) => {
                ValueImage::from_memory(*address, size.min(MAX_IMAGE_BYTES), memory)
            }
            (Place::Value(bytes), None) => ValueImage::known(bytes.to_vec()),
        };
        let name = crate::snapshot::SharedStr::copy_of(&self.name);
        let mut variable = builder.variable(&name, &self.ty, &image, false);
        if self.bits.is_some() {
            variable.address = self.address().map(Address);
        }
        variable
    }

    fn wrong_kind(&self, wanted: &'static str) -> BtError {
        BtError::WrongKind {
            path: self.path.clone(),
            type_name: self.type_name(),
            wanted,
        }
    }

    fn unknown_size(&self) -> BtError {
        BtError::UnknownSize {
            path: self.path.clone(),
            type_name: self.type_name(),
        }
    }
}
