//! Unwinding real stacks: the stackdump fixture, compiled with and without optimisation and
//! frame pointers, captures its own registers and stack (directly, in a signal handler, on an
//! alternate signal stack, after a fault at a function's first instruction); the unwinder must
//! find exactly the return addresses the program recorded, and the right functions around them.

use std::sync::Arc;

use super::fixture::{Dump, Fixture};
use super::objects::{cfi_mappings, object_cfi, Symbolizer};
use crate::memory::LayeredMemory;
use crate::reader::SharedBytes;
use crate::unwind::{Backtrace, ObjectCfi, StopReason, Unwinder, UnwoundFrame, MAX_FRAMES};

/// The compiler flag combinations every scenario is checked with.
const BUILDS: [&[&str]; 4] = [
    &["-O0", "-fno-omit-frame-pointer"],
    &["-O0", "-fomit-frame-pointer"],
    &["-O2", "-fno-omit-frame-pointer"],
    &["-O2", "-fomit-frame-pointer"],
];

/// Unwinds the dumped state with the CFI of every mapped object.
fn unwind_with_cfi(dump: &Dump) -> Backtrace {
    unwind_with(dump, cfi_mappings(&dump.maps, object_cfi))
}

/// Unwinds the dumped state over `mappings` and the dumped memory.
fn unwind_with(dump: &Dump, mappings: Vec<crate::unwind::CfiMapping>) -> Backtrace {
    let unwinder = Unwinder::new(mappings);
    let memory = LayeredMemory::new(&dump.memory, None);
    unwinder.unwind_with_stop(&dump.registers(), &memory, MAX_FRAMES)
}

/// A readable listing of frames, for assertion messages.
fn describe(frames: &[UnwoundFrame], names: &[String]) -> String {
    frames
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (f, name))| {
            let flags = format!(
                "{}{}",
                if f.signal_frame { " [signal]" } else { "" },
                if f.suspect { " [suspect]" } else { "" }
            );
            format!(
                "#{i} pc={:#x} lookup={:#x} cfa={:?} {name}{flags}\n",
                f.pc, f.lookup_pc, f.cfa
            )
        })
        .collect()
}

/// Checks, from frame `first` on: the frame in `recurse` at the bottom of the recursion, then
/// frames whose pcs are exactly the recorded return addresses (the last one in main), then
/// main's caller in libc. Also checks the stack pointer chain of every frame after `first`.
fn check_recursion_and_below(dump: &Dump, backtrace: &Backtrace, names: &[String], first: usize) {
    let frames = &backtrace.frames;
    let listing = describe(frames, names);
    let levels = dump.level_returns();
    assert_eq!(
        names.get(first).map(String::as_str),
        Some("recurse"),
        "bottom frame:\n{listing}"
    );
    for (n, expected) in levels.iter().enumerate() {
        let index = first + 1 + n;
        let frame = frames
            .get(index)
            .unwrap_or_else(|| panic!("frame {index} missing:\n{listing}"));
        assert_eq!(
            frame.pc, *expected,
            "frame {index} is level {n}'s return address:\n{listing}"
        );
        assert_eq!(
            frame.lookup_pc,
            frame.pc - 1,
            "frame {index} is a return address:\n{listing}"
        );
        let name = &names[index];
        let expected_name = if n == levels.len() - 1 { "main" } else { "recurse" };
        assert_eq!(name, expected_name, "frame {index}:\n{listing}");
    }
    let main_caller = first + 1 + levels.len();
    let frame = frames
        .get(main_caller)
        .unwrap_or_else(|| panic!("no caller of main:\n{listing}"));
    assert_eq!(
        frame.pc,
        dump.value("main_return"),
        "main's return address:\n{listing}"
    );
    assert_eq!(
        names[main_caller], "__libc_start_call_main",
        "main's caller:\n{listing}"
    );
    for pair in frames[first..].windows(2) {
        assert_eq!(
            pair[1].regs.sp(),
            pair[0].cfa,
            "caller's rsp is the callee's CFA:\n{listing}"
        );
        assert_eq!(
            pair[1].regs.pc(),
            Some(pair[1].pc),
            "regs hold the frame's pc:\n{listing}"
        );
    }
    assert!(
        matches!(backtrace.stop, StopReason::Outermost),
        "the whole stack is walked, stopped by {:?}:\n{listing}",
        backtrace.stop
    );
    assert!(
        frames.iter().all(|f| !f.suspect),
        "CFI everywhere, no guesses:\n{listing}"
    );
}

