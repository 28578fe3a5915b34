//! The cache folder, laid out as elfutils lays it out: `<cache>/<build id>/debuginfo`, an empty
//! file there recording that no server had it (until it is `cache_miss_s` seconds old), files
//! written beside their place under a temporary name and renamed once checked.

use std::fs::{DirBuilder, File};
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::FetchError;
use crate::debuginfo::ElfFacts;
use crate::reader::SharedBytes;

/// How long an empty file records a miss when the cache has no `cache_miss_s` file (elfutils'
/// default).
pub const DEFAULT_CACHE_MISS: Duration = Duration::from_secs(600);

/// The name of a debug file in its build id's folder.
const DEBUGINFO: &str = "debuginfo";

/// The cached debug file of `build_id` under the cache folder `cache`, when there is one (a
/// non-empty file; an empty one records a miss).
pub fn cached_debuginfo(cache: &Path, build_id: &str) -> Option<PathBuf> {
    if !is_build_id(build_id) {
        return None;
    }
    let path = cache.join(build_id).join(DEBUGINFO);
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.len() > 0).then_some(path)
}

/// Whether `id` can name a build id folder: lowercase hex digits, an even count of them.
fn is_build_id(id: &str) -> bool {
    !id.is_empty()
        && id.len().is_multiple_of(2)
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the cache says about one build id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheLookup {
    /// Its debug file is there.
    Hit(PathBuf),
    /// The servers had none, this long ago (less than the cache's miss expiry).
    KnownMiss(Duration),
    /// Nothing is known: ask the servers.
    Absent,
}

/// A cache folder.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    miss_expiry: Duration,
}

