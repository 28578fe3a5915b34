//! [`Destination`]: where a snapshot goes, found and checked from what was asked
//! ([`OutputRequest`]) before the target is touched, so that a snapshot is never taken only to
//! be lost for want of a place to write it.

use super::error::OutputError;
use super::folder;
use super::links;
use super::stream::StreamKind;
use nix::fcntl::{AtFlags, FcntlArg, OFlag, AT_FDCWD};
use nix::unistd::{self, AccessFlags};
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Where a snapshot was asked to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputRequest {
    /// Standard output.
    Stdout,
    /// A path: a file created or replaced, or a FIFO, character device or Unix socket written
    /// into; symbolic links are followed.
    File(PathBuf),
    /// A folder, to hold a file named after the snapshot (`<application>.<pid>.<time>.json`).
    Folder(PathBuf),
}

impl OutputRequest {
    /// The request of a file path as the command line gives it: `-` is standard output.
    pub fn from_path(path: PathBuf) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdout
        } else {
            Self::File(path)
        }
    }
}

/// A destination found usable: what [`Destination::check`] made of an [`OutputRequest`].
#[derive(Clone, Debug)]
pub struct Destination {
    target: Target,
}

/// What a destination is.
#[derive(Clone, Debug)]
pub(super) enum Target {
    /// Standard output.
    Stdout,
    /// A regular file created or replaced atomically.
    File {
        /// The path as asked for (the path shown).
        named: PathBuf,
        /// The path of the file itself, past the symbolic links `named` ends with.
        real: PathBuf,
    },
    /// An existing FIFO, character device or socket, written into.
    Stream {
        /// The path as asked for.
        path: PathBuf,
        /// What it is.
        kind: StreamKind,
    },
    /// A file named after the snapshot in this folder.
    Folder {
        /// The folder as asked for.
        path: PathBuf,
    },
}

impl Destination {
    /// Finds what `request` names and checks that a snapshot can be written there; only looks
    /// (`stat`, `readlink`, `faccessat`, `statvfs`, `fcntl`), creates and opens nothing.
    ///
    /// A file path must be in an existing folder where the effective user may create files and
    /// at least [`folder::MIN_FREE_BYTES`] are free, and must not be a folder nor a block device;
    /// in a sticky folder it must not be another user's file or lead through another user's link.
    /// A FIFO, character device or socket must be writable. A folder must pass the folder checks.
    /// Standard output must be open for writing.
    pub fn check(request: &OutputRequest) -> Result<Self, OutputError> {
        let target = match request {
            OutputRequest::Stdout => {
                check_stdout()?;
                Target::Stdout
            }
            OutputRequest::File(path) => check_path(path)?,
            OutputRequest::Folder(path) => {
                folder::check_folder(path)?;
                Target::Folder { path: path.clone() }
            }
        };
        Ok(Self { target })
    }

    /// What the destination is.
    pub(super) fn target(&self) -> &Target {
        &self.target
    }
}

/// Standard output must be open, for writing.
fn check_stdout() -> Result<(), OutputError> {
    let flags =
        nix::fcntl::fcntl(io::stdout().as_fd(), FcntlArg::F_GETFL).map_err(|_| OutputError::StdoutClosed)?;
    if OFlag::from_bits_truncate(flags) & OFlag::O_ACCMODE == OFlag::O_RDONLY {
        return Err(OutputError::StdoutReadOnly);
    }
    Ok(())
}

