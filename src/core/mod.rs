//! Reading x86-64 Linux ELF core files (issue 14, first part): the threads and their registers,
//! the process, the signal, the auxiliary vector, the mapped files as [`MapEntry`]s, and the
//! memory as a [`MemoryReader`](crate::memory::MemoryReader), so that a core can later go through the same pipeline as a live
//! process ([`crate::debuginfo::ProcessObjects::load_with`], the unwinder, the variables).
//!
//! The core is memory-mapped and read in place: memory use does not grow with its size. Every
//! defect of the file is a [`CoreError`]; a `PT_LOAD` segment the file ends inside is kept, its
//! missing bytes unreadable.
//!
//! Files: `file.rs` (validation, ELF and program headers), `notes.rs` (the notes), `memory.rs`
//! (the memory), `error.rs` (the errors).

mod error;
mod file;
mod link_map;
mod mappings;
mod memory;
mod notes;
mod spool;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

pub use error::CoreError;
pub use file::CoreSegment;
pub use memory::{CoreMemory, MappedFileSource};
pub use notes::{
    Auxv, CoreThread, FileMapping, ProcessInfo, SigInfo, AT_BASE, AT_ENTRY, AT_EXECFN, AT_PHDR,
    AT_SYSINFO_EHDR,
};
pub use spool::SpooledCore;

use crate::debuginfo::MapEntry;
use crate::memory::MemoryReader as _;
use crate::reader::SharedBytes;

/// Longest `AT_EXECFN` string read from the core's memory.
const EXECFN_MAX: usize = 4096;

/// An x86-64 Linux ELF core file, validated and its notes read.
#[derive(Debug)]
pub struct CoreFile {
    /// The `PT_LOAD` segments, sorted by address.
    segments: Vec<CoreSegment>,
    /// What the notes say.
    notes: notes::CoreNotes,
    /// The file mappings as `/proc/PID/maps` entries.
    mappings: Vec<MapEntry>,
    /// The process's memory.
    memory: Arc<CoreMemory>,
    /// What is odd about the core that does not stop it being read.
    warnings: Vec<String>,
}

