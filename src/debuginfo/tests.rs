//! Tests against real processes: fixtures from `tests/fixtures/debuginfo/` are compiled with the
//! system compiler, run, and looked at through their real maps and memory, with `nm` and the
//! fixtures' own printed addresses as the independent oracle.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::memory::MemoryReader;

mod minidebuginfo;
mod tailcall;

// ---------------------------------------------------------------------------------------------
// Helpers: building fixtures, running them, reading their memory, oracles.
// ---------------------------------------------------------------------------------------------

/// The fixture directory of this module.
fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debuginfo")
}

/// Runs `program args`, panicking with its output when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compiles fixture `source` into `dir/name` with `compiler` and `flags`.
fn build(dir: &Path, compiler: &str, source: &str, name: &str, flags: &[&str]) -> PathBuf {
    let output = dir.join(name);
    let source = fixture_dir().join(source);
    let mut args: Vec<&str> = flags.to_vec();
    let (source, output_str) = (
        source.to_str().unwrap().to_string(),
        output.to_str().unwrap().to_string(),
    );
    args.extend([source.as_str(), "-o", output_str.as_str()]);
    run(compiler, &args);
    output
}

/// The 1-based line of the fixture `source` carrying `LINE:<marker>`.
fn marker_line(source: &str, marker: &str) -> u32 {
    let text = std::fs::read_to_string(fixture_dir().join(source)).unwrap();
    let tag = format!("LINE:{marker} ");
    let index = text
        .lines()
        .position(|l| l.contains(&tag) || l.ends_with(&format!("LINE:{marker}")));
    u32::try_from(index.unwrap_or_else(|| panic!("no marker {marker} in {source}")) + 1).unwrap()
}

/// `(address, size)` of a defined symbol as `nm` reports it (`dynamic`: from `.dynsym`).
fn nm_symbol(binary: &Path, name: &str, dynamic: bool) -> (u64, u64) {
    let mut args = vec!["-S", "--defined-only"];
    if dynamic {
        args.push("-D");
    }
    args.push(binary.to_str().unwrap());
    let listing = run("nm", &args);
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [address, size, _kind, symbol] = fields[..] {
            let bare = symbol.split('@').next().unwrap_or(symbol);
            if bare == name {
                return (
                    u64::from_str_radix(address, 16).unwrap(),
                    u64::from_str_radix(size, 16).unwrap(),
                );
            }
        }
    }
    panic!("nm finds no {name} in {}", binary.display());
}

/// A running fixture; killed when dropped.
struct Target {
    child: Child,
    /// `key=value` lines it printed before `ready`.
    printed: HashMap<String, String>,
}

impl Target {
    /// Starts `binary` and waits for its `ready` line.
    fn start(binary: &Path) -> Self {
        Self::start_with(binary, &[])
    }

    /// Starts `binary args...` and waits for its `ready` line.
    fn start_with(binary: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut printed = HashMap::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("fixture exited before ready").unwrap();
            if line == "ready" {
                break;
            }
            if let Some((key, value)) = line.split_once('=') {
                printed.insert(key.to_string(), value.to_string());
            }
        }
        Self { child, printed }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// An address the fixture printed (`%p` / `%#lx`).
    fn address(&self, key: &str) -> u64 {
        let text = self
            .printed
            .get(key)
            .unwrap_or_else(|| panic!("fixture did not print {key}"));
        u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap()
    }

    /// Its memory, read without stopping it.
    fn memory(&self) -> ProcMem {
        ProcMem {
            file: std::fs::File::open(format!("/proc/{}/mem", self.pid())).unwrap(),
        }
    }

    /// Reads its maps and loads its objects.
    fn objects_with(&self, search: &DebugSearch) -> ProcessObjects {
        let maps = read_maps(self.pid()).unwrap();
        ProcessObjects::load_with(&maps, &self.memory(), search).unwrap()
    }

