//! Tests on real cores: `gcore` of a parked `c-examples/threads` (checked against the live
//! process and against gdb reading the same core), a core the kernel wrote for
//! `c-examples/crash segv` (when `core_pattern` names a file), and damaged cores; plus the
//! memory reader over hand-made segments.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::*;
use crate::debuginfo::{read_maps, ElfFacts};
use crate::memory::MemoryReader;
use crate::test_support::kernel_core::kernel_core;
use crate::tracer::ProcessMemory;

/// Bytes compared at each thread's stack pointer.
const STACK_BYTES: usize = 64;

/// A `gcore` of `threads 3 5` and what the live process showed.
///
/// The files are deleted once made (the fixture lives in a static, never dropped); the core
/// stays mapped.
struct GcoreFixture {
    /// The program's path (canonical) while it ran.
    exe: String,
    /// The program's build id, from the file.
    exe_build_id: Option<Vec<u8>>,
    /// The core gcore wrote, mapped.
    core: SharedBytes,
    /// `(tid, rip, rsp)` of each thread as gdb reads the core.
    gdb_registers: Vec<(i32, u64, u64)>,
    /// The live process's pid.
    pid: i32,
    /// The live process's thread ids, sorted.
    tids: Vec<i32>,
    /// The live process's maps.
    maps: Vec<MapEntry>,
    /// `(rsp, bytes)` of each thread of the core, the bytes read from the live process.
    stacks: Vec<(u64, Vec<u8>)>,
    /// The executable's first 64 bytes at its load address, read live: `(address, bytes)`.
    header: (u64, Vec<u8>),
}

