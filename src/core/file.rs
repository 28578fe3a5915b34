//! The ELF layer of a core: validation of the header (ELF, ET_CORE, x86-64, 64-bit
//! little-endian), the program headers, the `PT_LOAD` segments (kept even when the file ends
//! inside them) and where the note segments lie.

use object::read::elf::{FileHeader as _, ProgramHeader as _};

use super::CoreError;

/// The ELF header type of an x86-64 core.
type Header = object::elf::FileHeader64<object::Endianness>;

/// Size of an ELF64 header.
const ELF64_HEADER_SIZE: u64 = 64;
/// Size of one ELF64 program header.
const ELF64_PHDR_SIZE: u64 = 56;

/// One `PT_LOAD` segment: a range of the process's memory and where its bytes are in the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreSegment {
    /// First address of the range.
    pub vaddr: u64,
    /// Size of the range in memory (`p_memsz`).
    pub mem_size: u64,
    /// Offset in the core of the bytes of `vaddr` (`p_offset`).
    pub file_offset: u64,
    /// How many leading bytes of the range the core holds, as its header says (`p_filesz`);
    /// the kernel leaves out what it did not dump (e.g. unmodified file-backed text).
    pub file_size: u64,
    /// How many of those bytes the file really has: less than `file_size` when the core was cut.
    pub available: u64,
    /// Mapped readable (`PF_R`).
    pub readable: bool,
    /// Mapped writable (`PF_W`).
    pub writable: bool,
    /// Mapped executable (`PF_X`).
    pub executable: bool,
}

impl CoreSegment {
    /// One past the last address of the range.
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.mem_size)
    }

    /// Whether `address` lies inside the range.
    pub fn contains(&self, address: u64) -> bool {
        (self.vaddr..self.end()).contains(&address)
    }
}

/// A note segment's place in the core.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoteSegment {
    /// Offset in the core.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Alignment of the notes inside (4 or 8).
    pub align: u64,
}

/// What the ELF headers of a core say.
#[derive(Debug)]
pub(crate) struct CoreLayout {
    /// The `PT_LOAD` segments, sorted by address.
    pub segments: Vec<CoreSegment>,
    /// The `PT_NOTE` segments, all inside the file.
    pub notes: Vec<NoteSegment>,
}

/// The name of an ELF machine number, for the message of a core of another architecture.
fn machine_name(machine: u16) -> String {
    let known = match machine {
        3 => "i386",
        8 => "mips",
        20 => "ppc",
        21 => "ppc64",
        22 => "s390x",
        40 => "arm",
        183 => "aarch64",
        243 => "riscv",
        258 => "loongarch",
        _ => return format!("e_machine {machine}"),
    };
    known.to_string()
}

/// The name of an ELF file type, for the message of an ELF file that is not a core.
fn type_name(kind: u16) -> String {
    match kind {
        0 => "ET_NONE".to_string(),
        1 => "ET_REL (an object file)".to_string(),
        2 => "ET_EXEC (an executable)".to_string(),
        3 => "ET_DYN (a shared library or PIE executable)".to_string(),
        other => format!("{other:#x}"),
    }
}

