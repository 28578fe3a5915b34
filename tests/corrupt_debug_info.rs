//! A program whose debug info has one corrupt section: the snapshot says so once, naming the
//! object and the section, keeps what the other sections still give (symbols from `.symtab`,
//! unwinding through CFI, the units and variables that do not depend on the corrupt part), and
//! never shows a wrong value.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use object::{Object as _, ObjectSection as _};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Junk that no DWARF section parses: no NUL byte (strings never end), versions and lengths
/// out of range, bytes that are not UTF-8.
fn junk(len: usize) -> Vec<u8> {
    (0..len).map(|i| 0x80 | ((i * 151 + 7) % 127) as u8).collect()
}

/// A copy of `c-examples/build/crash` in `dir` whose bytes `range` of section `section` (relative
/// to the section's start; clamped to it) are overwritten with junk.
fn corrupt_copy(dir: &Path, section: &str, range: std::ops::Range<usize>) -> PathBuf {
    let mut bytes = std::fs::read(example("crash")).expect("read crash");
    let (offset, size) = {
        let file = object::File::parse(&*bytes).expect("crash is ELF");
        let found = file
            .section_by_name(section)
            .unwrap_or_else(|| panic!("crash has no {section}"));
        found.file_range().expect("the section has file contents")
    };
    let start = offset as usize + range.start.min(size as usize);
    let end = offset as usize + range.end.min(size as usize);
    bytes[start..end].copy_from_slice(&junk(end - start));
    let path = dir.join(format!("crash{}", section.replace('.', "-")));
    std::fs::write(&path, &bytes).expect("write the corrupt copy");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    path
}

/// The `.debug_info` offset and length of the unit of `crash` whose name ends with `source`.
fn unit_extent(source: &str) -> std::ops::Range<usize> {
    let bytes = std::fs::read(example("crash")).expect("read crash");
    let file = object::File::parse(&*bytes).expect("crash is ELF");
    let load = |id: gimli::SectionId| -> Result<gimli::EndianSlice<'_, gimli::LittleEndian>, gimli::Error> {
        let data = file
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or_default();
        Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(load).expect("load DWARF");
    let mut units = dwarf.units();
    while let Some(header) = units.next().expect("read unit headers") {
        let unit = dwarf.unit(header).expect("parse unit");
        let name = unit
            .name
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(source) {
            let start = header.debug_info_offset().expect("a .debug_info unit").0;
            return start..start + header.length_including_self();
        }
    }
    panic!("no unit for {source} in crash");
}

/// A frame as (symbol, file base name, line).
type FrameLine = (String, Option<String>, Option<u64>);

/// Runs `program hang 1`, snapshots it with the CLI, checks the run went well and the target
/// was left running; returns the snapshot, the CLI's stderr and the main thread's frames.
fn snapshot_of_corrupt(program: &Path) -> (Value, String, Vec<FrameLine>) {
    let target = Target::start(program, &["hang", "1"]);
    let (output, _dir) = run_ptrace(&[&target.pid().to_string()]);
    let snapshot = snapshot_ok(&output);
    assert_running_untraced(target.pid());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let frames = frames(thread(&snapshot, target.pid()));
    // Symbols from .symtab and unwinding through .eh_frame whatever the DWARF.
    assert_eq!(
        frames.iter().filter(|f| f.0 == "recurse").count(),
        6,
        "{frames:?}"
    );
    assert!(frames.iter().any(|f| f.0 == "main"), "{frames:?}");
    (snapshot, stderr, frames)
}