/// What the file path `path` is, checked.
fn check_path(path: &Path) -> Result<Target, OutputError> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() || bytes.ends_with(b"/") {
        return Err(OutputError::NotAFileName {
            path: path.to_path_buf(),
        });
    }
    // Every link on the way is judged, whatever it leads to.
    let real = links::follow(path)?;
    // What the path leads to, as opening it would see it (through /proc's magic links too).
    let file_type = match fs::metadata(path) {
        Ok(meta) => Some(meta.file_type()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(OutputError::examine(path, e)),
    };
    let Some(file_type) = file_type else {
        return check_new_file(path, real);
    };
    if file_type.is_dir() {
        return Err(OutputError::IsAFolder {
            path: path.to_path_buf(),
        });
    }
    if file_type.is_block_device() {
        return Err(OutputError::BlockDevice {
            path: path.to_path_buf(),
        });
    }
    if let Some(kind) = StreamKind::of(file_type) {
        unistd::faccessat(AT_FDCWD, path, AccessFlags::W_OK, AtFlags::AT_EACCESS).map_err(|errno| {
            OutputError::NotWritable {
                path: path.to_path_buf(),
                source: errno.into(),
            }
        })?;
        return Ok(Target::Stream {
            path: path.to_path_buf(),
            kind,
        });
    }
    // A regular file: replaced where it is, which must be where the links led.
    match fs::symlink_metadata(&real) {
        Ok(meta) if meta.is_file() => check_new_file(path, real),
        Ok(_) | Err(_) => Err(OutputError::examine(
            path,
            io::Error::other("the file its links lead to cannot be found"),
        )),
    }
}

/// A regular file to create (or replace) at `real`, asked for as `named`.
fn check_new_file(named: &Path, real: PathBuf) -> Result<Target, OutputError> {
    if real.file_name().is_none() {
        return Err(OutputError::NotAFileName {
            path: named.to_path_buf(),
        });
    }
    folder::check_folder(folder::parent_or_dot(&real))?;
    folder::check_replaceable(&real)?;
    Ok(Target::File {
        named: named.to_path_buf(),
        real,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn check_file(path: &Path) -> Result<Target, OutputError> {
        Destination::check(&OutputRequest::File(path.to_path_buf())).map(|d| d.target)
    }

    #[test]
    fn dash_is_standard_output() {
        assert_eq!(OutputRequest::from_path("-".into()), OutputRequest::Stdout);
        assert_eq!(
            OutputRequest::from_path("./-".into()),
            OutputRequest::File("./-".into())
        );
    }

    #[test]
    fn a_new_file_in_a_folder_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        assert!(matches!(check_file(&path), Ok(Target::File { real, .. }) if real == path));
    }

    #[test]
    fn a_file_in_a_missing_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(
            check_file(&missing.join("s.json")),
            Err(OutputError::FolderMissing { path }) if path == missing
        ));
    }

    #[test]
    fn a_folder_or_a_trailing_slash_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_file(dir.path()),
            Err(OutputError::IsAFolder { .. })
        ));
        assert!(matches!(
            check_file(&dir.path().join("new/")),
            Err(OutputError::NotAFileName { .. })
        ));
        assert!(matches!(
            check_file(Path::new("")),
            Err(OutputError::NotAFileName { .. })
        ));
    }

    #[test]
    fn a_link_to_a_file_is_replaced_where_it_points() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file.json");
        std::fs::write(&file, "old").unwrap();
        let link = dir.path().join("link.json");
        symlink("file.json", &link).unwrap();
        assert!(matches!(
            check_file(&link),
            Ok(Target::File { named, real }) if named == link && real == file
        ));
    }

    #[test]
    fn a_fifo_is_a_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(
            check_file(&path),
            Ok(Target::Stream {
                kind: StreamKind::Fifo,
                ..
            })
        ));
    }

    #[test]
    fn dev_null_is_a_stream() {
        assert!(matches!(
            check_file(Path::new("/dev/null")),
            Ok(Target::Stream {
                kind: StreamKind::CharDevice,
                ..
            })
        ));
    }

    #[test]
    fn a_missing_folder_is_refused() {
        let request = OutputRequest::Folder("/nonexistent/ptrace-output".into());
        assert!(matches!(
            Destination::check(&request),
            Err(OutputError::FolderMissing { .. })
        ));
    }
}