/// Checks that `data` is an x86-64 Linux ELF core and reads its program headers.
pub(crate) fn parse_layout(data: &[u8]) -> Result<CoreLayout, CoreError> {
    let size = data.len() as u64;
    if data.is_empty() {
        return Err(CoreError::Empty);
    }
    if !data.starts_with(&object::elf::ELFMAG) {
        return Err(CoreError::NotElf);
    }
    // e_type and e_machine sit at the same offsets (16, 18) in ELF32 and ELF64 headers, so the
    // kind and the architecture can be named before the class is known.
    let ident_and_kind = data.get(..20).ok_or(CoreError::Truncated {
        what: "the ELF header",
        needed: ELF64_HEADER_SIZE,
        size,
    })?;
    let big_endian = ident_and_kind[5] == object::elf::ELFDATA2MSB.0;
    let half = |at: usize| {
        let pair = [ident_and_kind[at], ident_and_kind[at + 1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    };
    let (kind, machine) = (half(16), half(18));
    if kind != object::elf::ET_CORE.0 {
        return Err(CoreError::NotCore {
            kind: type_name(kind),
        });
    }
    if machine != object::elf::EM_X86_64.0 {
        return Err(CoreError::Architecture {
            name: machine_name(machine),
        });
    }
    if ident_and_kind[4] != object::elf::ELFCLASS64.0 {
        return Err(CoreError::Architecture {
            name: "32-bit (ELFCLASS32) x86".to_string(),
        });
    }
    if ident_and_kind[5] != object::elf::ELFDATA2LSB.0 {
        return Err(CoreError::Architecture {
            name: "big-endian x86-64".to_string(),
        });
    }
    if size < ELF64_HEADER_SIZE {
        return Err(CoreError::Truncated {
            what: "the ELF header",
            needed: ELF64_HEADER_SIZE,
            size,
        });
    }
    let header = Header::parse(data).map_err(|e| CoreError::Malformed(format!("ELF header: {e}")))?;
    let endian = header
        .endian()
        .map_err(|e| CoreError::Malformed(format!("ELF header: {e}")))?;
    check_program_header_range(header, endian, data)?;
    let program_headers = header
        .program_headers(endian, data)
        .map_err(|e| CoreError::Malformed(format!("program headers: {e}")))?;

    let mut segments = Vec::new();
    let mut notes = Vec::new();
    for ph in program_headers {
        let (offset, file_size) = (ph.p_offset(endian), ph.p_filesz(endian));
        let type_ = ph.p_type(endian);
        if type_ == object::elf::PT_NOTE {
            let end =
                offset
                    .checked_add(file_size)
                    .filter(|&end| end <= size)
                    .ok_or(CoreError::Truncated {
                        what: "a note segment",
                        needed: offset.saturating_add(file_size),
                        size,
                    })?;
            notes.push(NoteSegment {
                // Both fit: end <= size, the length of a slice in memory.
                offset: offset as usize,
                size: (end - offset) as usize,
                align: if ph.p_align(endian) == 8 { 8 } else { 4 },
            });
        } else if type_ == object::elf::PT_LOAD {
            let flags = ph.p_flags(endian);
            segments.push(CoreSegment {
                vaddr: ph.p_vaddr(endian),
                mem_size: ph.p_memsz(endian),
                file_offset: offset,
                file_size,
                available: file_size.min(size.saturating_sub(offset)),
                readable: flags.contains(object::elf::PF_R),
                writable: flags.contains(object::elf::PF_W),
                executable: flags.contains(object::elf::PF_X),
            });
        }
    }
    segments.sort_by_key(|s| s.vaddr);
    Ok(CoreLayout { segments, notes })
}

/// Checks that the program header table lies inside the file, so that a cut one is said as
/// such rather than as a parse failure.
fn check_program_header_range(
    header: &Header,
    endian: object::Endianness,
    data: &[u8],
) -> Result<(), CoreError> {
    let entry_size = u64::from(header.e_phentsize(endian));
    if header.e_phnum(endian) != 0 && entry_size != ELF64_PHDR_SIZE {
        return Err(CoreError::Malformed(format!(
            "program header entries of {entry_size} bytes, ELF64's are {ELF64_PHDR_SIZE}"
        )));
    }
    let count = header
        .phnum(endian, data)
        .map_err(|e| CoreError::Malformed(format!("program header count: {e}")))?;
    let start = header.e_phoff(endian);
    let needed = (count as u64)
        .checked_mul(ELF64_PHDR_SIZE)
        .and_then(|len| len.checked_add(start));
    let size = data.len() as u64;
    match needed {
        Some(end) if end <= size => Ok(()),
        _ => Err(CoreError::Truncated {
            what: "the program headers",
            needed: needed.unwrap_or(u64::MAX),
            size,
        }),
    }
}
