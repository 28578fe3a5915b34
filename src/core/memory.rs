//! The memory of a core: the bytes of its `PT_LOAD` segments, read in place from the mapped
//! file, and optionally, for what the kernel left out of a file-backed mapping, the mapped file
//! itself at the offset `NT_FILE` gives.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::file::CoreSegment;
use super::notes::FileMapping;
use crate::memory::MemoryReader;
use crate::reader::SharedBytes;

/// Opens the files a core's mappings name, for the bytes the core left out.
///
/// The source must return the very file the process had mapped (same contents, e.g. checked by
/// build id), since its bytes are taken as the process's memory.
pub trait MappedFileSource: Send + Sync {
    /// The contents of the file at `path` (as `NT_FILE` names it), or `None` when unavailable.
    fn open(&self, path: &str) -> Option<SharedBytes>;
}

impl<F: Fn(&str) -> Option<SharedBytes> + Send + Sync> MappedFileSource for F {
    fn open(&self, path: &str) -> Option<SharedBytes> {
        self(path)
    }
}

/// The memory of a core, as a [`MemoryReader`]: reads copy from the mapped core (never reading
/// it whole); an address no segment holds is unreadable, never zero, unless a file mapping holds
/// it and the file source gives its bytes.
pub struct CoreMemory {
    /// The whole core file, mapped.
    bytes: SharedBytes,
    /// The `PT_LOAD` segments, sorted by address.
    segments: Vec<CoreSegment>,
    /// The `NT_FILE` mappings, sorted by address.
    files: Vec<FileMapping>,
    /// Where left-out bytes of file mappings are read from, once set.
    source: OnceLock<Box<dyn MappedFileSource>>,
    /// The files opened through `source`, by path (`None`: it could not be opened).
    opened: Mutex<HashMap<String, Option<SharedBytes>>>,
}

impl std::fmt::Debug for CoreMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreMemory")
            .field("segments", &self.segments.len())
            .field("files", &self.files.len())
            .field("file_source", &self.source.get().is_some())
            .finish()
    }
}

impl CoreMemory {
    /// The memory of the core `bytes` whose segments (sorted by address) and file mappings
    /// (sorted by address) are given.
    pub(crate) fn new(bytes: SharedBytes, segments: Vec<CoreSegment>, files: Vec<FileMapping>) -> Self {
        Self {
            bytes,
            segments,
            files,
            source: OnceLock::new(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the bytes the core left out of file-backed mappings (between a segment's
    /// `p_filesz` and `p_memsz`, or a whole mapping no segment holds) from the files `source`
    /// opens, at their `NT_FILE` offsets.
    /// Set once (the files must not change under readers): `false` when a source was set
    /// already, which stays.
    pub fn set_file_source(&self, source: impl MappedFileSource + 'static) -> bool {
        self.source.set(Box::new(source)).is_ok()
    }

    /// The segment holding `addr`, by binary search.
    fn segment(&self, addr: u64) -> Option<&CoreSegment> {
        let after = self.segments.partition_point(|s| s.vaddr <= addr);
        let segment = self.segments.get(after.checked_sub(1)?)?;
        segment.contains(addr).then_some(segment)
    }

    /// Reads from the one segment holding `addr`; returns how many leading bytes were read.
    fn read_in_segment(&self, segment: &CoreSegment, addr: u64, buf: &mut [u8]) -> usize {
        let within = addr - segment.vaddr;
        let left = segment.end() - addr;
        let want = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        if within < segment.available {
            let in_core = usize::try_from(segment.available - within).map_or(want, |n| n.min(want));
            let from = segment
                .file_offset
                .checked_add(within)
                .and_then(|at| usize::try_from(at).ok());
            let Some(bytes) = from.and_then(|from| self.bytes.get(from..from.checked_add(in_core)?)) else {
                return 0;
            };
            buf[..in_core].copy_from_slice(bytes);
            return in_core;
        }
        if within >= segment.file_size {
            // Not dumped: only the mapped file can give it.
            return self.read_from_file(addr, &mut buf[..want]);
        }
        // Dumped, but the core was cut before it.
        0
    }

    /// Reads left-out bytes of the file mapping holding `addr` from the file itself.
    fn read_from_file(&self, addr: u64, buf: &mut [u8]) -> usize {
        let Some(source) = self.source.get() else {
            return 0;
        };
        let after = self.files.partition_point(|f| f.start <= addr);
        let Some(mapping) = after
            .checked_sub(1)
            .and_then(|i| self.files.get(i))
            .filter(|f| f.contains(addr))
        else {
            return 0;
        };
        let file = {
            // Held only to find the file (the copy below runs unlocked).
            let Ok(mut opened) = self.opened.lock() else {
                return 0;
            };
            opened
                .entry(mapping.path.clone())
                .or_insert_with(|| source.open(&mapping.path))
                .clone()
        };
        let Some(file) = file else {
            return 0;
        };
        let Some(offset) = mapping
            .offset
            .checked_add(addr - mapping.start)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return 0;
        };
        let in_mapping = usize::try_from(mapping.end - addr).map_or(buf.len(), |n| n.min(buf.len()));
        let in_file = file.len().saturating_sub(offset).min(in_mapping);
        match file.get(offset..offset + in_file) {
            Some(bytes) => {
                buf[..in_file].copy_from_slice(bytes);
                in_file
            }
            None => 0,
        }
    }
}

impl MemoryReader for CoreMemory {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            let Some(at) = addr.checked_add(done as u64) else {
                break;
            };
            let read = match self.segment(at) {
                Some(segment) => self.read_in_segment(segment, at, &mut buf[done..]),
                None => {
                    // No segment at all: a writer may leave unmodified read-only file
                    // mappings out entirely (gdb's gcore does), then only the file has them; up
                    // to the next segment, which the core holds.
                    let next = self.segments.partition_point(|s| s.vaddr <= at);
                    let until = self.segments.get(next).map_or(u64::MAX, |s| s.vaddr);
                    let want =
                        usize::try_from(until - at).map_or(buf.len() - done, |n| n.min(buf.len() - done));
                    self.read_from_file(at, &mut buf[done..done + want])
                }
            };
            if read == 0 {
                break;
            }
            done += read;
        }
        done
    }
}
