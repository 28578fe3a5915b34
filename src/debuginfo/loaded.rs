//! One object mapped into a process (executable, shared library or vDSO): where it is, its bytes
//! and debug file, and its lazily built symbol and DWARF indexes.

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::callsites::CallSite;
use super::debuglink::{find_alt_file, find_debug_file, DebugFile, DebugSearch};
use super::dwarf::{load_dwarf, Dwarf};
use super::elf::ElfFacts;
use super::minidebuginfo::{self, embedded_image};
use super::problems::{lost, DebugProblems};
use super::symbolize::{symbolize_with, DwarfIndex, SymbolizedFrame};
use super::symbols::{FunctionNames, NamedFunction, SymbolTable};
use super::units::drop_unreadable_parts;
use super::DebugInfoError;
use crate::reader::SharedBytes;

/// An object mapped into a process, loaded and (lazily) indexed. Shared between threads.
pub struct LoadedObject {
    /// Absolute path, or `"[vdso]"`.
    pub path: String,
    /// Lowest mapped address of this object.
    pub base: u64,
    /// Highest mapped end.
    pub end: u64,
    /// Load bias: runtime address = ELF virtual address + bias (wrapping).
    pub bias: u64,
    /// Runtime ranges of its executable mappings.
    pub executable_ranges: Vec<Range<u64>>,
    /// The object's own bytes (mapped file, or a copy of the vDSO); `None` when it could not be
    /// read or parsed.
    pub elf: Option<SharedBytes>,
    /// The separate debug file's bytes, if one was found.
    pub debug: Option<SharedBytes>,
    /// The separate debug file's path.
    pub debug_file: Option<String>,
    /// Lowercase hex of the `NT_GNU_BUILD_ID` note.
    pub build_id: Option<String>,
    /// Why the file found for this object was not used (it is not the one mapped): its frames
    /// say so. `None` when nothing was refused.
    pub unusable: Option<String>,
    /// Runtime ranges of all its mappings.
    mapped_ranges: Vec<Range<u64>>,
    /// The dwz supplementary file of the DWARF image, if it has one.
    alt: Option<SharedBytes>,
    /// Which image carries the DWARF.
    dwarf_image: DwarfImage,
    /// Neither the object nor its debug file has a `.symtab`: its MiniDebugInfo, if any, is read.
    wants_mini_debug: bool,
    /// The ELF image of its MiniDebugInfo (`.gnu_debugdata`), decompressed on first use (with
    /// the function symbols); `None` when it has none, is not wanted or is unusable.
    mini_debug: OnceLock<Option<Vec<u8>>>,
    /// Function symbols, built on first use.
    symbols: OnceLock<SymbolTable>,
    /// Data symbols, built on first use (after the resume: only pointers are named by them).
    data_symbols: OnceLock<SymbolTable>,
    /// Function symbols by name, built on first use (only tail-call frames need them).
    function_names: OnceLock<FunctionNames>,
    /// The DWARF sections (loaded, inflated once) and addr2line's index over them, built on first
    /// use; the error when the DWARF is unusable.
    dwarf: OnceLock<Result<(Arc<Dwarf>, DwarfIndex), DebugInfoError>>,
    /// The defects found in the DWARF so far (shared with its readers).
    problems: Arc<DebugProblems>,
    /// The defects found in the object's own sections (`.gnu_debugdata`), said under its path.
    object_problems: DebugProblems,
}

/// Where an object's DWARF is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DwarfImage {
    /// No DWARF at all.
    None,
    /// In the object itself.
    Object,
    /// In the separate debug file.
    DebugFile,
}

/// Where an object is mapped, as [`LoadedObject::new`] needs it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Placement {
    /// Lowest mapped address.
    pub base: u64,
    /// Highest mapped end.
    pub end: u64,
    /// Load bias.
    pub bias: u64,
    /// Runtime ranges of executable mappings.
    pub executable_ranges: Vec<Range<u64>>,
    /// Runtime ranges of all mappings.
    pub mapped_ranges: Vec<Range<u64>>,
}

