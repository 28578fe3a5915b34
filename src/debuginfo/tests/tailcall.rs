//! Tail-call frames against gdb: `tailcall.c` built with `-O2` has functions that leave through a
//! `jmp`; gdb's `bt` on the same blocked process is the oracle for which frames are inserted, with
//! which pc, function and line — for one chain, for chains that share only their end, for chains
//! that share nothing, and for a chain that crosses from the executable into libc.

use std::collections::HashMap;

use super::*;
use crate::debuginfo::{TailCallError, TailCallFrame};

/// The fixture's source file.
const SOURCE: &str = "tailcall.c";

/// `pause` and `futex` on x86-64: where the fixture's threads block.
const BLOCKING_SYSCALLS: [&str; 2] = ["34", "202"];

/// Builds the fixture as the tests need it: optimized, with call-site information and sibling
/// calls.
fn build_fixture(dir: &Path) -> PathBuf {
    build(
        dir,
        "cc",
        SOURCE,
        "tailcall",
        &["-g", "-O2", "-foptimize-sibling-calls", "-pthread"],
    )
}

/// Starts the fixture in `mode` and waits until each of its threads blocks in `pause` or `futex`,
/// so that its stacks no longer change.
fn start_blocked(binary: &Path, mode: &str, threads: usize) -> Target {
    let target = Target::start_with(binary, &[mode]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let blocked: Vec<bool> = std::fs::read_dir(format!("/proc/{}/task", target.pid()))
            .unwrap()
            .flatten()
            .map(|task| {
                let syscall = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
                let number = syscall.split_whitespace().next().unwrap_or("");
                BLOCKING_SYSCALLS.contains(&number)
            })
            .collect();
        if blocked.len() == threads && blocked.iter().all(|b| *b) {
            // Blocked in the syscall itself, not on the way in: let it settle.
            std::thread::sleep(Duration::from_millis(50));
            return target;
        }
        assert!(Instant::now() < deadline, "{mode}: the fixture never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One frame of gdb's `bt`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct GdbFrame {
    /// Function name as gdb prints it.
    function: String,
    /// The pc, when gdb prints one (`#N  0x... in f`).
    pc: Option<u64>,
    /// Base name of the source file, and the line.
    location: Option<(String, u32)>,
}

/// gdb's `thread apply all bt` of process `pid`, by thread id.
fn gdb_backtraces(pid: i32) -> HashMap<i32, Vec<GdbFrame>> {
    let output = Command::new("gdb")
        .args(["-nx", "-batch", "-p", &pid.to_string()])
        .args(["-ex", "set debuginfod enabled off"])
        .args(["-ex", "set pagination off"])
        .args(["-ex", "set backtrace past-main on"])
        .args(["-ex", "thread apply all bt"])
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut threads: HashMap<i32, Vec<GdbFrame>> = HashMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Thread ") {
            current = rest
                .split("(LWP ")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .and_then(|s| s.trim().parse::<i32>().ok());
            if let Some(tid) = current {
                threads.insert(tid, Vec::new());
            }
            continue;
        }
        let (Some(tid), Some(rest)) = (current, line.strip_prefix('#')) else {
            continue;
        };
        // "#1  0x000055c39ca1d2ad in b (n=3) at /path/tailcall.c:34" or "#0  f (...) at file:line"
        let body = rest.split_once(' ').map_or("", |x| x.1).trim_start();
        let (pc, named) = match body.split_once(" in ") {
            Some((address, named)) if address.starts_with("0x") => {
                (u64::from_str_radix(&address[2..], 16).ok(), named)
            }
            _ => (None, body),
        };
        let location = line.rsplit_once(" at ").and_then(|(_, place)| {
            let (file, number) = place.rsplit_once(':')?;
            let base = Path::new(file).file_name()?.to_string_lossy().into_owned();
            Some((base, number.trim().parse().ok()?))
        });
        threads.entry(tid).or_default().push(GdbFrame {
            function: named.split(' ').next().unwrap_or("").to_string(),
            pc,
            location,
        });
    }
    assert!(
        !threads.is_empty(),
        "gdb printed no backtrace:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    threads
}

/// The position of the frame of `function` in gdb's frames.
fn position(frames: &[GdbFrame], function: &str) -> usize {
    frames
        .iter()
        .position(|f| f.function == function)
        .unwrap_or_else(|| panic!("gdb shows no {function}: {frames:#?}"))
}

/// Checks our tail-call frames against the frames gdb shows between the same callee and caller.
fn assert_same_frames(ours: &[TailCallFrame], gdb: &[GdbFrame], what: &str) {
    let ours_seen: Vec<GdbFrame> = ours
        .iter()
        .map(|tail| GdbFrame {
            function: tail.frame.symbol.clone().unwrap_or_default(),
            pc: Some(tail.pc),
            location: tail
                .frame
                .file
                .as_deref()
                .zip(tail.frame.line)
                .map(|(file, line)| {
                    let base = Path::new(file)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    (base, line)
                }),
        })
        .collect();
    assert_eq!(ours_seen, gdb, "{what}: tail-call frames differ from gdb's");
}

#[test]
fn tail_call_chains_are_found_as_gdb_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_fixture(dir.path());
    let (b_elf, _) = nm_symbol(&binary, "b", false);
    // mode, threads, callee, caller, whether the chains are ambiguous (gdb inserts nothing)
    let cases = [
        ("direct", 1, "b", "main", false),
        ("partial", 1, "b", "main", false),
        ("ambiguous", 1, "b", "main", true),
        ("join", 2, "__pthread_clockjoin_ex", "main", false),
    ];
    for (mode, threads, callee, caller, ambiguous) in cases {
        let target = start_blocked(&binary, mode, threads);
        let objects = target.objects_with(&DebugSearch::default());
        let gdb = gdb_backtraces(target.pid());
        let frames = &gdb[&target.pid()];
        let (callee_at, caller_at) = (position(frames, callee), position(frames, caller));
        let callee_pc = frames[callee_at].pc.expect("a caller frame has a pc in gdb");
        let caller_pc = frames[caller_at].pc.expect("a caller frame has a pc in gdb");

        let callee_object = objects.find(callee_pc - 1).unwrap();
        let entry = callee_object
            .function_entry(callee_pc - 1)
            .expect("the callee's entry is known");
        if callee == "b" {
            assert_eq!(
                entry,
                b_elf.wrapping_add(callee_object.bias),
                "{mode}: entry of b"
            );
        }
        let result = objects.tail_call_chain(caller_pc, entry);
        let gdb_between = &frames[callee_at + 1..caller_at];
        if !ambiguous {
            let ours = result.unwrap_or_else(|e| panic!("{mode}: {e}"));
            assert!(!ours.is_empty(), "{mode}: gdb shows {gdb_between:#?}");
            assert_same_frames(&ours, gdb_between, mode);
            assert_eq!(objects.tail_call_frames(caller_pc, entry), ours);
        } else {
            assert!(gdb_between.is_empty(), "{mode}: gdb shows {gdb_between:#?}");
            assert!(
                matches!(result, Err(TailCallError::Ambiguous(_))),
                "{mode}: {result:?}"
            );
            assert!(objects.tail_call_frames(caller_pc, entry).is_empty());
        }
        match mode {
            "direct" => {
                let ours = objects.tail_call_frames(caller_pc, entry);
                assert_eq!(ours[0].frame.line, Some(marker_line(SOURCE, "a_tail")));
                assert_eq!(ours[0].object, binary.to_str().unwrap());
                assert!(!ours[0].frame.inlined);
            }
            "partial" => {
                // pick -> left|right -> funnel -> b: only funnel's jump is common to both chains.
                let ours = objects.tail_call_frames(caller_pc, entry);
                assert_eq!(ours[0].frame.line, Some(marker_line(SOURCE, "funnel_tail")));
            }
            "join" => {
                // The executable's call to pthread_join goes through the PLT; its tail call
                // frame is libc's.
                let ours = objects.tail_call_frames(caller_pc, entry);
                assert!(ours[0].object.contains("libc.so"), "{ours:?}");
                assert_ne!(objects.find(caller_pc).unwrap().path, ours[0].object);
            }
            _ => {}
        }
        // A direct call is no tail call: b called by blocker, or whatever b's frame is called by.
        let b_caller = frames
            .iter()
            .position(|f| f.function == "b")
            .and_then(|at| frames.get(at + 1))
            .filter(|f| f.function == "blocker");
        if let Some(blocker) = b_caller {
            let direct = objects.tail_call_chain(blocker.pc.unwrap(), entry);
            assert_eq!(direct, Ok(Vec::new()));
        }
    }
}

