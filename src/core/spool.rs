//! A core read from a stream (the kernel pipes a core to a `core_pattern` handler on its
//! standard input), spooled to a file so that it can be mapped like any other.

use std::io::Read;
use std::path::Path;

use super::CoreError;

/// A core copied from a stream into a file of its own in a folder the caller chose; the file is
/// removed when this is dropped, however the run ends.
#[derive(Debug)]
pub struct SpooledCore {
    file: tempfile::NamedTempFile,
}

impl SpooledCore {
    /// Copies everything `input` gives into a new file in `folder` (created with `O_EXCL`,
    /// readable by its owner only).
    pub fn spool(input: &mut dyn Read, folder: &Path) -> Result<Self, CoreError> {
        let failed = |source: std::io::Error| CoreError::Spool {
            folder: folder.display().to_string(),
            source,
        };
        let mut file = tempfile::Builder::new()
            .prefix("ptrace-core-")
            .tempfile_in(folder)
            .map_err(failed)?;
        std::io::copy(input, file.as_file_mut()).map_err(failed)?;
        Ok(Self { file })
    }

    /// The spooled file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spools_a_stream_and_removes_the_file_when_dropped() {
        let folder = tempfile::tempdir().expect("temporary directory");
        let mut input: &[u8] = b"\x7fELF and the rest";
        let spooled = SpooledCore::spool(&mut input, folder.path()).expect("spooled");
        let path = spooled.path().to_path_buf();
        assert_eq!(std::fs::read(&path).expect("read back"), b"\x7fELF and the rest");
        assert!(path.starts_with(folder.path()));
        drop(spooled);
        assert!(!path.exists(), "removed when dropped");
        let missing = folder.path().join("no such folder");
        let error = SpooledCore::spool(&mut &b""[..], &missing).expect_err("no folder");
        assert!(error.to_string().contains("no such folder"), "{error}");
    }
}
