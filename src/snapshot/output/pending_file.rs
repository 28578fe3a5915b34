//! [`PendingFile`]: a snapshot file while it is written. It is an owner-only temporary file with
//! an unpredictable name in the destination folder, created without following a symbolic link
//! (`O_CREAT|O_EXCL|O_NOFOLLOW`), given its mode on the descriptor (`fchmod`) and renamed into
//! place once complete; dropped before that, it is removed.

use super::file_mode::FileMode;
use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, OFlag, RenameFlags};
use nix::sys::stat::Mode;
use nix::unistd::{self, UnlinkatFlags};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// How many unpredictable names are tried before giving up (each taken one is a collision of 64
/// random bits, or someone creating names as fast as they are read).
const NAME_ATTEMPTS: usize = 16;
/// How many numbered names (`name-2.json` ...) are tried for a file that must not replace one.
const NUMBERED_ATTEMPTS: u32 = 1000;
/// The most bytes of the final name kept in the temporary name (file names are at most 255).
const NAME_PREFIX_BYTES: usize = 200;

/// How a complete file takes its final name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placement {
    /// Atomically replace whatever is at the name.
    Replace,
    /// Never replace: when the name is taken, `name-2.ext`, `name-3.ext` ... is used.
    Beside,
}

/// An owner-only temporary file in a folder, to be placed under its final name or removed.
#[derive(Debug)]
pub(super) struct PendingFile {
    /// The folder, held open: the file is created, renamed and removed relative to it.
    folder: OwnedFd,
    /// The temporary name.
    name: OsString,
    file: File,
    placed: bool,
}