#[test]
fn snapshots_of_tail_calling_programs_match_gdb_backtraces() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_fixture(dir.path());
    for (mode, threads) in [("direct", 1), ("partial", 1), ("ambiguous", 1), ("join", 2)] {
        let target = start_blocked(&binary, mode, threads);
        let session = crate::session::Session::new(crate::session::SessionOptions::default());
        let snapshot = session.snapshot_pid(target.pid()).unwrap();
        let gdb = gdb_backtraces(target.pid());
        assert_eq!(snapshot.threads.len(), threads);
        let mut tail_frames = 0;
        for thread in &snapshot.threads {
            let theirs = &gdb[&thread.tid];
            let ours: Vec<GdbFrame> = thread
                .frames
                .iter()
                .zip(theirs)
                .map(|(frame, gdb_frame)| GdbFrame {
                    function: frame.symbol.clone().unwrap_or_else(|| "??".into()),
                    // Compare what gdb prints: the pc where it prints one, file:line where it has them.
                    pc: gdb_frame.pc.map(|_| frame.pc.0),
                    location: gdb_frame.location.as_ref().and_then(|_| {
                        let file = Path::new(frame.file.as_deref()?).file_name()?;
                        Some((file.to_string_lossy().into_owned(), frame.line?))
                    }),
                })
                .collect();
            assert_eq!(
                thread.frames.len(),
                theirs.len(),
                "{mode}, thread {}: {:#?} vs gdb {theirs:#?}",
                thread.tid,
                thread.frames
            );
            assert_eq!(&ours, theirs, "{mode}, thread {}", thread.tid);
            for frame in &thread.frames {
                if frame.tail_call {
                    tail_frames += 1;
                    assert!(frame.cfa.is_none() && frame.registers.is_empty() && !frame.inlined);
                }
            }
        }
        let expected = match mode {
            "direct" | "partial" => 1,
            "ambiguous" => 0,
            // __GI___futex_abstimed_wait_cancelable64 and ___pthread_join
            _ => 2,
        };
        assert_eq!(tail_frames, expected, "{mode}");
    }
}

