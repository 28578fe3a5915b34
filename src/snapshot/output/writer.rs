//! Writing a snapshot to a checked [`Destination`]: the one writer of snapshot files, streams and
//! standard output. The JSON goes through a large buffer into an [`AbortableWriter`], so a
//! signal stops the write within one buffer (or one wait slice) and leaves no partial file.

use super::abortable::{is_abort, AbortableWriter};
use super::destination::{Destination, Target};
use super::error::OutputError;
use super::file_mode::FileMode;
use super::folder;
use super::pending_file::{PendingFile, Placement};
use super::stream;
use super::Document;
use crate::abort::AbortFlag;
use crate::snapshot::layout::Layout;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The buffer between the serializer and the file: large writes, few system calls.
const WRITE_BUFFER: usize = 1 << 20;

/// How a snapshot is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The whitespace of the JSON.
    pub layout: Layout,
    /// The mode of the files created (not of FIFOs, devices or sockets written into).
    pub file_mode: FileMode,
}

/// Where a snapshot was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// To standard output.
    Stdout,
    /// To this path (as asked for; in a folder, the file's path).
    Path(PathBuf),
}

impl Written {
    /// The path written, unless it was standard output.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Stdout => None,
            Self::Path(path) => Some(path),
        }
    }
}

impl Destination {
    /// Writes `document` (a snapshot, or a document made from one) to this destination, giving up (and removing what it began) once
    /// `abort` is set.
    ///
    /// A file is written into a temporary file beside it (owner-only, a random name, never a
    /// link followed), given `options.file_mode` on its descriptor and renamed into place once
    /// complete: readers never see half a snapshot, an existing file is replaced whole. In a
    /// folder, an existing file is never replaced: a taken name gets `-2`, `-3` ... before
    /// `.json`. A FIFO (once it has a reader), a character device, a socket (connected to) and
    /// standard output are written into. Nothing is synced to disk: a snapshot is a diagnostic of
    /// a live process, and the rename alone keeps readers from seeing a partial file.
    pub fn write(
        &self,
        document: &dyn Document,
        options: &WriteOptions,
        abort: &AbortFlag,
    ) -> Result<Written, OutputError> {
        match self.target() {
            Target::Stdout => {
                write_stdout(document, options.layout, abort).map_err(|e| failure("standard output", e))?;
                Ok(Written::Stdout)
            }
            Target::Stream { path, kind } => {
                let shown = path.display().to_string();
                let file = stream::open(path, *kind, abort).map_err(|e| failure(&shown, e))?;
                serialize(document, &file, true, options.layout, abort).map_err(|e| failure(&shown, e))?;
                Ok(Written::Path(path.clone()))
            }
            Target::File { named, real } => {
                write_file(document, real, options, abort)?;
                Ok(Written::Path(named.clone()))
            }
            Target::Folder { path } => {
                let name = document.file_name();
                let used = write_new_file(document, path, OsStr::new(&name), options, abort)?;
                Ok(Written::Path(path.join(used)))
            }
        }
    }
}

/// Replaces (or creates) the regular file `path`.
fn write_file(
    document: &dyn Document,
    path: &Path,
    options: &WriteOptions,
    abort: &AbortFlag,
) -> Result<(), OutputError> {
    let shown = path.display().to_string();
    let name = path.file_name().ok_or_else(|| OutputError::NotAFileName {
        path: path.to_path_buf(),
    })?;
    let pending = written_in_full(document, folder::parent_or_dot(path), name, options, abort)
        .map_err(|e| failure(&shown, e))?;
    // Checked before the stop; checked again now that it is about to be replaced.
    folder::check_replaceable(path)?;
    pending
        .place(options.file_mode, name, Placement::Replace)
        .map_err(|e| failure(&shown, e))?;
    Ok(())
}

/// Creates the file `name` in `folder` (or a numbered variant when `name` is taken); returns the
/// name used.
fn write_new_file(
    document: &dyn Document,
    folder: &Path,
    name: &OsStr,
    options: &WriteOptions,
    abort: &AbortFlag,
) -> Result<std::ffi::OsString, OutputError> {
    let shown = folder.join(name).display().to_string();
    let pending = written_in_full(document, folder, name, options, abort).map_err(|e| failure(&shown, e))?;
    pending
        .place(options.file_mode, name, Placement::Beside)
        .map_err(|e| failure(&shown, e))
}

/// The temporary file of `name` in `folder` with the whole snapshot in it, unless the abort flag
/// was set by the time it is complete (then it is removed).
fn written_in_full(
    document: &dyn Document,
    folder: &Path,
    name: &OsStr,
    options: &WriteOptions,
    abort: &AbortFlag,
) -> io::Result<PendingFile> {
    let pending = PendingFile::create(folder, name)?;
    serialize(document, pending.file(), false, options.layout, abort)?;
    if abort.is_aborted() {
        return Err(super::abortable::abort_error());
    }
    Ok(pending)
}

/// Writes into a duplicate of standard output's descriptor: the same open file, without the
/// line buffering of `io::stdout`.
fn write_stdout(document: &dyn Document, layout: Layout, abort: &AbortFlag) -> io::Result<()> {
    let file = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let regular = file.metadata()?.is_file();
    serialize(document, &file, !regular, layout, abort)
}

/// Serializes `document` and a final newline into `out`, through the buffer and the abortable
/// writer; `wait` when `out` may be full (not a regular file).
fn serialize<W: Write + AsFd>(
    document: &dyn Document,
    out: W,
    wait: bool,
    layout: Layout,
    abort: &AbortFlag,
) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(WRITE_BUFFER, AbortableWriter::new(out, abort, wait));
    document.write_json(&mut buffered, layout)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// The [`OutputError`] of an io error writing to `target`.
fn failure(target: &str, error: io::Error) -> OutputError {
    if is_abort(&error) {
        OutputError::Interrupted {
            target: target.to_string(),
        }
    } else {
        OutputError::Write {
            target: target.to_string(),
            source: error,
        }
    }
}
