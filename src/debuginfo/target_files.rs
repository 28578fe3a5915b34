//! The files a target names — its executable and libraries, the debug files they point to —
//! opened as the target sees them, and checked to be the ones it runs.
//!
//! A process in a container has a mount namespace of its own: its `/usr/bin/app` and
//! `/lib/x86_64-linux-gnu/libc.so.6` are not the host's files of those names. A mapped object is
//! opened through `/proc/PID/map_files/START-END` (the very file mapped), else under the target's
//! root, `/proc/PID/root/` (or a copy of its tree given as a sysroot); paths the target names
//! (debug links, build-id folders) are looked up under that root too.
//!
//! However it was found, a file is used only when it is the one mapped: its build id must be the
//! one the target's memory holds (the `NT_GNU_BUILD_ID` note of the mapped object), or, for an
//! object without one, its device and inode those of the mapping.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use object::read::elf::{FileHeader as _, ProgramHeader as _};

use super::bias::{load_bias, page_size};
use super::elf::{hex, ElfFacts};
use super::maps::MapEntry;
use crate::memory::MemoryReader;
use crate::reader::SharedBytes;

/// How many bytes of an object's first mapping are read to find its program headers.
const HEADER_READ_LEN: usize = 4096;

/// The most bytes of one `PT_NOTE` segment read from the target.
const NOTE_READ_LEN: usize = 4096;

/// Where the target's files are found from here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetFiles {
    /// The process whose `/proc/PID/map_files/` and `/proc/PID/root/` are used.
    pid: Option<i32>,
    /// A copy of the target's file tree, used instead of `/proc/PID/root/`.
    sysroot: Option<PathBuf>,
}

/// A mapped object's file, open.
#[derive(Debug)]
pub struct OpenedObject {
    /// Its bytes.
    pub bytes: SharedBytes,
    /// Where it was opened from.
    pub opened: PathBuf,
    /// Opened through `/proc/PID/map_files/`: the very file mapped.
    pub exact: bool,
    /// Its device, `(major, minor)`.
    pub device: (u32, u32),
    /// Its inode.
    pub inode: u64,
}

impl TargetFiles {
    /// The host's files, by their own paths (a target sharing ptrace's mount namespace, files
    /// opened by path).
    pub fn host() -> Self {
        Self::default()
    }

    /// The files of process `pid`, or of its tree copied under `sysroot` when given.
    pub fn of_process(pid: i32, sysroot: Option<PathBuf>) -> Self {
        Self {
            pid: Some(pid),
            sysroot,
        }
    }

    /// A tree copied elsewhere standing for the target's root (for files of no live process).
    pub fn under(sysroot: PathBuf) -> Self {
        Self {
            pid: None,
            sysroot: Some(sysroot),
        }
    }

    /// Where the target's absolute path `path` is found from here: under the sysroot, else
    /// under `/proc/PID/root`, else `path` itself.
    pub fn view(&self, path: &Path) -> PathBuf {
        let relative = path.strip_prefix("/").unwrap_or(path);
        match (&self.sysroot, self.pid) {
            (Some(root), _) => root.join(relative),
            (None, Some(pid)) => PathBuf::from(format!("/proc/{pid}/root")).join(relative),
            (None, None) => path.to_path_buf(),
        }
    }

    /// Whether the target's paths are the host's (no process root or sysroot in between).
    pub fn is_host(&self) -> bool {
        self.pid.is_none() && self.sysroot.is_none()
    }

    /// Opens the file `map` maps, whose path the target names `path`: through
    /// `/proc/PID/map_files/` first, else as [`view`](Self::view) finds it. The error says why
    /// it could be opened neither way.
    pub fn open_mapped(&self, map: &MapEntry, path: &str) -> Result<OpenedObject, String> {
        let mut tried = Vec::new();
        if let Some(pid) = self.pid {
            let exact = PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", map.start, map.end));
            match open_object(&exact, true) {
                Ok(opened) => return Ok(opened),
                Err(e) => tried.push(format!("{}: {e}", exact.display())),
            }
        }
        let viewed = self.view(Path::new(path));
        match open_object(&viewed, false) {
            Ok(opened) => Ok(opened),
            Err(e) => {
                tried.push(format!("{}: {e}", viewed.display()));
                Err(tried.join("; "))
            }
        }
    }
}

