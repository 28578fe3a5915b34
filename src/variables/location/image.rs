//! [`ValueImage`]: the bytes of a value as located, with what is known of each byte (read,
//! optimized out, unreadable), and why.

use std::borrow::Cow;

use smallvec::{smallvec, SmallVec};

/// How many bytes of a value are held without allocating.
pub(crate) const INLINE_BYTES: usize = 16;

/// The bytes of a value image.
pub(crate) type ImageBytes = SmallVec<[u8; INLINE_BYTES]>;

/// What is known of one byte of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteState {
    /// Read or computed.
    Known,
    /// Not available at this pc (no location, an empty piece, a register not recovered).
    OptimizedOut,
    /// In memory that could not be read.
    Unreadable,
}

/// Why a value (or part of it) is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    /// Optimized out or unreadable.
    pub state: ByteState,
    /// Why, for the annotation (most reasons are fixed texts, not allocated).
    pub reason: Cow<'static, str>,
}

impl Missing {
    /// An optimized-out value.
    pub fn optimized_out(reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            state: ByteState::OptimizedOut,
            reason: reason.into(),
        }
    }

    /// An unreadable value.
    pub fn unreadable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            state: ByteState::Unreadable,
            reason: reason.into(),
        }
    }
}

/// A located value: its bytes (those not known are zero) with their states. When the whole
/// value is in target memory, `address` says where, and bytes beyond `bytes` can be read there.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueImage {
    /// Runtime address of the value, when it all lies in memory.
    pub address: Option<u64>,
    /// The bytes (most values are small: held inline, not allocated).
    pub bytes: ImageBytes,
    /// One state per byte.
    pub states: SmallVec<[ByteState; INLINE_BYTES]>,
    /// Why some bytes are optimized out or unreadable.
    pub reason: Option<Cow<'static, str>>,
    /// The value (or part of it) was recovered from the caller's call site (`DW_OP_entry_value`).
    pub from_entry_value: bool,
}

/// No bytes (what a plan not located shows).
pub(crate) static NO_IMAGE: ValueImage = ValueImage {
    address: None,
    bytes: SmallVec::new_const(),
    states: SmallVec::new_const(),
    reason: None,
    from_entry_value: false,
};

impl ValueImage {
    /// A value of `size` bytes that is entirely missing (at most
    /// [`MAX_IMAGE_BYTES`](super::MAX_IMAGE_BYTES) are held: the rest is missing too).
    pub fn missing(size: usize, missing: Missing) -> Self {
        let size = size.min(super::MAX_IMAGE_BYTES);
        Self {
            address: None,
            bytes: smallvec![0; size],
            states: smallvec![missing.state; size],
            reason: Some(missing.reason),
            from_entry_value: false,
        }
    }

    /// A value known from `bytes`.
    pub fn known(bytes: impl Into<ImageBytes>) -> Self {
        let bytes = bytes.into();
        let states = smallvec![ByteState::Known; bytes.len()];
        Self {
            address: None,
            bytes,
            states,
            reason: None,
            from_entry_value: false,
        }
    }

    /// `len` bytes of memory at `address` as read (a partial read leaves the rest unreadable).
    pub fn from_memory(address: u64, len: usize, memory: &dyn crate::memory::MemoryReader) -> Self {
        let mut bytes: ImageBytes = smallvec![0; len];
        let read = memory.read_at(address, &mut bytes).min(len);
        let mut states: SmallVec<[ByteState; INLINE_BYTES]> = smallvec![ByteState::Known; read];
        states.resize(len, ByteState::Unreadable);
        Self {
            address: Some(address),
            reason: (read < len)
                .then(|| Cow::Owned(format!("memory at {:#x} is not readable", address + read as u64))),
            bytes,
            states,
            from_entry_value: false,
        }
    }