    /// The user pc of its main thread once it blocks in syscall `number` (/proc/PID/syscall).
    fn pc_in_syscall(&self, number: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(format!("/proc/{}/syscall", self.pid())).unwrap_or_default();
            let fields: Vec<&str> = text.split_whitespace().collect();
            if fields.first().and_then(|f| f.parse::<u64>().ok()) == Some(number) {
                let pc = fields.last().unwrap();
                return u64::from_str_radix(pc.trim_start_matches("0x"), 16).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "target never blocked in syscall {number}: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny [`MemoryReader`] over `/proc/PID/mem` (pread), standing in for the tracer's reader.
struct ProcMem {
    file: std::fs::File,
}

impl MemoryReader for ProcMem {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], addr + done as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => done += n,
            }
        }
        done
    }
}

/// A debug search that finds nothing system-wide (an empty root), for self-made debug files.
fn private_search(root: &Path) -> DebugSearch {
    DebugSearch {
        roots: vec![root.to_path_buf()],
        ..DebugSearch::default()
    }
}

/// The outermost (real function) frame.
fn outer(frames: &[SymbolizedFrame]) -> &SymbolizedFrame {
    let last = frames.last().expect("symbolize never returns an empty list");
    assert!(!last.inlined, "outermost frame must not be inlined: {frames:?}");
    assert!(frames[..frames.len() - 1].iter().all(|f| f.inlined), "{frames:?}");
    last
}

/// Checks the C fixture's own functions: names, offsets, files, lines, bias. `symbols_from` is the
/// file `nm` reads the ELF addresses from (the binary, or its debug file when it is stripped).
/// With `exact_lines` (-O0) an entry address must map to the function's first line, otherwise to
/// one of its first lines.
fn check_target_functions(
    target: &Target,
    binary: &Path,
    symbols_from: &Path,
    objects: &ProcessObjects,
    exact_lines: bool,
) {
    let leaf = target.address("leaf_function");
    let exe = objects.find(leaf).expect("leaf_function is in a loaded object");
    assert_eq!(exe.path, binary.to_str().unwrap());
    assert!(exe.elf.is_some());
    assert!(exe.has_dwarf());
    assert!(exe.is_executable_address(leaf));
    let (leaf_nm, leaf_size) = nm_symbol(symbols_from, "leaf_function", false);
    assert_eq!(
        exe.bias,
        leaf.wrapping_sub(leaf_nm),
        "bias = runtime address - ELF address"
    );
    for (name, runtime, line) in [
        ("leaf_function", leaf, marker_line("target.c", "leaf_function")),
        (
            "local_function",
            target.address("local_function"),
            marker_line("target.c", "local_function"),
        ),
    ] {
        let frames = exe.symbolize(runtime);
        let frame = outer(&frames);
        assert_eq!(frame.symbol.as_deref(), Some(name), "{frames:?}");
        assert_eq!(frame.offset, Some(0));
        assert!(
            frame.file.as_deref().is_some_and(|f| f.ends_with("/target.c")),
            "{frames:?}"
        );
        if exact_lines {
            assert_eq!(frame.line, Some(line), "{name}: {frames:?}");
        } else {
            assert!(
                frame.line.is_some_and(|l| (line..=line + 3).contains(&l)),
                "{name}: {frames:?}"
            );
        }
    }
    let last_byte = exe.symbolize(leaf + leaf_size - 1);
    assert_eq!(outer(&last_byte).symbol.as_deref(), Some("leaf_function"));
    assert_eq!(outer(&last_byte).offset, Some(leaf_size - 1));
}