/// Runs `gdb -nx -batch` with `args` and returns its stdout.
fn gdb(args: &[&str]) -> String {
    let output = Command::new("gdb")
        .env("LC_ALL", "C")
        .args(["-nx", "-batch", "-iex", "set debuginfod enabled off"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("gdb runs");
    assert!(
        output.status.success(),
        "gdb {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The gcore fixture, made once for all the tests that read it.
fn gcore_fixture() -> &'static GcoreFixture {
    static FIXTURE: OnceLock<GcoreFixture> = OnceLock::new();
    FIXTURE.get_or_init(make_gcore_fixture)
}

fn make_gcore_fixture() -> GcoreFixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let exe = crate::test_support::build_example(dir.path(), "threads");
    let exe = std::fs::canonicalize(exe).expect("canonical program path");
    let mut child = Command::new(&exe)
        .args(["3", "5"])
        // One malloc arena: no 64 MiB arena reservation per thread in the core.
        .env("MALLOC_ARENA_MAX", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("threads starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the program's stdout");
    assert_eq!(line.trim(), "ready");
    let pid = i32::try_from(child.id()).expect("pid fits");

    let mut tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task directory")
        .map(|e| {
            e.expect("task entry")
                .file_name()
                .to_string_lossy()
                .parse()
                .expect("numeric tid")
        })
        .collect();
    tids.sort_unstable();
    let maps = read_maps(pid).expect("maps");
    let live = ProcessMemory::new(pid);
    let exe_text = exe.to_string_lossy().into_owned();
    let base = maps
        .iter()
        .find(|m| m.offset == 0 && m.path.as_deref() == Some(exe_text.as_str()))
        .expect("the executable is mapped")
        .start;
    let header = live
        .read_exact(base, 64)
        .expect("the executable's header is readable");

    let core = dir.path().join("threads.core");
    gdb(&[
        "-p",
        &pid.to_string(),
        "-ex",
        &format!("gcore {}", core.display()),
    ]);
    assert!(core.exists(), "gcore wrote no core");

    // The threads are still parked: what is at their stack pointers has not changed since.
    let parsed = CoreFile::open(&core).expect("the gcore core reads");
    let stacks = parsed
        .threads()
        .iter()
        .map(|t| {
            let rsp = t.registers.rsp;
            (
                rsp,
                live.read_exact(rsp, STACK_BYTES).expect("live stack readable"),
            )
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let gdb_registers = gdb_registers(&exe, &core);
    let exe_bytes = std::fs::read(&exe).expect("read the program");
    let exe_build_id = ElfFacts::parse(&exe_bytes, "threads")
        .expect("the program parses")
        .build_id;
    let core = SharedBytes::map_file(&core).expect("map the core");
    drop(dir);
    GcoreFixture {
        exe: exe_text,
        exe_build_id,
        core,
        gdb_registers,
        pid,
        tids,
        maps,
        stacks,
        header: (base, header),
    }
}

/// `(tid, rip, rsp)` of every thread of `core`, as gdb reads it.
fn gdb_registers(exe: &Path, core: &Path) -> Vec<(i32, u64, u64)> {
    let text = gdb(&[
        exe.to_str().expect("utf-8 path"),
        core.to_str().expect("utf-8 path"),
        "-ex",
        "thread apply all info registers rip rsp",
    ]);
    let mut threads = Vec::new();
    let mut current: Option<(i32, Option<u64>, Option<u64>)> = None;
    let hex =
        |word: Option<&str>| word.and_then(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok());
    for line in text.lines() {
        if line.starts_with("Thread ") {
            if let Some((tid, Some(rip), Some(rsp))) = current.take() {
                threads.push((tid, rip, rsp));
            }
            let lwp = line.split("LWP ").nth(1).expect("thread header names its LWP");
            let digits: String = lwp.chars().take_while(char::is_ascii_digit).collect();
            current = Some((digits.parse().expect("LWP number"), None, None));
        } else if let Some((_, rip, rsp)) = current.as_mut() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("rip") => *rip = hex(words.next()),
                Some("rsp") => *rsp = hex(words.next()),
                _ => {}
            }
        }
    }
    if let Some((tid, Some(rip), Some(rsp))) = current {
        threads.push((tid, rip, rsp));
    }
    threads.sort_unstable();
    threads
}

#[test]
fn gcore_threads_are_the_live_threads_with_gdbs_registers() {
    let fixture = gcore_fixture();
    let core = CoreFile::from_bytes(fixture.core.clone()).expect("core reads");
    let mut tids: Vec<i32> = core.threads().iter().map(|t| t.tid).collect();
    tids.sort_unstable();
    assert_eq!(tids, fixture.tids, "the core's threads are the live process's");
    assert_eq!(core.threads().len(), 4, "main and 3 parked threads");

    let mut ours: Vec<(i32, u64, u64)> = core
        .threads()
        .iter()
        .map(|t| (t.tid, t.registers.rip, t.registers.rsp))
        .collect();
    ours.sort_unstable();
    assert_eq!(ours, fixture.gdb_registers, "rip/rsp as gdb reads them");

    for thread in core.threads() {
        assert_eq!(
            thread.fpregs.as_ref().map(Vec::len),
            Some(512),
            "FXSAVE area of {}",
            thread.tid
        );
        assert!(
            thread.xstate.as_ref().is_some_and(|x| x.len() >= 576),
            "XSAVE area of {}",
            thread.tid
        );
    }
    let process = core.process().expect("NT_PRPSINFO");
    assert_eq!(process.pid, fixture.pid);
    assert_eq!(process.name, "threads");
    // gcore writes the program's path (and the arguments gdb knows of: none when attached).
    assert!(
        process.args.starts_with(&fixture.exe),
        "psargs: {:?}",
        process.args
    );
}

#[test]
fn gcore_file_mappings_are_proc_maps() {
    let fixture = gcore_fixture();
    let core = CoreFile::from_bytes(fixture.core.clone()).expect("core reads");
    let exe = fixture.exe.clone();
    let libc_path = fixture
        .maps
        .iter()
        .filter_map(|m| m.file_path())
        .find(|p| {
            p.rsplit('/')
                .next()
                .is_some_and(|b| b.starts_with("libc.so") || b.starts_with("libc-"))
        })
        .expect("libc is mapped")
        .to_string();
    for path in [&exe, &libc_path] {
        let live: Vec<&MapEntry> = fixture
            .maps
            .iter()
            .filter(|m| m.path.as_deref() == Some(path.as_str()))
            .collect();
        assert!(!live.is_empty());
        for map in live {
            let ours = core
                .mappings()
                .iter()
                .find(|m| m.start == map.start && m.end == map.end)
                .unwrap_or_else(|| panic!("no core mapping for {map:?}"));
            assert_eq!(ours.path, map.path);
            assert_eq!(ours.offset, map.offset, "{path}");
            assert_eq!(
                (ours.readable, ours.writable, ours.executable),
                (map.readable, map.writable, map.executable),
                "permissions of {map:?}"
            );
            assert_eq!((ours.device, ours.inode), ((0, 0), 0));
        }
    }
    assert_eq!(core.executable_path().as_deref(), Some(exe.as_str()));
    assert_eq!(core.executable_mapping().map(|m| m.start), Some(fixture.header.0));
    assert!(core.auxv().get(AT_ENTRY).is_some() && core.auxv().get(AT_PHDR).is_some());
}

#[test]
fn gcore_memory_is_the_live_memory() {
    let fixture = gcore_fixture();
    let core = CoreFile::from_bytes(fixture.core.clone()).expect("core reads");
    let (base, header) = &fixture.header;
    assert_eq!(
        core.memory().read_exact(*base, header.len()).as_ref(),
        Some(header)
    );
    assert_eq!(fixture.stacks.len(), fixture.tids.len());
    for (rsp, live) in &fixture.stacks {
        assert_eq!(
            core.memory().read_exact(*rsp, STACK_BYTES).as_ref(),
            Some(live),
            "stack at {rsp:#x}"
        );
    }
    // Nothing is read where nothing is mapped: not zeros.
    let mut byte = [0u8; 1];
    assert_eq!(core.memory().read_at(0x10, &mut byte), 0);
}

#[test]
fn gcore_build_id_is_the_files() {
    let fixture = gcore_fixture();
    let core = CoreFile::from_bytes(fixture.core.clone()).expect("core reads");
    assert!(
        fixture.exe_build_id.is_some(),
        "the example is linked with a build id"
    );
    let mapping = core.executable_mapping().expect("executable mapping");
    assert_eq!(core.build_id(mapping), fixture.exe_build_id);
    // Every ELF object's build id is in the core (its first page is dumped).
    let libc = core
        .mappings()
        .iter()
        .find(|m| m.offset == 0 && m.path.as_deref().is_some_and(|p| p.contains("/libc.so")))
        .expect("libc is mapped");
    assert!(
        core.build_id(libc).is_some_and(|id| id.len() >= 16),
        "libc's build id"
    );
}

/// The first PT_NOTE of `bytes` as `(offset, size)` and the first PT_LOAD with file bytes as
/// `(offset, size)`, read from the program headers with plain offsets (an independent reading).
fn first_note_and_load(bytes: &[u8]) -> ((usize, usize), (usize, usize)) {
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let half = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap()) as usize;
    let (phoff, phnum) = (word(0x20), half(0x38));
    let mut note = None;
    let mut load = None;
    for i in 0..phnum {
        let ph = phoff + 56 * i;
        let kind = u32::from_le_bytes(bytes[ph..ph + 4].try_into().unwrap());
        let (offset, filesz) = (word(ph + 8), word(ph + 32));
        if kind == 4 && note.is_none() {
            note = Some((offset, filesz));
        }
        if kind == 1 && filesz > 0 && load.is_none() {
            load = Some((offset, filesz));
        }
    }
    (note.expect("a note segment"), load.expect("a load segment"))
}

/// Cuts `whole` (a core) at 10 lengths across its header, program headers, segments and
/// notes: each cut is a `Truncated` error unless the headers and notes are whole, and then the
/// cut segment reads up to the cut and no further.
fn check_cuts(whole: &[u8]) {
    let ((note_at, note_len), (load_at, load_len)) = first_note_and_load(whole);
    let note_end = note_at + note_len;
    let phend = 64 + 56 * usize::from(u16::from_le_bytes([whole[0x38], whole[0x39]]));
    let cuts = [
        10,
        40,
        64 + 20,
        phend - 1,
        load_at + 100,
        load_at + load_len / 2,
        note_at + 10,
        note_at + note_len / 2,
        note_end - 1,
        whole.len() - 1,
    ];
    for len in cuts {
        let result = CoreFile::from_bytes(SharedBytes::from_vec(whole[..len].to_vec()));
        if len < phend || len < note_end {
            assert!(
                matches!(result, Err(CoreError::Truncated { .. })),
                "cut at {len}: {result:?}"
            );
            continue;
        }
        let core = result.unwrap_or_else(|e| panic!("cut at {len}, after the notes: {e}"));
        if core.truncated_segments() == 0 {
            // Cut after every segment's bytes (gdb writes section headers last).
            let end = core.segments().iter().map(|s| s.file_offset + s.file_size).max();
            assert!(end.is_some_and(|end| end <= len as u64), "cut at {len}");
            continue;
        }
        let segment = core
            .segments()
            .iter()
            .find(|s| s.available < s.file_size)
            .expect("a cut segment")
            .clone();
        let mut buf = vec![0u8; usize::try_from(segment.file_size).unwrap()];
        let read = core.memory().read_at(segment.vaddr, &mut buf);
        assert_eq!(read as u64, segment.available, "cut at {len}");
        let from = usize::try_from(segment.file_offset).unwrap();
        assert_eq!(&buf[..read], &whole[from..from + read]);
    }
}

#[test]
fn cut_gcore_cores_are_errors() {
    check_cuts(&gcore_fixture().core);
}

#[test]
fn damaged_headers_and_notes_never_panic() {
    let fixture = gcore_fixture();
    let mut bytes = fixture.core.to_vec();
    let ((note_at, note_len), _) = first_note_and_load(&bytes);
    let phend = 64 + 56 * usize::from(u16::from_le_bytes([bytes[0x38], bytes[0x39]]));
    // A fixed-seed generator: the same damage every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut undo = Vec::new();
        for _ in 0..(next() % 8 + 1) {
            // The headers or the notes.
            let pick = next() as usize;
            let at = if pick.is_multiple_of(2) {
                pick / 2 % phend
            } else {
                note_at + pick / 2 % note_len
            };
            undo.push((at, bytes[at]));
            bytes[at] = next() as u8;
        }
        if let Ok(core) = CoreFile::from_bytes(SharedBytes::from_vec(bytes.clone())) {
            let _ = core.executable_path();
            for mapping in core.mappings() {
                let _ = core.build_id(mapping);
            }
        }
        for (at, byte) in undo.into_iter().rev() {
            bytes[at] = byte;
        }
    }
}

#[test]
fn other_architecture_is_named() {
    let fixture = gcore_fixture();
    let mut bytes = fixture.core.to_vec();
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let error = CoreFile::from_bytes(SharedBytes::from_vec(bytes)).expect_err("aarch64 is refused");
    assert!(
        matches!(&error, CoreError::Architecture { name } if name == "aarch64"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "aarch64 core, this ptrace reads x86-64");
}

#[test]
fn not_cores_are_errors() {
    let empty = CoreFile::from_bytes(SharedBytes::from_vec(Vec::new()));
    assert!(matches!(empty, Err(CoreError::Empty)), "{empty:?}");

    let mut state = 7u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect();
    let random = CoreFile::from_bytes(SharedBytes::from_vec(random));
    assert!(matches!(random, Err(CoreError::NotElf)), "{random:?}");

    let dir = tempfile::tempdir().expect("temporary directory");
    let program = crate::test_support::build_example(dir.path(), "threads");
    let executable = CoreFile::open(&program);
    assert!(
        matches!(&executable, Err(CoreError::NotCore { kind }) if kind.starts_with("ET_DYN")),
        "{executable:?}"
    );

    let missing = CoreFile::open(&dir.path().join("no-such-core"));
    assert!(matches!(missing, Err(CoreError::Open { .. })), "{missing:?}");
}

#[test]
fn kernel_core_of_a_segfault() {
    let build = tempfile::tempdir().expect("temporary directory");
    let program = std::fs::canonicalize(crate::test_support::build_example(build.path(), "crash")).unwrap();
    let cwd = tempfile::tempdir().expect("temporary directory");
    let path = match kernel_core(&program, &["segv"], cwd.path(), false) {
        Ok(path) => path,
        Err(why) => {
            eprintln!("NOT CHECKED: the kernel-written core part of kernel_core_of_a_segfault: {why}");
            return;
        }
    };
    let core = CoreFile::open(&path).expect("the kernel's core reads");
    let siginfo = core.siginfo().expect("NT_SIGINFO");
    assert_eq!(siginfo.signo, libc::SIGSEGV);
    // crash.c writes through crash_bad_address, 16.
    let fault = siginfo.fault(1);
    assert_eq!(fault.address, Some(16));
    assert_eq!(fault.reason, "address not mapped to object");
    assert_eq!(core.threads().first().map(|t| t.signal), Some(libc::SIGSEGV));
    let exe = program.to_string_lossy().into_owned();
    let process = core.process().expect("NT_PRPSINFO");
    assert_eq!(
        (process.name.as_str(), process.args.clone()),
        ("crash", format!("{exe} segv"))
    );
    assert_eq!(core.executable_path().as_deref(), Some(exe.as_str()));
    let bytes = std::fs::read(&program).unwrap();
    let facts = ElfFacts::parse(&bytes, "crash").unwrap();
    let mapping = core.executable_mapping().expect("executable mapping").clone();
    assert_eq!(core.build_id(&mapping), facts.build_id);

    // The kernel leaves the unmodified text of file mappings out, but for their first page:
    // past it, only the file (at the NT_FILE offset) gives the bytes.
    let text = core
        .mappings()
        .iter()
        .find(|m| m.executable && m.path.as_deref() == Some(exe.as_str()))
        .expect("the program's text mapping")
        .clone();
    let segment = core
        .segments()
        .iter()
        .find(|s| s.contains(text.start))
        .expect("its segment")
        .clone();
    assert!(
        segment.file_size < segment.mem_size,
        "the text is left out of the core: {segment:?}"
    );
    let left_out = text.start + segment.file_size;
    let mut buf = [0u8; 32];
    assert_eq!(
        core.memory().read_at(left_out, &mut buf),
        0,
        "left-out text is unreadable"
    );
    assert!(core.set_file_source(|path: &str| SharedBytes::map_file(Path::new(path)).ok()));
    assert_eq!(core.memory().read_at(left_out, &mut buf), buf.len());
    let offset = usize::try_from(text.offset + (left_out - text.start)).unwrap();
    assert_eq!(&buf[..], &bytes[offset..offset + buf.len()]);

    // The kernel writes the notes first: cuts in the segments keep what is there.
    check_cuts(&std::fs::read(&path).expect("read the kernel's core"));
}

/// A segment of the hand-made memory tests.
fn segment(vaddr: u64, mem_size: u64, file_offset: u64, file_size: u64, available: u64) -> CoreSegment {
    CoreSegment {
        vaddr,
        mem_size,
        file_offset,
        file_size,
        available,
        readable: true,
        writable: false,
        executable: false,
    }
}

#[test]
fn memory_spans_adjacent_segments_and_stops_at_gaps_and_cuts() {
    let bytes: Vec<u8> = (0..=255u8).collect();
    let segments = vec![
        segment(0x1000, 16, 0, 16, 16),
        segment(0x1010, 16, 16, 16, 16),
        // A gap at 0x1020..0x2000.
        segment(0x2000, 32, 32, 32, 8),  // the file was cut after 8 bytes
        segment(0x3000, 64, 64, 16, 16), // 48 bytes left out
        // A file mapping at 0x4000..0x4100 no segment holds but this one (gcore leaves
        // unmodified read-only mappings out entirely).
        segment(0x4080, 16, 128, 16, 16),
    ];
    let files = vec![
        FileMapping {
            start: 0x3000,
            end: 0x3040,
            offset: 0x100,
            path: "/lib/x.so".to_string(),
        },
        FileMapping {
            start: 0x4000,
            end: 0x4100,
            offset: 0,
            path: "/lib/x.so".to_string(),
        },
    ];
    let memory = CoreMemory::new(SharedBytes::from_vec(bytes), segments, files);
    let mut buf = [0u8; 40];
    assert_eq!(
        memory.read_at(0x1008, &mut buf),
        24,
        "across two adjacent segments, up to the gap"
    );
    assert_eq!(&buf[..24], &(8..32).collect::<Vec<u8>>()[..]);
    assert_eq!(memory.read_at(0x1020, &mut buf), 0, "the gap");
    assert_eq!(memory.read_at(0x2004, &mut buf), 4, "up to the cut");
    assert_eq!(memory.read_at(0x200c, &mut buf), 0, "past the cut");
    assert_eq!(memory.read_at(0x3008, &mut buf), 8, "left out, no file source");
    assert_eq!(
        memory.read_at(0x4070, &mut buf),
        0,
        "not in the core, no file source"
    );
    assert_eq!(memory.read_at(u64::MAX, &mut buf), 0);

    let file: Vec<u8> = (0..0x200u32).map(|i| (i % 251) as u8).collect();
    memory.set_file_source(move |path: &str| {
        (path == "/lib/x.so").then(|| SharedBytes::from_vec(file.clone()))
    });
    assert_eq!(
        memory.read_at(0x3008, &mut buf),
        40,
        "the core's 8 bytes, then the file's"
    );
    assert_eq!(&buf[..8], &(72..80).collect::<Vec<u8>>()[..]);
    let expected: Vec<u8> = (0x110..0x130u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(&buf[8..], &expected[..]);
    let mut tail = [0u8; 16];
    assert_eq!(
        memory.read_at(0x3038, &mut tail),
        8,
        "the file mapping ends with the segment"
    );
    // Where no segment is, the file; then the core's segment; then the file again.
    assert_eq!(memory.read_at(0x4070, &mut buf), 40);
    let file_at = |at: u32| (at % 251) as u8;
    let expected: Vec<u8> = (0x70..0x80)
        .map(file_at)
        .chain(128..144)
        .chain((0x90..0x98).map(file_at))
        .collect();
    assert_eq!(&buf[..], &expected[..]);
    assert_eq!(memory.read_at(0x40f8, &mut buf), 8, "up to the mapping's end");
    assert_eq!(
        memory.read_at(0x1020, &mut buf),
        0,
        "still nothing where no file is mapped"
    );
}

/// The core's bytes with its `NT_FILE` note's type changed, so that no reader takes it for one.
fn without_file_note(core: &[u8]) -> Vec<u8> {
    let mut bytes = core.to_vec();
    // The note header ends with n_type, then the name "CORE\0".
    let needle: Vec<u8> = [&0x4649_4c45u32.to_le_bytes()[..], b"CORE\0"].concat();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the core has an NT_FILE note");
    bytes[at..at + 4].copy_from_slice(&0x4649_4c46u32.to_le_bytes());
    bytes
}

#[test]
fn without_nt_file_the_objects_come_from_the_loaders_list() {
    let fixture = gcore_fixture();
    let with_note = CoreFile::from_bytes(fixture.core.clone()).expect("core reads");
    let core = CoreFile::from_bytes(SharedBytes::from_vec(without_file_note(&fixture.core)))
        .expect("a core without NT_FILE reads");
    assert!(
        core.warnings().iter().any(|w| w.contains("no NT_FILE note")),
        "{:?}",
        core.warnings()
    );
    // Every object of the loader's list is mapped where NT_FILE says, from the same offset,
    // with the same permissions (the loader may name a file by another path to it).
    let found: Vec<&MapEntry> = core.mappings().iter().filter(|m| m.is_file()).collect();
    assert!(
        found.len() >= 6,
        "the executable, libc and ld.so, several segments each: {found:?}"
    );
    for map in &found {
        let recorded = with_note
            .mappings()
            .iter()
            .find(|m| m.start == map.start)
            .unwrap_or_else(|| panic!("no NT_FILE mapping at {:#x}: {map:?}", map.start));
        assert_eq!(
            (recorded.offset, recorded.executable, recorded.writable),
            (map.offset, map.executable, map.writable),
            "{map:?} vs {recorded:?}"
        );
        assert_eq!(
            std::fs::canonicalize(map.path.as_deref().expect("path")).ok(),
            std::fs::canonicalize(recorded.path.as_deref().expect("path")).ok()
        );
    }
    let libc = found
        .iter()
        .find(|m| m.executable && m.path.as_deref().is_some_and(|p| p.contains("libc.so")))
        .expect("libc's text is found");
    let recorded_libc = with_note
        .mappings()
        .iter()
        .find(|m| m.start == libc.start)
        .expect("NT_FILE maps libc there");
    assert!(core.build_id(libc).is_some());
    assert_eq!(core.build_id(libc), with_note.build_id(recorded_libc));
    // The executable ran by its absolute path, found from AT_EXECFN.
    assert_eq!(core.executable_path().as_deref(), Some(fixture.exe.as_str()));
}
