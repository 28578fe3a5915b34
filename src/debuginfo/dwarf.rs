//! DWARF sections of an ELF image as [`DwarfReader`]s: uncompressed sections are read in place from
//! the mapped file; compressed ones (`SHF_COMPRESSED` or `.zdebug_*`) are inflated into their own
//! buffer, one per section.

use object::{Object as _, ObjectSection as _};

use super::elf::parse_elf;
use super::DebugInfoError;
use crate::reader::{section_reader, DwarfReader, SharedBytes};

/// The parsed DWARF of one image.
pub type Dwarf = gimli::Dwarf<DwarfReader>;

/// Loads every DWARF section gimli knows from the ELF image `bytes` (sections it lacks are empty).
/// `name` labels errors.
pub fn load_dwarf(bytes: &SharedBytes, name: &str) -> Result<Dwarf, DebugInfoError> {
    let file = parse_elf(bytes, name)?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    gimli::Dwarf::load(|id: gimli::SectionId| -> Result<DwarfReader, DebugInfoError> {
        let empty = || section_reader(bytes, 0..0, endian);
        let Some(section) = file.section_by_name(id.name()) else {
            return Ok(empty());
        };
        let compressed = section.compressed_data().map_err(|e| DebugInfoError::Elf {
            path: name.to_string(),
            what: format!("section {}: {e}", id.name()),
        })?;
        if compressed.format == object::CompressionFormat::None {
            // In place: the section's bytes are a sub-slice of the mapped file.
            let Some((offset, size)) = section.file_range() else {
                return Ok(empty());
            };
            let (Ok(start), Ok(len)) = (usize::try_from(offset), usize::try_from(size)) else {
                return Ok(empty());
            };
            let end = start
                .checked_add(len)
                .filter(|end| *end <= bytes.len())
                .ok_or_else(|| DebugInfoError::Elf {
                    path: name.to_string(),
                    what: format!("section {} extends past the end of the file", id.name()),
                })?;
            return Ok(section_reader(bytes, start..end, endian));
        }
        let inflated = compressed.decompress().map_err(|e| DebugInfoError::Elf {
            path: name.to_string(),
            what: format!("cannot decompress section {}: {e}", id.name()),
        })?;
        let owned = SharedBytes::from_vec(inflated.into_owned());
        let len = owned.len();
        Ok(section_reader(&owned, 0..len, endian))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gimli::{Reader as _, Section as _};

    #[test]
    fn loads_compressed_libc_debug_info() {
        // libc6-dbg ships SHF_COMPRESSED sections: the reader must see the inflated bytes.
        let maps = super::super::maps::read_maps(std::process::id() as i32).unwrap();
        let libc = maps
            .iter()
            .filter_map(|m| m.file_path())
            .find(|p| p.contains("libc.so.6"))
            .unwrap();
        let bytes = SharedBytes::map_file(std::path::Path::new(libc)).unwrap();
        let facts = super::super::elf::ElfFacts::parse(&bytes, libc).unwrap();
        let debug = super::super::debuglink::find_debug_file(
            std::path::Path::new(libc),
            &facts,
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("libc6-dbg is installed");
        let file = parse_elf(&debug.bytes, "libc debug").unwrap();
        let section = file.section_by_name(".debug_info").unwrap();
        let on_disk = section.compressed_data().unwrap();
        assert_ne!(
            on_disk.format,
            object::CompressionFormat::None,
            "libc6-dbg sections are compressed"
        );
        let dwarf = load_dwarf(&debug.bytes, "libc debug").unwrap();
        assert_eq!(dwarf.debug_info.reader().len() as u64, on_disk.uncompressed_size);
        assert!(on_disk.uncompressed_size > on_disk.data.len() as u64);
        let mut units = dwarf.units();
        assert!(units.next().unwrap().is_some());
    }

    #[test]
    fn not_elf_is_an_error() {
        assert!(matches!(
            load_dwarf(&SharedBytes::from_vec(b"nope".to_vec()), "junk"),
            Err(DebugInfoError::Elf { .. })
        ));
    }
}