/// Finds an address of `leaf_function` where `inlined_helper` is inlined and checks its frames.
fn check_inlined_frames(exe: &LoadedObject, binary: &Path) {
    let (leaf_nm, leaf_size) = nm_symbol(binary, "leaf_function", false);
    let body_line = marker_line("target.c", "inlined_body");
    let call_line = marker_line("target.c", "inline_call");
    let mut seen_body = false;
    let mut inlined_addresses = 0;
    for elf_address in leaf_nm..leaf_nm + leaf_size {
        let frames = exe.symbolize(elf_address.wrapping_add(exe.bias));
        let outermost = outer(&frames);
        assert_eq!(outermost.symbol.as_deref(), Some("leaf_function"), "{frames:?}");
        if frames.len() < 2 {
            continue;
        }
        inlined_addresses += 1;
        assert_eq!(frames.len(), 2, "{frames:?}");
        let inner = &frames[0];
        assert_eq!(inner.symbol.as_deref(), Some("inlined_helper"), "{frames:?}");
        assert!(inner.inlined);
        assert!(inner.file.as_deref().is_some_and(|f| f.ends_with("/target.c")));
        let helper_lines = marker_line("target.c", "inlined_helper")..=body_line + 1;
        assert!(
            inner.line.is_some_and(|l| helper_lines.contains(&l)),
            "{frames:?}"
        );
        seen_body |= inner.line == Some(body_line);
        assert_eq!(
            outermost.line,
            Some(call_line),
            "outer frame's line is the call site: {frames:?}"
        );
    }
    assert!(inlined_addresses > 0, "no inlined frame found in leaf_function");
    assert!(seen_body, "the loop body line of inlined_helper was never seen");
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn loaded_objects_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LoadedObject>();
    assert_send_sync::<ProcessObjects>();
}

#[test]
fn pie_executable_gets_symbols_lines_inlined_frames_and_bias() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(
        dir.path(),
        "cc",
        "target.c",
        "pie",
        &["-g", "-O0", "-pie", "-fPIE"],
    );
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    check_target_functions(&target, &binary, &binary, &objects, true);
    let exe = objects.find(target.address("leaf_function")).unwrap();
    // PIE: the first segment is at ELF address 0, so the bias is where the object starts.
    assert_eq!(exe.bias, exe.base);
    assert_ne!(exe.bias, 0);
    let readelf = run("readelf", &["-n", binary.to_str().unwrap()]);
    let build_id = readelf
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .unwrap();
    assert_eq!(exe.build_id.as_deref(), Some(build_id));
    // always_inline inlines even at -O0.
    check_inlined_frames(exe, &binary);
}

#[test]
fn non_pie_executable_has_zero_bias() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "nopie", &["-g", "-O0", "-no-pie"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    check_target_functions(&target, &binary, &binary, &objects, true);
    assert_eq!(objects.find(target.address("leaf_function")).unwrap().bias, 0);
}

#[test]
fn optimized_code_reports_inlined_frames() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "opt", &["-g", "-O2"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    check_inlined_frames(exe, &binary);
}

#[test]
fn libc_frames_get_file_and_line_from_the_build_id_debug_file() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "libc_user", &["-g", "-O0"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&DebugSearch::default());
    let exported = target.address("clock_nanosleep");
    let libc = objects.find(exported).expect("clock_nanosleep is in libc");
    assert!(libc.path.contains("libc.so.6"), "{}", libc.path);
    let debug_file = libc
        .debug_file
        .as_deref()
        .expect("libc6-dbg provides libc's debug file");
    let build_id = libc.build_id.as_deref().unwrap();
    assert_eq!(
        debug_file,
        format!(
            "/usr/lib/debug/.build-id/{}/{}.debug",
            &build_id[..2],
            &build_id[2..]
        )
    );
    assert!(libc.has_dwarf());
    let (nm_address, _) = nm_symbol(Path::new(&libc.path), "clock_nanosleep", true);
    assert_eq!(libc.bias, exported.wrapping_sub(nm_address));

    let entry = libc.symbolize(exported);
    assert!(
        outer(&entry)
            .symbol
            .as_deref()
            .is_some_and(|s| s.contains("clock_nanosleep")),
        "{entry:?}"
    );
    assert_eq!(outer(&entry).offset, Some(0));

    // Where the target really is: blocked in clock_nanosleep (syscall 230), pc after the syscall.
    let pc = target.pc_in_syscall(230);
    assert!(libc.is_executable_address(pc));
    let frames = libc.symbolize(pc - 1);
    let real = outer(&frames);
    assert!(
        real.symbol
            .as_deref()
            .is_some_and(|s| s.contains("clock_nanosleep")),
        "{frames:?}"
    );
    assert!(real.offset.is_some_and(|o| o > 0));
    assert!(frames.iter().all(|f| f.line.is_some()), "{frames:?}");
    assert!(
        frames.iter().any(|f| f
            .file
            .as_deref()
            .is_some_and(|p| p.ends_with("/clock_nanosleep.c"))),
        "{frames:?}"
    );
}