#[test]
fn corrupt_call_site_information_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_fixture(dir.path());
    let original = std::fs::read(&binary).unwrap();
    let (main, main_size) = nm_symbol(&binary, "main", false);
    let (b, _) = nm_symbol(&binary, "b", false);
    let debug_info = {
        let file = super::super::elf::parse_elf(&original, "fixture").unwrap();
        use object::{Object as _, ObjectSection as _};
        let section = file.section_by_name(".debug_info").unwrap();
        let (start, size) = section.file_range().unwrap();
        start as usize..(start + size) as usize
    };
    let corrupt = dir.path().join("corrupt");
    let search = private_search(dir.path());
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..200 {
        let mut bytes = original.clone();
        for _ in 0..6 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = debug_info.start + (state as usize) % debug_info.len();
            bytes[at] = (state >> 40) as u8;
        }
        std::fs::write(&corrupt, &bytes).unwrap();
        let Ok(object) = LoadedObject::open_file(&corrupt, 0, &search) else {
            continue;
        };
        let objects = ProcessObjects::from_objects(vec![Arc::new(object)]);
        for return_pc in (main..main + main_size).step_by(3) {
            let _ = objects.tail_call_chain(return_pc, b);
            let _ = objects.objects()[0].function_entry(return_pc);
        }
    }
}

/// The `(return pc, tail call)` of every call site of `binary`, read as the readers read them.
fn call_site_attributes(binary: &Path) -> Vec<(u64, bool)> {
    struct Sites(Vec<(u64, bool)>);
    impl crate::debuginfo::CodeVisitor for Sites {
        fn subprogram(
            &mut self,
            _unit: gimli::UnitRef<'_, crate::reader::DwarfReader>,
            _entry: &gimli::DebuggingInformationEntry<crate::reader::DwarfReader>,
        ) -> bool {
            true
        }

        fn call_site(
            &mut self,
            unit: gimli::UnitRef<'_, crate::reader::DwarfReader>,
            entry: &gimli::DebuggingInformationEntry<crate::reader::DwarfReader>,
        ) {
            let site = crate::debuginfo::CallSiteAttributes::read(unit, entry);
            let return_pc = site
                .return_pc
                .expect("every call site of the fixture returns somewhere");
            assert!(site.origin.is_some() || site.target.is_some(), "{site:?}");
            self.0.push((return_pc, site.tail_call));
        }
    }
    let object = LoadedObject::open_file(binary, 0, &DebugSearch::default()).unwrap();
    let dwarf = object.dwarf().expect("the fixture's DWARF").clone();
    let mut sites = Sites(Vec::new());
    let mut headers = dwarf.units();
    while let Ok(Some(header)) = headers.next() {
        let unit = dwarf.unit(header).unwrap();
        crate::debuginfo::walk_code(gimli::UnitRef::new(&dwarf, &unit), &mut sites);
    }
    sites.0.sort_unstable();
    sites.0
}

#[test]
fn call_sites_read_the_same_in_dwarf_4_and_dwarf_5() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["-O2", "-foptimize-sibling-calls", "-pthread"];
    let mut built = Vec::new();
    for (name, version) in [("gnu", "-gdwarf-4"), ("standard", "-gdwarf-5")] {
        let mut with = vec![version];
        with.extend(flags);
        built.push(call_site_attributes(&build(
            dir.path(),
            "cc",
            SOURCE,
            name,
            &with,
        )));
    }
    // DW_TAG_GNU_call_site gives its return address as DW_AT_low_pc, DW_TAG_call_site as
    // DW_AT_call_return_pc: the same code, the same call sites.
    assert!(
        built[0].iter().any(|(_, tail)| *tail),
        "tail calls: {:?}",
        built[0]
    );
    assert_eq!(built[0], built[1]);
}