#[test]
fn unwinds_a_plain_recursion_with_cfi() {
    for flags in BUILDS {
        let fixture = Fixture::build(flags);
        let dump = fixture.run("plain");
        let backtrace = unwind_with_cfi(&dump);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        let listing = describe(&backtrace.frames, &names);
        let frames = &backtrace.frames;
        assert!(frames.len() > 14, "{flags:?}: too few frames:\n{listing}");
        assert_eq!(frames[0].pc, dump.value("rip"), "{flags:?}");
        assert_eq!(
            frames[0].lookup_pc, frames[0].pc,
            "{flags:?}: frame 0 uses its exact pc"
        );
        assert_eq!(names[0], "capture_stack", "{flags:?}:\n{listing}");
        assert_eq!(
            frames[1].pc,
            dump.value("capture_return"),
            "{flags:?}:\n{listing}"
        );
        check_recursion_and_below(&dump, &backtrace, &names, 1);
        assert!(frames.iter().all(|f| !f.signal_frame), "{flags:?}:\n{listing}");
    }
}

#[test]
fn unwinds_through_a_signal_handler() {
    for flags in BUILDS {
        let fixture = Fixture::build(flags);
        let dump = fixture.run("sigusr1");
        let backtrace = unwind_with_cfi(&dump);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        let listing = describe(&backtrace.frames, &names);
        let frames = &backtrace.frames;
        assert_eq!(frames[0].pc, dump.value("rip"), "{flags:?}");
        assert_eq!(names[0], "handler", "{flags:?}:\n{listing}");
        assert_eq!(names[1], "__restore_rt", "{flags:?}:\n{listing}");
        assert!(
            frames[1].signal_frame,
            "{flags:?}: the trampoline is a signal frame:\n{listing}"
        );
        assert_eq!(
            frames[1].lookup_pc, frames[1].pc,
            "{flags:?}: trampolines are not returned to"
        );
        // raise() was interrupted inside libc: the frame the signal hit uses its exact pc.
        assert_eq!(
            frames[2].lookup_pc, frames[2].pc,
            "{flags:?}: interrupted frame:\n{listing}"
        );
        let bottom = names
            .iter()
            .position(|name| name == "recurse")
            .unwrap_or_else(|| panic!("{flags:?}: recursion not found:\n{listing}"));
        assert!(
            bottom > 2,
            "{flags:?}: libc frames between the signal and recurse:\n{listing}"
        );
        check_recursion_and_below(&dump, &backtrace, &names, bottom);
        assert_eq!(
            frames.iter().filter(|f| f.signal_frame).count(),
            1,
            "{flags:?}:\n{listing}"
        );
    }
}

#[test]
fn unwinds_from_an_alternate_signal_stack() {
    for flags in [BUILDS[0], BUILDS[3]] {
        let fixture = Fixture::build(flags);
        let dump = fixture.run("altstack");
        let backtrace = unwind_with_cfi(&dump);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        let listing = describe(&backtrace.frames, &names);
        let alternate = &dump.memory[1];
        assert!(
            alternate.contains(dump.value("rsp")),
            "{flags:?}: the handler ran on the altstack"
        );
        assert_eq!(names[0], "handler", "{flags:?}:\n{listing}");
        assert!(backtrace.frames[1].signal_frame, "{flags:?}:\n{listing}");
        // The interrupted frames are on the main stack, below the alternate stack's addresses:
        // the CFA goes down across the signal frame, which must not stop the unwind.
        let bottom = names
            .iter()
            .position(|name| name == "recurse")
            .expect("recursion found");
        check_recursion_and_below(&dump, &backtrace, &names, bottom);
    }
}

