//! The gdb oracle of `common::gdb`: its parser on real gdb output captured from the c-examples
//! programs (`tests/fixtures/gdb/`), on hand-written lines for the syntax those programs do not
//! produce, its comparator on hand-made snapshot JSON, and the whole thing on live processes.
//!
//! The fixtures were captured with exactly `common::gdb::gdb_command`'s command line:
//! `*-hang*.txt` / `threads-O2-2-3.txt` are `thread apply all bt full` of `crash-O2 hang 2`,
//! `crash hang 1`, `threads-O2 2 3`, `cpp_example hang` and `cpp_example-O2 hang`;
//! `values.tsv` pairs `print` expressions with what gdb printed (the value-printing settings of
//! that command line; see its header).

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::gdb::*;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

// ---- helpers ---------------------------------------------------------------------------------

fn fixture(name: &str) -> String {
    let path = repo().join("tests/fixtures/gdb").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The thread whose frames include `function`.
fn thread_with<'a>(threads: &'a HashMap<i32, Vec<GdbFrame>>, function: &str) -> &'a [GdbFrame] {
    threads
        .values()
        .find(|frames| frames.iter().any(|f| f.function == function))
        .unwrap_or_else(|| panic!("no thread has a {function} frame"))
}

fn frames_of<'a>(frames: &'a [GdbFrame], function: &str) -> Vec<&'a GdbFrame> {
    frames.iter().filter(|f| f.function == function).collect()
}

/// Every value gdb printed that this parser did not understand.
fn unparsed(threads: &HashMap<i32, Vec<GdbFrame>>) -> Vec<String> {
    let mut found = Vec::new();
    for frame in threads.values().flatten() {
        for value in frame.values() {
            value.walk(&mut |v| {
                if let GdbValue::Unparsed(text) = v {
                    found.push(format!("{}: {text}", frame.function));
                }
            });
        }
    }
    found
}

fn int(value: Option<&GdbValue>) -> i128 {
    value
        .and_then(GdbValue::as_int)
        .unwrap_or_else(|| panic!("not an integer: {value:?}"))
}

