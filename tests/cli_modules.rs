//! pmodules through the real CLI on `c-examples/build/crash`: the tutorial's modules
//! (`lua/examples/`), hostile modules (endless loops, unbounded allocation, errors everywhere,
//! sandbox escapes, wrong argument types), duplicate ids, broken files and `--module` options.
//! Every test checks that the snapshot is written and the target runs again, untraced.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A module file of the repository's `lua/examples`.
fn lua_example(name: &str) -> PathBuf {
    repo().join("lua/examples").join(name)
}

/// Writes module `name` with `source` into `dir`.
fn module(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write the module");
    path
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Snapshots a `crash hang` target with `args`; checks the target runs untraced afterwards and
/// returns the CLI output and the snapshot.
fn snapshot_hang(args: &[&str]) -> (Output, Value) {
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();
    let mut all = vec![pid.as_str()];
    all.extend_from_slice(args);
    let (output, _dir) = run_ptrace(&all);
    let snapshot = snapshot_ok(&output);
    assert_running_untraced(target.pid());
    (output, snapshot)
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn array_iter_walks_the_list_and_the_array_of_papa() {
    let file = path_arg(&lua_example("array_iter.lua"));
    let (output, _) = snapshot_hang(&["--module-load", &file]);
    let log = stderr(&output);
    // The linked list of some_struct_g, with the addresses of its nodes.
    for v in 0..10 {
        let line = log
            .lines()
            .find(|l| l.ends_with(&format!("] v: {v}")) && l.starts_with("[array_iter]"))
            .unwrap_or_else(|| panic!("no v: {v} in {log}"));
        let address = line
            .split('[')
            .nth(2)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default();
        assert!(u64::from_str_radix(address, 16).is_ok_and(|a| a > 0), "{line}");
    }
    // papa: len 10, elements of sizeof(struct somestruct) bytes.
    let header = log
        .lines()
        .find(|l| l.contains("addr: ") && l.contains("len: 10"))
        .unwrap_or_else(|| panic!("no addr/len line in {log}"));
    assert!(header.ends_with("size: 72"), "{header}");
    let a: Vec<&str> = log.lines().filter(|l| l.contains("] info: a: ")).collect();
    let b: Vec<&str> = log.lines().filter(|l| l.contains("] info: b: ")).collect();
    let c: Vec<&str> = log.lines().filter(|l| l.contains("] info: nppp.c: ")).collect();
    assert_eq!((a.len(), b.len(), c.len()), (10, 10, 10), "{log}");
    for i in 0..10 {
        let expected = 9 + i;
        assert!(a[i].ends_with(&format!("a: {expected}")), "{}", a[i]);
        assert!(b[i].ends_with(&format!("b: {expected}.000000")), "{}", b[i]);
        assert!(c[i].ends_with(&format!("nppp.c: {expected}")), "{}", c[i]);
    }
    assert!(!log.contains("error"), "{log}");
}

#[test]
fn pmodule_lua_annotates_the_segv_snapshot() {
    let file = path_arg(&lua_example("pmodule_lua.lua"));
    let program = example("crash");
    let (output, _dir) = run_ptrace(&[
        "--module-load",
        &file,
        "--exec",
        "--",
        program.to_str().unwrap(),
        "segv",
    ]);
    let snap = snapshot_of(&output);
    let log = stderr(&output);
    let fault = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["fault"] == true)
        .expect("a faulting thread");
    let frames = fault["frames"].as_array().unwrap();
    let has = |v: &Value, text: &str| {
        v["annotations"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["level"] == "critical" && x["text"] == text))
    };
    // Struct locals of every recurse frame.
    let recurse: Vec<&Value> = frames.iter().filter(|f| f["symbol"] == "recurse").collect();
    assert_eq!(recurse.len(), 6);
    for frame in &recurse {
        let local = frame["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "frame")
            .expect("the crash_frame_info local");
        assert!(has(local, "lua: struct var"), "{local}");
        let ctx = frame["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "ctx")
            .unwrap();
        assert!(!has(ctx, "lua: struct var"), "a pointer is not a tuple: {ctx}");
    }
    // The faulting frame's parameters, by index.
    let faulting = frames
        .iter()
        .find(|f| f["fault"] == true)
        .expect("a faulting frame");
    let params: Vec<&Value> = faulting["variables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["parameter"] == true)
        .collect();
    assert!(!params.is_empty());
    for (i, p) in params.iter().enumerate() {
        assert!(has(p, &format!("lua: fprm {i}")), "{p}");
    }
    // Reference variables of the faulting thread.
    let ctx = faulting["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "ctx")
        .unwrap();
    let addr = ctx["value"]
        .as_str()
        .unwrap()
        .trim_start_matches("0x")
        .to_string();
    assert!(has(ctx, &format!("[{addr}] ctx - example annotation")), "{ctx}");
    // The signal.
    let json = snap["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["level"] == "json")
        .expect("the json annotation");
    assert_eq!(json["json"]["context"], "Signal");
    assert_eq!(json["json"]["Num"], "11");
    assert_eq!(json["json"]["Code"], "1");
    assert_eq!(json["json"]["Address"], "10");
    assert_eq!(json["json"]["Reason"], "address not mapped to object");
    // The log: globals of invalid_write.c, TLS of hang.c, global_version, process state.
    assert!(log.contains("name: invalid_write_counter, value: 41"), "{log}");
    assert!(log.contains("cu: invalid_write.c"), "{log}");
    assert!(log.contains("name: hang_tls_counter, value: 100"), "{log}");
    assert!(log.contains("string: crash 1.0.0"), "{log}");
    assert!(log.contains("process state: "), "{log}");
    assert_eq!(snap["attributes"]["lua_key1"], 42);
    assert_eq!(snap["attributes"]["lua_key2"], "lua_value");
    assert!(snap["classifiers"]
        .as_array()
        .unwrap()
        .contains(&Value::from("lua")));
}

#[test]
fn an_endless_callback_exceeds_the_budget_and_the_snapshot_completes() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(
        dir.path(),
        "loop.lua",
        r#"pmodule.define{ id = "loop", load = function()
    pmodule.register(pmodule.event.attach, function() while true do end end)
    pmodule.register(pmodule.event.frame, function() local co = coroutine.wrap(function() while true do end end) co() end)
    pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_int("after", 1) while true do end end)
end }"#,
    );
    let (output, snap) = snapshot_hang(&[
        "--module-load",
        &path_arg(&file),
        "--lua-instruction-budget",
        "100000",
    ]);
    let log = stderr(&output);
    assert!(log.contains("module loop: attach:"), "{log}");
    assert!(log.contains("instruction budget"), "{log}");
    // Out of its budget while the target is stopped: no frame callback of it runs while
    // stopped, and postattach runs again after the resume.
    assert!(!log.contains("module loop: frame:"), "{log}");
    let attach = &snap["module_failures"][0];
    assert_eq!(attach["event"], "attach");
    assert!(attach["skipped"].as_u64().is_some_and(|n| n >= 2), "{attach}");
    assert_eq!(snap["module_failures"][1]["event"], "postattach");
    assert_eq!(snap["attributes"]["after"], 1);
    assert!(snap["threads"].as_array().unwrap().len() >= 2);
}

#[test]
fn an_unbounded_allocation_hits_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(
        dir.path(),
        "hog.lua",
        r#"pmodule.define{ id = "hog", load = function()
    pmodule.register(pmodule.event.attach, function()
        local t = {}
        for i = 1, 1e12 do t[i] = string.rep("x", 1024) .. i end
    end)
    pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_int("alive", 1) end)
end }"#,
    );
    let (output, snap) = snapshot_hang(&[
        "--module-load",
        &path_arg(&file),
        "--lua-memory-limit",
        "8000000",
        "--lua-instruction-budget",
        "1000000000",
    ]);
    let log = stderr(&output);
    assert!(log.contains("module hog: attach:"), "{log}");
    assert!(log.contains("memory limit"), "{log}");
    assert_eq!(
        snap["attributes"]["alive"], 1,
        "the state works again after the failure"
    );
}

