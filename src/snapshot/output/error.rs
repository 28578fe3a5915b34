//! [`OutputError`]: why a snapshot cannot be written where it was asked to go, found either by the
//! checks made before the target is touched or while writing.

use std::io;
use std::path::{Path, PathBuf};

/// Why the output was refused before the snapshot, or why writing it failed. Every message names
/// the path (or standard output) and the reason, on one line.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Standard output was asked for (`-`) but is closed.
    #[error("standard output is closed")]
    StdoutClosed,
    /// Standard output was asked for (`-`) but is open only for reading.
    #[error("standard output is not open for writing")]
    StdoutReadOnly,
    /// The output folder does not exist.
    #[error("the output folder {} does not exist", .path.display())]
    FolderMissing {
        /// The folder.
        path: PathBuf,
    },
    /// The output folder is something else than a folder.
    #[error("the output folder {} is not a folder", .path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file cannot be created in the output folder (permissions, a read-only file system).
    #[error("cannot create files in the output folder {}: {source}", .path.display())]
    FolderNotWritable {
        /// The folder.
        path: PathBuf,
        /// What `faccessat` said.
        source: io::Error,
    },
    /// The file system of the output folder has too little space left for a snapshot.
    #[error(
        "the output folder {} has {available} bytes free, less than the {needed} a snapshot needs",
        .path.display()
    )]
    NotEnoughSpace {
        /// The folder.
        path: PathBuf,
        /// The bytes an unprivileged user may still write there.
        available: u64,
        /// The least accepted.
        needed: u64,
    },
    /// The file system of the output folder has no inode left for a new file.
    #[error("the output folder {} has no free inodes left", .path.display())]
    NoFreeInodes {
        /// The folder.
        path: PathBuf,
    },
    /// The output path cannot name a file (empty, or ends with `/`).
    #[error("the output path {} does not name a file", .path.display())]
    NotAFileName {
        /// The path.
        path: PathBuf,
    },
    /// The output path is a folder (a file path is expected).
    #[error("the output path {} is a folder, not a file", .path.display())]
    IsAFolder {
        /// The path.
        path: PathBuf,
    },
    /// The output path is a block device: a snapshot never overwrites a disk.
    #[error("the output path {} is a block device; a snapshot is never written onto a disk", .path.display())]
    BlockDevice {
        /// The path.
        path: PathBuf,
    },
    /// An existing FIFO, character device or socket that cannot be written.
    #[error("cannot write to {}: {source}", .path.display())]
    NotWritable {
        /// The path.
        path: PathBuf,
        /// What `faccessat` said.
        source: io::Error,
    },
    /// Replacing this file would replace another user's file in a shared (sticky) folder.
    #[error(
        "refusing to replace {}: it belongs to uid {owner} in the shared (sticky) folder {}",
        .path.display(), .folder.display()
    )]
    ForeignFile {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The sticky folder holding it.
        folder: PathBuf,
    },
    /// Following this symbolic link would follow another user's link in a shared (sticky)
    /// folder.
    #[error(
        "refusing to follow {}: it is a symbolic link of uid {owner} in the shared (sticky) folder {}",
        .path.display(), .folder.display()
    )]
    ForeignLink {
        /// The link.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The sticky folder holding it.
        folder: PathBuf,
    },
    /// A chain of symbolic links too long to be followed (or a loop).
    #[error("the output path {}: too many levels of symbolic links", .path.display())]
    LinkLoop {
        /// The path as given.
        path: PathBuf,
    },
    /// The path could not be examined at all.
    #[error("cannot examine {}: {source}", .path.display())]
    Examine {
        /// The path.
        path: PathBuf,
        /// The error of `stat`, `readlink` or `statvfs`.
        source: io::Error,
    },
    /// Writing the snapshot failed; nothing partial is left at the path.
    #[error("cannot write the snapshot to {target}: {source}")]
    Write {
        /// The path written to, or "standard output".
        target: String,
        /// The error.
        source: io::Error,
    },
    /// A signal (the abort flag) interrupted the write; no partial or temporary file is left.
    #[error("interrupted while writing the snapshot to {target}; no file was left behind")]
    Interrupted {
        /// The path written to, or "standard output".
        target: String,
    },
}

impl OutputError {
    /// An [`OutputError::Examine`] for `path`.
    pub(super) fn examine(path: &Path, source: io::Error) -> Self {
        Self::Examine {
            path: path.to_path_buf(),
            source,
        }
    }
}
