//! Finding an object's separate debug file: by build id under the debug roots, then by
//! `.gnu_debuglink` (checked against its CRC32), then in the debuginfod cache, and a debug
//! file's dwz supplement (`.gnu_debugaltlink`).

use std::path::{Path, PathBuf};

use super::elf::{hex, ElfFacts};
use super::target_files::{same_file, TargetFiles};
use crate::reader::SharedBytes;

/// Where separate debug files are looked for, and how the target's files are opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugSearch {
    /// Debug roots, tried in order: `<root>/.build-id/xx/rest.debug` and `<root>/<object dir>/<link>`.
    pub roots: Vec<PathBuf>,
    /// The target's files: objects are opened, and debug links followed, as it sees them.
    pub files: TargetFiles,
    /// Where debug files are fetched from and cached (`<cache>/<build id>/debuginfo`, looked at
    /// last); `None`: debuginfod is not used.
    pub debuginfod: Option<crate::debuginfo::debuginfod::Config>,
}

impl Default for DebugSearch {
    /// The host's files and its debug root, `/usr/lib/debug`; no debuginfod.
    fn default() -> Self {
        Self {
            roots: vec![PathBuf::from(SYSTEM_DEBUG_ROOT)],
            files: TargetFiles::host(),
            debuginfod: None,
        }
    }
}

/// The system's debug root.
const SYSTEM_DEBUG_ROOT: &str = "/usr/lib/debug";

impl DebugSearch {
    /// The search for a target whose files are `files`: the folders `debug_dirs` first, then the
    /// target's `/usr/lib/debug` (under its root), then the host's (when it is another folder).
    pub fn for_target(files: TargetFiles, debug_dirs: &[PathBuf]) -> Self {
        let mut roots = debug_dirs.to_vec();
        let target_root = files.view(Path::new(SYSTEM_DEBUG_ROOT));
        let host_root = PathBuf::from(SYSTEM_DEBUG_ROOT);
        let same = target_root == host_root || same_file(&target_root, &host_root);
        roots.push(target_root);
        if !same {
            roots.push(host_root);
        }
        Self {
            roots,
            files,
            debuginfod: None,
        }
    }
}

/// A separate debug file that was found and checked.
#[derive(Clone, Debug)]
pub struct DebugFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its mapped bytes.
    pub bytes: SharedBytes,
    /// Its ELF facts.
    pub facts: ElfFacts,
}

/// The path of the file with build id `id` under `root`: `<root>/.build-id/xx/rest.debug`.
pub fn build_id_path(root: &Path, id: &[u8]) -> Option<PathBuf> {
    let (first, rest) = id.split_first()?;
    if rest.is_empty() {
        return None;
    }
    Some(
        root.join(".build-id")
            .join(hex(&[*first]))
            .join(format!("{}.debug", hex(rest))),
    )
}

/// Maps and parses a candidate debug file; `None` when absent. Unusable files add a warning.
fn open_candidate(path: &Path, warnings: &mut Vec<String>) -> Option<(SharedBytes, ElfFacts)> {
    if !path.is_file() {
        return None;
    }
    let bytes = match SharedBytes::map_file(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            warnings.push(format!("cannot map debug file {}: {e}", path.display()));
            return None;
        }
    };
    match ElfFacts::parse(&bytes, &path.display().to_string()) {
        Ok(facts) => Some((bytes, facts)),
        Err(e) => {
            warnings.push(format!("ignoring debug file: {e}"));
            None
        }
    }
}