#[test]
fn errors_in_every_event_are_logged_and_the_snapshot_completes() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(
        dir.path(),
        "errors.lua",
        r#"pmodule.define{ id = "errors", load = function()
    for _, e in ipairs({"preattach", "attach", "variable", "frame", "thread", "postattach"}) do
        pmodule.register(pmodule.event[e], function() error("boom in " .. e) end)
    end
end }"#,
    );
    let (output, snap) = snapshot_hang(&["--module-load", &path_arg(&file)]);
    let log = stderr(&output);
    for e in ["preattach", "attach", "variable", "frame", "thread", "postattach"] {
        assert!(
            log.contains(&format!("module errors: {e}:")) && log.contains(&format!("boom in {e}")),
            "{e}: {log}"
        );
    }
    assert!(log.contains("stack traceback"), "{log}");
    assert!(!snap["threads"][0]["frames"].as_array().unwrap().is_empty());
}

const SANDBOX_PROBE: &str = r#"pmodule.define{ id = "probe", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        local function try(name, f)
            local ok, err = pcall(f)
            bt:add_kv_string(name, ok and ("allowed: " .. tostring(err)) or ("refused: " .. tostring(err)))
        end
        try("io", function() local f = io.open("/proc/self/comm") local s = f:read("l") f:close() return s end)
        try("os", function() return os.execute("true") end)
        try("require", function() return require("nonexistent_helper_module") end)
        try("load", function() return load("return 1 + 1")() end)
        try("bytecode", function()
            local f, err = load(string.dump(function() return 1 end))
            if not f then error(err) end
            return f()
        end)
    end)
end }"#;

#[test]
fn io_os_require_and_bytecode_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(dir.path(), "probe.lua", SANDBOX_PROBE);
    let (_, snap) = snapshot_hang(&["--module-load", &path_arg(&file)]);
    for name in ["io", "os", "require", "load", "bytecode"] {
        let text = snap["attributes"][name].as_str().unwrap_or_default();
        assert!(text.starts_with("refused:"), "{name}: {text}");
    }
}