/// Opens and maps the file at `path`, with its device and inode.
fn open_object(path: &Path, exact: bool) -> std::io::Result<OpenedObject> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let bytes = SharedBytes::map_open(&file)?;
    Ok(OpenedObject {
        bytes,
        opened: path.to_path_buf(),
        exact,
        device: device_numbers(meta.dev()),
        inode: meta.ino(),
    })
}

/// A `st_dev` as the kernel's `(major, minor)`, as `/proc/PID/maps` prints devices.
fn device_numbers(dev: u64) -> (u32, u32) {
    (libc::major(dev), libc::minor(dev))
}

/// Whether `a` and `b` are the same file (device and inode); `false` when either is missing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The build id of the object mapped by `group` (its mappings), read from the target's memory:
/// the `NT_GNU_BUILD_ID` note of a `PT_NOTE` segment found through the ELF and program headers
/// of its file-offset-0 mapping. `None` when the object has none, or it cannot be read.
pub fn mapped_build_id(group: &[&MapEntry], memory: &dyn MemoryReader) -> Option<Vec<u8>> {
    let header_map = group.iter().find(|m| m.offset == 0 && m.readable)?;
    let mut header = vec![0u8; HEADER_READ_LEN.min(usize::try_from(header_map.end - header_map.start).ok()?)];
    let read = memory.read_at(header_map.start, &mut header);
    header.truncate(read);
    let file_header = object::elf::FileHeader64::<object::Endianness>::parse(header.as_slice()).ok()?;
    let endian = file_header.endian().ok()?;
    let program_headers = file_header.program_headers(endian, header.as_slice()).ok()?;
    let loads = super::elf::loads_from_header_bytes(&header)?;
    let bias = load_bias(group, &loads, page_size())?;
    for ph in program_headers {
        if ph.p_type(endian) != object::elf::PT_NOTE {
            continue;
        }
        let len = usize::try_from(ph.p_memsz(endian)).ok()?.min(NOTE_READ_LEN);
        let mut notes = vec![0u8; len];
        let read = memory.read_at(bias.wrapping_add(ph.p_vaddr(endian)), &mut notes);
        notes.truncate(read);
        if let Some(id) = build_id_note(endian, ph.p_align(endian), &notes) {
            return Some(id);
        }
    }
    None
}

/// The descriptor of the GNU build-id note among `notes` (a note segment's bytes).
fn build_id_note(endian: object::Endianness, align: u64, notes: &[u8]) -> Option<Vec<u8>> {
    // Note segments are aligned to 4 or 8; anything else is read as 4.
    let align = if align == 8 { 8 } else { 4 };
    let mut iter = object::read::elf::NoteIterator::<object::elf::FileHeader64<object::Endianness>>::new(
        endian, align, notes,
    )
    .ok()?;
    while let Ok(Some(note)) = iter.next() {
        if note.name() == b"GNU" && note.n_type(endian) == object::elf::NT_GNU_BUILD_ID {
            return Some(note.desc().to_vec());
        }
    }
    None
}

