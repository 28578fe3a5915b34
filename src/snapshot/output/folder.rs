//! The checks of the folder a snapshot file goes into, made before the target is touched: it
//! exists, is a folder, we may create files in it, its file system has room; and, in a shared
//! (sticky) folder such as /tmp, that we never replace another user's file nor follow another
//! user's symbolic link (the rules of the kernel's `protected_regular` and `protected_symlinks`,
//! kept even where those are off and for root, who bypasses them).

use super::error::OutputError;
use nix::fcntl::{AtFlags, AT_FDCWD};
use nix::unistd::{self, AccessFlags};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The least free space accepted in an output folder: room for a modest snapshot.
pub const MIN_FREE_BYTES: u64 = 1 << 20;

/// What an existing entry of a folder is, for [`check_not_foreign`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// A file that would be replaced.
    File,
    /// A symbolic link that would be followed.
    Link,
}

/// The effective user id: the one the kernel checks file access against.
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The folder holding `path`: its parent, or `.` for a bare name.
pub(super) fn parent_or_dot(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks that a snapshot file can be created in `folder`: it exists and is a folder, the
/// effective user may create files there (permissions, a read-only mount: `faccessat` with
/// `AT_EACCESS`), and its file system has at least [`MIN_FREE_BYTES`] and an inode free for an
/// unprivileged user.
pub(super) fn check_folder(folder: &Path) -> Result<(), OutputError> {
    let meta = match fs::metadata(folder) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(OutputError::FolderMissing {
                path: folder.to_path_buf(),
            })
        }
        Err(e) => return Err(OutputError::examine(folder, e)),
    };
    if !meta.is_dir() {
        return Err(OutputError::NotAFolder {
            path: folder.to_path_buf(),
        });
    }
    unistd::faccessat(
        AT_FDCWD,
        folder,
        AccessFlags::W_OK | AccessFlags::X_OK,
        AtFlags::AT_EACCESS,
    )
    .map_err(|errno| OutputError::FolderNotWritable {
        path: folder.to_path_buf(),
        source: errno.into(),
    })?;
    let space = nix::sys::statvfs::statvfs(folder).map_err(|e| OutputError::examine(folder, e.into()))?;
    let available = space.blocks_available().saturating_mul(space.fragment_size());
    if available < MIN_FREE_BYTES {
        return Err(OutputError::NotEnoughSpace {
            path: folder.to_path_buf(),
            available,
            needed: MIN_FREE_BYTES,
        });
    }
    // File systems without a fixed inode table (btrfs) report no inodes at all.
    if space.files() > 0 && space.files_available() == 0 {
        return Err(OutputError::NoFreeInodes {
            path: folder.to_path_buf(),
        });
    }
    Ok(())
}

/// Checks that whatever is at `path` may be replaced by a new file: nothing, or an entry that is
/// not another user's in a sticky folder.
pub(super) fn check_replaceable(path: &Path) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => check_not_foreign(path, meta.uid(), Entry::File),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(OutputError::examine(path, e)),
    }
}

/// Refuses the existing entry `path`, owned by `owner`, when its folder is sticky and the entry
/// belongs neither to the effective user nor to the folder's owner: in /tmp, someone else's file
/// or link at the name we were given is a trap, not ours to replace or follow.
pub(super) fn check_not_foreign(path: &Path, owner: u32, entry: Entry) -> Result<(), OutputError> {
    let folder = parent_or_dot(path);
    let meta = fs::metadata(folder).map_err(|e| OutputError::examine(folder, e))?;
    let sticky = meta.mode() & libc::S_ISVTX != 0;
    if !sticky || owner == effective_uid() || owner == meta.uid() {
        return Ok(());
    }
    let (path, folder) = (path.to_path_buf(), folder.to_path_buf());
    Err(match entry {
        Entry::File => OutputError::ForeignFile { path, owner, folder },
        Entry::Link => OutputError::ForeignLink { path, owner, folder },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_missing_folder_or_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(
            check_folder(&missing),
            Err(OutputError::FolderMissing { path }) if path == missing
        ));
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(check_folder(&file), Err(OutputError::NotAFolder { .. })));
        check_folder(dir.path()).unwrap();
    }

    #[test]
    fn entries_of_a_folder_that_is_not_sticky_are_ours_to_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "").unwrap();
        check_not_foreign(&path, 12345, Entry::File).unwrap();
    }

    #[test]
    fn another_users_entry_in_a_sticky_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let path = dir.path().join("f");
        let me = effective_uid();
        // The folder is ours: an entry of ours is fine, one of a stranger is not.
        check_not_foreign(&path, me, Entry::File).unwrap();
        let stranger = me.wrapping_add(4242);
        assert!(matches!(
            check_not_foreign(&path, stranger, Entry::File),
            Err(OutputError::ForeignFile { owner, .. }) if owner == stranger
        ));
        assert!(matches!(
            check_not_foreign(&path, stranger, Entry::Link),
            Err(OutputError::ForeignLink { .. })
        ));
    }

    #[test]
    fn parent_of_a_bare_name_is_dot() {
        assert_eq!(parent_or_dot(Path::new("x.json")), Path::new("."));
        assert_eq!(parent_or_dot(Path::new("a/x.json")), Path::new("a"));
    }
}