impl LoadedObject {
    /// Builds a loaded object from its already parsed parts; looks for its debug file (and that
    /// file's dwz supplement) under `search`, pushing problems met to `warnings`.
    pub(crate) fn new(
        path: String,
        placement: Placement,
        image: Option<(SharedBytes, ElfFacts)>,
        search: &DebugSearch,
        warnings: &mut Vec<String>,
    ) -> Self {
        let (elf, facts) = match image {
            Some((bytes, facts)) => (Some(bytes), Some(facts)),
            None => (None, None),
        };
        let debug: Option<DebugFile> = facts
            .as_ref()
            .and_then(|f| find_debug_file(Path::new(&path), f, search, warnings));
        let dwarf_image = if debug.as_ref().is_some_and(|d| d.facts.has_debug_info) {
            DwarfImage::DebugFile
        } else if facts.as_ref().is_some_and(|f| f.has_debug_info) {
            DwarfImage::Object
        } else {
            DwarfImage::None
        };
        let (dwarf_path, dwarf_facts) = match dwarf_image {
            DwarfImage::DebugFile => (
                debug.as_ref().map(|d| d.path.clone()),
                debug.as_ref().map(|d| &d.facts),
            ),
            DwarfImage::Object => (Some(Path::new(&path).to_path_buf()), facts.as_ref()),
            DwarfImage::None => (None, None),
        };
        let alt = match (dwarf_path, dwarf_facts.and_then(|f| f.debugaltlink.as_ref())) {
            (Some(dwarf_path), Some(link)) => {
                let found = find_alt_file(&dwarf_path, link, search, warnings);
                if found.is_none() {
                    warnings.push(format!(
                        "{}: dwz file {} not found; some names may be missing",
                        dwarf_path.display(),
                        link.0
                    ));
                }
                found.map(|f| f.bytes)
            }
            _ => None,
        };
        let wants_mini_debug = !facts.as_ref().is_some_and(|f| f.has_symtab)
            && !debug.as_ref().is_some_and(|d| d.facts.has_symtab);
        Self {
            path,
            base: placement.base,
            end: placement.end,
            bias: placement.bias,
            executable_ranges: placement.executable_ranges,
            elf,
            build_id: facts.as_ref().and_then(ElfFacts::build_id_hex),
            unusable: None,
            debug_file: debug.as_ref().map(|d| d.path.display().to_string()),
            debug: debug.map(|d| d.bytes),
            mapped_ranges: placement.mapped_ranges,
            alt,
            dwarf_image,
            wants_mini_debug,
            mini_debug: OnceLock::new(),
            symbols: OnceLock::new(),
            data_symbols: OnceLock::new(),
            function_names: OnceLock::new(),
            dwarf: OnceLock::new(),
            problems: Arc::default(),
            object_problems: DebugProblems::default(),
        }
    }

