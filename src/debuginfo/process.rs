//! Every object mapped into a process, found from its maps and loaded before the process is
//! stopped.

use std::collections::HashMap;
use std::sync::Arc;

use super::bias::{load_bias, page_size};
use super::debuglink::DebugSearch;
use super::elf::loads_from_header_bytes;
use super::elf::ElfFacts;
use super::loaded::{LoadedObject, Placement};
use super::maps::MapEntry;
use super::target_files::{check_identity, mapped_build_id, OpenedObject};
use super::DebugInfoError;
use crate::memory::MemoryReader;
use crate::reader::SharedBytes;

/// The name the kernel gives the vDSO mapping.
const VDSO: &str = "[vdso]";

/// How many bytes of an object's first mapping are read from memory to find its program headers
/// when the file itself is gone.
const HEADER_READ_LEN: usize = 4096;

/// Every object (executable, shared libraries, vDSO) mapped into a process, loaded and indexed.
#[derive(Debug, Default)]
pub struct ProcessObjects {
    /// Sorted by base address.
    objects: Vec<Arc<LoadedObject>>,
    warnings: Vec<String>,
}

impl ProcessObjects {
    /// Loads every file-backed object with an executable mapping plus the vDSO (its bytes read
    /// from `memory` at the `[vdso]` mapping). An object that cannot be opened/parsed (deleted file,
    /// not ELF, corrupt) is kept with `elf: None`-style degraded info and a warning, not an error.
    pub fn load(maps: &[MapEntry], memory: &dyn MemoryReader) -> Result<Self, DebugInfoError> {
        Self::load_with(maps, memory, &DebugSearch::default())
    }

    /// [`load`](Self::load) with separate debug files searched under `search`; when it names
    /// debuginfod servers, the debug files of objects that have none here are fetched first
    /// (bounded in time; see [`crate::debuginfo::debuginfod::fetch_missing`]).
    pub fn load_with(
        maps: &[MapEntry],
        memory: &dyn MemoryReader,
        search: &DebugSearch,
    ) -> Result<Self, DebugInfoError> {
        let groups: Vec<Vec<&MapEntry>> = group_mappings(maps)
            .into_iter()
            .filter(|group| is_loadable(group))
            .collect();
        let load = |group: &[&MapEntry]| {
            let mut warnings = Vec::new();
            (load_object(group, memory, search, &mut warnings), warnings)
        };
        let mut loaded: Vec<(LoadedObject, Vec<String>)> = groups.iter().map(|group| load(group)).collect();
        let mut warnings = Vec::new();
        if let Some(config) = &search.debuginfod {
            // Objects without debug info: their debug files fetched into the cache, then the
            // objects loaded again, to find them there.
            let requests: Vec<_> = loaded
                .iter()
                .filter_map(|(object, _)| crate::debuginfo::debuginfod::Request::for_object(object))
                .collect();
            let outcome = crate::debuginfo::debuginfod::fetch_missing(config, &requests);
            warnings.extend(outcome.warnings);
            for (group, entry) in groups.iter().zip(&mut loaded) {
                if entry
                    .0
                    .build_id
                    .as_ref()
                    .is_some_and(|id| outcome.fetched.contains(id))
                {
                    *entry = load(group);
                }
            }
        }
        let mut objects: Vec<Arc<LoadedObject>> = Vec::with_capacity(loaded.len());
        for (object, object_warnings) in loaded {
            objects.push(Arc::new(object));
            warnings.extend(object_warnings);
        }
        objects.sort_by_key(|o| o.base);
        Ok(Self { objects, warnings })
    }

    /// A process made of objects loaded by other means (tests, fuzzing).
    pub(crate) fn from_objects(mut objects: Vec<Arc<LoadedObject>>) -> Self {
        objects.sort_by_key(|o| o.base);
        Self {
            objects,
            warnings: Vec::new(),
        }
    }

    /// The warnings about the defects found so far in the debug information of every object (see
    /// [`LoadedObject::debug_warnings`]), objects by ascending base address.
    pub fn debug_warnings(&self) -> Vec<String> {
        self.objects
            .iter()
            .flat_map(|object| object.debug_warnings())
            .collect()
    }

    /// The loaded objects, by ascending base address.
    pub fn objects(&self) -> &[Arc<LoadedObject>] {
        &self.objects
    }

    /// The object one of whose mappings contains `address` (else whose `base..end` span does).
    pub fn find(&self, address: u64) -> Option<&Arc<LoadedObject>> {
        let candidates = &self.objects[..self.objects.partition_point(|o| o.base <= address)];
        candidates
            .iter()
            .rev()
            .find(|o| o.maps_address(address))
            .or_else(|| {
                candidates
                    .iter()
                    .rev()
                    .find(|o| (o.base..o.end).contains(&address))
            })
    }

    /// What could not be loaded fully, one message each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Warms every object's lazy indexes (see [`LoadedObject::prepare`]).
    pub fn prepare(&self) {
        for object in &self.objects {
            object.prepare();
        }
    }
}

