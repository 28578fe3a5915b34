//! Reading the target's memory: the one interface the unwinder and (later) variable extraction
//! use, whatever the source (the live process, a copy of its stacks, a test buffer).

/// A source of target memory. Every read may fail or be partial; none may crash the tracer.
pub trait MemoryReader {
    /// Copies target memory at `addr` into `buf`; returns how many leading bytes were read
    /// (0 when nothing at `addr` is readable).
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize;

    /// Reads a little-endian `u64` at `addr`, or `None` when the 8 bytes are not all readable.
    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut bytes = [0u8; 8];
        (self.read_at(addr, &mut bytes) == 8).then(|| u64::from_le_bytes(bytes))
    }

    /// Reads exactly `len` bytes at `addr`, or `None` when any of them is unreadable.
    fn read_exact(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut bytes = vec![0u8; len];
        (self.read_at(addr, &mut bytes) == len).then_some(bytes)
    }
}

/// A contiguous copy of target memory starting at `base` (a stack copied while the target was
/// stopped, a test buffer). Reads outside it return 0 bytes.
#[derive(Clone, Debug, Default)]
pub struct MemorySnapshot {
    /// Target address of `bytes[0]`.
    pub base: u64,
    /// The copied bytes.
    pub bytes: Vec<u8>,
}

impl MemorySnapshot {
    /// Whether `addr` lies inside the copy.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr - self.base < self.bytes.len() as u64
    }
}

impl MemoryReader for MemorySnapshot {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        if !self.contains(addr) {
            return 0;
        }
        // contains() guarantees the offset fits in the vector's length, hence in usize.
        let start = (addr - self.base) as usize;
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        n
    }
}

/// Memory read first from copies (stacks taken while stopped), then from a fallback source.
pub struct LayeredMemory<'a> {
    copies: &'a [MemorySnapshot],
    fallback: Option<&'a dyn MemoryReader>,
}

impl<'a> LayeredMemory<'a> {
    /// Reads from `copies` where they cover the address, else from `fallback` (if any).
    pub fn new(copies: &'a [MemorySnapshot], fallback: Option<&'a dyn MemoryReader>) -> Self {
        Self { copies, fallback }
    }
}

impl MemoryReader for LayeredMemory<'_> {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        if let Some(copy) = self.copies.iter().find(|c| c.contains(addr)) {
            let n = copy.read_at(addr, buf);
            if n == buf.len() {
                return n;
            }
        }
        self.fallback.map_or(0, |f| f.read_at(addr, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_are_bounded() {
        let snap = MemorySnapshot {
            base: 0x1000,
            bytes: (0u8..16).collect(),
        };
        assert_eq!(
            snap.read_u64(0x1000),
            Some(u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]))
        );
        assert_eq!(snap.read_u64(0x1009), None);
        let mut buf = [0u8; 8];
        assert_eq!(snap.read_at(0x100c, &mut buf), 4);
        assert_eq!(snap.read_at(0xfff, &mut buf), 0);
        assert_eq!(snap.read_exact(0x1000, 16).map(|v| v.len()), Some(16));
    }

    #[test]
    fn layered_memory_prefers_copies_then_falls_back() {
        let stack = [MemorySnapshot {
            base: 0x2000,
            bytes: vec![1; 8],
        }];
        let other = MemorySnapshot {
            base: 0x3000,
            bytes: vec![2; 8],
        };
        let mem = LayeredMemory::new(&stack, Some(&other));
        assert_eq!(mem.read_u64(0x2000), Some(0x0101010101010101));
        assert_eq!(mem.read_u64(0x3000), Some(0x0202020202020202));
        assert_eq!(mem.read_u64(0x4000), None);
    }
}