/// Finds the separate debug file of the object at `object_path` with `facts`, or `None`: on
/// this machine first, then in the debuginfod cache (what was fetched before the load).
/// Problems met on the way (a debuglink CRC mismatch, a debug file for another build) are
/// pushed to `warnings`.
pub fn find_debug_file(
    object_path: &Path,
    facts: &ElfFacts,
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> Option<DebugFile> {
    find_local_debug_file(object_path, facts, search, warnings)
        .or_else(|| find_cached_debug_file(object_path, facts, search, warnings))
}

/// The debug file of build id `facts.build_id` in the debuginfod cache, when it holds it.
fn find_cached_debug_file(
    object_path: &Path,
    facts: &ElfFacts,
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> Option<DebugFile> {
    let cache = &search.debuginfod.as_ref()?.cache;
    let path = crate::debuginfo::debuginfod::cached_debuginfo(cache, &facts.build_id_hex()?)?;
    let (bytes, debug_facts) = open_candidate(&path, warnings)?;
    // The cache holds only checked files: one without a build id is not the one fetched.
    if debug_facts.build_id.is_none() || of_another_build(object_path, facts, &path, &debug_facts, warnings) {
        return None;
    }
    Some(DebugFile {
        path,
        bytes,
        facts: debug_facts,
    })
}

/// Whether the debug file `candidate` (with `debug_facts`) is of another build than the object
/// at `object_path` (with `facts`): both have build ids and they differ. Says so in `warnings`.
fn of_another_build(
    object_path: &Path,
    facts: &ElfFacts,
    candidate: &Path,
    debug_facts: &ElfFacts,
    warnings: &mut Vec<String>,
) -> bool {
    let (Some(object_id), Some(debug_id)) = (facts.build_id.as_deref(), debug_facts.build_id.as_deref())
    else {
        return false;
    };
    if object_id == debug_id {
        return false;
    }
    warnings.push(format!(
        "{}: build id {} differs from {}'s {}, ignored",
        candidate.display(),
        hex(debug_id),
        object_path.display(),
        hex(object_id)
    ));
    true
}

/// [`find_debug_file`] on this machine: under the debug roots and by `.gnu_debuglink`.
fn find_local_debug_file(
    object_path: &Path,
    facts: &ElfFacts,
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> Option<DebugFile> {
    if let Some(id) = facts.build_id.as_deref() {
        for root in &search.roots {
            let Some(path) = build_id_path(root, id) else {
                continue;
            };
            let Some((bytes, debug_facts)) = open_candidate(&path, warnings) else {
                continue;
            };
            if of_another_build(object_path, facts, &path, &debug_facts, warnings) {
                continue;
            }
            return Some(DebugFile {
                path,
                bytes,
                facts: debug_facts,
            });
        }
    }
    let (name, crc) = facts.debuglink.as_ref()?;
    if name.is_empty() || name.contains('/') {
        warnings.push(format!(
            "{}: unusable .gnu_debuglink name {name:?}",
            object_path.display()
        ));
        return None;
    }
    let object_file = search.files.view(object_path);
    for candidate in debuglink_candidates(object_path, name, search) {
        if same_file(&candidate, &object_file) {
            continue; // the object itself, not a debug file
        }
        let Some((bytes, debug_facts)) = open_candidate(&candidate, warnings) else {
            continue;
        };
        if of_another_build(object_path, facts, &candidate, &debug_facts, warnings) {
            continue;
        }
        let actual = crc32fast::hash(&bytes);
        if actual != *crc {
            warnings.push(format!(
                "{}: CRC32 {actual:08x} differs from the {:08x} that {}'s .gnu_debuglink expects, ignored",
                candidate.display(),
                crc,
                object_path.display()
            ));
            continue;
        }
        return Some(DebugFile {
            path: candidate,
            bytes,
            facts: debug_facts,
        });
    }
    None
}

/// The places a `.gnu_debuglink` name is looked for, in order: the object's directory, its
/// `.debug/` subdirectory (both as the target sees them), then `<root>/<object's directory>/` for
/// each debug root. For host files, each directory also as resolved through symlinks (the path a
/// process maps is already resolved by the kernel).
fn debuglink_candidates(object_path: &Path, name: &str, search: &DebugSearch) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = object_path.parent() {
        dirs.push(dir.to_path_buf());
        if search.files.is_host() {
            if let Ok(real) = std::fs::canonicalize(object_path) {
                if let Some(real_dir) = real.parent() {
                    if real_dir != dir {
                        dirs.push(real_dir.to_path_buf());
                    }
                }
            }
        }
    }
    let mut candidates = Vec::new();
    for dir in &dirs {
        let seen = search.files.view(dir);
        candidates.push(seen.join(name));
        candidates.push(seen.join(".debug").join(name));
    }
    for root in &search.roots {
        for dir in &dirs {
            let relative = dir.strip_prefix("/").unwrap_or(dir);
            candidates.push(root.join(relative).join(name));
        }
    }
    candidates
}

/// Finds the dwz supplementary file a debug file at `debug_path` names in `.gnu_debugaltlink`:
/// by its build id under the roots, else by the path it names (relative to the debug file's
/// directory). The file must carry the named build id.
pub fn find_alt_file(
    debug_path: &Path,
    link: &(String, Vec<u8>),
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> Option<DebugFile> {
    let (named, id) = link;
    let mut candidates: Vec<PathBuf> = search
        .roots
        .iter()
        .filter_map(|root| build_id_path(root, id))
        .collect();
    let named = Path::new(named);
    candidates.push(if named.is_absolute() {
        search.files.view(named)
    } else {
        debug_path.parent().unwrap_or(Path::new("/")).join(named)
    });
    for path in candidates {
        let Some((bytes, facts)) = open_candidate(&path, warnings) else {
            continue;
        };
        if facts.build_id.as_deref() == Some(id.as_slice()) {
            return Some(DebugFile { path, bytes, facts });
        }
        warnings.push(format!(
            "{}: not the dwz file {} expects (build id differs)",
            path.display(),
            debug_path.display()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_id_paths_split_the_first_byte() {
        let path = build_id_path(Path::new("/usr/lib/debug"), &[0x93, 0xac, 0x61]).unwrap();
        assert_eq!(path, Path::new("/usr/lib/debug/.build-id/93/ac61.debug"));
        assert_eq!(build_id_path(Path::new("/r"), &[0x93]), None);
        assert_eq!(build_id_path(Path::new("/r"), &[]), None);
    }

    #[test]
    fn debuglink_candidates_follow_gdb_order() {
        let search = DebugSearch {
            roots: vec![PathBuf::from("/dbg")],
            ..DebugSearch::default()
        };
        let found = debuglink_candidates(Path::new("/nonexistent/dir/prog"), "prog.debug", &search);
        assert_eq!(
            found,
            vec![
                PathBuf::from("/nonexistent/dir/prog.debug"),
                PathBuf::from("/nonexistent/dir/.debug/prog.debug"),
                PathBuf::from("/dbg/nonexistent/dir/prog.debug"),
            ]
        );
    }

    #[test]
    fn libc_debug_file_is_found_by_build_id() {
        let maps = super::super::maps::read_maps(std::process::id() as i32).unwrap();
        let Some(libc) = maps
            .iter()
            .filter_map(|m| m.file_path())
            .find(|p| p.contains("libc.so.6"))
        else {
            panic!("test binary links libc dynamically");
        };
        let bytes = SharedBytes::map_file(Path::new(libc)).unwrap();
        let facts = ElfFacts::parse(&bytes, libc).unwrap();
        let mut warnings = Vec::new();
        let found = find_debug_file(Path::new(libc), &facts, &DebugSearch::default(), &mut warnings)
            .expect("libc6-dbg is installed on this machine");
        assert!(
            found.path.starts_with("/usr/lib/debug/.build-id"),
            "{}",
            found.path.display()
        );
        assert_eq!(found.facts.build_id, facts.build_id);
        assert!(found.facts.has_debug_info);
        // Nothing is found under an empty root.
        let empty = tempfile::tempdir().unwrap();
        let search = DebugSearch {
            roots: vec![empty.path().to_path_buf()],
            ..DebugSearch::default()
        };
        let mut no_link = facts.clone();
        no_link.debuglink = None;
        assert!(find_debug_file(Path::new(libc), &no_link, &search, &mut warnings).is_none());
    }
}
