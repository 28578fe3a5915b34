//! ELF symbol tables (`.symtab`, `.dynsym`) as one sorted index of function symbols, and symbol
//! demangling.

use std::collections::HashMap;
use std::ops::Range;

use object::{Object as _, ObjectSection as _, ObjectSymbol as _, SectionKind, SymbolKind};

use super::elf::parse_elf;

/// One function symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Its ELF virtual address.
    pub start: u64,
    /// Its size in bytes (0 when the symbol does not say).
    pub size: u64,
    /// Its name as stored (mangled).
    pub name: Box<str>,
}

impl Symbol {
    /// The name demangled (C++ or Rust), or as stored.
    pub fn demangled(&self) -> String {
        demangle(&self.name)
    }
}

/// How many symbols before the nearest one are checked for one that contains an address.
const ENCLOSING_LOOKBACK: usize = 16;

/// The function symbols of an object, sorted by address, one per address.
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    symbols: Vec<Symbol>,
    /// ELF address ranges of the code sections: a symbol without a size only covers addresses in
    /// its own section.
    code_sections: Vec<Range<u64>>,
}

impl SymbolTable {
    /// Builds the table from ELF images, most trusted first (e.g. the debug file, then the object).
    /// From each, `.symtab` and `.dynsym` function symbols are taken; where several name the same
    /// address, a global beats a weak beats a local one, then the earlier image wins. Images that do
    /// not parse contribute nothing.
    pub fn from_images(images: &[&[u8]]) -> Self {
        Self::of_kind(images, SymbolKind::Text)
    }

    /// Like [`from_images`](Self::from_images), of the data symbols (`STT_OBJECT`): variables,
    /// what a pointer into data is named by.
    pub fn data_from_images(images: &[&[u8]]) -> Self {
        Self::of_kind(images, SymbolKind::Data)
    }

    /// The table of the symbols of `kind` (`Text` or `Data`); a symbol without a size covers
    /// addresses up to the next one in its own section (of the same kind).
    fn of_kind(images: &[&[u8]], kind: SymbolKind) -> Self {
        let section_kinds: &[SectionKind] = if kind == SymbolKind::Text {
            &[SectionKind::Text]
        } else {
            &[
                SectionKind::Data,
                SectionKind::ReadOnlyData,
                SectionKind::ReadOnlyString,
                SectionKind::UninitializedData,
                SectionKind::Tls,
                SectionKind::UninitializedTls,
            ]
        };
        // (symbol, binding rank, image rank)
        let mut all: Vec<(Symbol, u8, usize)> = Vec::new();
        let mut code_sections: Vec<Range<u64>> = Vec::new();
        for (image_rank, bytes) in images.iter().enumerate() {
            let Ok(file) = parse_elf(bytes, "symbols") else {
                continue;
            };
            code_sections.extend(
                file.sections()
                    .filter(|section| section_kinds.contains(&section.kind()) && section.size() > 0)
                    .map(|section| section.address()..section.address().saturating_add(section.size())),
            );
            for symbol in file.symbols().chain(file.dynamic_symbols()) {
                if symbol.kind() != kind || symbol.is_undefined() || symbol.address() == 0 {
                    continue;
                }
                // A data symbol without a size names no address (gdb does not use one either).
                if kind == SymbolKind::Data && symbol.size() == 0 {
                    continue;
                }
                let Ok(name) = symbol.name() else { continue };
                if name.is_empty() {
                    continue;
                }
                let binding_rank = if symbol.is_weak() {
                    1
                } else if symbol.is_global() {
                    0
                } else {
                    2
                };
                all.push((
                    Symbol {
                        start: symbol.address(),
                        size: symbol.size(),
                        name: name.into(),
                    },
                    binding_rank,
                    image_rank,
                ));
            }
        }
        all.sort_by(|(a, a_bind, a_image), (b, b_bind, b_image)| {
            (a.start, *a_bind, leading_underscores(&a.name), *a_image).cmp(&(
                b.start,
                *b_bind,
                leading_underscores(&b.name),
                *b_image,
            ))
        });
        let mut symbols: Vec<Symbol> = Vec::with_capacity(all.len());
        for (symbol, _, _) in all {
            match symbols.last_mut() {
                // Same address: keep the preferred name, but learn a size if it lacked one.
                Some(last) if last.start == symbol.start => {
                    if last.size == 0 {
                        last.size = symbol.size;
                    }
                }
                _ => symbols.push(symbol),
            }
        }
        Self {
            symbols,
            code_sections,
        }
    }

