//! Thread-local storage: the address of a module's TLS block in a given thread, for the DWARF
//! operations `DW_OP_form_tls_address` / `DW_OP_GNU_push_tls_address` (block + the variable's
//! offset). x86-64 with glibc's dynamic loader only.
//!
//! [`TlsResolver::new`] does all the work that does not depend on a thread, before the target is
//! stopped: each object's `PT_TLS` segment, the loader's `r_debug` and link_maps (matched to the
//! loaded objects by load bias and name), each module's TLS module id, and the offsets of glibc's
//! private fields (see [`GlibcTlsLayout`]). [`TlsResolver::block_address`] then costs a few
//! 8-byte reads per call.
//!
//! Known limits:
//! - Statically linked executables (no dynamic loader, no `r_debug`): [`TlsError::NoRendezvous`].
//! - Objects loaded after [`TlsResolver::new`] are unknown to it (`block_address` gives `None`).
//! - Other C libraries (musl) lay out their TCB and DTV differently: not supported.

mod dtv;
mod elf;
mod error;
mod layout;
mod layout_dwarf;
mod layout_thread_db;
mod link_map;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

pub use elf::TlsSegment;
pub use error::TlsError;
pub use layout::{GlibcTlsLayout, SlotinfoLayout};

use dtv::{dtv_block, static_block, GenerationCheck};
use layout::LayoutFields;
use link_map::{find_rendezvous, LinkMapEntry};
// The loader's lists also name the objects of a core that has no `NT_FILE` note.
pub(crate) use link_map::walk_link_maps;

use crate::debuginfo::{LoadedObject, ProcessObjects};
use crate::memory::MemoryReader;

/// One object's TLS module, as the loader registered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsModule {
    /// The object's path (as in [`LoadedObject::path`]).
    pub path: String,
    /// Its TLS module id (`l_tls_modid`; 1 for the executable): its index in each thread's DTV.
    pub modid: u64,
    /// Address of its `struct link_map` in the target.
    pub link_map: u64,
    /// Its `PT_TLS` segment, when its ELF image could be read.
    pub segment: Option<TlsSegment>,
}

/// Resolves the TLS blocks of one process's modules, for its threads (x86-64, glibc).
#[derive(Debug, Default)]
pub struct TlsResolver {
    /// The modules with TLS, by the `(base, bias)` of their object.
    modules: HashMap<(u64, u64), TlsModule>,
    /// The glibc-private offsets; `None` when no object has TLS (nothing was read then).
    layout: Option<GlibcTlsLayout>,
    /// How to check DTV entries for staleness, when the slotinfo list could be located.
    generation_check: Option<GenerationCheck>,
    /// What could not be resolved fully.
    warnings: Vec<String>,
}

impl TlsResolver {
    /// Prepared BEFORE the stop where possible (reads nothing that changes per thread): finds
    /// each object's `PT_TLS` segment and, through the loader's link_maps, its TLS module id
    /// (`l_tls_modid`, whose offset in glibc's `struct link_map` is read from the DWARF of
    /// ld.so's debug file, else from the libthread_db descriptors libc exports).
    ///
    /// A process none of whose objects has a `PT_TLS` segment gives an empty resolver without
    /// reading anything. Errors: no `r_debug` ([`TlsError::NoRendezvous`]), an unreadable
    /// `r_debug`, or unknown glibc offsets ([`TlsError::LayoutUnknown`]). Objects that cannot be
    /// matched to a link_map are left out and named in [`warnings`](Self::warnings).
    pub fn new(objects: &ProcessObjects, memory: &dyn MemoryReader) -> Result<Self, TlsError> {
        let segments: HashMap<(u64, u64), Option<TlsSegment>> = objects
            .objects()
            .iter()
            .map(|object| (key(object), object.elf.as_deref().and_then(TlsSegment::from_elf)))
            .collect();
        let may_have_tls = objects
            .objects()
            .iter()
            .any(|object| object.elf.is_none() || segments.get(&key(object)).is_some_and(Option::is_some));
        if !may_have_tls {
            return Ok(Self::default());
        }

        let r_debug = find_rendezvous(objects, memory)?;
        let loader = walk_link_maps(memory, r_debug)?;
        let mut warnings = loader.warnings;
        let ld_so = objects
            .objects()
            .iter()
            .find(|object| object.bias == loader.ld_so_bias && object.path != "[vdso]");
        let layout = find_layout(objects, ld_so.map(|o| &**o))?;
        let generation_check = layout.slotinfo.and_then(|slotinfo| {
            let rtld_global = ld_so
                .and_then(|o| elf::symbol_value(o.elf.as_deref()?, "_rtld_global"))?
                .wrapping_add(ld_so?.bias);
            Some(GenerationCheck {
                list_pointer: rtld_global.wrapping_add(slotinfo.list_in_rtld_global),
                layout: slotinfo,
            })
        });
        if generation_check.is_none() {
            warnings.push(
                "ld.so's DTV slotinfo list not located: DTV entries are used without checking \
                 that they are up to date (stale after a dlclose)"
                    .to_string(),
            );
        }

        let mut modules = HashMap::new();
        for object in objects.objects() {
            let Some(segment) = segments.get(&key(object)).copied() else {
                continue;
            };
            if object.elf.is_some() && segment.is_none() {
                continue;
            }
            let Some(entry) = matching_link_map(object, &loader.entries) else {
                warnings.push(format!("{}: has TLS but no link_map matches it", object.path));
                continue;
            };
            let modid_address = entry.address.wrapping_add(layout.l_tls_modid);
            match memory.read_u64(modid_address) {
                Some(0) => {}
                Some(modid) => {
                    modules.insert(
                        key(object),
                        TlsModule {
                            path: object.path.clone(),
                            modid,
                            link_map: entry.address,
                            segment,
                        },
                    );
                }
                None => warnings.push(format!(
                    "{}: l_tls_modid at {modid_address:#x} is unreadable",
                    object.path
                )),
            }
        }
        Ok(Self {
            modules,
            layout: Some(layout),
            generation_check,
            warnings,
        })
    }

