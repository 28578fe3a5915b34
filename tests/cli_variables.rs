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
