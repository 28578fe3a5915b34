//! Variables in snapshots of real processes: parameters and locals of every frame, globals asked
//! for with `--global`, checked against the example programs' known values and against gdb.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::gdb::*;
use common::*;
use serde_json::Value;

/// The frames of the thread `tid` whose symbol is `symbol`, in order.
fn frames_named<'a>(snap: &'a Value, tid: i32, symbol: &str) -> Vec<&'a Value> {
    thread(snap, tid)["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["symbol"] == symbol)
        .collect()
}

/// Checks the six `recurse` frames of a `crash hang` main thread: `n` and `frame` at each depth,
/// `ctx` as a pointer.
fn check_recurse_frames(snap: &Value, pid: i32) {
    let recurse = frames_named(snap, pid, "recurse");
    assert_eq!(recurse.len(), 6);
    let mut ctx_value = None;
    for (depth, frame) in recurse.iter().enumerate() {
        let vars = &frame["variables"];
        let n = var(vars, "n");
        assert_eq!(n["value"], depth as u64, "n in recurse frame {depth}: {n}");
        assert_eq!(n["parameter"], true);
        assert_eq!(n["type"], "int");
        assert_eq!(n["kind"], "ll");
        assert_eq!(n["state"], "ok");

        let ctx = var(vars, "ctx");
        assert_eq!(ctx["kind"], "reference");
        assert_eq!(ctx["type"], "struct crash_ctx *");
        assert_eq!(ctx["base_type"], "crash_ctx");
        let pointer = ctx["value"].as_str().expect("a pointer is a hex string");
        assert!(pointer.starts_with("0x") && pointer != "0x0", "{ctx}");
        assert!(
            ctx["children"].as_array().unwrap().is_empty(),
            "pointers are not followed"
        );
        // The same context is passed all the way down.
        assert_eq!(*ctx_value.get_or_insert(pointer.to_string()), pointer);

        let local = var(vars, "frame");
        assert_eq!(local["parameter"], false);
        assert_eq!(local["kind"], "tuple");
        assert_eq!(local["type"], "struct crash_frame_info");
        assert_eq!(local["base_type"], "crash_frame_info");
        assert_eq!(var(&local["children"], "depth")["value"], depth as u64);
        assert_eq!(var(&local["children"], "tag")["value"], 0xc0de + depth as u64);
        assert_eq!(var(&local["children"], "tag")["kind"], "ull");
        let outer = var(&local["children"], "outer");
        assert_eq!(outer["kind"], "reference");
        if depth == 5 {
            assert_eq!(outer["value"], "0x0", "recurse(5) has no outer frame");
        } else {
            // `outer` points to the `frame` local one recurse frame up.
            let above = var(&recurse[depth + 1]["variables"], "frame");
            assert_eq!(outer["value"], above["address"], "outer of recurse({depth})");
        }
    }
    let main = frames_named(snap, pid, "main");
    let ctx = var(&main[0]["variables"], "ctx");
    assert_eq!(
        Some(ctx["address"].as_str().unwrap().to_string()),
        ctx_value,
        "ctx points to main's ctx"
    );
    let mode = var(&ctx["children"], "mode");
    assert_eq!(mode["kind"], "enum");
    assert_eq!(mode["value"], 0);
    assert_eq!(mode["symbol"], "CRASH_MODE_HANG");
    assert_eq!(var(&ctx["children"], "mode_name")["symbol"], "hang");
    assert_eq!(var(&ctx["children"], "max_depth")["value"], 5);
}