/// Groups the mappings of each object: same path and inode; a second mapping at file offset 0
/// starts a new object (the same file mapped twice).
fn group_mappings(maps: &[MapEntry]) -> Vec<Vec<&MapEntry>> {
    let mut groups: Vec<Vec<&MapEntry>> = Vec::new();
    let mut current: HashMap<(&str, u64), usize> = HashMap::new();
    for entry in maps {
        let Some(path) = entry.path.as_deref() else {
            continue;
        };
        if !entry.is_file() && path != VDSO {
            continue;
        }
        let key = (path, entry.inode);
        let index = match current.get(&key) {
            Some(&index) if !(entry.offset == 0 && groups[index].iter().any(|m| m.offset == 0)) => index,
            _ => {
                groups.push(Vec::new());
                current.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[index].push(entry);
    }
    for group in &mut groups {
        group.sort_by_key(|m| m.start);
    }
    groups
}

/// Objects worth loading: the vDSO and files with executable code mapped.
fn is_loadable(group: &[&MapEntry]) -> bool {
    group
        .iter()
        .any(|m| m.executable || m.path.as_deref() == Some(VDSO))
}

/// The runtime placement of a group of mappings with load bias `bias`.
fn placement(group: &[&MapEntry], bias: u64) -> Placement {
    Placement {
        base: group.iter().map(|m| m.start).min().unwrap_or(0),
        end: group.iter().map(|m| m.end).max().unwrap_or(0),
        bias,
        executable_ranges: group
            .iter()
            .filter(|m| m.executable)
            .map(|m| m.start..m.end)
            .collect(),
        mapped_ranges: group.iter().map(|m| m.start..m.end).collect(),
    }
}

/// Reads a mapping's bytes from the target (a partial read keeps what was read).
fn read_mapping(memory: &dyn MemoryReader, map: &MapEntry, limit: usize) -> Vec<u8> {
    let len = usize::try_from(map.end - map.start)
        .unwrap_or(usize::MAX)
        .min(limit);
    let mut bytes = vec![0u8; len];
    let read = memory.read_at(map.start, &mut bytes);
    bytes.truncate(read);
    bytes
}

/// Loads one object from its mappings; never fails: problems degrade it and add a warning. Its
/// file is opened as the target sees it and used only if it is the one mapped (see
/// [`target_files`](super::target_files)).
fn load_object(
    group: &[&MapEntry],
    memory: &dyn MemoryReader,
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> LoadedObject {
    let first = group.first().copied();
    let is_vdso = first.and_then(|m| m.path.as_deref()) == Some(VDSO);
    let path = if is_vdso {
        VDSO.to_string()
    } else {
        first
            .and_then(MapEntry::file_path)
            .unwrap_or_default()
            .to_string()
    };
    let image = if is_vdso {
        first
            .map(|m| read_mapping(memory, m, usize::MAX))
            .filter(|b| !b.is_empty())
            .map(|b| (SharedBytes::from_vec(b), None))
    } else {
        open_mapped_file(group, &path, search, warnings)
    };
    if is_vdso && image.is_none() {
        warnings.push(format!("{VDSO}: its memory could not be read"));
    }
    let mut unusable = None;
    let image = image.and_then(|(bytes, opened)| match ElfFacts::parse(&bytes, &path) {
        Ok(facts) => {
            let (Some(opened), Some(first)) = (opened, first) else {
                return Some((bytes, facts));
            };
            let mapped_id = mapped_build_id(group, memory);
            match check_identity(&path, &opened, &facts, first, mapped_id.as_deref()) {
                Ok(unchecked) => {
                    warnings.extend(unchecked);
                    Some((bytes, facts))
                }
                Err(why) => {
                    warnings.push(why.clone());
                    unusable = Some(why);
                    None
                }
            }
        }
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    });
    let bias = match &image {
        Some((_, facts)) => load_bias(group, &facts.loads, page_size()),
        None => None,
    }
    .or_else(|| bias_from_memory(group, memory))
    .unwrap_or_else(|| {
        warnings.push(format!(
            "{path}: load bias unknown, assuming its first mapping holds file offset 0 at ELF address 0"
        ));
        first.map_or(0, |m| m.start.wrapping_sub(m.offset))
    });
    let mut object = LoadedObject::new(path, placement(group, bias), image, search, warnings);
    object.unusable = unusable;
    object
}

/// Maps the file behind `group` as the target sees it (with how it was opened), or explains in
/// `warnings` why it cannot be.
fn open_mapped_file(
    group: &[&MapEntry],
    path: &str,
    search: &DebugSearch,
    warnings: &mut Vec<String>,
) -> Option<(SharedBytes, Option<OpenedObject>)> {
    let first = group.first()?;
    if first.is_deleted() && search.files.is_host() {
        warnings.push(format!(
            "{path}: file deleted since it was mapped; no symbols for it"
        ));
        return None;
    }
    match search.files.open_mapped(first, path) {
        Ok(opened) => Some((opened.bytes.clone(), Some(opened))),
        Err(why) => {
            warnings.push(format!("{path}: cannot be opened ({why}); no symbols for it"));
            None
        }
    }
}

/// The load bias from the ELF and program headers found in the target's memory at the object's
/// file-offset-0 mapping (for objects whose file is gone or unreadable).
fn bias_from_memory(group: &[&MapEntry], memory: &dyn MemoryReader) -> Option<u64> {
    let header_map = group.iter().find(|m| m.offset == 0 && m.readable)?;
    let header = read_mapping(memory, header_map, HEADER_READ_LEN);
    let loads = loads_from_header_bytes(&header)?;
    load_bias(group, &loads, page_size())
}
