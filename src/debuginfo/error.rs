//! The errors of the debug-info module.

use std::path::PathBuf;

/// Why reading process maps, an ELF object or its debug info failed.
#[derive(Debug, thiserror::Error)]
pub enum DebugInfoError {
    /// `/proc/PID/maps` could not be read (process gone, no permission).
    #[error("cannot read /proc/{pid}/maps: {source}")]
    Maps {
        /// The process whose maps were asked for.
        pid: i32,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A line of `/proc/PID/maps` does not have the kernel's format.
    #[error("malformed line in /proc/{pid}/maps ({what}): {line:?}")]
    MapsFormat {
        /// The process whose maps were read.
        pid: i32,
        /// The offending line.
        line: String,
        /// Which field is wrong.
        what: &'static str,
    },
    /// A file could not be opened or mapped.
    #[error("cannot open {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// An object is not a usable ELF file (not ELF, truncated, corrupt headers).
    #[error("{path}: not a usable ELF object: {what}")]
    Elf {
        /// The object's path (or `[vdso]`).
        path: String,
        /// What is wrong with it.
        what: String,
    },
    /// The DWARF of an object could not be indexed.
    #[error("{path}: unusable DWARF: {source}")]
    Dwarf {
        /// The file holding the DWARF.
        path: String,
        /// The gimli error.
        source: gimli::Error,
    },
}