#[test]
fn crash_hang_frames_and_globals_have_their_values() {
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[
        "--global",
        "papa",
        "--global",
        "some_struct_g",
        "--global",
        "global_version",
        "--global",
        "invalid_write_counter",
        "--global",
        "invalid_write_ratio",
        "--global",
        "invalid_write_message",
        "--global",
        "invalid_write_target",
        &pid.to_string(),
    ]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    check_recurse_frames(&snap, pid);

    let globals = &snap["globals"];
    let papa = var(globals, "papa");
    assert_eq!(papa["type"], "struct array_struct");
    assert_eq!(papa["kind"], "tuple");
    assert_eq!(var(&papa["children"], "len")["value"], 10);
    let kids = var(&papa["children"], "kids");
    assert_eq!(kids["kind"], "reference");
    assert_eq!(kids["type"], "struct somestruct *");
    assert!(kids["value"].as_str().unwrap().starts_with("0x"));
    assert_ne!(kids["value"], "0x0");

    let some = var(globals, "some_struct_g");
    assert_eq!(some["kind"], "reference");
    assert_eq!(some["base_type"], "somestruct");
    assert_ne!(some["value"], "0x0");

    let version = var(globals, "global_version");
    assert_eq!(version["type"], "const char *");
    assert_eq!(version["base_type"], "char");
    assert_eq!(version["kind"], "reference");
    assert_eq!(version["symbol"], "crash 1.0.0");

    assert_eq!(var(globals, "invalid_write_counter")["value"], 41);
    let ratio = var(globals, "invalid_write_ratio");
    assert_eq!(ratio["kind"], "dbl");
    assert_eq!(ratio["value"], 2.5);
    let message = var(globals, "invalid_write_message");
    assert_eq!(message["type"], "char [32]");
    assert_eq!(message["kind"], "string");
    assert_eq!(message["symbol"], "invalid write ahead");
    let spot = var(globals, "invalid_write_target");
    assert_eq!(var(&spot["children"], "id")["value"], 7);
    assert_eq!(var(&spot["children"], "flags")["value"], 5);
    assert_eq!(var(&spot["children"], "name")["symbol"], "low page");
    let address = var(&spot["children"], "address");
    assert_eq!(address["type"], "volatile int *");
    assert_eq!(address["value"], "0x10");
    // Globals have addresses inside the executable's mappings.
    for global in globals.as_array().unwrap() {
        assert!(global["address"].as_str().unwrap().starts_with("0x"), "{global}");
        assert_eq!(global["state"], "ok", "{global}");
    }
}

