//! Variables in snapshots of real processes: parameters and locals of every frame, globals asked
//! for with `--global`, checked against the example programs' known values and against gdb.

mod common;

use common::*;
use serde_json::Value;

/// The variable named `name` in a list.
fn var<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a variable list")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no variable {name} in {list}"))
}

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

/// A frame as gdb prints it: function name, and (variable, value text) pairs.
type GdbFrame = (String, Vec<(String, String)>);

/// gdb's `thread apply all bt full` of `pid`, parsed: per thread (by tid), its frames as
/// (function, [(variable, value text)]), parameters (from the frame line, `n=n@entry=5` read as
/// `5`) then locals.
fn gdb_bt_full(pid: i32) -> std::collections::HashMap<i32, Vec<GdbFrame>> {
    let output = std::process::Command::new("gdb")
        .args(["-nx", "-batch", "-p", &pid.to_string()])
        .args([
            "-ex",
            "set pagination off",
            "-ex",
            "set print frame-arguments scalars",
        ])
        .args(["-ex", "thread apply all bt full"])
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut threads = std::collections::HashMap::new();
    let mut current: Option<i32> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Thread ") {
            current = rest
                .split("(LWP ")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .and_then(|s| s.trim().parse().ok());
            if let Some(tid) = current {
                threads.insert(tid, Vec::new());
            }
            continue;
        }
        let Some(frames) = current.and_then(|tid| threads.get_mut(&tid)) else {
            continue;
        };
        if let Some(rest) = line.strip_prefix('#') {
            // "#1  0x... in name (a=1, b=b@entry=2) at file:line" or "#0  name (...) at ..."
            let after_index = rest.split_once(' ').map(|x| x.1).unwrap_or("").trim_start();
            let after_address = match after_index.split_once(" in ") {
                Some((address, name)) if address.starts_with("0x") => name,
                _ => after_index,
            };
            let (name, arguments) = after_address.split_once(" (").unwrap_or((after_address, ""));
            let arguments = arguments.rsplit_once(") ").map(|x| x.0).unwrap_or(arguments);
            let mut variables = Vec::new();
            for argument in arguments.split(", ") {
                if let Some((variable, value)) = argument.split_once('=') {
                    let value = value.strip_prefix(&format!("{variable}@entry=")).unwrap_or(value);
                    variables.push((variable.to_string(), value.to_string()));
                }
            }
            frames.push((name.to_string(), variables));
        } else if let Some(local) = line.strip_prefix("        ") {
            if let (Some((variable, value)), Some(frame)) = (local.split_once(" = "), frames.last_mut()) {
                frame.1.push((variable.to_string(), value.to_string()));
            }
        }
    }
    threads
}

/// Our variable's value as gdb writes scalars (integers, and floats like `2.5` or `1`).
fn as_gdb_scalar(variable: &Value) -> Option<String> {
    match &variable["value"] {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64()?;
            Some(if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                x.to_string()
            })
        }
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.starts_with("0x") => Some(s.clone()),
        _ => None,
    }
}

/// Compares every scalar and `<optimized out>` that gdb shows for the frames of `symbol` with the
/// snapshot; returns how many values were compared.
fn compare_with_gdb(snap: &Value, pid: i32, symbol: &str) -> usize {
    let gdb = gdb_bt_full(pid);
    let mut compared = 0;
    for thread in snap["threads"].as_array().unwrap() {
        let tid = thread["tid"].as_i64().unwrap() as i32;
        let theirs: Vec<_> = gdb[&tid].iter().filter(|f| f.0 == symbol).collect();
        let ours: Vec<&Value> = thread["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["symbol"] == symbol)
            .collect();
        assert_eq!(theirs.len(), ours.len(), "thread {tid}: {symbol} frames");
        for (their_frame, our_frame) in theirs.iter().zip(&ours) {
            for (name, value) in &their_frame.1 {
                let our = var(&our_frame["variables"], name);
                if value == "<optimized out>" {
                    assert_ne!(
                        our["state"], "ok",
                        "thread {tid} {symbol} {name}: gdb says optimized out: {our}"
                    );
                    compared += 1;
                    continue;
                }
                let is_scalar = value.parse::<i64>().is_ok() || value.parse::<f64>().is_ok();
                if !is_scalar {
                    continue;
                }
                assert_eq!(
                    as_gdb_scalar(our).as_deref(),
                    Some(value.as_str()),
                    "thread {tid} {symbol} {name}: {our}"
                );
                compared += 1;
            }
        }
    }
    compared
}

#[test]
fn crash_o2_recurse_parameters_match_gdb() {
    let target = Target::start(&example("crash-O2"), &["hang", "1"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    // At -O2, `n` lives in a callee-saved register (recovered from the frames below) or is an
    // entry value (recovered from the caller's call site); either way it must be exact.
    check_recurse_frames(&snap, pid);
    // gdb on the same process agrees, frame by frame.
    let gdb = gdb_bt_full(pid);
    let their_n: Vec<String> = gdb[&pid]
        .iter()
        .filter(|f| f.0 == "recurse")
        .map(|f| f.1.iter().find(|v| v.0 == "n").expect("gdb shows n").1.clone())
        .collect();
    assert_eq!(their_n, ["0", "1", "2", "3", "4", "5"]);
    assert!(compare_with_gdb(&snap, pid, "recurse") >= 6);
}

#[test]
fn threads_o2_locals_match_gdb() {
    let target = Target::start(&example("threads-O2"), &["4", "6"]);
    let pid = target.pid();
    let (output, _dir) = run_ptrace(&[&pid.to_string()]);
    let snap = snapshot_ok(&output);
    assert_running_untraced(pid);
    let compared = compare_with_gdb(&snap, pid, "threads_recurse");
    assert!(compared >= 4 * 6 * 3, "only {compared} values compared");
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
fn cpp_classes_templates_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("classes");
    let status = std::process::Command::new("c++")
        .args(["-g", "-O0", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&binary)
        .arg(repo().join("tests/fixtures/variables/classes.cpp"))
        .status()
        .expect("run c++");
    assert!(status.success());
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
    assert!(compare_with_gdb(&snap, pid, "recurse") >= 6);
}

#[test]
fn optimised_locals_in_pieces_constants_and_entry_values() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("pieces");
    let status = std::process::Command::new("cc")
        .args(["-g", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&binary)
        .arg(repo().join("tests/fixtures/variables/pieces.c"))
        .status()
        .expect("run cc");
    assert!(status.success());
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
