//! Following the symbolic links an output path ends with, to the file a snapshot replaces (the
//! links themselves stay), one link at a time so that each can be judged: another user's link in
//! a shared (sticky) folder is never followed.

use super::error::OutputError;
use super::folder::{self, Entry};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The most links followed, as the kernel's limit for one path.
const MAX_LINKS: usize = 40;

/// Follows the links `path` ends with and returns the first path that is not a link: the file
/// they lead to, or where it would be created when it does not exist. The folders along the way
/// are left for the kernel to resolve.
pub(super) fn follow(path: &Path) -> Result<PathBuf, OutputError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(OutputError::examine(&current, e)),
        };
        if !meta.file_type().is_symlink() {
            return Ok(current);
        }
        folder::check_not_foreign(&current, meta.uid(), Entry::Link)?;
        let target = fs::read_link(&current).map_err(|e| OutputError::examine(&current, e))?;
        current = if target.is_absolute() {
            target
        } else {
            folder::parent_or_dot(&current).join(target)
        };
    }
    Err(OutputError::LinkLoop {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_chain_of_links_leads_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        symlink("file", dir.path().join("one")).unwrap();
        symlink(dir.path().join("one"), dir.path().join("two")).unwrap();
        assert_eq!(follow(&dir.path().join("two")).unwrap(), file);
        assert_eq!(follow(&file).unwrap(), file);
    }

    #[test]
    fn a_dangling_link_leads_to_where_the_file_would_be() {
        let dir = tempfile::tempdir().unwrap();
        symlink("sub/new.json", dir.path().join("link")).unwrap();
        assert_eq!(
            follow(&dir.path().join("link")).unwrap(),
            dir.path().join("sub/new.json")
        );
    }

    #[test]
    fn a_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        symlink("b", dir.path().join("a")).unwrap();
        symlink("a", dir.path().join("b")).unwrap();
        assert!(matches!(
            follow(&dir.path().join("a")),
            Err(OutputError::LinkLoop { .. })
        ));
    }
}