#[test]
fn an_unknown_global_is_a_warning_not_an_error() {
    let target = Target::start(&example("crash"), &["hang", "0"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&["--global", "no_such_global_here", &pid.to_string()]);
    let snap = snapshot_ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no_such_global_here"), "{stderr}");
    let warnings = snap["warnings"].as_array().expect("warnings");
    assert!(warnings
        .iter()
        .any(|w| w.as_str().unwrap().contains("no_such_global_here")));
    assert!(snap["globals"].as_array().unwrap().is_empty());
}

#[test]
fn depth_limits_the_expansion() {
    let target = Target::start(&example("crash"), &["hang", "0"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&["--depth", "0", "--global", "papa", &pid.to_string()]);
    let snap = snapshot_ok(&output);
    let papa = var(&snap["globals"], "papa");
    assert_eq!(papa["state"], "truncated");
    assert!(papa["children"].as_array().unwrap().is_empty());
    let recurse = frames_named(&snap, pid, "recurse");
    let frame = var(&recurse[0]["variables"], "frame");
    assert_eq!(frame["state"], "truncated");
    // Scalars are not affected.
    assert_eq!(var(&recurse[0]["variables"], "n")["value"], 0);
}

/// The reasons a variable's annotations give (why it is optimized out, where a value came from).
fn reasons(variable: &Value) -> String {
    variable["annotations"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|a| a["text"].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Compiles `tests/fixtures/variables/<source>` with `compiler` (`cc` or `c++`), `flags` and
/// strict warnings into a temporary directory; returns the directory (keep it alive) and the binary.
fn build_fixture(
    compiler: &str,
    flags: &[&str],
    source: &str,
    name: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join(name);
    let status = std::process::Command::new(compiler)
        .args(flags)
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&binary)
        .arg(repo().join("tests/fixtures/variables").join(source))
        .status()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(status.success(), "{compiler} {source} failed");
    (dir, binary)
}

/// Compares every thread of `snap` with what gdb shows of the live process `pid` (`thread apply
/// all bt full` with the settings of `common::gdb`, `backtrace past-main` on), as
/// `common::gdb::assert_snapshot_matches_gdb` does; returns how many of gdb's variables (with a
/// value, or optimized out) were checked.
fn assert_matches_gdb(snap: &Value, pid: i32) -> usize {
    assert_snapshot_matches_gdb(snap, &gdb_frames_with_variables(pid), &pid.to_string())
}

/// gdb's frames of thread `tid` for `function`, in order.
fn gdb_frames_of(
    gdb: &std::collections::HashMap<i32, Vec<GdbFrame>>,
    tid: i32,
    function: &str,
) -> Vec<GdbFrame> {
    gdb[&tid]
        .iter()
        .filter(|f| f.function == function)
        .cloned()
        .collect()
}

#[test]
fn crash_o2_every_frame_matches_gdb() {
    let target = Target::start(&example("crash-O2"), &["hang", "2"]);
    let pid = target.pid();
    // --dump-all: every thread's variables (the grouped dump shows one thread of each group).
    let (output, _dir) = run_ptrace(&["--pretty-print", "--dump-all", &pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    check_text_dump(&snap, &String::from_utf8_lossy(&output.stdout));
    // At -O2, `n` lives in a callee-saved register (recovered from the frames below) or is an
    // entry value (recovered from the caller's call site); either way it must be exact.
    check_recurse_frames(&snap, pid);

    let checked = assert_matches_gdb(&snap, pid);
    assert!(checked >= 150, "only {checked} of gdb's variables checked");
    let gdb = gdb_frames_with_variables(pid);

    // A goto label the compiler left without an address (libc's `done`, `out`) is listed, as gdb
    // lists it: optimized out, with the reason.
    let labels: Vec<(i32, String, String)> = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let tid = t["tid"].as_i64().unwrap() as i32;
            t["frames"].as_array().unwrap().iter().flat_map(move |f| {
                f["variables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| reasons(v).contains("goto label"))
                    .map(move |v| {
                        (
                            tid,
                            f["symbol"].as_str().unwrap_or("").to_string(),
                            v["name"].as_str().unwrap().to_string(),
                        )
                    })
            })
        })
        .collect();
    assert!(!labels.is_empty(), "no label listed");
    for (tid, function, name) in &labels {
        let listed = gdb_frames_of(&gdb, *tid, function)
            .iter()
            .any(|f| f.local(name) == Some(&GdbValue::OptimizedOut));
        assert!(
            listed,
            "gdb does not list label {name} of {function} in thread {tid}"
        );
    }
    let their_n: Vec<i128> = gdb_frames_of(&gdb, pid, "recurse")
        .iter()
        .map(|f| f.arg("n").and_then(GdbValue::as_int).expect("gdb shows n"))
        .collect();
    assert_eq!(their_n, [0, 1, 2, 3, 4, 5]);

    // main's argc and argv are entry values, proven by __libc_start_call_main's indirect call:
    // its target (a stack slot of that frame) is main. gdb agrees once it unwinds past main.
    let main = frames_named(&snap, pid, "main");
    let argc = var(&main[0]["variables"], "argc");
    assert_eq!(argc["value"], 3, "{argc}");
    assert!(reasons(argc).contains("entry"), "{argc}");
    let gdb_main = gdb_frames_of(&gdb, pid, "main");
    assert_eq!(gdb_main[0].arg("argc"), Some(&GdbValue::Int(3)));

    // The helpers' tail-call frame (__futex_abstimed_wait_cancelable64 jumped to
    // __futex_abstimed_wait_common) has its parameters, as gdb shows them.
    for thread in snap["threads"].as_array().unwrap() {
        let tid = thread["tid"].as_i64().unwrap() as i32;
        if tid == pid {
            continue;
        }
        let frames = thread["frames"].as_array().unwrap();
        let tail = frames
            .iter()
            .find(|f| f["tail_call"] == true)
            .unwrap_or_else(|| panic!("thread {tid} has a tail-call frame"));
        let word = var(&tail["variables"], "futex_word");
        assert_eq!(word["state"], "ok", "{word}");
        let below = &frames[tail["index"].as_u64().unwrap() as usize - 1];
        assert_eq!(word["value"], var(&below["variables"], "futex_word")["value"]);
        // Each thread's own thread-local variables.
        let counter = var(&thread["variables"], "hang_tls_counter")["value"]
            .as_i64()
            .unwrap();
        assert!(counter == 101 || counter == 102, "thread {tid}: {counter}");
    }
    assert_eq!(
        var(&thread(&snap, pid)["variables"], "hang_tls_counter")["value"],
        100
    );
}

/// The text dump shows what the snapshot holds the way gdb prints it: each frame variable with
/// its entry value (`n = n@entry=0`, `n = <optimized out>, n@entry=5`), each pointer with the
/// symbol it points into (`0x5628... <hang_forever+40>`), each `_Bool` as `true` / `false`.
fn check_text_dump(snap: &Value, dump: &str) {
    let lines: std::collections::HashSet<&str> = dump.lines().map(str::trim).collect();
    let scalar = |v: &Value, boolean: bool| match v {
        Value::String(text) => text.clone(),
        Value::Number(n) if boolean && n.as_u64() == Some(0) => "false".to_string(),
        Value::Number(n) if boolean && n.as_u64() == Some(1) => "true".to_string(),
        other => other.to_string(),
    };
    let (mut entries, mut pointees, mut bools) = (0, 0, 0);
    for thread in snap["threads"].as_array().unwrap() {
        let frame_variables = thread["frames"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["variables"].as_array().unwrap());
        for variable in frame_variables.chain(thread["variables"].as_array().unwrap()) {
            let name = variable["name"].as_str().unwrap();
            // Parameters are on the frame line as gdb prints them (`n=n@entry=5`), locals on
            // lines of their own (`n = 5`).
            let eq = if variable["parameter"] == true { "=" } else { " = " };
            let boolean = variable["base_type"] == "_Bool";
            let value = scalar(&variable["value"], boolean);
            if !variable["entry_value"].is_null() {
                entries += 1;
                let entry = scalar(&variable["entry_value"], boolean);
                let known = variable["state"] == "ok";
                let wanted = if known && value == entry {
                    format!("{name}{eq}{name}@entry={entry}")
                } else if known {
                    format!("{name}{eq}{value}, {name}@entry={entry}")
                } else {
                    format!("{name}{eq}<optimized out>, {name}@entry={entry}")
                };
                assert!(dump.contains(&wanted), "no {wanted:?} in the dump:\n{dump}");
            }
            if let Some(symbol) = variable["target_symbol"].as_str() {
                pointees += 1;
                let wanted = format!("{value} <{symbol}>");
                assert!(dump.contains(&wanted), "no {wanted:?} in the dump:\n{dump}");
            }
            if variable["base_type"] == "_Bool" && variable["state"] == "ok" {
                bools += 1;
                let word = if variable["value"] == 0 { "false" } else { "true" };
                let wanted = format!("{name}{eq}{word}");
                assert!(
                    lines.iter().any(|l| l.starts_with(&wanted))
                        || dump.contains(&format!("({wanted}"))
                        || dump.contains(&format!(", {wanted}")),
                    "no {wanted:?} in the dump:\n{dump}"
                );
            }
        }
    }
    assert!(
        entries >= 5 && pointees >= 3 && bools >= 1,
        "{entries} {pointees} {bools}"
    );
}

#[test]
fn cpp_example_o2_every_frame_matches_gdb() {
    check_cpp_example_with_gdb("cpp_example-O2");
}

#[test]
fn cpp_example_o0_every_frame_matches_gdb() {
    check_cpp_example_with_gdb("cpp_example");
}

/// `cpp_example hang` (built as `program`): the four `walk` frames and their locals, then every
/// frame against gdb.
fn check_cpp_example_with_gdb(program: &str) {
    let target = Target::start(&example(program), &["hang"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    let walk: Vec<&Value> = thread(&snap, pid)["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["symbol"]
                .as_str()
                .is_some_and(|s| s.starts_with("shop::inventory::Auditor::walk("))
        })
        .collect();
    assert_eq!(walk.len(), 4, "four walk frames");
    for (depth, frame) in walk.iter().enumerate() {
        let vars = &frame["variables"];
        assert_eq!(var(vars, "depth")["value"], depth as u64);
        let item = var(vars, "item");
        assert_eq!(item["kind"], "reference");
        assert_eq!(item["type"], "shop::inventory::Item &");
    }
    let checked = assert_matches_gdb(&snap, pid);
    assert!(checked >= 50, "only {checked} of gdb's variables checked");
}

#[test]
fn threads_o2_locals_match_gdb() {
    let target = Target::start(&example("threads-O2"), &["4", "6"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    let checked = assert_matches_gdb(&snap, pid);
    assert!(checked >= 4 * 6 * 5, "only {checked} of gdb's variables checked");
    // The values follow from the depth, whatever gdb says.
    for thread in snap["threads"].as_array().unwrap() {
        for frame in thread["frames"].as_array().unwrap() {
            if frame["symbol"] != "threads_recurse" {
                continue;
            }
            let vars = &frame["variables"];
            let depth = var(vars, "depth")["value"].as_i64().expect("depth is known");
            let local = var(vars, "frame");
            if local["state"] == "ok" {
                assert_eq!(var(&local["children"], "depth")["value"], depth);
            }
            let window = var(vars, "window");
            if window["state"] == "ok" {
                let values: Vec<i64> = window["children"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["value"].as_i64().unwrap())
                    .collect();
                assert_eq!(values, [depth, depth + 1, depth + 2, depth + 3]);
            }
        }
    }
}

#[test]
fn thread_locals_have_each_threads_value() {
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[
        "--global",
        "hang_tls_counter",
        "--pretty-print",
        "--dump-all",
        &pid.to_string(),
    ]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    let threads = snap["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 3);
    let dump = String::from_utf8_lossy(&output.stdout);
    assert!(
        dump.contains("thread-local variables:") && dump.contains("hang_tls_counter = 101"),
        "{dump}"
    );
    let mut helpers = Vec::new();
    let mut blocks = std::collections::HashSet::new();
    for thread in threads {
        let tid = thread["tid"].as_i64().unwrap() as i32;
        let vars = &thread["variables"];
        let counter = var(vars, "hang_tls_counter");
        assert_eq!(counter["type"], "int");
        assert_eq!(counter["state"], "ok", "{counter}");
        let value = counter["value"].as_i64().unwrap();
        let index = value - 100;
        if tid == pid {
            assert_eq!(value, 100, "the main thread");
        } else {
            helpers.push(value);
        }
        let state = var(vars, "hang_tls_state");
        assert_eq!(state["type"], "struct hang_tls_state");
        assert_eq!(state["kind"], "tuple");
        let members = &state["children"];
        assert_eq!(var(members, "index")["value"], index);
        assert_eq!(var(members, "magic")["value"], 0xbeef_0000_i64 + index);
        let role = if tid == pid { "main" } else { "helper" };
        assert_eq!(var(members, "role")["symbol"], role);
        assert_eq!(var(members, "wakeups")["value"], 0);
        let own = var(vars, "hang_tls_self");
        assert_eq!(own["type"], "struct hang_tls_state *");
        assert_eq!(
            own["value"], state["address"],
            "hang_tls_self points to this thread's block"
        );
        assert!(
            blocks.insert(state["address"].to_string()),
            "one block per thread"
        );
        // libc's thread-local variables are there too.
        assert_eq!(var(vars, "errno")["type"], "int");
        for variable in vars.as_array().unwrap() {
            assert_eq!(variable["state"], "ok", "thread {tid}: {variable}");
        }
    }
    helpers.sort_unstable();
    assert_eq!(helpers, [101, 102]);

    // gdb's `thread N` + `print` on the same process gives the same values.
    let printed = gdb_thread_prints(pid, &["hang_tls_counter", "hang_tls_state", "hang_tls_self"]);
    for thread in threads {
        let tid = thread["tid"].as_i64().unwrap() as i32;
        let locals = printed.get(&tid).cloned().unwrap_or_default();
        assert_eq!(locals.len(), 3, "gdb printed for thread {tid}: {locals:?}");
        assert!(locals.iter().all(|(_, v)| v.has_value()), "{locals:?}");
        let frame = GdbFrame {
            index: 0,
            pc: None,
            function: "thread-local variables".to_string(),
            file: None,
            line: None,
            library: None,
            args: Vec::new(),
            entry_values: Vec::new(),
            locals,
        };
        let mismatches = compare_with_snapshot(&frame, thread);
        assert!(mismatches.is_empty(), "thread {tid}: {mismatches:?}");
    }

    // A thread-local global asked for with --global: the main thread's, said so.
    let global = var(&snap["globals"], "hang_tls_counter");
    assert_eq!(global["value"], 100);
    assert!(reasons(global).contains(&format!("thread {pid}")), "{global}");
}

#[test]
fn entry_values_are_refused_where_the_call_does_not_prove_them() {
    let (_dir, binary) = build_fixture("cc", &["-g", "-O2", "-pthread"], "entry_values.c", "entry_values");
    let target = Target::start(&binary, &[]);
    let pid = target.pid();
    let (output, _out) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    let frame_named = |symbol: &str| -> Value {
        snap["threads"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["frames"].as_array().unwrap().iter())
            .find(|f| f["symbol"] == symbol)
            .unwrap_or_else(|| panic!("no {symbol} frame"))
            .clone()
    };

    // ping(4) reached ping(0) through tail calls via pong: main's call site says 4, the frame
    // runs with 0. Not proven, so not given.
    let n = var(&frame_named("ping")["variables"], "n").clone();
    assert_eq!(n["state"], "optimized_out", "{n}");
    assert!(n["value"].is_null());
    assert!(reasons(&n).contains("can reach itself through tail calls"), "{n}");

    // indirect(7) was called through a function pointer that is gone: not proven either.
    let code = var(&frame_named("indirect")["variables"], "code").clone();
    assert_eq!(code["state"], "optimized_out", "{code}");
    assert!(reasons(&code).contains("indirect"), "{code}");

    // dispatch was called directly: its entry values are proven.
    let dispatch = frame_named("dispatch");
    assert_eq!(var(&dispatch["variables"], "index")["value"], 1);
    assert_eq!(var(&dispatch["variables"], "code")["value"], 7);

    // gdb refuses the same ones and agrees on the rest.
    assert_matches_gdb(&snap, pid);
}

#[test]
fn cpp_classes_templates_and_references() {
    let (_dir, binary) = build_fixture("c++", &["-g", "-O0"], "classes.cpp", "classes");
    let target = Target::start(&binary, &[]);
    let pid = target.pid();
    let (output, _out) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    let frames = thread(&snap, pid)["frames"].as_array().unwrap();
    let park = frames
        .iter()
        .find(|f| f["symbol"].as_str().unwrap().starts_with("park("))
        .expect("the park frame");
    let vars = &park["variables"];
    let circle = var(vars, "circle");
    assert_eq!(circle["type"], "geo::Circle &");
    assert_eq!(circle["kind"], "reference");
    assert_eq!(circle["base_type"], "geo::Circle");
    let buffer = var(vars, "buffer");
    assert_eq!(buffer["type"], "const geo::Buffer<short int, 3> &");
    let label = var(vars, "label");
    assert_eq!(label["type"], "std::string &&");
    assert_eq!(label["kind"], "reference");
    assert_eq!(
        var(vars, "values")["type"],
        "std::vector<int, std::allocator<int> >"
    );
    assert_eq!(var(vars, "pointer")["value"], circle["value"]);
    assert_eq!(var(vars, "local")["value"], 17);

    let main = frames.iter().find(|f| f["symbol"] == "main").expect("main");
    let circle = var(&main["variables"], "circle");
    assert_eq!(
        circle["address"],
        var(vars, "circle")["value"],
        "the reference is its address"
    );
    let shape = var(&circle["children"], "<geo::Shape>");
    assert_eq!(shape["kind"], "tuple");
    assert_eq!(var(&shape["children"], "id")["value"], 1);
    assert_eq!(var(&circle["children"], "radius")["value"], 2.5);
    let buffer = var(&main["variables"], "buffer");
    let items: Vec<i64> = var(&buffer["children"], "items")["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_i64().unwrap())
        .collect();
    assert_eq!(items, [7, 8, 9]);
    assert_eq!(var(&buffer["children"], "used")["value"], 2);
}

#[test]
fn dwarf4_gnu_call_sites_and_location_lists() {
    // -gdwarf-4 -O2: location lists in .debug_loc, DW_TAG_GNU_call_site, DW_OP_GNU_entry_value.
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("crash-dwarf4");
    let sources = ["crash.c", "invalid_write.c", "hang.c"].map(|s| repo().join("c-examples").join(s));
    let status = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-D_GNU_SOURCE",
            "-pthread",
            "-g",
            "-gdwarf-4",
            "-O2",
            "-o",
        ])
        .arg(&binary)
        .args(&sources)
        .status()
        .expect("run cc");
    assert!(status.success());
    let target = Target::start(&binary, &["hang", "1"]);
    let pid = target.pid();
    let (output, _out) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    check_recurse_frames(&snap, pid);
    assert!(assert_matches_gdb(&snap, pid) >= 30);
}

#[test]
fn optimised_locals_in_pieces_constants_and_entry_values() {
    let (_dir, binary) = build_fixture("cc", &["-g", "-O2"], "pieces.c", "pieces");
    let target = Target::start(&binary, &[]);
    let pid = target.pid();
    let (output, _out) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    let frames = thread(&snap, pid)["frames"].as_array().unwrap();
    let hold = frames
        .iter()
        .find(|f| f["symbol"] == "hold")
        .expect("the hold frame");
    let vars = &hold["variables"];
    // A struct scalar-replaced into two registers (DW_OP_piece): {argc + 40, argc * 7} doubled
    // and offset, with argc = 1.
    let local = var(vars, "local");
    assert_eq!(local["state"], "ok", "{local}");
    assert_eq!(var(&local["children"], "a")["value"], 82);
    assert_eq!(var(&local["children"], "b")["value"], 8);
    assert!(local["address"].is_null(), "a value in registers has no address");
    // Constants known only to the debug info.
    assert_eq!(var(vars, "ratio")["value"], 0.75);
    assert_eq!(var(vars, "constant")["value"], 1234);
    // `extra` (= argc) survives only as an entry value, recovered through main's call site,
    // whose value is itself main's entry value of argc.
    let extra = var(vars, "extra");
    assert_eq!(extra["value"], 1, "{extra}");
    // `p` is gone at this pc: optimized out, never a guess.
    let p = var(vars, "p");
    assert_eq!(p["state"], "optimized_out");
    assert!(p["value"].is_null() && p["children"].as_array().unwrap().is_empty());
}

/// A snapshot without what differs from one run to the next (times).
fn without_times(mut snap: Value) -> Value {
    if let Some(object) = snap.as_object_mut() {
        object.remove("timing");
        object.remove("timestamp");
    }
    snap
}

#[test]
fn variables_built_after_the_resume_are_those_built_while_stopped() {
    // Frame variables are only located while the target is stopped, and the strings they point
    // to copied; they are built after the resume. Building them all while stopped (as when
    // modules watch variables) must give the same snapshot: strings in struct members and
    // arrays, entry values, classes and templates, thread-locals.
    let cases: [(&str, &[&str]); 4] = [
        ("crash", &["hang", "2"]),
        ("crash-O2", &["hang", "2"]),
        ("cpp_example-O2", &["hang"]),
        ("threads-O2", &["3", "4"]),
    ];
    for (program, args) in cases {
        let target = Target::start(&example(program), args);
        let pid = target.pid().to_string();
        let global = ["--global", "global_version", "--global", "invalid_write_message"];
        let globals: &[&str] = if program.starts_with("crash") {
            &global
        } else {
            &[]
        };
        let after = [globals, &[pid.as_str()]].concat();
        let (output, _dir) = run_ptrace(&after);
        let built_after = without_times(snapshot_ok(&output));
        let during = [globals, &["--build-while-stopped", pid.as_str()]].concat();
        let (output, _dir) = run_ptrace(&during);
        let built_during = without_times(snapshot_ok(&output));
        assert_running_untraced(target.pid());
        let strings = built_after.to_string().matches("\"kind\":\"string\"").count()
            + built_after.to_string().matches("\"symbol\":").count();
        assert!(strings > 0, "{program}: no symbol or string at all");
        assert!(
            built_after == built_during,
            "{program}: the snapshots differ:\n{}\n----\n{}",
            built_after,
            built_during
        );
    }
}

#[test]
fn threads_captured_on_two_cpus_give_the_snapshot_captured_on_one() {
    // With 8 threads or more (and two CPUs), the stopped threads are unwound, and their frame
    // variables located (or built, with --build-while-stopped), in two halves: the second half
    // on a worker thread, copying the strings its variables point to into copies of its own.
    // The snapshot must be the one read on the tracer thread alone: same threads and frames in
    // the same order, same variables with the same strings, entry values and thread-locals.
    // With 64 threads or more the stacks are copied in two halves too (the last thread's
    // variables below come from the second half's copies).
    let target = Target::start(&example("threads-O2"), &["70", "4"]);
    let pid = target.pid().to_string();
    let snapshot = |args: &[&str]| {
        let (output, _dir) = run_ptrace(&[args, &[pid.as_str()]].concat());
        without_times(snapshot_ok(&output))
    };
    let one_cpu = snapshot(&["--sequential-capture"]);
    let two_cpus = snapshot(&[]);
    let two_cpus_built = snapshot(&["--build-while-stopped"]);
    assert_running_untraced(target.pid());
    let threads = one_cpu["threads"].as_array().unwrap();
    assert!(threads.len() > 70, "only {} threads", threads.len());
    // Each frame's `frame.label` points to its thread's own string, copied while stopped: in
    // both halves.
    for thread in [&threads[1], threads.last().unwrap()] {
        let strings = thread.to_string().matches("\"symbol\":\"thread ").count();
        assert!(strings > 0, "no string copied in thread {}", thread["tid"]);
    }
    assert!(
        one_cpu == two_cpus,
        "the snapshots differ:\n{one_cpu}\n----\n{two_cpus}"
    );
    assert!(
        one_cpu == two_cpus_built,
        "the snapshots differ:\n{one_cpu}\n----\n{two_cpus_built}"
    );
}