impl Cache {
    /// The cache at `dir`, its miss expiry read from its `cache_miss_s` file (whole seconds), as
    /// elfutils keeps it, else `DEFAULT_CACHE_MISS`.
    pub fn open(dir: &Path) -> Self {
        let miss_expiry = std::fs::read_to_string(dir.join("cache_miss_s"))
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map_or(DEFAULT_CACHE_MISS, Duration::from_secs);
        Self {
            dir: dir.to_path_buf(),
            miss_expiry,
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long a recorded miss holds.
    pub fn miss_expiry(&self) -> Duration {
        self.miss_expiry
    }

    /// What the cache holds for `build_id` (lowercase hex). An expired miss is removed.
    pub fn lookup(&self, build_id: &str) -> CacheLookup {
        if !is_build_id(build_id) {
            return CacheLookup::Absent;
        }
        let path = self.entry(build_id);
        let Ok(meta) = std::fs::metadata(&path) else {
            return CacheLookup::Absent;
        };
        if !meta.is_file() {
            return CacheLookup::Absent;
        }
        if meta.len() > 0 {
            return CacheLookup::Hit(path);
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .unwrap_or(Duration::MAX);
        if age < self.miss_expiry {
            return CacheLookup::KnownMiss(age);
        }
        let _ = std::fs::remove_file(&path);
        CacheLookup::Absent
    }

    /// Records that no server has `build_id`: an empty file in its place.
    pub fn record_miss(&self, build_id: &str) -> Result<(), FetchError> {
        let pending = self.begin(build_id)?;
        pending.rename_into_place()
    }

    /// A new temporary file beside the place of `build_id`'s debug file, removed unless
    /// `PendingFile::commit` puts it in its place.
    pub fn begin(&self, build_id: &str) -> Result<PendingFile, FetchError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if !is_build_id(build_id) {
            return Err(FetchError::Cache {
                path: build_id.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a build id"),
            });
        }
        let folder = self.dir.join(build_id);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .map_err(|source| cache_error(&folder, source))?;
        let temporary = folder.join(format!(
            ".{DEBUGINFO}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(|source| cache_error(&temporary, source))?;
        Ok(PendingFile {
            file,
            temporary,
            target: self.entry(build_id),
            build_id: build_id.to_string(),
            placed: false,
        })
    }

    fn entry(&self, build_id: &str) -> PathBuf {
        self.dir.join(build_id).join(DEBUGINFO)
    }
}

fn cache_error(path: &Path, source: std::io::Error) -> FetchError {
    FetchError::Cache {
        path: path.display().to_string(),
        source,
    }
}

/// A debug file being written into the cache under a temporary name.
#[derive(Debug)]
pub struct PendingFile {
    file: File,
    temporary: PathBuf,
    target: PathBuf,
    build_id: String,
    placed: bool,
}

impl PendingFile {
    /// Appends `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
        self.file
            .write_all(bytes)
            .map_err(|source| cache_error(&self.temporary, source))
    }

    /// Checks that what was written is an ELF file with the build id asked for, then renames it
    /// into its place; returns that place. Otherwise the file is removed and the error says why.
    pub fn commit(self) -> Result<PathBuf, FetchError> {
        let bytes = SharedBytes::map_file(&self.temporary)
            .map_err(|e| FetchError::NotElf(format!("{} bytes: {e}", self.written())))?;
        let facts = ElfFacts::parse(&bytes, "the answer").map_err(|e| FetchError::NotElf(e.to_string()))?;
        let found = facts.build_id_hex().unwrap_or_else(|| "none".to_string());
        if found != self.build_id {
            return Err(FetchError::WrongBuildId { found });
        }
        drop(bytes);
        let target = self.target.clone();
        self.rename_into_place()?;
        Ok(target)
    }

    fn written(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    fn rename_into_place(mut self) -> Result<(), FetchError> {
        std::fs::rename(&self.temporary, &self.target).map_err(|source| cache_error(&self.target, source))?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build id of the running test program, and its path.
    fn own_build_id() -> (String, PathBuf) {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let bytes = SharedBytes::map_file(&exe).unwrap();
        let id = ElfFacts::parse(&bytes, "self").unwrap().build_id_hex().unwrap();
        (id, exe)
    }

    #[test]
    fn entries_are_laid_out_as_elfutils_lays_them_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path());
        assert_eq!(cache.miss_expiry(), DEFAULT_CACHE_MISS);
        assert_eq!(cache.lookup("abcd"), CacheLookup::Absent);
        let (id, exe) = own_build_id();
        let mut pending = cache.begin(&id).unwrap();
        pending.write_all(&std::fs::read(exe).unwrap()).unwrap();
        let placed = pending.commit().unwrap();
        assert_eq!(placed, dir.path().join(&id).join("debuginfo"));
        assert_eq!(cache.lookup(&id), CacheLookup::Hit(placed.clone()));
        assert_eq!(cached_debuginfo(dir.path(), &id), Some(placed));
        // Only the entry is left: no temporary file.
        let names: Vec<_> = std::fs::read_dir(dir.path().join(&id))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("debuginfo")]);
    }

    #[test]
    fn answers_that_are_not_the_build_asked_for_never_reach_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path());
        let (_, exe) = own_build_id();
        let mut garbage = cache.begin("00112233").unwrap();
        garbage.write_all(b"<html>not found</html>").unwrap();
        assert!(matches!(garbage.commit(), Err(FetchError::NotElf(_))));
        let mut other = cache.begin("00112233").unwrap();
        other.write_all(&std::fs::read(exe).unwrap()).unwrap();
        assert!(matches!(other.commit(), Err(FetchError::WrongBuildId { .. })));
        let empty = cache.begin("00112233").unwrap();
        assert!(matches!(empty.commit(), Err(FetchError::NotElf(_))));
        assert_eq!(cache.lookup("00112233"), CacheLookup::Absent);
        let left = std::fs::read_dir(dir.path().join("00112233")).unwrap().count();
        assert_eq!(left, 0, "temporary files are removed");
    }

    #[test]
    fn a_miss_holds_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cache_miss_s"), "1\n").unwrap();
        let cache = Cache::open(dir.path());
        assert_eq!(cache.miss_expiry(), Duration::from_secs(1));
        cache.record_miss("beef").unwrap();
        assert!(matches!(cache.lookup("beef"), CacheLookup::KnownMiss(_)));
        assert_eq!(
            cached_debuginfo(dir.path(), "beef"),
            None,
            "a miss is no debug file"
        );
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(cache.lookup("beef"), CacheLookup::Absent);
        assert!(
            !dir.path().join("beef/debuginfo").exists(),
            "the expired miss is removed"
        );
    }

    #[test]
    fn names_that_are_not_build_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path());
        for bad in ["", "../x", "ABCD", "abc", "zz"] {
            assert_eq!(cache.lookup(bad), CacheLookup::Absent);
            assert!(cache.begin(bad).is_err());
            assert_eq!(cached_debuginfo(dir.path(), bad), None);
        }
    }
}