    /// The symbol containing ELF virtual address `address`: the nearest one at or below it that
    /// covers it (`start..start+size`), or the nearest one when its size is unknown and it is in
    /// the same code section (any section, when the image has no section headers).
    pub fn lookup(&self, address: u64) -> Option<&Symbol> {
        let after = self.symbols.partition_point(|s| s.start <= address);
        let nearest = after.checked_sub(1)?;
        let nearest_symbol = self.symbols.get(nearest)?;
        if nearest_symbol.size == 0 {
            let same_section = self.code_sections.is_empty()
                || self
                    .code_sections
                    .iter()
                    .any(|r| r.contains(&nearest_symbol.start) && r.contains(&address));
            return same_section.then_some(nearest_symbol);
        }
        // Symbols may nest (a function with an inner label-like symbol): look a little further back.
        self.symbols[nearest.saturating_sub(ENCLOSING_LOOKBACK)..=nearest]
            .iter()
            .rev()
            .find(|s| address - s.start < s.size)
    }

    /// Number of symbols.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Whether the table is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

/// A function found by name in an object's symbol tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedFunction {
    /// Its ELF virtual address.
    pub address: u64,
    /// Global or weak (visible to other objects), rather than local to its object.
    pub external: bool,
}

/// The defined function symbols of an object by name, for calls whose callee DWARF only names.
/// A default-versioned symbol (`name@@VERSION`, as `.symtab` spells it) is also found by its bare
/// name.
#[derive(Clone, Debug, Default)]
pub struct FunctionNames {
    by_name: HashMap<Box<str>, NamedFunction>,
}

impl FunctionNames {
    /// Collects the function symbols of `images` (`.symtab` and `.dynsym`, undefined ones left
    /// out). Where a name appears more than once, an external definition beats a local one, then
    /// the first one seen wins. Images that do not parse contribute nothing.
    pub fn from_images(images: &[&[u8]]) -> Self {
        let mut by_name: HashMap<Box<str>, NamedFunction> = HashMap::new();
        for bytes in images {
            let Ok(file) = parse_elf(bytes, "symbols") else {
                continue;
            };
            for symbol in file.symbols().chain(file.dynamic_symbols()) {
                if symbol.kind() != SymbolKind::Text || symbol.is_undefined() || symbol.address() == 0 {
                    continue;
                }
                let Ok(name) = symbol.name() else { continue };
                let found = NamedFunction {
                    address: symbol.address(),
                    external: symbol.is_global() || symbol.is_weak(),
                };
                let bare = name.split_once("@@").map(|(bare, _)| bare);
                for key in std::iter::once(name).chain(bare) {
                    if key.is_empty() {
                        continue;
                    }
                    match by_name.get_mut(key) {
                        Some(known) if !known.external && found.external => *known = found,
                        Some(_) => {}
                        None => {
                            by_name.insert(key.into(), found);
                        }
                    }
                }
            }
        }
        Self { by_name }
    }

    /// The function named `name`.
    pub fn get(&self, name: &str) -> Option<NamedFunction> {
        self.by_name.get(name).copied()
    }
}

/// Number of leading underscores: `foo` is preferred to `__foo` at the same address.
fn leading_underscores(name: &str) -> usize {
    name.bytes().take_while(|b| *b == b'_').count()
}