#[test]
fn a_fault_at_a_function_entry_is_looked_up_at_the_exact_pc() {
    for flags in BUILDS {
        let fixture = Fixture::build(flags);
        let dump = fixture.run("sigill");
        let backtrace = unwind_with_cfi(&dump);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        let listing = describe(&backtrace.frames, &names);
        let frames = &backtrace.frames;
        assert_eq!(names[0], "handler", "{flags:?}:\n{listing}");
        assert_eq!(names[1], "__restore_rt", "{flags:?}:\n{listing}");
        assert!(frames[1].signal_frame, "{flags:?}:\n{listing}");
        // pc - 1 would be the byte before fault_at_entry, outside its FDE.
        assert_eq!(
            frames[2].pc,
            dump.value("fault_at_entry"),
            "{flags:?}:\n{listing}"
        );
        assert_eq!(frames[2].lookup_pc, frames[2].pc, "{flags:?}:\n{listing}");
        assert_eq!(names[2], "fault_at_entry", "{flags:?}:\n{listing}");
        check_recursion_and_below(&dump, &backtrace, &names, 3);
    }
}

#[test]
fn follows_frame_pointers_where_the_executable_has_no_cfi() {
    for flags in [BUILDS[0], BUILDS[2]] {
        let fixture = Fixture::build(flags);
        let dump = fixture.run("plain");
        let exe = dump.exe.clone();
        let mappings = cfi_mappings(&dump.maps, |path| {
            if path == exe {
                Arc::new(ObjectCfi::default())
            } else {
                object_cfi(path)
            }
        });
        let backtrace = unwind_with(&dump, mappings);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        let listing = describe(&backtrace.frames, &names);
        let frames = &backtrace.frames;
        let levels = dump.level_returns();
        assert_eq!(
            frames[1].pc,
            dump.value("capture_return"),
            "{flags:?}:\n{listing}"
        );
        for (n, expected) in levels.iter().enumerate() {
            let frame = &frames[2 + n];
            assert_eq!(frame.pc, *expected, "{flags:?}: level {n}:\n{listing}");
            assert!(frame.suspect, "{flags:?}: found by frame pointer:\n{listing}");
        }
        let main_caller = &frames[2 + levels.len()];
        assert_eq!(main_caller.pc, dump.value("main_return"), "{flags:?}:\n{listing}");
        assert!(
            main_caller.suspect,
            "{flags:?}: main has no CFI either:\n{listing}"
        );
        assert_eq!(
            names[2 + levels.len()],
            "__libc_start_call_main",
            "{flags:?}:\n{listing}"
        );
    }
}

#[test]
fn without_cfi_or_frame_pointers_the_unwind_stops_cleanly() {
    let fixture = Fixture::build(&["-O2", "-fomit-frame-pointer"]);
    let dump = fixture.run("plain");
    let exe = dump.exe.clone();
    let mappings = cfi_mappings(&dump.maps, |path| {
        if path == exe {
            Arc::new(ObjectCfi::default())
        } else {
            object_cfi(path)
        }
    });
    let backtrace = unwind_with(&dump, mappings);
    // rbp holds no frame pointer here: whatever the heuristic finds from frame 0 is marked
    // suspect, and the walk ends on its own, well before the frame limit.
    assert_eq!(backtrace.frames[0].pc, dump.value("rip"));
    assert!(!backtrace.frames[0].suspect);
    assert!(backtrace.frames.get(1).is_none_or(|f| f.suspect));
    assert!(backtrace.frames.len() < 100, "stopped: {:?}", backtrace.stop);
    assert!(!matches!(backtrace.stop, StopReason::FrameLimit));
}

