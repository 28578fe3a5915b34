//! Finding the call-frame information sections of an ELF object: `.eh_frame_hdr`, `.eh_frame`
//! and `.debug_frame`, by section headers, or by the `PT_GNU_EH_FRAME` program header when the
//! section headers are stripped.

use object::elf::PT_GNU_EH_FRAME;
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{CompressionFormat, Object, ObjectSection};

use super::error::UnwindError;
use crate::debuginfo::load_segments;
use crate::reader::{section_reader, DwarfReader, SharedBytes};

/// Byte order of every object the unwinder reads (x86-64).
pub(crate) const ENDIAN: gimli::RunTimeEndian = gimli::RunTimeEndian::Little;

/// Address size, in bytes, of every object the unwinder reads (x86-64).
pub(crate) const ADDRESS_SIZE: u8 = 8;

/// The bytes of one section and the ELF virtual address it is loaded at.
#[derive(Clone, Debug)]
pub(crate) struct LocatedSection {
    /// A reader over exactly the section's bytes.
    pub reader: DwarfReader,
    /// The section's ELF virtual address (`sh_addr`; 0 for non-allocated sections).
    pub address: u64,
}

/// The CFI sections of one object, with the base addresses their pointer encodings need.
#[derive(Clone, Debug, Default)]
pub(crate) struct CfiSections {
    /// `.eh_frame_hdr`, the binary-search table over `.eh_frame`.
    pub eh_frame_hdr: Option<LocatedSection>,
    /// `.eh_frame`, the unwind tables used at run time.
    pub eh_frame: Option<LocatedSection>,
    /// `.debug_frame`, the unwind tables of the debug information.
    pub debug_frame: Option<LocatedSection>,
    /// Address of `.text`, for `DW_EH_PE_textrel` pointers.
    pub text_address: Option<u64>,
    /// Address of `.got`, for `DW_EH_PE_datarel` pointers.
    pub got_address: Option<u64>,
}

/// Parses `bytes` as a 64-bit ELF file for x86-64.
pub(crate) fn parse_elf(bytes: &SharedBytes) -> Result<ElfFile64<'_>, UnwindError> {
    let file = ElfFile64::parse(&bytes[..])?;
    match file.architecture() {
        object::Architecture::X86_64 => Ok(file),
        other => Err(UnwindError::UnsupportedArchitecture(other)),
    }
}

/// Finds the CFI sections of the object in `bytes`.
pub(crate) fn locate_object_sections(
    file: &ElfFile64<'_>,
    bytes: &SharedBytes,
) -> Result<CfiSections, UnwindError> {
    let mut found = CfiSections {
        eh_frame_hdr: named_section(file, bytes, ".eh_frame_hdr")?,
        eh_frame: named_section(file, bytes, ".eh_frame")?,
        debug_frame: named_section(file, bytes, ".debug_frame")?,
        text_address: file.section_by_name(".text").map(|s| s.address()),
        got_address: file.section_by_name(".got").map(|s| s.address()),
    };
    if found.eh_frame_hdr.is_none() && found.eh_frame.is_none() {
        if let Some((hdr, eh_frame)) = sections_from_program_headers(file, bytes)? {
            found.eh_frame_hdr = Some(hdr);
            found.eh_frame = eh_frame;
        }
    }
    Ok(found)
}

/// Finds the `.debug_frame` section of a separate debug file.
pub(crate) fn locate_debug_frame(
    file: &ElfFile64<'_>,
    bytes: &SharedBytes,
) -> Result<Option<LocatedSection>, UnwindError> {
    named_section(file, bytes, ".debug_frame")
}

/// The section called `name`, decompressed if needed; `None` when absent or without file bytes
/// (`SHT_NOBITS`, as in separate debug files for the allocated sections).
fn named_section(
    file: &ElfFile64<'_>,
    bytes: &SharedBytes,
    name: &'static str,
) -> Result<Option<LocatedSection>, UnwindError> {
    let Some(section) = file.section_by_name(name) else {
        return Ok(None);
    };
    let range = section.compressed_file_range()?;
    if range.format == CompressionFormat::None {
        let Some((offset, size)) = section.file_range() else {
            return Ok(None);
        };
        let reader = file_range_reader(bytes, offset, size, name)?;
        return Ok(Some(LocatedSection {
            reader,
            address: section.address(),
        }));
    }
    let data = crate::reader::inflate(section.compressed_data()?)
        .map_err(|source| UnwindError::Inflate {
            section: name,
            source,
        })?
        .into_owned();
    let owned = SharedBytes::from_vec(data);
    let len = owned.len();
    Ok(Some(LocatedSection {
        reader: section_reader(&owned, 0..len, ENDIAN),
        address: section.address(),
    }))
}

/// A reader over `bytes[offset..offset + size]`, or an error when that is not inside the file.
fn file_range_reader(
    bytes: &SharedBytes,
    offset: u64,
    size: u64,
    section: &'static str,
) -> Result<DwarfReader, UnwindError> {
    let out_of_bounds = || UnwindError::SectionOutOfBounds {
        section,
        offset,
        size,
        file_len: bytes.len(),
    };
    let start = usize::try_from(offset).map_err(|_| out_of_bounds())?;
    let end = offset
        .checked_add(size)
        .and_then(|end| usize::try_from(end).ok())
        .filter(|&end| end <= bytes.len())
        .ok_or_else(out_of_bounds)?;
    Ok(section_reader(bytes, start..end, ENDIAN))
}

/// `.eh_frame_hdr` from `PT_GNU_EH_FRAME`, and `.eh_frame` from the pointer in it (its end is
/// unknown: the reader runs to the end of the loadable segment, `.eh_frame` ends with a
/// terminator).
fn sections_from_program_headers(
    file: &ElfFile64<'_>,
    bytes: &SharedBytes,
) -> Result<Option<(LocatedSection, Option<LocatedSection>)>, UnwindError> {
    let endian = file.endian();
    let headers = file.elf_program_headers();
    let Some(hdr_header) = headers.iter().find(|ph| ph.p_type(endian) == PT_GNU_EH_FRAME) else {
        return Ok(None);
    };
    let hdr_address = hdr_header.p_vaddr(endian);
    let hdr = LocatedSection {
        reader: file_range_reader(
            bytes,
            hdr_header.p_offset(endian),
            hdr_header.p_filesz(endian),
            ".eh_frame_hdr",
        )?,
        address: hdr_address,
    };
    let bases = gimli::BaseAddresses::default().set_eh_frame_hdr(hdr_address);
    let parsed = gimli::EhFrameHdr::from(hdr.reader.clone())
        .parse(&bases, ADDRESS_SIZE)
        .map_err(|source| UnwindError::CorruptCfi {
            section: ".eh_frame_hdr",
            source,
        })?;
    let eh_frame_address = parsed
        .eh_frame_ptr()
        .direct()
        .map_err(|source| UnwindError::CorruptCfi {
            section: ".eh_frame_hdr",
            source,
        })?;
    let eh_frame = load_segments(headers, endian)
        .iter()
        .find_map(|load| {
            let delta = eh_frame_address.checked_sub(load.vaddr)?;
            let size = load.file_size.checked_sub(delta).filter(|&s| s > 0)?;
            Some((load.offset.checked_add(delta)?, size))
        })
        .map(|(offset, size)| file_range_reader(bytes, offset, size, ".eh_frame"))
        .transpose()?
        .map(|reader| LocatedSection {
            reader,
            address: eh_frame_address,
        });
    Ok(Some((hdr, eh_frame)))
}
