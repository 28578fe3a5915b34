//! The facts about one ELF object that loading needs: loadable segments (for the load bias),
//! build id, debug links and which debug sections it carries. Parsed from the object's bytes on
//! demand; nothing borrowed is kept. The `PT_LOAD` segments are read here, from a whole file or
//! from the header bytes at the start of an image, for every reader of the crate.

use object::read::elf::{ElfFile64, FileHeader as _, ProgramHeader as _};
use object::{Object as _, ObjectSection as _, SectionKind};

use super::DebugInfoError;

/// The parsed ELF file type used throughout the module (x86-64 objects are 64-bit ELF).
pub(crate) type ElfFile<'data> = ElfFile64<'data, object::Endianness>;

/// Parses `bytes` as a 64-bit ELF object; `name` only labels the error.
pub(crate) fn parse_elf<'data>(bytes: &'data [u8], name: &str) -> Result<ElfFile<'data>, DebugInfoError> {
    ElfFile::parse(bytes).map_err(|e| DebugInfoError::Elf {
        path: name.to_string(),
        what: e.to_string(),
    })
}

/// One `PT_LOAD` program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// `p_vaddr`: the segment's ELF virtual address.
    pub vaddr: u64,
    /// `p_offset`: where its bytes start in the file.
    pub offset: u64,
    /// `p_filesz`: how many bytes come from the file.
    pub file_size: u64,
    /// `p_memsz`: its size in memory.
    pub mem_size: u64,
    /// `PF_R` is set.
    pub readable: bool,
    /// `PF_W` is set.
    pub writable: bool,
    /// `PF_X` is set.
    pub executable: bool,
}

/// Reads the `PT_LOAD` segments from the start of an ELF image (its header and program headers,
/// e.g. read from the target's memory when the file itself is gone). `None` when the bytes are not
/// a 64-bit ELF header followed by its program headers.
pub fn loads_from_header_bytes(bytes: &[u8]) -> Option<Vec<LoadSegment>> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes).ok()?;
    let endian = header.endian().ok()?;
    let headers = header.program_headers(endian, bytes).ok()?;
    Some(load_segments(headers, endian))
}

/// The `PT_LOAD` segments among the ELF64 program headers `headers` (of byte order `endian`), in
/// program-header order.
pub fn load_segments<E: object::Endian>(
    headers: &[object::elf::ProgramHeader64<E>],
    endian: E,
) -> Vec<LoadSegment> {
    headers
        .iter()
        .filter(|ph| ph.p_type(endian) == object::elf::PT_LOAD)
        .map(|ph| {
            let flags = ph.p_flags(endian);
            LoadSegment {
                vaddr: ph.p_vaddr(endian),
                offset: ph.p_offset(endian),
                file_size: ph.p_filesz(endian),
                mem_size: ph.p_memsz(endian),
                readable: flags.contains(object::elf::PF_R),
                writable: flags.contains(object::elf::PF_W),
                executable: flags.contains(object::elf::PF_X),
            }
        })
        .collect()
}

/// What loading needs to know about one ELF object.
#[derive(Clone, Debug, Default)]
pub struct ElfFacts {
    /// The `PT_LOAD` segments in program-header order.
    pub loads: Vec<LoadSegment>,
    /// The `NT_GNU_BUILD_ID` note's bytes.
    pub build_id: Option<Vec<u8>>,
    /// `.gnu_debuglink`: the separate debug file's name and the CRC32 of its contents.
    pub debuglink: Option<(String, u32)>,
    /// `.gnu_debugaltlink`: the supplementary (dwz) file's path and build id.
    pub debugaltlink: Option<(String, Vec<u8>)>,
    /// Has a non-empty `.debug_info` (or `.zdebug_info`) with contents in the file.
    pub has_debug_info: bool,
    /// Has a `.symtab` with contents.
    pub has_symtab: bool,
}

impl ElfFacts {
    /// Reads the facts from an object's bytes; `name` labels errors.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self, DebugInfoError> {
        let file = parse_elf(bytes, name)?;
        let loads = load_segments(file.elf_program_headers(), file.endian());
        // A corrupt note or link section degrades to "absent": the object stays usable.
        let build_id = file
            .build_id()
            .ok()
            .flatten()
            .filter(|id| !id.is_empty())
            .map(<[u8]>::to_vec);
        let debuglink = file
            .gnu_debuglink()
            .ok()
            .flatten()
            .map(|(name, crc)| (String::from_utf8_lossy(name).into_owned(), crc));
        let debugaltlink = file
            .gnu_debugaltlink()
            .ok()
            .flatten()
            .map(|(path, id)| (String::from_utf8_lossy(path).into_owned(), id.to_vec()));
        let has_contents = |name: &str| {
            file.section_by_name(name).is_some_and(|s| {
                s.kind() != SectionKind::UninitializedData && s.file_range().is_some_and(|(_, size)| size > 0)
            })
        };
        Ok(Self {
            loads,
            build_id,
            debuglink,
            debugaltlink,
            has_debug_info: has_contents(".debug_info"),
            has_symtab: has_contents(".symtab"),
        })
    }

    /// The build id as lowercase hex.
    pub fn build_id_hex(&self) -> Option<String> {
        self.build_id.as_deref().map(hex)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_exe_bytes() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn reads_facts_of_a_real_object() {
        let facts = ElfFacts::parse(&current_exe_bytes(), "test binary").unwrap();
        assert!(facts.loads.iter().any(|l| l.executable));
        assert!(facts.loads.iter().all(|l| l.file_size <= l.mem_size));
        assert!(facts.has_symtab);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            ElfFacts::parse(b"not an elf file at all", "junk"),
            Err(DebugInfoError::Elf { .. })
        ));
        assert!(ElfFacts::parse(&[], "empty").is_err());
        let bytes = current_exe_bytes();
        // Truncated at every interesting size: errors or partial facts, never a panic.
        for len in [4usize, 16, 63, 64, 65, 200, 4096] {
            let _ = ElfFacts::parse(&bytes[..len.min(bytes.len())], "truncated");
        }
    }

    #[test]
    fn header_bytes_give_the_same_loads_as_the_file() {
        let bytes = current_exe_bytes();
        let from_header = loads_from_header_bytes(&bytes[..4096]).unwrap();
        let facts = ElfFacts::parse(&bytes, "self").unwrap();
        assert_eq!(from_header, facts.loads);
        assert_eq!(loads_from_header_bytes(b"\x7fELF"), None);
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x93, 0xac, 0x01]), "93ac01");
    }
}