    /// The address of `object`'s TLS block in the thread whose thread pointer (`fs_base`) is
    /// `tp`: `tp - l_tls_offset` for a module in the static TLS area, else through the thread's
    /// DTV. `None` when the object has no TLS (or is unknown to this resolver), when the block is
    /// not allocated in that thread yet (a thread that never touched the module's dynamic TLS
    /// variables), when its DTV entry is stale (a module id reused after a dlclose), or when a
    /// read fails.
    pub fn block_address(&self, object: &LoadedObject, tp: u64, memory: &dyn MemoryReader) -> Option<u64> {
        let module = self.modules.get(&key(object))?;
        let layout = self.layout.as_ref()?;
        if tp == 0 {
            return None;
        }
        let l_tls_offset = memory.read_u64(module.link_map.wrapping_add(layout.l_tls_offset))?;
        static_block(tp, l_tls_offset).or_else(|| {
            dtv_block(
                memory,
                tp,
                module.modid,
                module.link_map,
                self.generation_check.as_ref(),
            )
        })
    }

    /// `object`'s TLS module, if it has one the loader registered.
    pub fn module(&self, object: &LoadedObject) -> Option<&TlsModule> {
        self.modules.get(&key(object))
    }

    /// The glibc offsets in use; `None` when no object has TLS.
    pub fn layout(&self) -> Option<&GlibcTlsLayout> {
        self.layout.as_ref()
    }

    /// Whether DTV entries are checked against ld.so's generation counts (see [`SlotinfoLayout`]).
    pub fn checks_generations(&self) -> bool {
        self.generation_check.is_some()
    }

    /// What could not be resolved, one message each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// How an object is recognised across calls.
fn key(object: &LoadedObject) -> (u64, u64) {
    (object.base, object.bias)
}

/// The glibc offsets: ld.so's DWARF first, then the libthread_db descriptors of any object.
fn find_layout(objects: &ProcessObjects, ld_so: Option<&LoadedObject>) -> Result<GlibcTlsLayout, TlsError> {
    let mut tried = Vec::new();
    let mut fields = LayoutFields::default();
    let mut sources = Vec::new();
    match ld_so {
        Some(ld_so) => {
            let dwarf_image = match (&ld_so.debug, &ld_so.debug_file) {
                (Some(bytes), Some(path)) => Some((bytes, path.as_str())),
                _ => ld_so.elf.as_ref().map(|bytes| (bytes, ld_so.path.as_str())),
            };
            match dwarf_image {
                Some((bytes, path)) => {
                    let found = layout_dwarf::layout_from_dwarf(bytes);
                    if found.has_link_map_fields() {
                        sources.push(format!("DWARF of {path}"));
                    } else {
                        tried.push(format!(
                            "no struct link_map with l_tls_modid in the DWARF of {path}"
                        ));
                    }
                    fields.fill_from(&found);
                }
                None => tried.push(format!("{}: no ELF image nor debug file", ld_so.path)),
            }
        }
        None => tried.push("ld.so (r_debug.r_ldbase) is not among the loaded objects".to_string()),
    }
    if !fields.is_complete() {
        let with_descriptors = objects.objects().iter().find_map(|object| {
            let bytes = object.elf.as_deref()?;
            elf::symbol_value(bytes, layout_thread_db::MARKER)?;
            Some((object, layout_thread_db::layout_from_thread_db(bytes)))
        });
        match with_descriptors {
            Some((object, found)) => {
                let had_link_map = fields.has_link_map_fields();
                let had_slotinfo = fields.slotinfo().is_some();
                fields.fill_from(&found);
                if (!had_link_map && fields.has_link_map_fields())
                    || (!had_slotinfo && fields.slotinfo().is_some())
                {
                    sources.push(format!("libthread_db descriptors of {}", object.path));
                }
            }
            None => tried.push(format!("no object exports {}", layout_thread_db::MARKER)),
        }
    }
    let source = sources.join(", ");
    fields.into_layout(source).ok_or_else(|| TlsError::LayoutUnknown {
        why: tried.join("; "),
    })
}

/// The link_map of `object`: same load bias, and a name that designates the same file; else the
/// entry with the same bias and an empty name (the executable's).
fn matching_link_map<'a>(object: &LoadedObject, entries: &'a [LinkMapEntry]) -> Option<&'a LinkMapEntry> {
    let same_bias = || entries.iter().filter(|entry| entry.bias == object.bias);
    same_bias()
        .find(|entry| !entry.name.is_empty() && same_file(&entry.name, &object.path))
        .or_else(|| same_bias().find(|entry| entry.name.is_empty()))
}

/// Whether the loader's name for an object and the path in the maps are the same file: same
/// text, same canonical path, same device and inode, or at least the same file name.
fn same_file(loader_name: &str, mapped_path: &str) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    if loader_name == mapped_path {
        return true;
    }
    let (a, b) = (Path::new(loader_name), Path::new(mapped_path));
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
            return true;
        }
    }
    a.file_name().is_some() && a.file_name() == b.file_name()
}