#[test]
fn vdso_is_loaded_from_memory() {
    use object::{Object as _, ObjectSegment as _, ObjectSymbol as _};
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "vdso_user", &["-O0"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    let vdso_base = target.address("vdso");
    let vdso = objects
        .objects()
        .iter()
        .find(|o| o.path == "[vdso]")
        .expect("the vDSO is loaded");
    assert_eq!(
        vdso.base, vdso_base,
        "getauxval(AT_SYSINFO_EHDR) is the vDSO's base"
    );
    let bytes = vdso.elf.as_ref().expect("vDSO bytes were read from memory");
    // Independent parse of the copy: its lowest segment is mapped at the base.
    let file = object::File::parse(&bytes[..]).unwrap();
    let lowest = file.segments().map(|s| s.address()).min().unwrap();
    assert_eq!(vdso.bias, vdso_base - (lowest & !0xfff));
    let gettime = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok("__vdso_clock_gettime"))
        .unwrap();
    let frames = vdso.symbolize(gettime.address().wrapping_add(vdso.bias) + 1);
    let frame = outer(&frames);
    assert!(
        frame
            .symbol
            .as_deref()
            .is_some_and(|s| s.contains("clock_gettime")),
        "{frames:?}"
    );
    assert_eq!(frame.offset, Some(1));
    assert!(objects.find(vdso_base).is_some_and(|o| o.path == "[vdso]"));
}

#[test]
fn stripped_binaries_fall_back_to_dynsym_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let exported = build(
        dir.path(),
        "cc",
        "target.c",
        "exported",
        &["-g", "-O0", "-rdynamic"],
    );
    let plain = build(dir.path(), "cc", "target.c", "plain", &["-g", "-O0"]);
    let (exported_leaf, _) = nm_symbol(&exported, "leaf_function", false);
    let (plain_local, _) = nm_symbol(&plain, "local_function", false);
    for binary in [&exported, &plain] {
        run("strip", &[binary.to_str().unwrap()]);
    }

    let target = Target::start(&exported);
    let objects = target.objects_with(&private_search(dir.path()));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert!(!exe.has_dwarf());
    assert_eq!(exe.bias, target.address("leaf_function") - exported_leaf);
    let frames = exe.symbolize(target.address("leaf_function") + 2);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].symbol.as_deref(),
        Some("leaf_function"),
        ".dynsym names exported functions"
    );
    assert_eq!(frames[0].offset, Some(2));
    assert_eq!((frames[0].file.as_deref(), frames[0].line), (None, None));

    let target = Target::start(&plain);
    let objects = target.objects_with(&private_search(dir.path()));
    let local = target.address("local_function");
    let exe = objects.find(local).unwrap();
    assert_eq!(exe.bias, local - plain_local);
    let frames = exe.symbolize(local);
    assert_eq!(
        frames,
        vec![SymbolizedFrame::default()],
        "nothing names a static function of a stripped binary"
    );
}

