//! DWARF sections of an ELF image as [`DwarfReader`]s: uncompressed sections are read in place from
//! the mapped file; compressed ones (`SHF_COMPRESSED` or `.zdebug_*`) are inflated into their own
//! buffer, one per section, the large ones on two threads at once (libc's debug file inflates
//! about as fast again that way).

use std::collections::HashMap;

use object::{Object as _, ObjectSection as _};

use super::elf::{parse_elf, ElfFile};
use super::problems::{lost, DebugProblems};
use super::DebugInfoError;
use crate::reader::{section_reader, DwarfReader, SharedBytes};

/// The parsed DWARF of one image.
pub type Dwarf = gimli::Dwarf<DwarfReader>;

/// Below this many compressed bytes in all, sections are inflated on the calling thread.
const PARALLEL_INFLATE_THRESHOLD: usize = 256 << 10;

/// Loads every DWARF section gimli knows from the ELF image `bytes` (sections it lacks are empty).
/// A section that cannot be read (compressed data that does not inflate, bytes past the end of
/// the file) is left empty and recorded in `problems`. `name` labels errors; the image must be
/// an ELF file.
pub fn load_dwarf(
    bytes: &SharedBytes,
    name: &str,
    problems: &DebugProblems,
) -> Result<Dwarf, DebugInfoError> {
    let file = parse_elf(bytes, name)?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let inflated = inflate_sections(&file, problems);
    let dwarf = gimli::Dwarf::load(|id: gimli::SectionId| -> Result<DwarfReader, DebugInfoError> {
        let empty = || section_reader(bytes, 0..0, endian);
        if let Some(found) = inflated.get(id.name()) {
            return Ok(match found {
                Some(owned) => section_reader(owned, 0..owned.len(), endian),
                None => empty(),
            });
        }
        let Some(section) = file.section_by_name(id.name()) else {
            return Ok(empty());
        };
        // In place: the section's bytes are a sub-slice of the mapped file.
        let Some((offset, size)) = section.file_range() else {
            return Ok(empty());
        };
        let (Ok(start), Ok(len)) = (usize::try_from(offset), usize::try_from(size)) else {
            return Ok(empty());
        };
        match start.checked_add(len).filter(|end| *end <= bytes.len()) {
            Some(end) => Ok(section_reader(bytes, start..end, endian)),
            None => {
                problems.record(
                    id.name(),
                    &"it extends past the end of the file",
                    lost_without(id.name()),
                );
                Ok(empty())
            }
        }
    })?;
    check_string_sections(&dwarf, problems);
    Ok(dwarf)
}

/// Records a string section whose last string is not terminated: every string ends with a NUL,
/// so such a section was overwritten or cut, and names read from it may be wrong.
fn check_string_sections(dwarf: &Dwarf, problems: &DebugProblems) {
    use gimli::Section as _;
    let sections = [
        (".debug_str", dwarf.debug_str.reader()),
        (".debug_line_str", dwarf.debug_line_str.reader()),
    ];
    for (name, reader) in sections {
        if reader.bytes().last().is_some_and(|last| *last != 0) {
            problems.record(name, &"its last string is not terminated", lost::NAMES);
        }
    }
}

/// What is lost when the DWARF section `section` cannot be read at all.
fn lost_without(section: &str) -> &'static str {
    match section {
        ".debug_info" | ".debug_abbrev" => lost::ALL,
        ".debug_line" => lost::LINES,
        ".debug_aranges" => lost::INDEX,
        ".debug_str" | ".debug_line_str" | ".debug_str_offsets" => lost::NAMES,
        _ => lost::UNITS,
    }
}

/// The names of the sections gimli loads.
fn dwarf_section_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    // Asking gimli which sections it loads keeps this list in step with it.
    let _ = gimli::DwarfSections::load(|id: gimli::SectionId| -> Result<(), ()> {
        names.push(id.name());
        Ok(())
    });
    names
}

/// The inflated bytes of a compressed section; `None` when they could not be inflated.
type Inflated = Option<SharedBytes>;

/// Inflates the compressed DWARF sections of `file`, by section name; large ones on two threads.
/// A section that does not inflate maps to `None` and is recorded in `problems`.
fn inflate_sections(file: &ElfFile<'_>, problems: &DebugProblems) -> HashMap<&'static str, Inflated> {
    let mut out = HashMap::new();
    let mut compressed = Vec::new();
    for id in dwarf_section_names() {
        let Some(section) = file.section_by_name(id) else {
            continue;
        };
        match section.compressed_data() {
            Ok(data) if data.format == object::CompressionFormat::None => {}
            Ok(data) => compressed.push((id, data)),
            Err(e) => {
                problems.record(id, &e, lost_without(id));
                out.insert(id, None);
            }
        }
    }
    let inflate =
        |(id, data): &(&'static str, object::CompressedData<'_>)| match crate::reader::inflate(*data) {
            Ok(bytes) => (*id, Some(SharedBytes::from_vec(bytes.into_owned()))),
            Err(e) => {
                problems.record(id, &e, lost_without(id));
                (*id, None)
            }
        };
    let total: usize = compressed.iter().map(|(_, data)| data.data.len()).sum();
    if total < PARALLEL_INFLATE_THRESHOLD || compressed.len() < 2 {
        out.extend(compressed.iter().map(inflate));
        return out;
    }
    // Largest first, each to the thread with less to do so far.
    compressed.sort_by_key(|(_, data)| std::cmp::Reverse(data.data.len()));
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let (mut my_load, mut their_load) = (0usize, 0usize);
    for section in compressed {
        if my_load <= their_load {
            my_load += section.1.data.len();
            mine.push(section);
        } else {
            their_load += section.1.data.len();
            theirs.push(section);
        }
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(|| theirs.iter().map(inflate).collect::<Vec<_>>());
        out.extend(mine.iter().map(inflate));
        match other.join() {
            Ok(result) => out.extend(result),
            // The other thread panicked (a bug): inflate its share here.
            Err(_) => out.extend(theirs.iter().map(inflate)),
        }
    });
    out
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
        let dwarf = load_dwarf(&debug.bytes, "libc debug", &DebugProblems::default()).unwrap();
        assert_eq!(dwarf.debug_info.reader().len() as u64, on_disk.uncompressed_size);
        assert!(on_disk.uncompressed_size > on_disk.data.len() as u64);
        // Every compressed section is inflated (the large ones on another thread) to its size.
        for (name, len) in [
            (".debug_line", dwarf.debug_line.reader().len()),
            (".debug_abbrev", dwarf.debug_abbrev.reader().len()),
            (".debug_aranges", dwarf.debug_aranges.reader().len()),
        ] {
            let data = file.section_by_name(name).unwrap().compressed_data().unwrap();
            assert_ne!(data.format, object::CompressionFormat::None, "{name}");
            assert_eq!(len as u64, data.uncompressed_size, "{name}");
        }
        let mut units = dwarf.units();
        assert!(units.next().unwrap().is_some());
    }

    #[test]
    fn not_elf_is_an_error() {
        assert!(matches!(
            load_dwarf(
                &SharedBytes::from_vec(b"nope".to_vec()),
                "junk",
                &DebugProblems::default()
            ),
            Err(DebugInfoError::Elf { .. })
        ));
    }
}
