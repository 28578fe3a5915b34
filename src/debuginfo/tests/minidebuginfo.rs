//! MiniDebugInfo on real binaries made the way Fedora's RPM build makes them: the fixture
//! stripped, with the symbols of its functions that `.dynsym` lacks kept in an xz-compressed ELF
//! file in `.gnu_debugdata`; and the same binary with that section corrupt in every way.

use super::*;

/// Makes `binary` Fedora-style in place: the compressed mini debug file holds the function
/// symbols not in `.dynsym`, the binary is stripped of everything and gets it as
/// `.gnu_debugdata`. Returns the path of the compressed section contents.
fn make_fedora_style(binary: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-minidebuginfo.sh");
    run("sh", &[script.to_str().unwrap(), binary.to_str().unwrap()]);
    let mut compressed = binary.as_os_str().to_owned();
    compressed.push(".mini.xz");
    PathBuf::from(compressed)
}

/// A copy of `binary` named `name` whose `.gnu_debugdata` holds `contents`.
fn with_section(binary: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let dir = binary.parent().unwrap();
    let section = dir.join(format!("{name}.section"));
    std::fs::write(&section, contents).unwrap();
    let copy = dir.join(name);
    run(
        "objcopy",
        &[
            "--remove-section",
            ".gnu_debugdata",
            "--add-section",
            &format!(".gnu_debugdata={}", section.to_str().unwrap()),
            binary.to_str().unwrap(),
            copy.to_str().unwrap(),
        ],
    );
    copy
}

/// `bytes` compressed by `xz`.
fn xz(dir: &Path, name: &str, bytes: &[u8]) -> Vec<u8> {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    run("xz", &["-f", file.to_str().unwrap()]);
    std::fs::read(dir.join(format!("{name}.xz"))).unwrap()
}

/// The object opened at bias 0 (no debug file searched), prepared as before a stop.
fn open(binary: &Path) -> LoadedObject {
    let object = LoadedObject::open_file(
        binary,
        0,
        &DebugSearch {
            roots: Vec::new(),
            ..DebugSearch::default()
        },
    )
    .unwrap();
    object.prepare();
    object
}

/// Builds the target program into `dir`: its path, and the `nm` addresses of its static
/// `local_function` (not in .dynsym) and its exported `leaf_function`.
fn build_target(dir: &Path) -> (PathBuf, u64, u64) {
    let binary = build(dir, "cc", "target.c", "fedora", &["-g", "-O0", "-rdynamic"]);
    let (local, _) = nm_symbol(&binary, "local_function", false);
    let (leaf, _) = nm_symbol(&binary, "leaf_function", true);
    (binary, local, leaf)
}

#[test]
fn a_fedora_style_binary_names_its_static_functions_at_their_link_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (binary, local, leaf) = build_target(dir.path());
    make_fedora_style(&binary);
    let facts = ElfFacts::parse(&std::fs::read(&binary).unwrap(), "fedora").unwrap();
    assert!(
        !facts.has_symtab && !facts.has_debug_info,
        "the binary is stripped"
    );

    // In a live process (PIE: a real bias), through the objects a snapshot loads.
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    objects.prepare();
    let runtime_local = target.address("local_function");
    let exe = objects.find(runtime_local).unwrap();
    assert_eq!(
        exe.bias,
        runtime_local - local,
        "same link-time address as the unstripped one"
    );
    let frames = exe.symbolize(runtime_local + 3);
    assert_eq!(frames[0].symbol.as_deref(), Some("local_function"), "{frames:?}");
    assert_eq!(frames[0].offset, Some(3));
    assert_eq!(
        exe.function_symbol(target.address("leaf_function")),
        Some(("leaf_function".to_string(), 0)),
        ".dynsym still names the exported ones"
    );
    assert_eq!(exe.function_entry(runtime_local + 3), Some(runtime_local));
    assert!(exe.debug_warnings().is_empty(), "{:?}", exe.debug_warnings());
    assert_eq!(leaf + exe.bias, target.address("leaf_function"));

    // Without the section: nothing names the static function.
    let plain = dir.path().join("plain");
    run(
        "objcopy",
        &[
            "--remove-section",
            ".gnu_debugdata",
            binary.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    );
    let object = open(&plain);
    assert_eq!(object.function_symbol(local), None);
    assert_eq!(
        object.function_symbol(leaf).map(|(name, _)| name).as_deref(),
        Some("leaf_function")
    );
}

#[test]
fn a_corrupt_gnu_debugdata_costs_only_its_symbols_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (binary, local, leaf) = build_target(dir.path());
    let unstripped = dir.path().join("unstripped");
    std::fs::copy(&binary, &unstripped).unwrap();
    let good = std::fs::read(make_fedora_style(&binary)).unwrap();
    assert_eq!(
        open(&binary)
            .function_symbol(local)
            .map(|(name, _)| name)
            .as_deref(),
        Some("local_function")
    );

    let mut bad_crc = good.clone();
    // The block's CRC64: the 8 bytes before the index, whose size the 12-byte stream footer
    // gives ((Backward Size + 1) * 4, little-endian at its bytes 4..8).
    let footer = good.len() - 12;
    let backward = u32::from_le_bytes(good[footer + 4..footer + 8].try_into().unwrap());
    let at = footer - (backward as usize + 1) * 4 - 8;
    bad_crc[at] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "not a valid xz stream",
        ),
        ("bad-crc", bad_crc, "not a valid xz stream"),
        ("not-xz", b"plain bytes, not xz".to_vec(), "not a valid xz stream"),
        (
            "not-elf",
            xz(dir.path(), "text", b"a text file, compressed, not ELF"),
            "its contents are not an ELF file",
        ),
        (
            "bomb",
            xz(dir.path(), "zeros", &vec![0u8; 8 << 20]),
            "decompresses to more than 1048576 bytes",
        ),
    ];
    for (name, contents, why) in cases {
        let corrupt = with_section(&binary, name, &contents);
        let object = open(&corrupt);
        assert_eq!(object.function_symbol(local), None, "{name}");
        assert_eq!(
            object.function_symbol(leaf).map(|(name, _)| name).as_deref(),
            Some("leaf_function"),
            "{name}: .dynsym still names the exported functions"
        );
        let warnings = object.debug_warnings();
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
        let expected_start = format!("{}: .gnu_debugdata is corrupt ({why}", corrupt.display());
        assert!(
            warnings[0].starts_with(&expected_start)
                && warnings[0].ends_with("): functions not in .dynsym are left unnamed"),
            "{name}: {warnings:?}"
        );
    }

    // An object with its own .symtab does not read (nor complain about) its MiniDebugInfo.
    let with_symtab = with_section(&unstripped, "with-symtab", b"junk");
    let object = open(&with_symtab);
    assert_eq!(
        object.function_symbol(local).map(|(name, _)| name).as_deref(),
        Some("local_function")
    );
    assert!(
        object.debug_warnings().is_empty(),
        "{:?}",
        object.debug_warnings()
    );
}