fn ints(value: Option<&GdbValue>) -> Vec<i128> {
    match value {
        Some(GdbValue::Array { elements, .. }) => elements
            .iter()
            .map(|e| e.as_int().expect("integer element"))
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// The print results of `values.tsv` by expression.
fn printed_values() -> HashMap<String, String> {
    fixture("values.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(e, v)| (e.to_string(), v.to_string()))
        .collect()
}

fn printed(values: &HashMap<String, String>, expression: &str) -> GdbValue {
    let text = values
        .get(expression)
        .unwrap_or_else(|| panic!("no {expression} in values.tsv"));
    GdbValue::parse(text).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

// ---- values printed by gdb -------------------------------------------------------------------

#[test]
fn every_captured_print_value_parses() {
    let values = printed_values();
    assert!(values.len() > 50, "values.tsv has {} entries", values.len());
    for (expression, text) in &values {
        if let Err(e) = GdbValue::parse(text) {
            panic!("{expression}: {e}");
        }
    }
}

#[test]
fn scalars_parse_to_their_values() {
    let v = printed_values();
    assert_eq!(printed(&v, "invalid_write_ratio"), GdbValue::Float(2.5));
    assert_eq!(
        printed(&v, "-invalid_write_ratio / 3"),
        GdbValue::Float(-0.833_333_333_333_333_4)
    );
    assert_eq!(printed(&v, "1.0/0"), GdbValue::Float(f64::INFINITY));
    assert_eq!(printed(&v, "-1.0/0"), GdbValue::Float(f64::NEG_INFINITY));
    assert!(matches!(printed(&v, "-(0.0/0)"), GdbValue::Float(x) if x.is_nan()));
    assert_eq!(
        printed(&v, "1e300*10"),
        GdbValue::Float("1.0000000000000001e+301".parse().unwrap())
    );
    assert_eq!(printed(&v, "123456789.0*1e10"), GdbValue::Float(1.234_567_89e18));
    assert!(matches!(printed(&v, "(float)1/3"), GdbValue::Float(x) if (x - 1.0 / 3.0).abs() < 1e-7));
    assert!(matches!(printed(&v, "(long double)1/3"), GdbValue::Float(x) if (x - 1.0 / 3.0).abs() < 1e-15));
    assert_eq!(
        printed(&v, "(unsigned long)-1"),
        GdbValue::Int(18_446_744_073_709_551_615)
    );
    assert_eq!(
        printed(&v, "(long)-9223372036854775807-1"),
        GdbValue::Int(-9_223_372_036_854_775_808)
    );
    assert_eq!(printed(&v, "shop::inventory::Item::created"), GdbValue::Int(2));
    // An enum value without a label prints as its number.
    assert_eq!(printed(&v, "(shop::inventory::Category)7"), GdbValue::Int(7));
    assert_eq!(printed(&v, "(_Bool)1"), GdbValue::Bool(true));
    assert_eq!(printed(&v, "drill.powered_"), GdbValue::Bool(true));
}

#[test]
fn characters_keep_code_and_literal() {
    let v = printed_values();
    let char_of = |e: &str| match printed(&v, e) {
        GdbValue::Char { code, literal } => (code, literal),
        other => panic!("{e}: not a char: {other:?}"),
    };
    assert_eq!(char_of("'A'"), (65, "A".to_string()));
    assert_eq!(char_of("(char)-3"), (-3, "\\375".to_string()));
    assert_eq!(char_of("(char)10"), (10, "\\n".to_string()));
    assert_eq!(char_of("(char)39"), (39, "\\'".to_string()));
    assert_eq!(char_of("(char)92"), (92, "\\\\".to_string()));
}

#[test]
fn pointers_keep_address_type_symbol_and_string() {
    let v = printed_values();
    let GdbValue::Pointer(papa) = printed(&v, "&papa") else {
        panic!("&papa")
    };
    assert_eq!(papa.type_name.as_deref(), Some("struct array_struct *"));
    assert_eq!(papa.symbol.as_deref(), Some("papa"));
    assert!(papa.address > 0x1000 && papa.string.is_none());

    let GdbValue::Pointer(version) = printed(&v, "global_version") else {
        panic!("global_version")
    };
    assert_eq!(version.string.as_deref(), Some(&b"crash 1.0.0"[..]));
    assert_eq!(version.type_name, None);

    // A function value and a function pointer.
    let GdbValue::Pointer(function) = printed(&v, "recurse") else {
        panic!("recurse")
    };
    assert_eq!(
        function.type_name.as_deref(),
        Some("unsigned long (int, struct crash_ctx *)")
    );
    assert_eq!(function.symbol.as_deref(), Some("recurse"));
    let GdbValue::Pointer(function_pointer) = printed(&v, "&recurse") else {
        panic!("&recurse")
    };
    assert_eq!(function_pointer.address, function.address);
    assert_eq!(
        function_pointer.type_name.as_deref(),
        Some("unsigned long (*)(int, struct crash_ctx *)")
    );

    // Symbol and string together, with escapes (\342 is one byte).
    let GdbValue::Pointer(both) = printed(&v, "(char*)&papa") else {
        panic!("(char*)&papa")
    };
    assert_eq!(both.symbol.as_deref(), Some("papa"));
    assert_eq!(both.address, papa.address);
    assert!(both
        .string
        .as_ref()
        .is_some_and(|s| !s.is_empty() && s.len() <= 8));

    let GdbValue::Struct(fields) = printed(&v, "invalid_write_target") else {
        panic!("target")
    };
    assert_eq!(fields.len(), 4);
    let target = printed(&v, "invalid_write_target");
    assert_eq!(target.field("address").and_then(GdbValue::as_address), Some(0x10));
    assert_eq!(int(target.field("flags")), 5);
    assert!(
        matches!(target.field("name"), Some(GdbValue::Pointer(p)) if p.string.as_deref() == Some(&b"low page"[..]))
    );
}

#[test]
fn char_arrays_decode_escapes_and_repeats() {
    let v = printed_values();
    let bytes_of = |e: &str| match printed(&v, e) {
        GdbValue::CharArray { bytes, truncated } => (bytes, truncated),
        other => panic!("{e}: not a char array: {other:?}"),
    };
    // gdb leaves out the array's final NUL: 19 characters + 12 NULs of a char[32].
    let (message, truncated) = bytes_of("invalid_write_message");
    assert_eq!(&message[..19], b"invalid write ahead");
    assert_eq!(message.len(), 31);
    assert!(message[19..].iter().all(|&b| b == 0) && !truncated);
    let (x, _) = bytes_of("(char[300])\"x\"");
    assert_eq!(x.len(), 299);
    assert_eq!(x[0], b'x');
    // Past `print elements` (200) gdb ends the string with `...`.
    let (code, truncated) = bytes_of("*(char (*)[250])recurse");
    assert!(truncated);
    assert_eq!(code.len(), 200);
    assert_eq!(&code[..2], b"UH");
}

#[test]
fn arrays_expand_repeats_and_note_truncation() {
    let v = printed_values();
    assert_eq!(ints(Some(&printed(&v, "(int[30]){0}"))), vec![0; 30]);
    let siginfo = printed(&v, "$_siginfo");
    assert_eq!(ints(siginfo.path(&["_sifields", "_pad"])), vec![0; 28]);
    assert_eq!(int(siginfo.field("si_signo")), 19);
    match printed(&v, "*(int (*)[250])recurse") {
        GdbValue::Array { elements, truncated } => {
            assert!(truncated);
            assert_eq!(elements.len(), 200);
        }
        other => panic!("not an array: {other:?}"),
    }
    match printed(&v, "*papa.kids@3") {
        GdbValue::Array { elements, truncated } => {
            assert!(!truncated);
            let a: Vec<i128> = elements.iter().map(|k| int(k.field("a"))).collect();
            assert_eq!(a, vec![9, 10, 11]);
            assert_eq!(int(elements[2].path(&["n", "c"])), 11);
        }
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn cpp_values_parse_bases_references_and_raw_std_types() {
    let v = printed_values();
    let hammer = printed(&v, "hammer");
    let item = hammer.base("shop::inventory::Item").expect("Item base section");
    assert!(matches!(item.field("_vptr.Item"), Some(GdbValue::Pointer(p))
        if p.symbol.as_deref() == Some("vtable for shop::inventory::Tool+16")));
    // Lookup goes through base sections and anonymous unions.
    assert_eq!(
        hammer.field("name_").and_then(GdbValue::std_string).as_deref(),
        Some("hammer")
    );
    assert!(hammer.path(&["name_", "_M_local_buf"]).is_some());
    assert_eq!(int(hammer.field("quantity_")), 3);
    assert_eq!(hammer.field("unit_price_"), Some(&GdbValue::Float(12.5)));
    assert_eq!(hammer.field("powered_"), Some(&GdbValue::Bool(false)));
    assert_eq!(int(hammer.field("grade_")), 65);
    assert_eq!(hammer.field("weight_kg_"), Some(&GdbValue::Float(0.75)));
    let (start, finish, end) = hammer
        .field("sizes_mm_")
        .and_then(GdbValue::std_vector_bounds)
        .expect("vector bounds");
    assert_eq!((finish - start, end - start), (12, 12), "three ints");

    let auditor = printed(&v, "auditor");
    assert_eq!(
        auditor.field("focus_"),
        Some(&GdbValue::Enum("shop::inventory::Category::Tools".into()))
    );
    assert_eq!(
        auditor.field("mode_"),
        Some(&GdbValue::Enum("shop::inventory::Mode::Hang".into()))
    );

    // `(std::string &&) @0x...: {...}`: the cast is dropped, the reference kept.
    let note = printed(&v, "note");
    assert!(matches!(note, GdbValue::Reference { address: Some(a), .. } if a > 0x1000));
    assert_eq!(note.std_string().as_deref(), Some("audit/3/2/1"));
    let as_item = printed(&v, "(shop::inventory::Item&)drill");
    assert_eq!(
        as_item.field("name_").and_then(GdbValue::std_string).as_deref(),
        Some("drill")
    );

    let weigh = printed(&v, "weigh");
    assert_eq!(int(weigh.field("__depth")), 0);
    let GdbValue::Pointer(rule) = printed(&v, "shop::inventory::discount_ten_percent") else {
        panic!("function")
    };
    assert_eq!(rule.type_name.as_deref(), Some("double (double)"));
    assert_eq!(
        rule.symbol.as_deref(),
        Some("shop::inventory::discount_ten_percent(double)")
    );
}

#[test]
fn syntax_the_examples_do_not_print_parses_too() {
    assert_eq!(GdbValue::parse("(A | B)"), Ok(GdbValue::Enum("(A | B)".into())));
    assert_eq!(
        GdbValue::parse("(FLAG_A | unknown: 0x8)"),
        Ok(GdbValue::Enum("(FLAG_A | unknown: 0x8)".into()))
    );
    let s =
        GdbValue::parse("{p = <error: Cannot access memory at address 0x10>, q = <optimized out>}").unwrap();
    assert_eq!(
        s.field("p"),
        Some(&GdbValue::Error("Cannot access memory at address 0x10".into()))
    );
    assert_eq!(s.field("q"), Some(&GdbValue::OptimizedOut));
    let r = GdbValue::parse("@<synthetic pointer>: 5").unwrap();
    assert_eq!(
        r,
        GdbValue::Reference {
            address: None,
            target: Box::new(GdbValue::Int(5))
        }
    );
    // A string continuing after a repeat block, and an array of two strings.
    assert_eq!(
        GdbValue::parse("\"ab\", 'x' <repeats 10 times>, \"cd\"").unwrap(),
        GdbValue::CharArray {
            bytes: b"abxxxxxxxxxxcd".to_vec(),
            truncated: false
        }
    );
    match GdbValue::parse("{\"ab\", \"cd\"}").unwrap() {
        GdbValue::Array { elements, .. } => assert_eq!(elements.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        GdbValue::parse("L\"wide\""),
        Ok(GdbValue::CharArray { .. })
    ));
    // Anonymous struct members among named ones, static members, empty structs.
    let anon = GdbValue::parse("{a = 1, {b = 2, c = 3}, static s = 4, e = {}}").unwrap();
    assert_eq!(int(anon.field("c")), 3);
    assert_eq!(int(anon.field("static s")), 4);
    assert_eq!(anon.field("e"), Some(&GdbValue::Struct(vec![])));
    // Arrays of pointers with repeats, of structs with repeats.
    match GdbValue::parse("{0x0 <repeats 16 times>}").unwrap() {
        GdbValue::Array { elements, .. } => assert_eq!(elements.len(), 16),
        other => panic!("{other:?}"),
    }
    match GdbValue::parse("{{x = 1} <repeats 12 times>, {x = 2}}").unwrap() {
        GdbValue::Array { elements, .. } => {
            assert_eq!(elements.len(), 13);
            assert_eq!(int(elements[12].field("x")), 2);
        }
        other => panic!("{other:?}"),
    }
    // Trailing text and nonsense are errors; the lenient parse keeps the text.
    assert!(GdbValue::parse("1 2").is_err());
    assert!(GdbValue::parse("{a = ").is_err());
    assert!(GdbValue::parse("\"unterminated").is_err());
    assert!(GdbValue::parse("<repeats 3 times>").is_ok_and(|v| !v.has_value()));
    assert_eq!(
        GdbValue::parse_lenient("std::vector of length 2"),
        GdbValue::Unparsed("std::vector of length 2".into())
    );
}

// ---- frame lines and whole backtraces --------------------------------------------------------

#[test]
fn frame_lines_of_every_shape_parse() {
    let f = parse_frame_line(
        "#3  0x00005555555551a9 in std::function<void (int)>::operator() (this=0x7ffe0010, __args#0=5) at /usr/include/c++/12/bits/std_function.h:591",
    )
    .unwrap();
    assert_eq!(f.function, "std::function<void (int)>::operator()");
    assert_eq!(f.index, 3);
    assert_eq!(f.pc, Some(0x5555_5555_51a9));
    assert_eq!(f.args.len(), 2);
    assert_eq!(f.args[1], ("__args#0".to_string(), GdbValue::Int(5)));
    assert_eq!(f.file.as_deref(), Some("/usr/include/c++/12/bits/std_function.h"));
    assert_eq!(f.line, Some(591));

    let f = parse_frame_line("#2  <signal handler called>").unwrap();
    assert_eq!(
        (f.function.as_str(), f.pc, f.args.len()),
        ("<signal handler called>", None, 0)
    );

    let f =
        parse_frame_line("#4  0x00007ffff7e0a000 in raise () from /lib/x86_64-linux-gnu/libc.so.6").unwrap();
    assert_eq!(f.function, "raise");
    assert_eq!(f.library.as_deref(), Some("/lib/x86_64-linux-gnu/libc.so.6"));
    assert_eq!((f.file, f.line), (None, None));

    let f = parse_frame_line("#0  0x0000000000401000 in ?? ()").unwrap();
    assert_eq!(f.function, "??");

    // Entry values: same, different, only the entry value known.
    let f = parse_frame_line(
        "#1  0x0000000000401000 in f (a=a@entry=5, b=6, b@entry=5, c=<optimized out>, c@entry=7) at f.c:3",
    )
    .unwrap();
    assert_eq!(
        f.args,
        vec![
            ("a".to_string(), GdbValue::Int(5)),
            ("b".to_string(), GdbValue::Int(6)),
            ("c".to_string(), GdbValue::OptimizedOut),
        ]
    );
    assert_eq!(
        f.entry_values,
        vec![
            ("a".to_string(), GdbValue::Int(5)),
            ("b".to_string(), GdbValue::Int(5)),
            ("c".to_string(), GdbValue::Int(7)),
        ]
    );

    // One value the parser does not know does not lose the frame or the other arguments.
    let f = parse_frame_line(
        "#1  0x0000000000401000 in g (v=std::vector of length 2, capacity 2 = {1, 2}, n=3) at g.cc:9",
    )
    .unwrap();
    assert_eq!(f.function, "g");
    assert!(matches!(&f.args[0].1, GdbValue::Unparsed(_)));
    assert_eq!(f.arg("n"), Some(&GdbValue::Int(3)));
    assert_eq!(f.line, Some(9));

    assert!(parse_frame_line("Backtrace stopped: frame did not save the PC").is_none());
}

#[test]
fn crash_o2_fixture_has_the_recurse_chain_and_parked_helpers() {
    let threads = parse_backtraces(&fixture("crash-O2-hang-2.txt"));
    assert_eq!(threads.len(), 3);
    assert_eq!(unparsed(&threads), Vec::<String>::new());

    let main = thread_with(&threads, "main");
    assert_eq!(main.len(), 11);
    assert_eq!(main[0].function, "__libc_pause");
    // The same name twice: two lexical blocks (the second copy is optimized out).
    let sc_ret: Vec<&GdbValue> = main[0]
        .locals
        .iter()
        .filter(|(n, _)| n == "sc_ret")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(sc_ret, vec![&GdbValue::Int(-514), &GdbValue::OptimizedOut]);

    let recurse = frames_of(main, "recurse");
    assert_eq!(recurse.len(), 6);
    let ctx = recurse[0].arg("ctx").and_then(GdbValue::as_address).expect("ctx");
    for (n, frame) in recurse.iter().enumerate() {
        let n = n as i128;
        assert_eq!(int(frame.arg("n")), n, "{frame:?}");
        assert_eq!(frame.file.as_deref(), Some("crash.c"));
        assert_eq!(frame.arg("ctx").and_then(GdbValue::as_address), Some(ctx));
        let local = frame.local("frame").expect("the frame local");
        assert_eq!(int(local.field("depth")), n);
        assert_eq!(int(local.field("tag")), 0xc0de + n);
        // n=n@entry=N in recurse(0..4); recurse(5) prints n=5 alone.
        let entry = frame.entry_values.iter().find(|(name, _)| name == "n");
        assert_eq!(entry.map(|(_, v)| v.clone()), (n < 5).then_some(GdbValue::Int(n)));
    }
    assert_eq!(
        recurse[5]
            .local("frame")
            .and_then(|f| f.field("outer"))
            .and_then(GdbValue::as_address),
        Some(0)
    );

    let main_frame = frames_of(main, "main")[0];
    let ctx_local = main_frame.local("ctx").expect("ctx local");
    assert_eq!(
        ctx_local.field("mode"),
        Some(&GdbValue::Enum("CRASH_MODE_HANG".into()))
    );
    assert!(
        matches!(ctx_local.field("mode_name"), Some(GdbValue::Pointer(p)) if p.string.as_deref() == Some(&b"hang"[..]))
    );
    assert_eq!(int(ctx_local.field("threads")), 2);
    assert_eq!(int(main_frame.arg("argc")), 3);
    let start = main.last().unwrap();
    assert_eq!(
        (start.function.as_str(), start.args.len(), start.file.as_deref()),
        ("_start", 0, None)
    );

    for frames in threads
        .values()
        .filter(|f| f.iter().any(|x| x.function == "hang_wait"))
    {
        assert_eq!(frames.len(), 9);
        // Inlined frames (and frame 0 at the start of a line) have no pc in gdb's output.
        assert_eq!(frames[0].pc, None);
        assert_eq!(frames[1].function, "__futex_abstimed_wait_common");
        assert_eq!(frames[1].pc, None);
        assert_eq!(frames[1].arg("cancel"), Some(&GdbValue::Bool(true)));
        let thread_main = frames.iter().find(|f| f.function == "hang_thread_main").unwrap();
        assert_eq!(thread_main.arg("arg"), Some(&GdbValue::OptimizedOut));
        let start_thread = frames.iter().find(|f| f.function == "start_thread").unwrap();
        let jmp_buf = start_thread
            .local("unwind_buf")
            .and_then(|u| u.field("cancel_jmp_buf"))
            .expect("cancel_jmp_buf");
        let GdbValue::Array { elements, .. } = jmp_buf else {
            panic!("{jmp_buf:?}")
        };
        assert_eq!(ints(elements[0].field("jmp_buf")).len(), 8);
        let cond_wait = frames
            .iter()
            .find(|f| f.function == "__pthread_cond_wait_common")
            .unwrap();
        assert!(cond_wait.locals.iter().filter(|(n, _)| n == "maxspin").count() == 2);
        assert!(
            matches!(cond_wait.local("buffer").and_then(|b| b.field("__routine")),
            Some(GdbValue::Pointer(p)) if p.symbol.as_deref() == Some("__condvar_cleanup_waiting"))
        );
    }
}

#[test]
fn crash_o0_fixture_parses_completely() {
    let threads = parse_backtraces(&fixture("crash-hang-1.txt"));
    assert_eq!(threads.len(), 2);
    assert_eq!(unparsed(&threads), Vec::<String>::new());
    let main = thread_with(&threads, "main");
    let depths: Vec<i128> = frames_of(main, "recurse")
        .iter()
        .map(|f| int(f.arg("n")))
        .collect();
    assert_eq!(depths, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn threads_o2_fixture_has_locals_that_follow_from_depth() {
    let threads = parse_backtraces(&fixture("threads-O2-2-3.txt"));
    assert_eq!(threads.len(), 3);
    assert_eq!(unparsed(&threads), Vec::<String>::new());
    let mut indexes = Vec::new();
    for frames in threads
        .values()
        .filter(|f| f.iter().any(|x| x.function == "threads_recurse"))
    {
        let recurse = frames_of(frames, "threads_recurse");
        assert_eq!(recurse.len(), 3);
        for (i, frame) in recurse.iter().enumerate() {
            let depth = i as i128 + 1;
            assert_eq!(int(frame.arg("depth")), depth);
            assert_eq!(frame.arg("index"), Some(&GdbValue::OptimizedOut));
            assert_eq!(int(frame.local("remaining")), depth - 1);
            assert_eq!(int(frame.local("squared")), depth * depth);
            // `half` is a double; gdb prints 1.0 as `1`.
            let half = frame.local("half").and_then(GdbValue::as_float).expect("half");
            assert_eq!(half, depth as f64 / 2.0);
            assert_eq!(
                ints(frame.local("window")),
                (depth..depth + 4).collect::<Vec<_>>()
            );
            let local = frame.local("frame").expect("frame local");
            assert_eq!(int(local.field("depth")), depth);
            indexes.push(int(local.field("thread_index")));
        }
    }
    indexes.sort();
    assert_eq!(indexes, vec![1, 1, 1, 2, 2, 2]);
    let main = thread_with(&threads, "main");
    assert_eq!(main[4].function, "___pthread_join");
}

/// The checks of the C++ example's frames, for a fixture or a live run.
fn check_cpp_frames(threads: &HashMap<i32, Vec<GdbFrame>>, optimized: bool) {
    assert_eq!(threads.len(), 1);
    assert_eq!(unparsed(threads), Vec::<String>::new());
    let frames = thread_with(threads, "main");
    let walk = frames_of(frames, "shop::inventory::Auditor::walk");
    assert_eq!(walk.len(), 4, "walk(0) ... walk(3)");
    let this = walk[0].arg("this").and_then(GdbValue::as_address).expect("this");
    let mut note = String::from("audit");
    for (frame, depth) in walk.iter().rev().zip((0..4).rev()) {
        assert_eq!(frame.file.as_deref(), Some("cpp_example.cpp"));
        assert_eq!(int(frame.arg("depth")), depth);
        assert_eq!(frame.arg("this").and_then(GdbValue::as_address), Some(this));
        // Both references, with their address and the object.
        let shelf = frame.arg("shelf").expect("shelf");
        assert!(matches!(shelf, GdbValue::Reference { address: Some(_), .. }));
        assert_eq!(
            shelf.field("label").and_then(GdbValue::std_string).as_deref(),
            Some("power tools, aisle 7 (back wall)")
        );
        assert_eq!(ints(shelf.path(&["recent_counts", "slots_"])), vec![9, 6, 7, 8]);
        assert_eq!(int(shelf.path(&["recent_counts", "head_"])), 1);
        match shelf.path(&["recent_prices", "slots_"]) {
            Some(GdbValue::Array { elements, .. }) => {
                let prices: Vec<f64> = elements.iter().map(|e| e.as_float().unwrap()).collect();
                assert_eq!(prices, vec![12.5, 89.99, 0.0]);
            }
            other => panic!("recent_prices: {other:?}"),
        }
        let (start, finish, _) = shelf
            .field("tags")
            .and_then(GdbValue::std_vector_bounds)
            .expect("tags");
        assert_eq!(finish - start, 2 * 32, "two std::string of 32 bytes");
        assert!(matches!(shelf.field("pricing"), Some(GdbValue::Pointer(p))
            if p.symbol.as_deref() == Some("shop::inventory::discount_ten_percent(double)")));
        let item = frame.arg("item").expect("item");
        assert!(matches!(item.field("_vptr.Item"), Some(GdbValue::Pointer(p))
            if p.symbol.as_deref() == Some("vtable for shop::inventory::Tool+16")));
        assert_eq!(
            item.field("name_").and_then(GdbValue::std_string).as_deref(),
            Some("drill")
        );
        assert_eq!(item.field("unit_price_"), Some(&GdbValue::Float(89.99)));
        // The rvalue reference and the locals built from it.
        assert_eq!(
            frame.arg("note").and_then(GdbValue::std_string).as_deref(),
            Some(note.as_str())
        );
        note = format!("{note}/{depth}");
        assert_eq!(
            frame.local("step").and_then(GdbValue::std_string).as_deref(),
            Some(note.as_str())
        );
        let (start, finish, _) = frame
            .local("trail")
            .and_then(GdbValue::std_vector_bounds)
            .expect("trail");
        assert_eq!(finish - start, 4 * (depth as u64 + 1));
        if depth > 0 {
            assert_eq!(
                frame.local("next").and_then(GdbValue::std_string).as_deref(),
                Some(note.as_str())
            );
        }
        let weigh = frame.local("weigh").expect("weigh");
        if optimized {
            assert_eq!(weigh, &GdbValue::OptimizedOut);
        } else {
            assert_eq!(int(weigh.field("__depth")), depth);
            assert_eq!(weigh.field("__this").and_then(GdbValue::as_address), Some(this));
        }
    }
    let main = frames_of(frames, "main")[0];
    let hammer = main.local("hammer").expect("hammer");
    assert!(hammer.base("shop::inventory::Item").is_some());
    assert_eq!(
        hammer.field("name_").and_then(GdbValue::std_string).as_deref(),
        Some("hammer")
    );
    assert_eq!(int(hammer.field("serial_")), 1);
    assert_eq!(
        hammer.field("grade_"),
        Some(&GdbValue::Char {
            code: 65,
            literal: "A".into()
        })
    );
    assert_eq!(hammer.field("weight_kg_"), Some(&GdbValue::Float(0.75)));
    let drill = main.local("drill").expect("drill");
    assert_eq!(drill.field("powered_"), Some(&GdbValue::Bool(true)));
    let (start, finish, _) = drill
        .field("sizes_mm_")
        .and_then(GdbValue::std_vector_bounds)
        .expect("sizes");
    assert_eq!(finish - start, 8);
    let auditor = main.local("auditor").expect("auditor");
    assert_eq!(
        auditor.field("focus_"),
        Some(&GdbValue::Enum("shop::inventory::Category::Tools".into()))
    );
    assert_eq!(int(auditor.field("visits_")), 4);
    assert_eq!(
        main.local("mode"),
        Some(&GdbValue::Enum("shop::inventory::Mode::Hang".into()))
    );
}

#[test]
fn cpp_example_fixtures_show_members_references_and_std_types() {
    check_cpp_frames(&parse_backtraces(&fixture("cpp_example-hang.txt")), false);
    check_cpp_frames(&parse_backtraces(&fixture("cpp_example-O2-hang.txt")), true);
}

// ---- the comparator --------------------------------------------------------------------------

fn var(name: &str, kind: &str, value: Value) -> Value {
    json!({"name": name, "type": "t", "base_type": "t", "kind": kind, "address": null,
           "value": value, "symbol": null, "parameter": false, "state": "ok",
           "children": [], "annotations": []})
}

fn with(mut v: Value, key: &str, x: Value) -> Value {
    v[key] = x;
    v
}

fn frame_of(function: &str, args: &str, locals: &[&str]) -> GdbFrame {
    let mut frame = parse_frame_line(&format!("#1  0x0000000000401000 in {function} ({args}) at f.c:1"))
        .expect("frame line");
    for local in locals {
        let (name, value) = local.split_once(" = ").unwrap();
        frame
            .locals
            .push((name.to_string(), GdbValue::parse(value).unwrap()));
    }
    frame
}

#[test]
fn comparator_accepts_equal_values_in_every_json_form() {
    let gdb = frame_of(
        "f",
        "n=n@entry=5, big=18446744073709551615, p=0x7ffe0010, s=0x4000 \"kids\", c=65 'A', ok=true",
        &[
            "x = 2.5",
            "half = 1",
            "mode = ns::Mode::Hang",
            "plain = CRASH_MODE_HANG",
            "msg = \"hi\", '\\000' <repeats 12 times>",
            "gone = <optimized out>",
            "bad = <error: Cannot access memory at address 0x10>",
        ],
    );
    let ours = json!({"variables": [
        with(var("n", "ll", json!(5)), "parameter", json!(true)),
        var("big", "ull", json!("18446744073709551615")),
        var("p", "reference", json!("0x7ffe0010")),
        with(var("s", "reference", json!("0x4000")), "symbol", json!("kids")),
        var("c", "ll", json!(65)),
        var("ok", "ll", json!(1)),
        var("x", "dbl", json!(2.500_000_1)),
        var("half", "dbl", json!(1.0)),
        with(var("mode", "enum", json!(0)), "symbol", json!("Hang")),
        with(var("plain", "enum", json!(0)), "symbol", json!("CRASH_MODE_HANG")),
        with(var("msg", "string", Value::Null), "symbol", json!("hi")),
        with(var("gone", "ll", Value::Null), "state", json!("optimized_out")),
        with(var("bad", "ll", Value::Null), "state", json!("unreadable")),
    ]});
    assert_eq!(compare_with_snapshot(&gdb, &ours), Vec::<String>::new());
}

#[test]
fn comparator_reports_each_kind_of_mismatch() {
    let gdb = frame_of(
        "f",
        "n=5, p=0x10",
        &[
            "x = 2.5",
            "e = ns::Mode::Hang",
            "gone = <optimized out>",
            "here = 3",
            "missing = 7",
            "absent = <optimized out>",
            "odd = std::thing",
        ],
    );
    let ours = json!({"variables": [
        var("n", "ll", json!("6")),
        var("p", "reference", json!("0x11")),
        var("x", "dbl", json!(2.6)),
        with(var("e", "enum", json!(1)), "symbol", json!("Park")),
        var("gone", "ll", json!(4)),
        with(var("here", "ll", Value::Null), "state", json!("optimized_out")),
    ]});
    let mismatches = compare_with_snapshot(&gdb, &ours);
    let expect = [
        "f #1: n:",
        "f #1: p:",
        "f #1: x:",
        "f #1: e:",
        "f #1: gone: gdb says <optimized out>",
        "f #1: here: gdb has 3, ours is optimized_out",
        "f #1: missing: gdb lists it (7), ours has no such variable",
        "f #1: absent: gdb lists it (<optimized out>), ours has no such variable",
    ];
    for prefix in expect {
        assert!(
            mismatches.iter().any(|m| m.starts_with(prefix)),
            "no {prefix:?} in {mismatches:#?}"
        );
    }
    // `odd` is an enum label to the parser: a label with no such variable here.
    assert_eq!(mismatches.len(), expect.len() + 1, "{mismatches:#?}");
}

#[test]
fn entry_values_compare_with_the_parameters_entry_value() {
    let gdb = frame_of(
        "f",
        "n=n@entry=5, p=<optimized out>, p@entry=0x10 \"hi\", m=6, m@entry=7, q=1",
        &[],
    );
    let parameter = |name: &str, kind: &str, value: Value, entry: Value| {
        with(
            with(var(name, kind, value), "parameter", json!(true)),
            "entry_value",
            entry,
        )
    };
    let agrees = json!({"variables": [
        parameter("n", "ll", json!(5), json!(5)),
        with(parameter("p", "reference", Value::Null, json!("0x10")), "state", json!("optimized_out")),
        parameter("m", "ll", json!(6), json!("7")),
        parameter("q", "ll", json!(1), Value::Null),
    ]});
    assert_eq!(compare_entry_values(&gdb, &agrees), (3, Vec::new()));
    assert_eq!(compare_with_snapshot(&gdb, &agrees), Vec::<String>::new());

    let differs = json!({"variables": [
        parameter("n", "ll", json!(5), json!(4)),
        parameter("p", "reference", Value::Null, Value::Null),
        parameter("q", "ll", json!(1), json!(1)),
    ]});
    let (printed, differences) = compare_entry_values(&gdb, &differs);
    assert_eq!(printed, 3);
    let expect = [
        "f #1: n@entry: gdb has 5, ours has",
        "f #1: p@entry: gdb has 0x10, ours has no entry value",
        "f #1: m@entry: gdb has 7, ours has no such parameter",
        "f #1: ours has q@entry=1, gdb prints no entry value",
    ];
    for prefix in expect {
        assert!(
            differences.iter().any(|d| d.starts_with(prefix)),
            "no {prefix:?} in {differences:#?}"
        );
    }
    assert_eq!(differences.len(), expect.len(), "{differences:#?}");
}

#[test]
fn tally_counts_frames_variables_values_entry_values_and_pointees() {
    let mut gdb = vec![
        frame_of(
            "f",
            "n=n@entry=5, lock=0x5000 <hang_lock>",
            &[
                "x = 1",
                "x = <optimized out>",
                "gone = <optimized out>",
                "seen = 0x6028 <hang_forever+40>",
            ],
        ),
        frame_of("g", "", &["y = 2"]),
    ];
    gdb[1].index = 2;
    let parameter = |v: Value| with(v, "parameter", json!(true));
    let thread = json!({"frames": [
        {"symbol": "f", "variables": [
            with(parameter(var("n", "ll", json!(5))), "entry_value", json!(5)),
            with(parameter(var("lock", "reference", json!("0x5000"))), "target_symbol", json!("hang_lock")),
            with(var("x", "ll", Value::Null), "state", json!("optimized_out")),
            var("x", "ll", json!(1)),
            var("gone", "ll", json!(3)),
            with(var("seen", "reference", json!("0x6028")), "target_symbol", json!("hang_forever+41")),
        ]},
        {"symbol": "h", "variables": []},
    ]});
    let mut tally = Tally::default();
    tally.add_thread(&gdb, &thread);
    assert_eq!((tally.gdb_frames, tally.frames_found), (2, 1), "{tally}");
    assert_eq!((tally.listed, tally.listed_found), (6, 6), "{tally}");
    assert_eq!((tally.printed, tally.printed_equal), (4, 4), "{tally}");
    assert_eq!(
        (tally.optimized_out, tally.optimized_out_shown),
        (2, 1),
        "{tally}"
    );
    assert_eq!((tally.entry_values, tally.entry_values_equal), (1, 1), "{tally}");
    assert_eq!(tally.entry_values_extra, 0, "{tally}");
    assert_eq!(
        (tally.pointer_symbols, tally.pointer_symbols_equal),
        (2, 1),
        "{tally}"
    );
    // gdb lists the block's x (1) before the function's (optimized out); ours the other way.
    assert_eq!((tally.repeated, tally.repeated_in_order), (2, 1), "{tally}");
    assert!(tally
        .to_string()
        .contains("variables gdb lists, listed: 6 of 6 (100.00 %)"));
    assert!(
        tally
            .differences
            .iter()
            .any(|d| d.starts_with("g #2: no such frame here")),
        "{:#?}",
        tally.differences
    );
}

#[test]
fn comparator_walks_structs_arrays_bases_and_stops_at_our_depth_limit() {
    let gdb = frame_of(
        "g",
        "",
        &[
            "s = {a = 1, in = {c = 2}, arr = {7, 8, 9}, {u = 5}}",
            "t = {<ns::Base<int>> = {b = 3}, d = 4}",
            "flat = {<Base> = {b = 3}, d = 4}",
            "deep = {a = {b = {c = 1}}}",
        ],
    );
    let child = |name: &str, v: Value| var(name, "ll", v);
    let node =
        |name: &str, children: Vec<Value>| with(var(name, "tuple", Value::Null), "children", json!(children));
    let ours_ok = json!({"variables": [
        node("s", vec![child("a", json!(1)), node("in", vec![child("c", json!(2))]),
            node("arr", vec![child("[0]", json!(7)), child("[1]", json!(8)), child("[2]", json!(9))]),
            node("", vec![child("u", json!(5))])]),
        node("t", vec![node("<ns::Base<int>>", vec![child("b", json!(3))]), child("d", json!(4))]),
        node("flat", vec![child("b", json!(3)), child("d", json!(4))]),
        // Our depth limit: `a` has no children while gdb goes deeper.
        node("deep", vec![node("a", vec![])]),
    ]});
    assert_eq!(compare_with_snapshot(&gdb, &ours_ok), Vec::<String>::new());

    let ours_bad = json!({"variables": [
        node("s", vec![child("a", json!(1)), node("in", vec![child("c", json!(20))]),
            node("arr", vec![child("[0]", json!(7)), child("[1]", json!(80))]),
            node("", vec![child("u", json!(5))])]),
        node("t", vec![node("<ns::Base<int>>", vec![child("b", json!(3))])]),
        node("flat", vec![child("b", json!(30)), child("d", json!(4))]),
        node("deep", vec![node("a", vec![node("b", vec![child("c", json!(2))])])]),
    ]});
    let mismatches = compare_with_snapshot(&gdb, &ours_bad);
    for needle in [
        "s.in.c:",
        "s.arr: gdb has 3 elements, ours has 2",
        "s.arr[1]:",
        "t.d: gdb has 4, ours has no such member",
        "flat.<Base>.b:",
        "deep.a.b.c:",
    ] {
        assert!(
            mismatches.iter().any(|m| m.contains(needle)),
            "no {needle:?} in {mismatches:#?}"
        );
    }
    assert_eq!(mismatches.len(), 6, "{mismatches:#?}");
}

#[test]
fn comparator_handles_references_chars_arrays_and_shadowed_names() {
    let gdb = frame_of(
        "h",
        "r=@0x7ffe0100: {x = 1}, v=@0x7ffe0200: 42, w=@0x7ffe0300: {y = 2}",
        &["i = 1", "i = <optimized out>", "buf = \"ab\"", "codes = \"a\""],
    );
    let reference = with(
        var("r", "reference", json!("0x7ffe0100")),
        "children",
        json!([var("x", "ll", json!(1))]),
    );
    let ours = json!({"variables": [
        with(reference.clone(), "parameter", json!(true)),
        with(var("v", "ll", json!(42)), "parameter", json!(true)),
        with(var("w", "reference", json!("0x7ffe0300")), "children",
            json!([with(var("*w", "tuple", Value::Null), "children", json!([var("y", "ll", json!(2))]))])),
        with(var("i", "ll", Value::Null), "state", json!("optimized_out")),
        var("i", "ll", json!(1)),
        with(var("buf", "string", Value::Null), "symbol", json!("ab")),
        with(var("codes", "array", Value::Null), "children", json!([var("[0]", "ll", json!(97))])),
    ]});
    assert_eq!(compare_with_snapshot(&gdb, &ours), Vec::<String>::new());

    let wrong = json!({"variables": [
        with(var("r", "reference", json!("0x7ffe0108")), "children", json!([var("x", "ll", json!(1))])),
        var("v", "ll", json!(43)),
        with(var("w", "reference", json!("0x7ffe0300")), "children",
            json!([with(var("*w", "tuple", Value::Null), "children", json!([var("y", "ll", json!(3))]))])),
        var("i", "ll", json!(1)),
        var("i", "ll", json!(2)),
        with(var("buf", "string", Value::Null), "symbol", json!("ax")),
        with(var("codes", "array", Value::Null), "children", json!([var("[0]", "ll", json!(98))])),
    ]});
    let mismatches = compare_with_snapshot(&gdb, &wrong);
    for needle in [
        "h #1: r:",
        "h #1: v:",
        "h #1: i: gdb says <optimized out>",
        "h #1: buf:",
        "h #1: codes[0]:",
        "h #1: w.y:",
    ] {
        assert!(
            mismatches.iter().any(|m| m.starts_with(needle)),
            "no {needle:?} in {mismatches:#?}"
        );
    }
    assert_eq!(mismatches.len(), 6, "{mismatches:#?}");
}

#[test]
fn frames_align_by_function_name() {
    let gdb: Vec<GdbFrame> = [
        "#0  0x1 in __libc_pause () at p.c:1",
        "#1  0x2 in shop::Auditor::walk (depth=0) at a.cc:2",
        "#2  0x3 in shop::Auditor::walk (depth=1) at a.cc:3",
        "#3  0x4 in main () at a.cc:4",
    ]
    .iter()
    .map(|l| parse_frame_line(l).unwrap())
    .collect();
    let ours: Vec<Value> = [
        json!({"symbol": "pause"}),
        json!({"symbol": "__libc_pause"}),
        json!({"symbol": "shop::Auditor::walk(int)"}),
        json!({"symbol": null}),
        json!({"symbol": "shop::Auditor::walk(int)"}),
        json!({"symbol": "main"}),
    ]
    .into_iter()
    .map(|mut f| {
        let is_walk = f["symbol"].as_str().is_some_and(|s| s.contains("walk"));
        f["variables"] = if is_walk {
            json!([var("depth", "ll", json!(0))])
        } else {
            json!([])
        };
        f
    })
    .collect();
    assert_eq!(align_frames(&gdb, &ours), vec![(0, 1), (1, 2), (2, 4), (3, 5)]);
    assert!(same_function("f", "f(int, char**) const"));
    assert!(!same_function("f", "g"));
    // walk(depth=1) is paired with a frame whose depth is 0: one mismatch.
    let thread = json!({"frames": ours.clone()});
    let mismatches = compare_thread_with_snapshot(&gdb, &thread);
    assert_eq!(mismatches.len(), 1, "{mismatches:#?}");
    assert!(mismatches[0].starts_with("shop::Auditor::walk #2: depth:"));
    // A variable gdb does not list in a frame is reported too (not in unpaired frames).
    let mut extra = ours;
    extra[5]["variables"] = json!([var("ghost", "ll", json!(1))]);
    extra[3]["variables"] = json!([var("ghost", "ll", json!(1))]);
    let mismatches = compare_thread_with_snapshot(&gdb, &json!({ "frames": extra }));
    assert_eq!(mismatches.len(), 2, "{mismatches:#?}");
    assert!(
        mismatches[1].starts_with("main #3: ours has \"ghost\""),
        "{mismatches:#?}"
    );
}

// ---- live processes --------------------------------------------------------------------------

#[test]
fn gdb_on_live_crash_o2_parses_the_recurse_chain() {
    let target = Target::start(&example("crash-O2"), &["hang", "2"]);
    let pid = target.pid();
    let threads = gdb_frames_with_variables(pid);
    assert_eq!(threads.len(), 3, "main + 2 helpers");
    assert_eq!(unparsed(&threads), Vec::<String>::new());
    let main = threads.get(&pid).expect("the main thread");
    let recurse = frames_of(main, "recurse");
    let n: Vec<i128> = recurse.iter().map(|f| int(f.arg("n"))).collect();
    assert_eq!(n, vec![0, 1, 2, 3, 4, 5]);
    for frame in recurse {
        assert_eq!(
            int(frame.local("frame").and_then(|f| f.field("depth"))),
            int(frame.arg("n"))
        );
    }
    // gdb detached: every thread runs again, untraced.
    assert_running_untraced(pid);
}

#[test]
fn gdb_on_live_cpp_example_parses_members_strings_and_vectors() {
    for (program, optimized) in [("cpp_example", false), ("cpp_example-O2", true)] {
        let target = Target::start(&example(program), &["hang"]);
        let threads = gdb_frames_with_variables(target.pid());
        check_cpp_frames(&threads, optimized);
        assert_running_untraced(target.pid());
    }
}

#[test]
fn gdb_on_a_missing_process_is_an_error() {
    // A pid that exited: reaped child of ours, so nobody reuses it before gdb runs (pids are
    // not reused this fast on an idle machine; the assertion only needs gdb to find no thread).
    let mut child = std::process::Command::new("true").spawn().expect("run true");
    let pid = child.id() as i32;
    child.wait().expect("reap true");
    assert!(matches!(run_gdb_backtraces(pid), Err(GdbError::NoThreads { .. })));
}

// ---- the comparator on every value shape gdb printed -----------------------------------------

/// A snapshot variable holding exactly what gdb printed, in the JSON shape of
/// `schema/snapshot.schema.json` (base classes as children named after the class, anonymous
/// members as children with an empty name).
fn snapshot_variable(name: &str, value: &GdbValue) -> Value {
    let mut v = var(name, "ll", Value::Null);
    match value {
        GdbValue::Int(n) => {
            v["value"] = i64::try_from(*n)
                .map(Value::from)
                .unwrap_or_else(|_| json!(n.to_string()))
        }
        GdbValue::Float(x) => {
            v["kind"] = json!("dbl");
            v["value"] = serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .unwrap_or(Value::Null);
        }
        GdbValue::Char { code, .. } => v["value"] = json!(code),
        GdbValue::Bool(b) => v["value"] = json!(i64::from(*b)),
        GdbValue::Pointer(p) => {
            v["kind"] = json!("reference");
            v["value"] = json!(format!("{:#x}", p.address));
            if let Some(s) = &p.string {
                v["symbol"] = json!(String::from_utf8_lossy(s));
            }
        }
        GdbValue::Reference { address, target } => {
            v["kind"] = json!("reference");
            v["value"] = address.map(|a| json!(format!("{a:#x}"))).unwrap_or(Value::Null);
            let referent = snapshot_variable("*", target);
            v["children"] = match target.as_ref() {
                GdbValue::Struct(_) | GdbValue::Array { .. } => referent["children"].clone(),
                _ => json!([referent]),
            };
        }
        GdbValue::CharArray { bytes, .. } => {
            v["kind"] = json!("string");
            let text: Vec<u8> = bytes.iter().copied().take_while(|&b| b != 0).collect();
            v["symbol"] = json!(String::from_utf8_lossy(&text));
        }
        GdbValue::Array { elements, .. } => {
            v["kind"] = json!("array");
            v["children"] = elements
                .iter()
                .enumerate()
                .map(|(i, e)| snapshot_variable(&format!("[{i}]"), e))
                .collect();
        }
        GdbValue::Struct(fields) => {
            v["kind"] = json!("tuple");
            v["children"] = fields
                .iter()
                .map(|f| match &f.name {
                    GdbFieldName::Member(n) | GdbFieldName::Base(n) => snapshot_variable(n, &f.value),
                    GdbFieldName::Anonymous => snapshot_variable("", &f.value),
                })
                .collect();
        }
        GdbValue::Enum(label) => {
            v["kind"] = json!("enum");
            v["value"] = json!(0);
            v["symbol"] = json!(label);
        }
        GdbValue::OptimizedOut => v["state"] = json!("optimized_out"),
        GdbValue::Error(_) | GdbValue::Unavailable(_) | GdbValue::Unparsed(_) => {
            v["state"] = json!("unreadable")
        }
    }
    v
}

/// The snapshot frame holding exactly what gdb printed for `frame`.
fn snapshot_frame(frame: &GdbFrame) -> Value {
    let args = frame
        .args
        .iter()
        .map(|(n, v)| with(snapshot_variable(n, v), "parameter", json!(true)));
    let locals = frame.locals.iter().map(|(n, v)| snapshot_variable(n, v));
    json!({"symbol": frame.function, "variables": args.chain(locals).collect::<Vec<_>>()})
}

/// Adds 1 to every integer leaf (JSON numbers that are integers) of a snapshot variable tree.
fn perturb_integers(v: &mut Value) {
    if let Some(n) = v["value"].as_i64() {
        v["value"] = json!(n.wrapping_add(1));
    }
    if let Some(children) = v["children"].as_array_mut() {
        children.iter_mut().for_each(perturb_integers);
    }
}

/// Whether a gdb value holds an integer leaf the comparator must check (not under a
/// reference, which our JSON above keeps as children, nor an enum label).
fn has_integer_leaf(value: &GdbValue) -> bool {
    let mut found = false;
    value.walk(&mut |v| found |= matches!(v, GdbValue::Int(_) | GdbValue::Char { .. } | GdbValue::Bool(_)));
    found
}

#[test]
fn comparator_agrees_with_every_fixture_frame_and_reaches_every_integer_leaf() {
    let fixtures = [
        "crash-O2-hang-2.txt",
        "crash-hang-1.txt",
        "threads-O2-2-3.txt",
        "cpp_example-hang.txt",
        "cpp_example-O2-hang.txt",
    ];
    let mut variables_checked = 0;
    for name in fixtures {
        let threads = parse_backtraces(&fixture(name));
        for (tid, frames) in &threads {
            for frame in frames {
                let ours = snapshot_frame(frame);
                assert_eq!(
                    compare_with_snapshot(frame, &ours),
                    Vec::<String>::new(),
                    "{name} thread {tid}"
                );

                let mut perturbed = ours.clone();
                perturbed["variables"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .for_each(perturb_integers);
                let mismatches = compare_with_snapshot(frame, &perturbed);
                for (var_name, value) in frame.args.iter().chain(&frame.locals) {
                    if has_integer_leaf(value) {
                        variables_checked += 1;
                        let prefix = format!("{} #{}: {var_name}", frame.function, frame.index);
                        assert!(
                            mismatches.iter().any(|m| m.starts_with(&prefix)),
                            "{name}: a changed integer in {prefix} went unnoticed: {mismatches:#?}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        variables_checked > 100,
        "only {variables_checked} variables with integers"
    );
}

#[test]
fn gdb_frames_align_with_a_real_snapshot_of_the_cpp_example() {
    let target = Target::start(&example("cpp_example-O2"), &["hang"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snapshot = snapshot_ok(&output);
    let gdb = gdb_frames_with_variables(pid);
    let gdb_main = gdb.get(&pid).expect("gdb's main thread");
    let ours = thread(&snapshot, pid)["frames"]
        .as_array()
        .expect("frames")
        .clone();
    let pairs = align_frames(gdb_main, &ours);
    let user: Vec<usize> = gdb_main
        .iter()
        .filter(|f| f.function == "shop::inventory::Auditor::walk" || f.function == "main")
        .map(|f| f.index)
        .collect();
    assert_eq!(user.len(), 5);
    for index in user {
        let &(_, o) = pairs
            .iter()
            .find(|(g, _)| *g == index)
            .unwrap_or_else(|| panic!("gdb frame {index} not aligned: {pairs:?}"));
        let gdb_frame = &gdb_main[index];
        assert!(same_function(
            &gdb_frame.function,
            ours[o]["symbol"].as_str().unwrap_or("")
        ));
        assert_eq!(
            ours[o]["line"].as_u64(),
            gdb_frame.line.map(u64::from),
            "frame {index}"
        );
    }
}
