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
        let file = std::fs::File::open(path)?;
        // SAFETY: the mapping is read-only and private. A file truncated underneath us would fault
        // on access; debug files and loaded objects are not rewritten in place by their owners
        // (package managers replace them by rename), which is the same assumption gdb makes.
        let map = unsafe { memmap2::Mmap::map(&file)? };
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
}
