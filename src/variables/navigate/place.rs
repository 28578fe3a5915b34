//! Where a bt variable's value is ([`Place`]), parts of it, and its raw bytes.

use std::borrow::Cow;
use std::sync::Arc;

use super::{BtError, BtVariable};
use crate::memory::MemoryReader;

/// Where a value is.
#[derive(Clone, Debug)]
pub(super) enum Place {
    /// In target memory at this runtime address.
    Memory(u64),
    /// Held bytes (a register, a computed or constant value), no address.
    Value(Arc<[u8]>),
    /// Not available (optimized out, TLS unknown), and why.
    Missing {
        /// Why.
        reason: String,
    },
}

/// Where a bit field's bits are: `width` bits starting `shift` bits into the first byte of the
/// variable's place, counting from the least significant bit (little endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitSpan {
    /// Bits before the field in its first byte (0 to 7).
    pub shift: u8,
    /// Width in bits.
    pub width: u64,
}

impl BitSpan {
    /// The span `width` bits wide starting `bit_offset` bits into a byte (`bit_offset` < 8).
    pub(super) fn new(bit_offset: u64, width: u64) -> Self {
        Self {
            shift: (bit_offset % 8) as u8,
            width,
        }
    }

    /// How many bytes the field touches.
    pub fn byte_len(&self) -> usize {
        let bits = u64::from(self.shift).saturating_add(self.width);
        usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX)
    }
}

impl BtVariable {
    /// The place `offset` bytes into this variable's, holding `len` bytes (when known).
    pub(super) fn place_at(&self, offset: u64, len: Option<usize>) -> Result<Place, BtError> {
        match &self.place {
            Place::Memory(address) => address
                .checked_add(offset)
                .map(Place::Memory)
                .ok_or_else(|| self.overflow(*address, i128::from(offset))),
            Place::Value(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let end = match len {
                    Some(len) => start.saturating_add(len),
                    None => bytes.len(),
                };
                match bytes.get(start..end) {
                    Some(part) => Ok(Place::Value(Arc::from(part))),
                    None => Err(self.unavailable_error(format!(
                        "its value holds {} bytes, not bytes {start}..{end}",
                        bytes.len()
                    ))),
                }
            }
            Place::Missing { reason } => Err(self.unavailable_error(reason.clone())),
        }
    }

    /// The first `len` bytes of the value: read from `memory` at its address, or held.
    pub(super) fn raw(&self, len: usize, memory: &dyn MemoryReader) -> Result<Cow<'_, [u8]>, BtError> {
        match &self.place {
            Place::Memory(address) => match memory.read_exact(*address, len) {
                Some(bytes) => Ok(Cow::Owned(bytes)),
                None => Err(BtError::Unreadable {
                    path: self.path.clone(),
                    type_name: self.type_name(),
                    address: *address,
                    len,
                }),
            },
            Place::Value(bytes) => match bytes.get(..len) {
                Some(part) => Ok(Cow::Borrowed(part)),
                None => Err(self
                    .unavailable_error(format!("its value holds {} bytes, {len} are needed", bytes.len()))),
            },
            Place::Missing { reason } => Err(self.unavailable_error(reason.clone())),
        }
    }

    /// [`BtError::Unavailable`] for this variable.
    pub(super) fn unavailable_error(&self, reason: String) -> BtError {
        BtError::Unavailable {
            path: self.path.clone(),
            type_name: self.type_name(),
            reason,
        }
    }
}