#[test]
fn the_frame_limit_is_respected() {
    let fixture = Fixture::build(&["-O2"]);
    let dump = fixture.run("plain");
    let mappings = cfi_mappings(&dump.maps, object_cfi);
    let unwinder = Unwinder::new(mappings);
    let memory = LayeredMemory::new(&dump.memory, None);
    let backtrace = unwinder.unwind_with_stop(&dump.registers(), &memory, 5);
    assert_eq!(backtrace.frames.len(), 5);
    assert!(matches!(backtrace.stop, StopReason::FrameLimit));
    let all = unwinder.unwind(&dump.registers(), &memory, usize::MAX);
    assert_eq!(
        &all[..5],
        &backtrace.frames[..],
        "a limited unwind is a prefix of the full one"
    );
}

#[test]
fn one_unwinder_serves_threads_in_parallel() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let fixture = Fixture::build(&["-O2"]);
    let dump = fixture.run("sigusr1");
    let unwinder = Unwinder::new(cfi_mappings(&dump.maps, object_cfi));
    shareable(&unwinder);
    let memory = LayeredMemory::new(&dump.memory, None);
    let expected = unwinder.unwind(&dump.registers(), &memory, MAX_FRAMES);
    assert!(expected.len() > 14);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let memory = LayeredMemory::new(&dump.memory, None);
                for _ in 0..50 {
                    assert_eq!(unwinder.unwind(&dump.registers(), &memory, MAX_FRAMES), expected);
                }
                // A thread's own scratch, kept across its unwinds, gives the same frames, the
                // first time (rows from the shared cache) and after (rows from the scratch),
                // also with a shorter limit in between.
                let mut scratch = crate::unwind::UnwindScratch::default();
                for limit in [MAX_FRAMES, 3, MAX_FRAMES] {
                    let frames = unwinder
                        .unwind_in(&mut scratch, &dump.registers(), &memory, limit)
                        .frames;
                    assert_eq!(frames, expected[..limit.min(expected.len())]);
                }
            });
        }
    });
}

#[test]
fn unwinds_with_debug_frame_in_the_object_or_in_a_separate_debug_file() {
    // Without unwind tables, gcc -g describes the frames in .debug_frame only.
    let flags = [
        "-O2",
        "-g",
        "-fno-asynchronous-unwind-tables",
        "-fomit-frame-pointer",
    ];
    let fixture = Fixture::build(&flags);
    let dump = fixture.run("plain");
    let check = |mappings| {
        let backtrace = unwind_with(&dump, mappings);
        let names = Symbolizer::default().frame_names(&dump.maps, &backtrace.frames);
        assert_eq!(
            names[0],
            "capture_stack",
            "{}",
            describe(&backtrace.frames, &names)
        );
        assert_eq!(backtrace.frames[1].pc, dump.value("capture_return"));
        check_recursion_and_below(&dump, &backtrace, &names, 1);
    };
    check(cfi_mappings(&dump.maps, object_cfi));

    let debug = dump.exe.with_extension("debug");
    let stripped = dump.exe.with_extension("stripped");
    let objcopy = |args: &[&std::ffi::OsStr]| {
        let status = std::process::Command::new("objcopy")
            .args(args)
            .status()
            .expect("objcopy");
        assert!(status.success());
    };
    objcopy(&[
        "--only-keep-debug".as_ref(),
        dump.exe.as_os_str(),
        debug.as_os_str(),
    ]);
    objcopy(&[
        "--strip-debug".as_ref(),
        dump.exe.as_os_str(),
        stripped.as_os_str(),
    ]);
    let stripped_bytes = SharedBytes::map_file(&stripped).expect("map the stripped executable");
    let debug_bytes = SharedBytes::map_file(&debug).expect("map the debug file");
    let with_debug_file = Arc::new(ObjectCfi::parse(&stripped_bytes, Some(&debug_bytes)).expect("parse"));
    let exe = dump.exe.clone();
    check(cfi_mappings(&dump.maps, |path| {
        if path == exe {
            with_debug_file.clone()
        } else {
            object_cfi(path)
        }
    }));
}