    /// Opens an ELF file that is not (necessarily) mapped anywhere, as if loaded at `bias`: its
    /// `PT_LOAD` segments give `base`, `end` and the executable ranges. Debug files are searched
    /// under `search`.
    pub fn open_file(path: &Path, bias: u64, search: &DebugSearch) -> Result<Self, DebugInfoError> {
        let bytes = SharedBytes::map_file(path).map_err(|source| DebugInfoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.display().to_string();
        let facts = ElfFacts::parse(&bytes, &name)?;
        let ranges: Vec<(Range<u64>, bool)> = facts
            .loads
            .iter()
            .map(|l| {
                (
                    l.vaddr.wrapping_add(bias)..l.vaddr.wrapping_add(bias).wrapping_add(l.mem_size),
                    l.executable,
                )
            })
            .collect();
        let placement = Placement {
            base: ranges.iter().map(|(r, _)| r.start).min().unwrap_or(bias),
            end: ranges.iter().map(|(r, _)| r.end).max().unwrap_or(bias),
            bias,
            executable_ranges: ranges
                .iter()
                .filter(|(_, x)| *x)
                .map(|(r, _)| r.clone())
                .collect(),
            mapped_ranges: ranges.into_iter().map(|(r, _)| r).collect(),
        };
        Ok(Self::new(
            name,
            placement,
            Some((bytes, facts)),
            search,
            &mut Vec::new(),
        ))
    }

    /// Frames for a runtime `address` (callers pass pc-1 for return addresses), innermost first:
    /// inlined functions each as their own entry with `inlined: true`, the outermost (the real
    /// function) last with `inlined: false`. Without DWARF: one entry from the ELF symbol table.
    /// Never empty: an unknown address gives one entry with symbol None, and so does an address
    /// outside the object's mappings.
    pub fn symbolize(&self, address: u64) -> Vec<SymbolizedFrame> {
        if !self.maps_address(address) {
            return vec![SymbolizedFrame::default()];
        }
        let probe = address.wrapping_sub(self.bias);
        symbolize_with(self.dwarf_index(), self.symbols(), probe)
    }

    /// The runtime entry address of the function (not an inlined call) whose code holds runtime
    /// `address`: from DWARF (`DW_AT_low_pc`, or the first of its ranges), else from the symbol
    /// table. `None` outside the object's mappings or where nothing is known.
    pub fn function_entry(&self, address: u64) -> Option<u64> {
        if !self.maps_address(address) {
            return None;
        }
        let probe = address.wrapping_sub(self.bias);
        self.dwarf_index()
            .and_then(|dwarf| dwarf.function_entry(probe))
            .or_else(|| self.symbols().lookup(probe).map(|symbol| symbol.start))
            .map(|entry| entry.wrapping_add(self.bias))
    }

    /// The call site (runtime addresses) whose return address is runtime `return_pc`, from the
    /// DWARF of the unit holding the call instruction.
    pub(crate) fn call_site(&self, return_pc: u64) -> Option<CallSite> {
        let call = return_pc.wrapping_sub(1);
        if !self.maps_address(call) {
            return None;
        }
        let sites = self
            .dwarf_index()?
            .unit_call_sites(call.wrapping_sub(self.bias))?;
        sites
            .sites
            .get(&return_pc.wrapping_sub(self.bias))
            .map(|site| site.relocated(self.bias))
    }

    /// The tail-call sites (runtime addresses) of the function whose runtime entry is `entry`:
    /// `None` when DWARF knows no function starting there; empty when the function does not
    /// claim its call sites are complete.
    pub(crate) fn tail_calls_of(&self, entry: u64) -> Option<Vec<CallSite>> {
        if !self.maps_address(entry) {
            return None;
        }
        let probe = entry.wrapping_sub(self.bias);
        let sites = self.dwarf_index()?.unit_call_sites(probe)?.tail_calls_of(probe)?;
        Some(sites.iter().map(|site| site.relocated(self.bias)).collect())
    }

    /// The function symbol named `name` (runtime address), from the debug file's and the
    /// object's symbol tables (and the object's MiniDebugInfo).
    pub(crate) fn function_named(&self, name: &str) -> Option<NamedFunction> {
        self.function_names().get(name).map(|found| NamedFunction {
            address: found.address.wrapping_add(self.bias),
            external: found.external,
        })
    }

    /// The table of function symbols by name, built on first use.
    fn function_names(&self) -> &FunctionNames {
        self.function_names
            .get_or_init(|| FunctionNames::from_images(&self.symbol_images()))
    }

    /// Builds the table of function symbols by name (tail-call targets are looked up in it) —
    /// called before the target is stopped when tail calls will be searched.
    pub fn prepare_function_names(&self) {
        self.function_names();
    }

    /// Has DWARF debug info (own or separate)?
    pub fn has_dwarf(&self) -> bool {
        self.dwarf_image != DwarfImage::None
    }

    /// Warms the lazy indexes (MiniDebugInfo decompressed, symbol table sorted, addr2line unit
    /// ranges) — called before the target is stopped so nothing heavy happens while it is.
    pub fn prepare(&self) {
        self.symbols();
        self.dwarf_index();
    }

    /// Why this object's DWARF could not be used, once [`prepare`](Self::prepare) or a lookup
    /// tried to index it.
    pub fn dwarf_error(&self) -> Option<&DebugInfoError> {
        self.dwarf.get().and_then(|r| r.as_ref().err())
    }

    /// The object's DWARF (own or from its separate debug file, with its dwz supplement as
    /// `sup`), loaded on first use and shared with the symbolizer; `None` without usable DWARF.
    pub fn dwarf(&self) -> Option<&Arc<Dwarf>> {
        self.dwarf_loaded().map(|(dwarf, _)| dwarf)
    }

    /// The name of the function symbol (ELF symbol tables) containing runtime `address`, demangled,
    /// and the offset of `address` from its start.
    pub fn function_symbol(&self, address: u64) -> Option<(String, u64)> {
        if !self.maps_address(address) {
            return None;
        }
        let probe = address.wrapping_sub(self.bias);
        self.symbols()
            .lookup(probe)
            .map(|symbol| (symbol.demangled(), probe - symbol.start))
    }

    /// The name of the ELF symbol (function or data) containing runtime `address`, demangled,
    /// and the offset of `address` from its start: what gdb prints after a pointer's value
    /// (`<name+offset>`). Builds the data symbol table on first use: call it after the resume.
    pub fn address_symbol(&self, address: u64) -> Option<(String, u64)> {
        if !self.maps_address(address) {
            return None;
        }
        let probe = address.wrapping_sub(self.bias);
        let symbol = match self.symbols().lookup(probe) {
            Some(function) => function,
            None => self
                .data_symbols
                .get_or_init(|| {
                    let images: Vec<&[u8]> =
                        self.debug.iter().chain(self.elf.iter()).map(|b| &b[..]).collect();
                    SymbolTable::data_from_images(&images)
                })
                .lookup(probe)?,
        };
        Some((symbol.demangled(), probe - symbol.start))
    }

    /// Whether `address` lies in one of this object's mappings.
    pub fn maps_address(&self, address: u64) -> bool {
        self.mapped_ranges.iter().any(|r| r.contains(&address))
    }

    /// Whether `address` lies in one of this object's executable mappings.
    pub fn is_executable_address(&self, address: u64) -> bool {
        self.executable_ranges.iter().any(|r| r.contains(&address))
    }

    /// The symbol table, built on first use from the debug file's and the object's tables (and
    /// the object's MiniDebugInfo).
    fn symbols(&self) -> &SymbolTable {
        self.symbols
            .get_or_init(|| SymbolTable::from_images(&self.symbol_images()))
    }

    /// The images whose function symbols name this object's code, most trusted first: the debug
    /// file, the object, then the image its MiniDebugInfo holds (wanted only when neither of
    /// the others has a `.symtab`, as gdb does).
    fn symbol_images(&self) -> Vec<&[u8]> {
        let mut images: Vec<&[u8]> = self.debug.iter().chain(self.elf.iter()).map(|b| &b[..]).collect();
        images.extend(self.mini_debug());
        images
    }

    /// The ELF image of the object's MiniDebugInfo, decompressed on first use (by
    /// [`prepare`](Self::prepare), before the target is stopped); `None` when the object has a
    /// `.symtab` (or its debug file has), has no `.gnu_debugdata`, or an unusable one, which is
    /// then recorded as a warning naming the object.
    fn mini_debug(&self) -> Option<&[u8]> {
        self.mini_debug
            .get_or_init(|| {
                if !self.wants_mini_debug {
                    return None;
                }
                match embedded_image(self.elf.as_deref()?) {
                    Ok(image) => image,
                    Err(error) => {
                        self.object_problems
                            .record(minidebuginfo::SECTION, &error, lost::MINI_SYMBOLS);
                        None
                    }
                }
            })
            .as_deref()
    }

    /// The DWARF index, built on first use; `None` without (usable) DWARF.
    fn dwarf_index(&self) -> Option<&DwarfIndex> {
        self.dwarf_loaded().map(|(_, index)| index)
    }

    /// The DWARF and its index, loaded on first use; `None` without (usable) DWARF.
    fn dwarf_loaded(&self) -> Option<&(Arc<Dwarf>, DwarfIndex)> {
        let image = match self.dwarf_image {
            DwarfImage::None => return None,
            DwarfImage::Object => self.elf.as_ref()?,
            DwarfImage::DebugFile => self.debug.as_ref()?,
        };
        self.dwarf
            .get_or_init(|| {
                let name = self.dwarf_name();
                let mut dwarf = load_dwarf(image, name, &self.problems)?;
                if let Some(alt) = &self.alt {
                    dwarf.set_sup(load_dwarf(alt, name, &self.problems)?);
                }
                let dwarf = Arc::new(dwarf);
                let first_error = match DwarfIndex::new(dwarf.clone(), self.problems.clone()) {
                    Ok(index) => return Ok((dwarf, index)),
                    Err(error) => error,
                };
                // Some part of it makes the whole unusable: without that part, the rest.
                let unusable = |source: gimli::Error| {
                    self.problems.record(".debug_info", &source, lost::ALL);
                    DebugInfoError::Dwarf {
                        path: name.to_string(),
                        source,
                    }
                };
                let Ok(mut salvaged) = Arc::try_unwrap(dwarf) else {
                    return Err(unusable(first_error));
                };
                if !drop_unreadable_parts(&mut salvaged, &self.problems) {
                    return Err(unusable(first_error));
                }
                let salvaged = Arc::new(salvaged);
                let index = DwarfIndex::new(salvaged.clone(), self.problems.clone()).map_err(unusable)?;
                Ok((salvaged, index))
            })
            .as_ref()
            .ok()
    }

    /// The name of the file holding the DWARF: the separate debug file, or the object.
    fn dwarf_name(&self) -> &str {
        match self.dwarf_image {
            DwarfImage::DebugFile => self.debug_file.as_deref().unwrap_or(&self.path),
            _ => &self.path,
        }
    }

    /// The defects found in this object's DWARF so far, shared with the readers that find them.
    pub(crate) fn problems(&self) -> &Arc<DebugProblems> {
        &self.problems
    }

    /// One warning per defect found so far in this object's debug information (once per
    /// section and consequence), naming the file that holds it: what a snapshot says about a
    /// corrupt section. Ask after the lookups, since most defects are found by them.
    pub fn debug_warnings(&self) -> Vec<String> {
        let mut warnings = self.object_problems.warnings(&self.path);
        warnings.extend(self.problems.warnings(self.dwarf_name()));
        warnings
    }
}

impl std::fmt::Debug for LoadedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedObject")
            .field("path", &self.path)
            .field("base", &format_args!("{:#x}", self.base))
            .field("end", &format_args!("{:#x}", self.end))
            .field("bias", &format_args!("{:#x}", self.bias))
            .field("elf", &self.elf.as_ref().map(|b| b.len()))
            .field("debug_file", &self.debug_file)
            .field("build_id", &self.build_id)
            .field("has_dwarf", &self.has_dwarf())
            .finish()
    }
}
