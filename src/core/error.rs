//! Why a core file cannot be read: one variant per defect, each saying what was expected.

/// A core file that cannot be read as an x86-64 Linux ELF core.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The file could not be opened or mapped.
    #[error("cannot open core file {path}: {source}")]
    Open {
        /// The path given.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A core read from a stream could not be copied into a file in the folder given.
    #[error("cannot spool the core into {folder}: {source}")]
    Spool {
        /// The folder.
        folder: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("the core file is empty")]
    Empty,
    /// The file does not start with the ELF magic number.
    #[error("not an ELF file (no ELF magic number at its start)")]
    NotElf,
    /// An ELF file, but not a core dump (an executable, a shared library, ...).
    #[error("an ELF file but not a core dump: its type is {kind}, a core's is ET_CORE")]
    NotCore {
        /// The ELF type found, named (`ET_EXEC`, `ET_DYN`, ...).
        kind: String,
    },
    /// A core of another architecture, class or byte order.
    #[error("{name} core, this ptrace reads x86-64")]
    Architecture {
        /// The architecture found, named (e.g. `aarch64`, `32-bit`).
        name: String,
    },
    /// The file ends before a structure its headers promise (the ELF header, the program
    /// headers, a note segment).
    #[error("truncated core: the file ends at offset {size}, before the end of {what} (offset {needed})")]
    Truncated {
        /// What is cut.
        what: &'static str,
        /// The file size the structure needs.
        needed: u64,
        /// The file's actual size.
        size: u64,
    },
    /// A header or note whose contents are inconsistent.
    #[error("malformed core: {0}")]
    Malformed(String),
}