/// The warnings of `snapshot` that are about `section` of `program`: exactly one, also on
/// stderr, naming both.
fn the_warning(snapshot: &Value, stderr: &str, program: &Path, section: &str) -> String {
    let about: Vec<&str> = snapshot["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let prefix = format!("{}: {section} is corrupt (", program.display());
    let found: Vec<&&str> = about.iter().filter(|w| w.starts_with(&prefix)).collect();
    assert_eq!(found.len(), 1, "one warning about {section}: {about:#?}");
    let warning = found[0].to_string();
    assert!(
        stderr.contains(&warning),
        "the warning is on stderr too: {stderr}"
    );
    warning
}

/// The variables of the frames of `recurse` (innermost level), as (name, type).
fn recurse_variables(snapshot: &Value) -> Vec<Vec<(String, String)>> {
    snapshot["threads"][0]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["symbol"].as_str() == Some("recurse"))
        .map(|f| {
            f["variables"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .map(|v| {
                            (
                                v["name"].as_str().unwrap_or_default().to_string(),
                                v["type"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_corrupt_line_table_costs_the_lines_but_not_the_variables() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = corrupt_copy(dir.path(), ".debug_line", 0..usize::MAX);
    let (snapshot, stderr, frames) = snapshot_of_corrupt(&program);
    let warning = the_warning(&snapshot, &stderr, &program, ".debug_line");
    assert!(
        warning.ends_with("no source lines for the units concerned"),
        "{warning}"
    );
    assert!(
        frames.iter().filter(|f| f.0 == "recurse").all(|f| f.2.is_none()),
        "no line from a corrupt line table: {frames:?}"
    );
    for variables in recurse_variables(&snapshot) {
        let names: Vec<&str> = variables.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["n", "ctx", "frame"], "the DIEs are still read");
    }
}

#[test]
fn a_corrupt_unit_costs_that_unit_only() {
    // The unit of hang.c comes after crash.c's: recurse (in crash.c) keeps its lines and
    // variables.
    let hang = unit_extent("hang.c");
    let dir = tempfile::tempdir().expect("temp dir");
    let program = corrupt_copy(dir.path(), ".debug_info", hang.start..hang.start + 16);
    let (snapshot, stderr, frames) = snapshot_of_corrupt(&program);
    let warning = the_warning(&snapshot, &stderr, &program, ".debug_info");
    assert!(
        warning.contains(&format!("offset {:#x}", hang.start)),
        "the warning says where: {warning}"
    );
    let recurse_line = marked_line("crash.c", "recurse(n - 1");
    assert!(
        frames
            .iter()
            .filter(|f| f.0 == "recurse")
            .skip(1)
            .all(|f| f.1.as_deref() == Some("crash.c") && f.2 == Some(recurse_line)),
        "{frames:?}"
    );
    for variables in recurse_variables(&snapshot) {
        assert_eq!(variables.len(), 3, "{variables:?}");
    }
}

#[test]
fn a_corrupt_info_section_leaves_symbols_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = corrupt_copy(dir.path(), ".debug_info", 0..usize::MAX);
    let (snapshot, stderr, frames) = snapshot_of_corrupt(&program);
    let warning = the_warning(&snapshot, &stderr, &program, ".debug_info");
    assert!(
        warning.ends_with("no source lines or variables for the units concerned"),
        "{warning}"
    );
    assert!(frames
        .iter()
        .filter(|f| f.0 == "recurse")
        .all(|f| f.1.is_none() && f.2.is_none()));
    assert!(recurse_variables(&snapshot).iter().all(Vec::is_empty));
}

#[test]
fn a_corrupt_abbreviation_table_is_said() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = corrupt_copy(dir.path(), ".debug_abbrev", 0..usize::MAX);
    let (snapshot, stderr, frames) = snapshot_of_corrupt(&program);
    let warning = the_warning(&snapshot, &stderr, &program, ".debug_abbrev");
    assert!(
        warning.ends_with("no source lines or variables for the units concerned"),
        "{warning}"
    );
    assert!(frames.iter().filter(|f| f.0 == "recurse").all(|f| f.2.is_none()));
    assert!(recurse_variables(&snapshot).iter().all(Vec::is_empty));
}

#[test]
fn a_corrupt_string_section_gives_no_garbled_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = corrupt_copy(dir.path(), ".debug_str", 0..usize::MAX);
    let (snapshot, stderr, _) = snapshot_of_corrupt(&program);
    let warning = the_warning(&snapshot, &stderr, &program, ".debug_str");
    assert!(warning.ends_with("names read from it are left out"), "{warning}");
    let variables = recurse_variables(&snapshot);
    assert!(!variables.is_empty());
    for (name, ty) in variables.iter().flatten() {
        for text in [name, ty] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER),
                "a garbled name: {text:?}"
            );
        }
    }
    // The parameters whose names gcc writes inline are still there.
    assert!(
        variables.iter().all(|v| v.iter().any(|(n, _)| n == "n")),
        "{variables:?}"
    );
}