impl PendingFile {
    /// Creates the temporary file for `final_name` in `folder`: mode 0600 (less if the umask
    /// takes more), a fresh random name, never a link followed nor an existing file opened.
    pub(super) fn create(folder: &Path, final_name: &OsStr) -> io::Result<Self> {
        let folder = fcntl::open(
            folder,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        for _ in 0..NAME_ATTEMPTS {
            let name = temporary_name(final_name)?;
            match create_exclusive(&folder, &name) {
                Ok(file) => {
                    return Ok(Self {
                        folder,
                        name,
                        file,
                        placed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every temporary name tried was taken",
        ))
    }

    /// The open file, to write into.
    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// Gives the complete file `mode` (on the descriptor) and places it under `final_name`;
    /// returns the name used (another one only with [`Placement::Beside`]).
    pub(super) fn place(
        mut self,
        mode: FileMode,
        final_name: &OsStr,
        placement: Placement,
    ) -> io::Result<OsString> {
        nix::sys::stat::fchmod(&self.file, Mode::from_bits_truncate(mode.bits()))?;
        let used = match placement {
            Placement::Replace => {
                fcntl::renameat(&self.folder, self.name.as_os_str(), &self.folder, final_name)?;
                final_name.to_os_string()
            }
            Placement::Beside => self.place_beside(final_name)?,
        };
        self.placed = true;
        Ok(used)
    }

    /// Renames the file to the first free one of `final_name`, `final_name-2` ...
    fn place_beside(&self, final_name: &OsStr) -> io::Result<OsString> {
        for number in 1..=NUMBERED_ATTEMPTS {
            let candidate = numbered(final_name, number);
            match self.rename_no_replace(&candidate) {
                Ok(()) => return Ok(candidate),
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} and its numbered variants are taken",
                final_name.to_string_lossy()
            ),
        ))
    }

    /// Renames the file to `name` unless `name` exists (`EEXIST`): `renameat2(RENAME_NOREPLACE)`,
    /// or a hard link and an unlink where the file system lacks it.
    fn rename_no_replace(&self, name: &OsStr) -> Result<(), Errno> {
        let temporary = self.name.as_os_str();
        match fcntl::renameat2(
            &self.folder,
            temporary,
            &self.folder,
            name,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
                unistd::linkat(&self.folder, temporary, &self.folder, name, AtFlags::empty())?;
                unistd::unlinkat(&self.folder, temporary, UnlinkatFlags::NoRemoveDir)
            }
            other => other,
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = unistd::unlinkat(&self.folder, self.name.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// Creates `name` in `folder` for writing, mode 0600, failing if anything (a link included)
/// is there already.
fn create_exclusive(folder: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = fcntl::openat(folder, name, flags, Mode::from_bits_truncate(0o600))?;
    Ok(File::from(fd))
}

/// `.<final name>.<16 random hex digits>.tmp`: hidden, telling what it becomes, unpredictable.
fn temporary_name(final_name: &OsStr) -> io::Result<OsString> {
    let prefix = final_name.as_bytes();
    let prefix = &prefix[..prefix.len().min(NAME_PREFIX_BYTES)];
    let mut name = Vec::with_capacity(prefix.len() + 22);
    name.push(b'.');
    name.extend_from_slice(prefix);
    name.extend_from_slice(format!(".{:016x}.tmp", random_u64()?).as_bytes());
    Ok(OsString::from_vec(name))
}

/// 64 bits from the kernel's random generator.
fn random_u64() -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer we own.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got != bytes.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from_ne_bytes(bytes))
}

/// `name` for 1, else `name` with `-<number>` before its extension (`a.json` -> `a-2.json`).
fn numbered(name: &OsStr, number: u32) -> OsString {
    if number == 1 {
        return name.to_os_string();
    }
    let bytes = name.as_bytes();
    let dot = bytes.iter().rposition(|&b| b == b'.').filter(|&i| i > 0);
    let (stem, extension) = bytes.split_at(dot.unwrap_or(bytes.len()));
    let mut out = stem.to_vec();
    out.extend_from_slice(format!("-{number}").as_bytes());
    out.extend_from_slice(extension);
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_placed_file_has_the_mode_asked_for_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingFile::create(dir.path(), OsStr::new("s.json")).unwrap();
        let temporary = names(dir.path());
        assert_eq!(temporary.len(), 1);
        assert!(
            temporary[0].starts_with(".s.json.") && temporary[0].ends_with(".tmp"),
            "{temporary:?}"
        );
        let mode = std::fs::metadata(dir.path().join(&temporary[0])).unwrap().mode();
        assert_eq!(mode & 0o077, 0, "the temporary file is owner-only: {mode:o}");
        pending.file().write_all(b"{}\n").unwrap();
        let used = pending
            .place("640".parse().unwrap(), OsStr::new("s.json"), Placement::Replace)
            .unwrap();
        assert_eq!(used, "s.json");
        assert_eq!(names(dir.path()), vec!["s.json"]);
        let meta = std::fs::metadata(dir.path().join("s.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(dir.path().join("s.json")).unwrap(), b"{}\n");
    }

    #[test]
    fn a_dropped_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingFile::create(dir.path(), OsStr::new("s.json")).unwrap();
        pending.file().write_all(b"half").unwrap();
        drop(pending);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn temporary_names_are_unpredictable() {
        let a = temporary_name(OsStr::new("s.json")).unwrap();
        let b = temporary_name(OsStr::new("s.json")).unwrap();
        assert_ne!(a, b);
        let long = "x".repeat(255);
        assert!(temporary_name(OsStr::new(&long)).unwrap().len() <= 255);
    }

    #[test]
    fn creating_never_follows_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "secret").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("planted")).unwrap();
        let folder = fcntl::open(dir.path(), OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let error = create_exclusive(&folder, OsStr::new("planted")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
    }

    #[test]
    fn beside_never_replaces_and_numbers_the_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.1.json"), "first").unwrap();
        std::fs::write(dir.path().join("a.1-2.json"), "second").unwrap();
        let pending = PendingFile::create(dir.path(), OsStr::new("a.1.json")).unwrap();
        pending.file().write_all(b"third").unwrap();
        let used = pending
            .place(FileMode::default(), OsStr::new("a.1.json"), Placement::Beside)
            .unwrap();
        assert_eq!(used, "a.1-3.json");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.1.json")).unwrap(),
            "first"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.1-3.json")).unwrap(),
            "third"
        );
        assert_eq!(names(dir.path()), vec!["a.1-2.json", "a.1-3.json", "a.1.json"]);
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered(OsStr::new("a.json"), 1), "a.json");
        assert_eq!(numbered(OsStr::new("a.b.json"), 2), "a.b-2.json");
        assert_eq!(numbered(OsStr::new("plain"), 3), "plain-3");
        assert_eq!(numbered(OsStr::new(".hidden"), 2), ".hidden-2");
    }

    #[test]
    fn a_replaced_file_keeps_no_trace_of_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let pending = PendingFile::create(dir.path(), OsStr::new("s.json")).unwrap();
        pending.file().write_all(b"new").unwrap();
        pending
            .place(FileMode::default(), OsStr::new("s.json"), Placement::Replace)
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }
}