#[test]
fn whitelisted_libraries_open_and_bytecode_stays_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(dir.path(), "probe.lua", SANDBOX_PROBE);
    let (_, snap) = snapshot_hang(&[
        "--module-load",
        &path_arg(&file),
        "--sandbox-whitelist=io,os",
        "--sandbox-whitelist=require,load",
    ]);
    let get = |k: &str| snap["attributes"][k].as_str().unwrap_or_default().to_string();
    assert_eq!(get("io"), "allowed: ptrace", "the tracer process name");
    assert_eq!(get("os"), "allowed: true");
    assert!(
        get("require").contains("module 'nonexistent_helper_module' not found"),
        "{}",
        get("require")
    );
    assert_eq!(get("load"), "allowed: 2");
    assert!(get("bytecode").contains("binary chunk"), "{}", get("bytecode"));
}

#[test]
fn wrong_argument_types_are_lua_errors_never_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let file = module(
        dir.path(),
        "types.lua",
        r#"
local bad = { {}, "x", 1.5, true, function() end }
local function hammer(bt, f, name)
    local errors = 0
    for _, a in ipairs(bad) do
        for _, b in ipairs(bad) do
            local ok = pcall(f, a, b, a)
            if not ok then errors = errors + 1 end
        end
    end
    return errors
end
pmodule.define{ id = "types", load = function()
    pmodule.register(pmodule.event.frame, function(fr)
        for _, m in ipairs({"annotate", "set_symbol", "set_line", "add_variable", "add_frame", "fprm_at"}) do
            hammer(nil, function(...) return fr[m](fr, ...) end, m)
        end
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        local total = 0
        for name, f in pairs(pmodule) do
            if type(f) == "function" and name ~= "define" then
                total = total + hammer(bt, f, name)
            end
        end
        for _, m in ipairs({"annotate", "add_kv_int", "add_kv_string", "add_classifier", "add_tag", "pmap_entry"}) do
            total = total + hammer(bt, function(...) return bt[m](bt, ...) end, m)
        end
        bt:add_kv_int("wrong_type_errors", total)
        pmodule.symbol_address({})
    end)
end }"#,
    );
    let (output, snap) = snapshot_hang(&["--module-load", &path_arg(&file)]);
    let log = stderr(&output);
    assert!(
        snap["attributes"]["wrong_type_errors"].as_i64().unwrap() > 100,
        "{}",
        snap["attributes"]
    );
    assert!(log.contains("module types: postattach:"), "{log}");
    assert!(
        log.contains("symbol_address"),
        "the error names the function: {log}"
    );
    assert!(!log.contains("panic") && !log.contains("internal error"), "{log}");
}

#[test]
fn a_second_module_with_the_same_id_and_a_broken_file_are_refused_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"pmodule.define{ id = "same", load = function()
    pmodule.register(pmodule.event.postattach, function(bt) bt:add_tag("from_" .. pmodule.config_option("who")) end)
end }"#;
    module(dir.path(), "a_first.lua", good);
    module(dir.path(), "b_second.lua", good);
    module(dir.path(), "c_syntax.lua", "pmodule.define{ id = ");
    module(
        dir.path(),
        "d_other.lua",
        r#"pmodule.define{ id = "other", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_string("k", pmodule.config_option("k") or "none")
        bt:add_kv_string("missing", tostring(pmodule.config_option("missing")))
    end)
end }"#,
    );
    let (output, snap) = snapshot_hang(&[
        "--modules-path",
        &path_arg(dir.path()),
        "--module=same:who,first",
        "--module=other:k,v1,x,y",
    ]);
    let log = stderr(&output);
    assert!(
        log.contains("module id 'same' is already defined by") && log.contains("b_second.lua"),
        "{log}"
    );
    assert!(log.contains("c_syntax.lua"), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.contains("module not loaded")).count(),
        2,
        "one line per refused file: {log}"
    );
    assert_eq!(snap["tags"], serde_json::json!(["from_first"]));
    assert_eq!(snap["attributes"]["k"], "v1");
    assert_eq!(snap["attributes"]["missing"], "nil");
}

#[test]
fn bad_module_options_are_refused_by_the_cli() {
    let (output, _dir) = run_ptrace(&["1", "--module=nocolon"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--module=nocolon"),
        "{}",
        stderr(&output)
    );
    let (output, _dir) = run_ptrace(&["1", "--sandbox-whitelist=debug"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("debug"), "{}", stderr(&output));
}

#[test]
fn the_benchmark_module_sees_every_variable() {
    let file = path_arg(&repo().join("bench/every_variable.lua"));
    let (_, snap) = snapshot_hang(&["--module-load", &file]);
    let frame_vars: usize = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .map(|f| f["variables"].as_array().unwrap().len())
        .sum();
    assert!(frame_vars > 10);
    // Each thread's thread-local variables get variable events too.
    let thread_vars: usize = snap["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["variables"].as_array().unwrap().len())
        .sum();
    assert!(thread_vars > 0, "thread-local variables are read in every thread");
    assert_eq!(
        snap["attributes"]["every_variable_seen"],
        (frame_vars + thread_vars) as u64
    );
}
