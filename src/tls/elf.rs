//! What the TLS resolver needs from an object's own ELF image: its `PT_TLS` segment, its dynamic
//! segment (where `DT_DEBUG` lives), defined symbols and initialised data at a virtual address.
//! Corrupt or truncated images give `None`, never a panic.

use object::read::elf::{Dyn as _, ElfFile64, ProgramHeader as _};
use object::{Object as _, ObjectSymbol as _};

/// The parsed ELF type (x86-64 objects are 64-bit ELF).
type ElfFile<'data> = ElfFile64<'data, object::Endianness>;

/// An object's `PT_TLS` program header: the initialisation image of its TLS block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsSegment {
    /// `p_vaddr`: ELF address of the initialisation image (`.tdata`).
    pub vaddr: u64,
    /// `p_filesz`: bytes initialised from the image (`.tdata`); the rest is zeroed (`.tbss`).
    pub file_size: u64,
    /// `p_memsz`: size of the block.
    pub mem_size: u64,
    /// `p_align`: alignment of the block.
    pub align: u64,
}

impl TlsSegment {
    /// The `PT_TLS` segment of the ELF image `bytes`, if it has one.
    pub fn from_elf(bytes: &[u8]) -> Option<Self> {
        let file = ElfFile::parse(bytes).ok()?;
        let endian = file.endian();
        file.elf_program_headers()
            .iter()
            .find(|ph| ph.p_type(endian) == object::elf::PT_TLS)
            .map(|ph| Self {
                vaddr: ph.p_vaddr(endian),
                file_size: ph.p_filesz(endian),
                mem_size: ph.p_memsz(endian),
                align: ph.p_align(endian),
            })
    }
}

/// An object's `PT_DYNAMIC` segment as its file describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DynamicSegment {
    /// ELF address of the dynamic array.
    pub vaddr: u64,
    /// Its size in memory.
    pub mem_size: u64,
    /// Whether the array has a `DT_DEBUG` entry (which ld.so fills in with `&_r_debug`; only
    /// executables carry one).
    pub has_debug_entry: bool,
    /// Whether the object has a `PT_INTERP` (names a dynamic loader: an executable).
    pub has_interp: bool,
}

impl DynamicSegment {
    /// The dynamic segment of the ELF image `bytes`, if it has one.
    pub fn from_elf(bytes: &[u8]) -> Option<Self> {
        let file = ElfFile::parse(bytes).ok()?;
        let endian = file.endian();
        let headers = file.elf_program_headers();
        let has_interp = headers
            .iter()
            .any(|ph| ph.p_type(endian) == object::elf::PT_INTERP);
        headers.iter().find_map(|ph| {
            let entries = ph.dynamic(endian, bytes).ok()??;
            Some(Self {
                vaddr: ph.p_vaddr(endian),
                mem_size: ph.p_memsz(endian),
                has_debug_entry: entries
                    .iter()
                    .take_while(|d| d.d_tag(endian) != object::elf::DT_NULL)
                    .any(|d| d.d_tag(endian) == object::elf::DT_DEBUG),
                has_interp,
            })
        })
    }
}

/// The value (ELF address) of the defined symbol `name`, from the dynamic symbol table first,
/// then the full one.
pub(crate) fn symbol_value(bytes: &[u8], name: &str) -> Option<u64> {
    let file = ElfFile::parse(bytes).ok()?;
    let defined = |symbol: &object::read::elf::ElfSymbol64<'_, '_, object::Endianness>| {
        !symbol.is_undefined() && symbol.name_bytes().ok() == Some(name.as_bytes())
    };
    file.dynamic_symbols()
        .find(defined)
        .or_else(|| file.symbols().find(defined))
        .map(|symbol| symbol.address())
}

/// The values of every defined symbol whose name starts with `prefix`, from the dynamic symbol
/// table (`(name, ELF address)`).
pub(crate) fn dynamic_symbols_with_prefix(bytes: &[u8], prefix: &str) -> Vec<(String, u64)> {
    let Ok(file) = ElfFile::parse(bytes) else {
        return Vec::new();
    };
    file.dynamic_symbols()
        .filter(|symbol| !symbol.is_undefined())
        .filter_map(|symbol| {
            let name = symbol.name().ok()?;
            name.starts_with(prefix)
                .then(|| (name.to_string(), symbol.address()))
        })
        .collect()
}

/// `size` bytes of the file-backed contents of `bytes` at ELF address `vaddr` (from the
/// `PT_LOAD` segment holding them); `None` when no segment's file data covers all of them.
pub(crate) fn data_at(bytes: &[u8], vaddr: u64, size: u64) -> Option<&[u8]> {
    let file = ElfFile::parse(bytes).ok()?;
    let endian = file.endian();
    file.elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .find_map(|ph| ph.data_range(endian, bytes, vaddr, size).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_bytes() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn garbage_gives_nothing() {
        for bytes in [&b""[..], b"\x7fELF\x02\x01\x01", b"not an elf file at all"] {
            assert_eq!(TlsSegment::from_elf(bytes), None);
            assert_eq!(DynamicSegment::from_elf(bytes), None);
            assert_eq!(symbol_value(bytes, "main"), None);
            assert!(dynamic_symbols_with_prefix(bytes, "").is_empty());
            assert_eq!(data_at(bytes, 0, 8), None);
        }
        let bytes = own_bytes();
        for len in [16usize, 64, 65, 200, 4096] {
            let cut = &bytes[..len.min(bytes.len())];
            let _ = (TlsSegment::from_elf(cut), DynamicSegment::from_elf(cut));
        }
    }

    #[test]
    fn the_test_binary_has_tls_and_a_debug_entry() {
        // Rust's std uses thread-locals, and test binaries are dynamically linked executables.
        let bytes = own_bytes();
        let tls = TlsSegment::from_elf(&bytes).expect("PT_TLS");
        assert!(tls.file_size <= tls.mem_size && tls.align.is_power_of_two());
        let dynamic = DynamicSegment::from_elf(&bytes).expect("PT_DYNAMIC");
        assert!(dynamic.has_debug_entry && dynamic.has_interp);
        assert!(dynamic.mem_size >= 16);
    }

    #[test]
    fn libc_exports_its_symbols_and_data() {
        let bytes = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").unwrap();
        let dynamic = DynamicSegment::from_elf(&bytes).expect("PT_DYNAMIC");
        assert!(!dynamic.has_debug_entry);
        assert!(symbol_value(&bytes, "malloc").is_some());
        assert_eq!(symbol_value(&bytes, "no_such_symbol_anywhere"), None);
        let exported = dynamic_symbols_with_prefix(&bytes, "mallo");
        assert!(exported.iter().any(|(name, _)| name == "malloc"));
        // The ELF header is the start of the first PT_LOAD.
        assert_eq!(data_at(&bytes, 0, 4), Some(&b"\x7fELF"[..]));
        assert_eq!(data_at(&bytes, u64::MAX - 2, 8), None);
    }
}