#[test]
fn separate_debug_file_by_debuglink_with_crc_check() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "linked", &["-g", "-O0"]);
    let debug_dir = dir.path().join(".debug");
    std::fs::create_dir(&debug_dir).unwrap();
    let debug = debug_dir.join("linked.debug");
    let (b, d) = (binary.to_str().unwrap(), debug.to_str().unwrap());
    run("objcopy", &["--only-keep-debug", b, d]);
    run("strip", &["--strip-all", b]);
    run("objcopy", &[&format!("--add-gnu-debuglink={d}"), b]);

    let empty_root = tempfile::tempdir().unwrap();
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(empty_root.path()));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert_eq!(
        exe.debug_file.as_deref(),
        Some(d),
        "found in the .debug/ subdirectory"
    );
    assert!(exe.debug.is_some() && exe.has_dwarf());
    check_target_functions(&target, &binary, &debug, &objects, true);

    // A debug file whose CRC does not match is refused, with a warning.
    let mut bytes = std::fs::read(&debug).unwrap();
    bytes.push(0);
    std::fs::write(&debug, bytes).unwrap();
    let objects = target.objects_with(&private_search(empty_root.path()));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert!(exe.debug.is_none() && !exe.has_dwarf());
    assert!(
        objects
            .warnings()
            .iter()
            .any(|w| w.contains("CRC32") && w.contains("linked.debug")),
        "{:?}",
        objects.warnings()
    );
    assert_eq!(
        outer(&exe.symbolize(target.address("leaf_function"))).symbol,
        None
    );
}

#[test]
fn a_debuglink_to_the_debug_file_of_another_build_is_refused_by_build_id() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "linked", &["-g", "-O0"]);
    let other = build(dir.path(), "cc", "target.c", "other", &["-g", "-O1"]);
    let debug_dir = dir.path().join(".debug");
    std::fs::create_dir(&debug_dir).unwrap();
    // The link names the other build's debug file, whose CRC it carries: only the build ids
    // tell them apart.
    let debug = debug_dir.join("other.debug");
    let (b, o, d) = (
        binary.to_str().unwrap(),
        other.to_str().unwrap(),
        debug.to_str().unwrap(),
    );
    run("objcopy", &["--only-keep-debug", o, d]);
    run("strip", &["--strip-all", b]);
    run("objcopy", &[&format!("--add-gnu-debuglink={d}"), b]);

    let empty_root = tempfile::tempdir().unwrap();
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(empty_root.path()));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert!(exe.debug.is_none() && !exe.has_dwarf(), "{:?}", exe.debug_file);
    assert!(
        objects
            .warnings()
            .iter()
            .any(|w| w.contains("other.debug") && w.contains("build id") && w.contains("ignored")),
        "{:?}",
        objects.warnings()
    );
}

#[test]
fn separate_compressed_debug_file_by_build_id() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "by_id", &["-g", "-O2"]);
    let root = dir.path().join("debugroot");
    let readelf = run("readelf", &["-n", binary.to_str().unwrap()]);
    let build_id = readelf
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .unwrap()
        .to_string();
    let id_dir = root.join(".build-id").join(&build_id[..2]);
    std::fs::create_dir_all(&id_dir).unwrap();
    let debug = id_dir.join(format!("{}.debug", &build_id[2..]));
    let (b, d) = (binary.to_str().unwrap(), debug.to_str().unwrap());
    run(
        "objcopy",
        &["--only-keep-debug", "--compress-debug-sections=zlib", b, d],
    );
    run("strip", &["--strip-all", b]);
    assert!(
        run("readelf", &["-S", "-W", d])
            .lines()
            .any(|l| l.contains(".debug_info") && l.contains(" C ")),
        "compressed"
    );

    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(&root));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert_eq!(exe.debug_file.as_deref(), Some(d));
    assert_eq!(exe.build_id.as_deref(), Some(build_id.as_str()));
    check_inlined_frames(exe, &PathBuf::from(d));
    check_target_functions(&target, &binary, &debug, &objects, false);
}

