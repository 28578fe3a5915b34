//! Owned byte buffers for ELF and DWARF data (a file mapping or bytes copied from the target) and
//! the gimli reader type built over them, so parsed debug info needs no borrowed lifetimes.

use std::ops::Deref;
use std::sync::Arc;

/// The bytes of an object file: mapped from disk or copied from memory (the vDSO).
#[derive(Debug)]
pub enum ObjectBytes {
    /// A read-only file mapping.
    Mapped(memmap2::Mmap),
    /// Bytes held in memory.
    Owned(Vec<u8>),
}

impl Deref for ObjectBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ObjectBytes::Mapped(map) => map,
            ObjectBytes::Owned(bytes) => bytes,
        }
    }
}

/// A cheaply clonable, shared handle on an object's bytes.
#[derive(Clone, Debug)]
pub struct SharedBytes(pub Arc<ObjectBytes>);

impl SharedBytes {
    /// Maps `path` read-only.
    pub fn map_file(path: &std::path::Path) -> std::io::Result<Self> {
        Self::map_open(&std::fs::File::open(path)?)
    }

    /// Maps a file already open, read-only (so that what was checked of the open file, its
    /// inode say, is what is mapped).
    pub fn map_open(file: &std::fs::File) -> std::io::Result<Self> {
        // SAFETY: the mapping is read-only and private. A file truncated underneath us would fault
        // on access; debug files and loaded objects are not rewritten in place by their owners
        // (package managers replace them by rename), which is the same assumption gdb makes.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Self(Arc::new(ObjectBytes::Mapped(map))))
    }

    /// Wraps bytes already in memory.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self(Arc::new(ObjectBytes::Owned(bytes)))
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

// SAFETY: the bytes live in an Arc'd mapping or Vec that never moves or changes while any clone
// exists, so the slice address is stable across moves and clones of the handle.
unsafe impl stable_deref_trait::StableDeref for SharedBytes {}
// SAFETY: cloning only bumps the Arc; the target bytes are the same.
unsafe impl stable_deref_trait::CloneStableDeref for SharedBytes {}

/// The gimli reader used for every DWARF and CFI section: owned, clonable, no lifetimes.
pub type DwarfReader = gimli::EndianReader<gimli::RunTimeEndian, SharedBytes>;

/// A reader over `bytes[range]`, or an empty reader when the range is out of bounds.
pub fn section_reader(
    bytes: &SharedBytes,
    range: std::ops::Range<usize>,
    endian: gimli::RunTimeEndian,
) -> DwarfReader {
    let whole = gimli::EndianReader::new(bytes.clone(), endian);
    if range.end <= bytes.len() && range.start <= range.end {
        whole.range(range)
    } else {
        whole.range(0..0)
    }
}

/// Why a compressed section could not be inflated.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    /// The section's header claims more bytes than its compression format can give from its data.
    #[error("its header claims {claimed} bytes inflated from {compressed}, more than the format can give")]
    ImplausibleSize {
        /// The uncompressed size the header claims.
        claimed: u64,
        /// How many compressed bytes there are.
        compressed: usize,
    },
    /// The data does not inflate to the claimed size.
    #[error("cannot inflate it: {0}")]
    Corrupt(object::Error),
}

/// Inflates a compressed section (`SHF_COMPRESSED` or `.zdebug_*`). A header claiming more bytes
/// than the format can give from the data is refused before anything is allocated: the buffer
/// for the claim would be allocated, and zeroed, first. Deflate gives at most 1032 bytes per
/// compressed byte; zstd, whose run-length blocks give the most, 32768.
pub fn inflate(data: object::CompressedData<'_>) -> Result<std::borrow::Cow<'_, [u8]>, InflateError> {
    let ratio: u64 = match data.format {
        object::CompressionFormat::Zlib => 1032,
        _ => 32768,
    };
    let most = (data.data.len() as u64)
        .saturating_mul(ratio)
        .saturating_add(4096);
    if data.uncompressed_size > most {
        return Err(InflateError::ImplausibleSize {
            claimed: data.uncompressed_size,
            compressed: data.data.len(),
        });
    }
    data.decompress().map_err(InflateError::Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::Reader;

    #[test]
    fn section_reader_is_bounded() {
        let bytes = SharedBytes::from_vec(vec![1, 2, 3, 4, 5]);
        let mut r = section_reader(&bytes, 1..3, gimli::RunTimeEndian::Little);
        assert_eq!(r.len(), 2);
        assert_eq!(r.read_u8().ok(), Some(2));
        let empty = section_reader(&bytes, 3..9, gimli::RunTimeEndian::Little);
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn inflating_refuses_sizes_no_compression_gives() {
        let compressed = |uncompressed_size| object::CompressedData {
            format: object::CompressionFormat::Zlib,
            data: &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
            uncompressed_size,
        };
        assert!(matches!(
            inflate(compressed(16 << 30)),
            Err(InflateError::ImplausibleSize { claimed, compressed: 8 }) if claimed == 16 << 30
        ));
        // zlib of nothing: inflates to the 0 bytes it claims, not to 5.
        assert_eq!(inflate(compressed(0)).ok().as_deref(), Some(&[][..]));
        assert!(matches!(inflate(compressed(5)), Err(InflateError::Corrupt(_))));
    }
}