    /// Number of bytes held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The state of the bytes `offset..offset + len`: known when all are; else the first
    /// missing state met (optimized out wins over unreadable). `None` when out of the image.
    pub fn state_of(&self, offset: usize, len: usize) -> Option<ByteState> {
        let states = self.states.get(offset..offset.checked_add(len)?)?;
        if states.iter().all(|s| *s == ByteState::Known) {
            Some(ByteState::Known)
        } else if states.contains(&ByteState::OptimizedOut) {
            Some(ByteState::OptimizedOut)
        } else {
            Some(ByteState::Unreadable)
        }
    }

    /// The bytes `offset..offset + len` when all known.
    #[cfg(test)]
    pub fn known_bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        (self.state_of(offset, len)? == ByteState::Known).then(|| &self.bytes[offset..offset + len])
    }

    /// Copies `nbits` bits of `source` starting at bit `source_bit` into this image at bit
    /// `dest_bit` (little-endian bit numbering), marking the bytes touched as `state`.
    pub fn put_bits(&mut self, source: &[u8], source_bit: u64, dest_bit: u64, nbits: u64, state: ByteState) {
        if source_bit.is_multiple_of(8) && dest_bit.is_multiple_of(8) && nbits.is_multiple_of(8) {
            // Whole bytes: copy them (bytes missing from `source` read as zero).
            let (Ok(from), Ok(to), Ok(count)) = (
                usize::try_from(source_bit / 8),
                usize::try_from(dest_bit / 8),
                usize::try_from(nbits / 8),
            ) else {
                return;
            };
            let end = to.saturating_add(count).min(self.bytes.len());
            for (i, d) in (to..end).enumerate() {
                self.bytes[d] = from
                    .checked_add(i)
                    .and_then(|s| source.get(s))
                    .copied()
                    .unwrap_or(0);
                self.states[d] = state;
            }
            return;
        }
        for i in 0..nbits {
            let (Some(s), Some(d)) = (source_bit.checked_add(i), dest_bit.checked_add(i)) else {
                return;
            };
            let (Ok(d_byte), Ok(s_byte)) = (usize::try_from(d / 8), usize::try_from(s / 8)) else {
                return;
            };
            if d_byte >= self.bytes.len() {
                return;
            }
            let bit = source.get(s_byte).map_or(0, |b| (b >> (s % 8)) & 1);
            let mask = 1u8 << (d % 8);
            if bit == 1 {
                self.bytes[d_byte] |= mask;
            } else {
                self.bytes[d_byte] &= !mask;
            }
            self.states[d_byte] = state;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_of_ranges() {
        let mut image = ValueImage::known(vec![1, 2, 3, 4]);
        image.states[2] = ByteState::Unreadable;
        assert_eq!(image.state_of(0, 2), Some(ByteState::Known));
        assert_eq!(image.state_of(1, 2), Some(ByteState::Unreadable));
        image.states[3] = ByteState::OptimizedOut;
        assert_eq!(image.state_of(2, 2), Some(ByteState::OptimizedOut));
        assert_eq!(image.state_of(3, 2), None);
        assert_eq!(image.known_bytes(0, 2), Some(&[1u8, 2][..]));
        assert_eq!(image.known_bytes(0, 3), None);
    }

    #[test]
    fn bits_are_copied_little_endian() {
        let mut image = ValueImage::missing(2, Missing::optimized_out("x"));
        // 4 bits 0b1011 from bit 4 of 0xb0 land at bit 6 (straddling the two bytes).
        image.put_bits(&[0xb0], 4, 6, 4, ByteState::Known);
        assert_eq!(image.bytes.as_slice(), &[0b1100_0000, 0b10]);
        assert_eq!(image.state_of(0, 2), Some(ByteState::Known));
    }

    #[test]
    fn partial_memory_reads_are_unreadable_past_the_end() {
        let memory = crate::memory::MemorySnapshot {
            base: 0x1000,
            bytes: vec![7; 4],
        };
        let image = ValueImage::from_memory(0x1002, 4, &memory);
        assert_eq!(image.known_bytes(0, 2), Some(&[7u8, 7][..]));
        assert_eq!(image.state_of(2, 2), Some(ByteState::Unreadable));
        assert!(image.reason.as_deref().unwrap().contains("0x1004"));
    }
}