/// Demangles a symbol name: Rust (legacy and v0) via rustc-demangle, C++ (Itanium) via
/// cpp_demangle; anything else (C) is returned as is.
pub fn demangle(name: &str) -> String {
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        return format!("{rust:#}");
    }
    if name.starts_with("_Z") {
        if let Ok(symbol) = cpp_demangle::Symbol::new(name) {
            if let Ok(text) = symbol.demangle() {
                return text;
            }
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(symbols: &[(u64, u64, &str)]) -> SymbolTable {
        SymbolTable {
            symbols: symbols
                .iter()
                .map(|(start, size, name)| Symbol {
                    start: *start,
                    size: *size,
                    name: (*name).into(),
                })
                .collect(),
            code_sections: Vec::new(),
        }
    }

    #[test]
    fn lookup_respects_sizes_and_nesting() {
        let t = table(&[
            (0x100, 0x50, "outer"),
            (0x120, 0x10, "inner"),
            (0x200, 0, "asm_label"),
            (0x300, 0x10, "last"),
        ]);
        assert_eq!(t.lookup(0x100).map(|s| &*s.name), Some("outer"));
        assert_eq!(t.lookup(0x125).map(|s| &*s.name), Some("inner"));
        assert_eq!(t.lookup(0x135).map(|s| &*s.name), Some("outer"));
        assert_eq!(t.lookup(0x160), None);
        assert_eq!(t.lookup(0x250).map(|s| &*s.name), Some("asm_label"));
        assert_eq!(t.lookup(0x310), None);
        assert_eq!(t.lookup(0xff), None);
        assert_eq!(t.lookup(u64::MAX), None);
        // With section ranges known, a sizeless symbol stops at the end of its section.
        let mut sectioned = t.clone();
        sectioned.code_sections = vec![0x100..0x280, 0x300..0x310];
        assert_eq!(sectioned.lookup(0x250).map(|s| &*s.name), Some("asm_label"));
        assert_eq!(sectioned.lookup(0x290), None);
    }

    #[test]
    fn function_names_find_versioned_external_and_local_symbols_of_libc() {
        let maps = super::super::maps::read_maps(std::process::id() as i32).unwrap();
        let libc = maps
            .iter()
            .filter_map(|m| m.file_path())
            .find(|p| p.contains("libc.so.6"))
            .unwrap();
        let bytes = std::fs::read(libc).unwrap();
        let facts = super::super::elf::ElfFacts::parse(&bytes, libc).unwrap();
        let debug = super::super::debuglink::find_debug_file(
            std::path::Path::new(libc),
            &facts,
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("libc6-dbg is installed");
        let names = FunctionNames::from_images(&[&debug.bytes, &bytes]);
        // `pthread_join@@GLIBC_2.34` in .symtab, `pthread_join` in .dynsym: one external function,
        // the same code as glibc's internal name for it.
        let join = names.get("pthread_join").expect("pthread_join");
        assert!(join.external);
        let internal = names.get("___pthread_join").expect("___pthread_join");
        assert!(!internal.external);
        assert_eq!(join.address, internal.address);
        assert_eq!(names.get("pthread_join@@GLIBC_2.34"), Some(join));
        // A hidden alias is found as the local symbol it is.
        let futex = names.get("__GI___futex_abstimed_wait_cancelable64").unwrap();
        assert!(!futex.external);
        assert_eq!(names.get("no_such_function_anywhere"), None);
        let symbols = SymbolTable::from_images(&[&debug.bytes, &bytes]);
        assert_eq!(symbols.lookup(join.address).map(|s| s.start), Some(join.address));
        assert!(FunctionNames::from_images(&[b"junk"]).get("main").is_none());
    }

    #[test]
    fn demangles_cpp_and_rust_and_keeps_c() {
        assert_eq!(demangle("_ZN2ns6Widget7computeEi"), "ns::Widget::compute(int)");
        assert_eq!(
            demangle("_ZN3std2rt10lang_start17h0123456789abcdefE"),
            "std::rt::lang_start"
        );
        assert_eq!(demangle("main"), "main");
        assert_eq!(demangle("_Zgarbage"), "_Zgarbage");
    }

    #[test]
    fn own_binary_symbols_include_this_test() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let t = SymbolTable::from_images(&[&bytes]);
        assert!(t.len() > 100);
        let here = demangles_cpp_and_rust_and_keeps_c as fn() as usize as u64;
        // The test binary is PIE: find ourselves by name instead of by runtime address.
        let own = t
            .symbols
            .iter()
            .find(|s| s.demangled().ends_with("demangles_cpp_and_rust_and_keeps_c"))
            .unwrap();
        assert!(own.size > 0 && here != 0);
        assert_eq!(t.lookup(own.start + 1).map(|s| s.start), Some(own.start));
        assert!(SymbolTable::from_images(&[b"junk"]).is_empty());
    }
}