impl CoreFile {
    /// Maps the core file at `path` (read-only) and reads its headers and notes.
    pub fn open(path: &Path) -> Result<Self, CoreError> {
        let bytes = SharedBytes::map_file(path).map_err(|source| CoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(bytes)
    }

    /// Reads a core from its bytes (mapped or in memory).
    pub fn from_bytes(bytes: SharedBytes) -> Result<Self, CoreError> {
        let layout = file::parse_layout(&bytes)?;
        let mut notes = notes::parse_notes(&bytes, &layout.notes)?;
        let mut memory = CoreMemory::new(bytes.clone(), layout.segments.clone(), notes.files.clone());
        let mut warnings = Vec::new();
        if notes.files.is_empty() {
            // No NT_FILE: the objects are those the loader's lists in the core name.
            let executable = read_string(&memory, notes.auxv.get(AT_EXECFN));
            let (found, walked) = link_map::mappings_from_link_map(
                &notes.auxv,
                &memory,
                &layout.segments,
                executable.as_deref(),
            );
            warnings.push(match &executable {
                Some(name) if !name.starts_with('/') => format!(
                    "the core has no NT_FILE note: its objects are taken from the loader's list; \
                     the executable was run as {name}, a relative path, so it is read only when its file is given after the core"
                ),
                _ => "the core has no NT_FILE note: its objects are taken from the loader's list".to_string(),
            });
            warnings.extend(walked);
            notes.files = found
                .iter()
                .filter_map(|m| {
                    Some(FileMapping {
                        start: m.start,
                        end: m.end,
                        offset: m.offset,
                        path: m.path.clone()?,
                    })
                })
                .collect();
            memory = CoreMemory::new(bytes, layout.segments.clone(), notes.files.clone());
        }
        let memory = Arc::new(memory);
        let mut mappings = mappings::map_entries(&notes.files, &layout.segments, &memory);
        mappings.extend(mappings::vdso_entry(&notes.auxv, &layout.segments));
        mappings.sort_by_key(|m| m.start);
        Ok(Self {
            segments: layout.segments,
            notes,
            mappings,
            memory,
            warnings,
        })
    }

    /// The threads, in the core's order (a kernel core lists the thread that dumped first).
    pub fn threads(&self) -> &[CoreThread] {
        &self.notes.threads
    }

    /// The process (`NT_PRPSINFO`), when the core has it.
    pub fn process(&self) -> Option<&ProcessInfo> {
        self.notes.process.as_ref()
    }

    /// The signal that caused the dump (the first `NT_SIGINFO`), when the core has one.
    pub fn siginfo(&self) -> Option<&SigInfo> {
        self.notes.siginfo.as_ref()
    }

    /// The auxiliary vector (empty when the core has no `NT_AUXV`).
    pub fn auxv(&self) -> &Auxv {
        &self.notes.auxv
    }

    /// The `NT_FILE` mappings, sorted by address.
    pub fn files(&self) -> &[FileMapping] {
        &self.notes.files
    }

    /// The file-backed mappings as `/proc/PID/maps` entries: permissions from the `PT_LOAD`
    /// segment holding each (else from the object's own program headers in the core), device
    /// `0:0` and inode 0 (a core does not record them); and the vDSO's segment as `[vdso]`.
    pub fn mappings(&self) -> &[MapEntry] {
        &self.mappings
    }

    /// The `PT_LOAD` segments, sorted by address.
    pub fn segments(&self) -> &[CoreSegment] {
        &self.segments
    }

    /// What is odd about the core that does not stop it being read (no `NT_FILE` note, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How many segments the file ends inside (the core was cut): their tail is unreadable.
    pub fn truncated_segments(&self) -> usize {
        self.segments.iter().filter(|s| s.available < s.file_size).count()
    }

    /// The process's memory.
    pub fn memory(&self) -> &CoreMemory {
        &self.memory
    }

    /// The process's memory, to share with readers that outlive a borrow of the core.
    pub fn shared_memory(&self) -> Arc<CoreMemory> {
        self.memory.clone()
    }

    /// Reads the bytes the core left out of file mappings from the files `source` opens (see
    /// [`CoreMemory::set_file_source`]); `false` when a source was set already.
    pub fn set_file_source(&self, source: impl MappedFileSource + 'static) -> bool {
        self.memory.set_file_source(source)
    }

    /// The executable's path: the file mapping holding the entry point (`AT_ENTRY`, which with
    /// PIE is inside the executable's own mapping), else the `AT_EXECFN` string from the core's
    /// memory, else the file mapped at offset 0 whose name is the command name of
    /// `NT_PRPSINFO`.
    pub fn executable_path(&self) -> Option<String> {
        let by_entry = self
            .auxv()
            .get(AT_ENTRY)
            .filter(|&entry| entry != 0)
            .and_then(|entry| self.files().iter().find(|f| f.contains(entry)));
        if let Some(mapping) = by_entry {
            return Some(mapping.path.clone());
        }
        if let Some(name) = read_string(&self.memory, self.auxv().get(AT_EXECFN)) {
            return Some(name);
        }
        let command = self
            .process()
            .map(|p| p.name.as_str())
            .filter(|n| !n.is_empty())?;
        self.files()
            .iter()
            .filter(|f| f.offset == 0)
            .find(|f| {
                let base = f.path.rsplit('/').next().unwrap_or(&f.path);
                // pr_fname holds at most 15 bytes of the name.
                base == command || (command.len() == 15 && base.starts_with(command))
            })
            .map(|f| f.path.clone())
    }

    /// The mapping of the executable (see [`CoreFile::executable_path`]) at file offset 0.
    pub fn executable_mapping(&self) -> Option<&MapEntry> {
        let path = self.executable_path()?;
        self.mappings
            .iter()
            .find(|m| m.offset == 0 && m.path.as_deref() == Some(path.as_str()))
    }

    /// The build id (`NT_GNU_BUILD_ID`) of the object `mapping` (one of [`CoreFile::mappings`])
    /// maps, read from the core's memory: the kernel dumps the first page of every ELF mapping,
    /// where its headers are. `None` when that page is not in the core or has no build id.
    pub fn build_id(&self, mapping: &MapEntry) -> Option<Vec<u8>> {
        let group: Vec<&MapEntry> = self.mappings.iter().filter(|m| m.path == mapping.path).collect();
        crate::debuginfo::mapped_build_id(&group, &*self.memory)
    }
}

/// The NUL-terminated string at `addr` in `memory` (at most [`EXECFN_MAX`] bytes), when there is
/// one.
fn read_string(memory: &CoreMemory, addr: Option<u64>) -> Option<String> {
    let mut bytes = vec![0u8; EXECFN_MAX];
    let read = memory.read_at(addr?, &mut bytes);
    let end = bytes[..read].iter().position(|&b| b == 0)?;
    (end > 0).then(|| String::from_utf8_lossy(&bytes[..end]).into_owned())
}