/// Whether `opened`, whose ELF facts are `facts`, is the object `map` maps, whose build id in
/// memory is `mapped_id`: `Err` says why not, for the object's frames and the warnings.
/// `Ok(Some(warning))`: it cannot be told (a core's mapping, which records neither device nor
/// inode, of an object whose build id the core does not hold); the file found by the mapped
/// path is used, and the warning says it was not checked.
pub fn check_identity(
    path: &str,
    opened: &OpenedObject,
    facts: &ElfFacts,
    map: &MapEntry,
    mapped_id: Option<&[u8]>,
) -> Result<Option<String>, String> {
    let unusable = |why: String| {
        format!(
            "{path}: {why}: it is not the file the process runs, so nothing is read from it (no \
             symbols, lines or variables for this object)"
        )
    };
    if let Some(mapped) = mapped_id {
        return match facts.build_id.as_deref() {
            Some(id) if id == mapped => Ok(None),
            Some(id) => Err(unusable(format!(
                "{} has build id {}, the mapped object {}",
                opened.opened.display(),
                hex(id),
                hex(mapped)
            ))),
            None => Err(unusable(format!(
                "{} has no build id, the mapped object {}",
                opened.opened.display(),
                hex(mapped)
            ))),
        };
    }
    if opened.exact || (opened.device, opened.inode) == (map.device, map.inode) {
        return Ok(None);
    }
    if map.inode == 0 && map.device == (0, 0) {
        return Ok(Some(format!(
            "{path}: the core holds no build id of it, so {} is used unchecked",
            opened.opened.display()
        )));
    }
    Err(unusable(format!(
        "{} is inode {} on device {}:{}, the mapped file inode {} on {}:{} (and the object has no \
         build id to compare)",
        opened.opened.display(),
        opened.inode,
        opened.device.0,
        opened.device.1,
        map.inode,
        map.device.0,
        map.device.1
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_put_the_target_root_or_sysroot_first() {
        let path = Path::new("/usr/lib/debug");
        assert_eq!(TargetFiles::host().view(path), PathBuf::from("/usr/lib/debug"));
        assert_eq!(
            TargetFiles::of_process(42, None).view(path),
            PathBuf::from("/proc/42/root/usr/lib/debug")
        );
        assert_eq!(
            TargetFiles::of_process(42, Some("/srv/tree".into())).view(path),
            PathBuf::from("/srv/tree/usr/lib/debug")
        );
        assert!(TargetFiles::host().is_host());
        assert!(!TargetFiles::under("/t".into()).is_host());
    }

    #[test]
    fn this_process_maps_its_own_executable_with_the_build_id_its_file_has() {
        let pid = std::process::id() as i32;
        let maps = super::super::maps::read_maps(pid).expect("maps");
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        let exe = exe.to_str().expect("utf-8 path");
        let group: Vec<&MapEntry> = maps.iter().filter(|m| m.file_path() == Some(exe)).collect();
        let first = group.first().expect("the executable is mapped");
        let memory = crate::tracer::ProcessMemory::new(pid);
        let files = TargetFiles::of_process(pid, None);
        let opened = files.open_mapped(first, exe).expect("opened");
        let facts = ElfFacts::parse(&opened.bytes, exe).expect("ELF");
        let mapped = mapped_build_id(&group, &memory);
        assert!(mapped.is_some(), "rustc links a build id");
        assert_eq!(mapped, facts.build_id);
        assert_eq!(
            check_identity(exe, &opened, &facts, first, mapped.as_deref()),
            Ok(None)
        );
        let mut other = facts.clone();
        other.build_id = Some(vec![1, 2, 3]);
        let refused = check_identity(exe, &opened, &other, first, mapped.as_deref()).unwrap_err();
        assert!(refused.contains("build id 010203"), "{refused}");
        // Without a build id in memory, an inexact file must be the mapped inode.
        let inexact = OpenedObject {
            exact: false,
            inode: first.inode + 1,
            ..files.open_mapped(first, exe).expect("opened")
        };
        assert!(check_identity(exe, &inexact, &facts, first, None).is_err());
        // A core's mapping records no inode: without a build id the file is used, unchecked.
        let core_map = MapEntry {
            device: (0, 0),
            inode: 0,
            ..(*first).clone()
        };
        let unchecked = check_identity(exe, &inexact, &facts, &core_map, None).expect("used");
        assert!(unchecked.is_some_and(|w| w.contains("unchecked")));
    }
}