#[test]
fn compressed_debug_sections_in_the_object_itself() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "gz", &["-g", "-gz=zlib", "-O0"]);
    assert!(run("readelf", &["-S", "-W", binary.to_str().unwrap()])
        .lines()
        .any(|l| l.contains(".debug_info") && l.contains(" C ")));
    let target = Target::start(&binary);
    let objects = target.objects_with(&private_search(dir.path()));
    check_target_functions(&target, &binary, &binary, &objects, true);
}

#[test]
fn cpp_names_are_demangled_from_dwarf_and_from_the_symbol_table() {
    let dir = tempfile::tempdir().unwrap();
    let with_dwarf = build(
        dir.path(),
        "c++",
        "widget.cpp",
        "widget_g",
        &["-g", "-O0", "-no-pie"],
    );
    let without = build(dir.path(), "c++", "widget.cpp", "widget", &["-O0", "-no-pie"]);
    for (binary, has_dwarf) in [(&with_dwarf, true), (&without, false)] {
        let (compute, _) = nm_symbol(binary, "_ZNK6shapes6Widget7computeEi", false);
        let target = Target::start(binary);
        let objects = target.objects_with(&private_search(dir.path()));
        let exe = objects
            .find(compute)
            .expect("-no-pie: ELF address is the runtime address");
        assert_eq!(exe.bias, 0);
        assert_eq!(exe.has_dwarf(), has_dwarf);
        let frames = exe.symbolize(compute + 1);
        let frame = outer(&frames);
        assert_eq!(
            frame.symbol.as_deref(),
            Some("shapes::Widget::compute(int) const"),
            "{frames:?}"
        );
        assert_eq!(frame.offset, Some(1));
        if has_dwarf {
            assert!(frame.file.as_deref().is_some_and(|f| f.ends_with("/widget.cpp")));
            assert_eq!(frame.line, Some(marker_line("widget.cpp", "compute")));
        }
    }
}

#[test]
fn deleted_executable_degrades_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "doomed", &["-g", "-O0"]);
    let (leaf_nm, _) = nm_symbol(&binary, "leaf_function", false);
    let target = Target::start(&binary);
    std::fs::remove_file(&binary).unwrap();
    let objects = target.objects_with(&private_search(dir.path()));
    let leaf = target.address("leaf_function");
    let exe = objects.find(leaf).expect("a deleted object is still listed");
    assert_eq!(exe.path, binary.to_str().unwrap());
    assert!(exe.elf.is_none() && !exe.has_dwarf());
    assert_eq!(
        exe.bias,
        leaf - leaf_nm,
        "bias from the program headers in memory"
    );
    assert!(
        objects
            .warnings()
            .iter()
            .any(|w| w.contains("deleted") && w.contains("doomed")),
        "{:?}",
        objects.warnings()
    );
    assert_eq!(exe.symbolize(leaf), vec![SymbolizedFrame::default()]);
    // The rest of the process is unaffected.
    let libc = objects.find(target.address("clock_nanosleep")).unwrap();
    assert!(libc.elf.is_some());
}

#[test]
fn addresses_outside_objects_find_nothing_and_unknown_addresses_symbolize_to_one_empty_frame() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "plain", &["-O0"]);
    let target = Target::start(&binary);
    let maps = read_maps(target.pid()).unwrap();
    let objects = ProcessObjects::load_with(&maps, &target.memory(), &private_search(dir.path())).unwrap();
    let stack = maps
        .iter()
        .find(|m| m.path.as_deref() == Some("[stack]"))
        .unwrap();
    assert!(objects.find(stack.start).is_none());
    assert!(objects.find(0).is_none());
    assert!(objects.find(u64::MAX).is_none());
    // Only objects with code (and the vDSO) are loaded, each once, sorted.
    assert!(objects.objects().windows(2).all(|w| w[0].base < w[1].base));
    let exe = objects.find(target.address("leaf_function")).unwrap();
    assert_eq!(exe.symbolize(0), vec![SymbolizedFrame::default()]);
    assert_eq!(exe.symbolize(u64::MAX), vec![SymbolizedFrame::default()]);
}

