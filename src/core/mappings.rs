//! The file mappings of a core (`NT_FILE`) as `/proc/PID/maps` entries, for the object loader.
//!
//! A core records no permissions per file mapping: they come from the `PT_LOAD` segment holding
//! the mapping. A writer may leave out the segments of unmodified read-only mappings entirely
//! (gdb's `gcore` does so for text); their permissions then come from the mapped object's own
//! program headers, read from its first page, which the core holds.

use super::file::CoreSegment;
use super::notes::{Auxv, FileMapping, AT_SYSINFO_EHDR};
use super::CoreMemory;
use crate::debuginfo::{loads_from_header_bytes, MapEntry};
use crate::memory::MemoryReader as _;

/// How much of an object's first page is read for its program headers.
const HEADER_PAGE: usize = 4096;

/// Permissions `(readable, writable, executable)`.
type Permissions = (bool, bool, bool);

/// The maps entries of `files`, sorted by address like them.
pub(crate) fn map_entries(
    files: &[FileMapping],
    segments: &[CoreSegment],
    memory: &CoreMemory,
) -> Vec<MapEntry> {
    files
        .iter()
        .map(|file| {
            let (readable, writable, executable) = segments
                .iter()
                .find(|s| s.contains(file.start))
                .map(|s| (s.readable, s.writable, s.executable))
                .or_else(|| object_permissions(file, files, memory))
                .unwrap_or((false, false, false));
            MapEntry {
                start: file.start,
                end: file.end,
                readable,
                writable,
                executable,
                offset: file.offset,
                device: (0, 0),
                inode: 0,
                path: Some(file.path.clone()),
            }
        })
        .collect()
}

/// The vDSO's segment as a `[vdso]` entry (the auxiliary vector says where it is; `NT_FILE`
/// does not list it, as it maps no file), when the core holds it.
pub(crate) fn vdso_entry(auxv: &Auxv, segments: &[CoreSegment]) -> Option<MapEntry> {
    let at = auxv.get(AT_SYSINFO_EHDR).filter(|&at| at != 0)?;
    let segment = segments.iter().find(|s| s.contains(at) && s.available > 0)?;
    Some(MapEntry {
        start: segment.vaddr,
        end: segment.end(),
        readable: segment.readable,
        writable: segment.writable,
        executable: segment.executable,
        offset: 0,
        device: (0, 0),
        inode: 0,
        path: Some("[vdso]".to_string()),
    })
}

/// The permissions of the `PT_LOAD` of `file`'s object whose page holds `file`'s offset, from
/// the program headers at the start of the object's offset-0 mapping in the core's memory.
fn object_permissions(file: &FileMapping, files: &[FileMapping], memory: &CoreMemory) -> Option<Permissions> {
    let first = files.iter().find(|f| f.path == file.path && f.offset == 0)?;
    let mut page = vec![0u8; HEADER_PAGE];
    let read = memory.read_at(first.start, &mut page);
    page.truncate(read);
    let page_mask = !(HEADER_PAGE as u64 - 1);
    loads_from_header_bytes(&page)?
        .iter()
        .find(|load| load.offset & page_mask == file.offset)
        .map(|load| (load.readable, load.writable, load.executable))
}