#[test]
fn symbolize_works_from_many_threads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "threads", &["-g", "-O2"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&DebugSearch::default());
    let leaf = target.address("leaf_function");
    let exported = target.address("clock_nanosleep");
    let exe = Arc::clone(objects.find(leaf).unwrap());
    let libc = Arc::clone(objects.find(exported).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (exe, libc) = (Arc::clone(&exe), Arc::clone(&libc));
            std::thread::spawn(move || {
                (0..50).all(|i| {
                    outer(&exe.symbolize(leaf + i % 4)).symbol.as_deref() == Some("leaf_function")
                        && outer(&libc.symbolize(exported + i % 8))
                            .symbol
                            .as_deref()
                            .is_some_and(|s| s.contains("clock_nanosleep"))
                })
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
}

#[test]
fn prepare_builds_the_indexes_before_any_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "prep", &["-g", "-O0"]);
    let target = Target::start(&binary);
    let objects = target.objects_with(&DebugSearch::default());
    objects.prepare();
    for object in objects.objects() {
        assert!(
            object.dwarf_error().is_none(),
            "{}: {:?}",
            object.path,
            object.dwarf_error()
        );
    }
    let libc = objects.find(target.address("clock_nanosleep")).unwrap();
    assert!(libc.has_dwarf());
}

#[test]
fn call_sites_are_found_in_lambdas_members_and_functions_alike() {
    // The call-site walk jumps over type definitions outside functions, but not inside them: gcc
    // nests a local lambda's call operator, with its code and calls, in the closure type.
    let dir = tempfile::tempdir().unwrap();
    let binary = build(
        dir.path(),
        "g++",
        "lambda_calls.cpp",
        "lambda_calls",
        &["-g", "-O2", "-fno-inline"],
    );
    let dump = run("readelf", &["--debug-dump=info", binary.to_str().unwrap()]);
    let return_pcs: Vec<u64> = dump
        .lines()
        .filter_map(|line| line.split("DW_AT_call_return_pc:").nth(1))
        .map(|value| u64::from_str_radix(value.trim().trim_start_matches("0x"), 16).unwrap())
        .collect();
    assert!(
        return_pcs.len() >= 8,
        "the fixture has its call sites: {return_pcs:x?}"
    );
    let object = LoadedObject::open_file(&binary, 0, &DebugSearch::default()).unwrap();
    for pc in &return_pcs {
        assert!(
            object.call_site(*pc).is_some(),
            "call site returning to {pc:#x} not found"
        );
    }
    // The local lambda's calls are among them: its call operator is a function of its own.
    let (lambda, _) = nm_symbol(&binary, "_ZZ3runiENKUliE_clEi", false);
    assert!(
        return_pcs
            .iter()
            .any(|pc| object.function_entry(pc - 1) == Some(lambda)),
        "no call site inside the local lambda"
    );
}

#[test]
fn corrupt_objects_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build(dir.path(), "cc", "target.c", "victim", &["-g", "-O2"]);
    let original = std::fs::read(&binary).unwrap();
    let (leaf, size) = nm_symbol(&binary, "leaf_function", false);
    let corrupt = dir.path().join("corrupt");
    let search = private_search(dir.path());
    // A deterministic spread of single-byte corruptions plus truncations.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..300 {
        let mut bytes = original.clone();
        if round % 10 == 9 {
            bytes.truncate((state as usize) % original.len());
        } else {
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % bytes.len();
                bytes[at] = (state >> 32) as u8;
            }
        }
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        std::fs::write(&corrupt, &bytes).unwrap();
        if let Ok(object) = LoadedObject::open_file(&corrupt, 0, &search) {
            object.prepare();
            for address in [leaf, leaf + size / 2, leaf + size - 1, 0, u64::MAX] {
                assert!(!object.symbolize(address).is_empty());
            }
        }
    }
}
