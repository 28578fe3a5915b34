//! Native (`*.so`) modules through the real `ptrace` CLI: the root ownership check and
//! `--allow-insecure-modules`, and the C tutorial module against its Lua original.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn has_classifier(snapshot: &Value, name: &str) -> bool {
    snapshot["classifiers"]
        .as_array()
        .is_some_and(|c| c.contains(&Value::from(name)))
}

/// Copies the built C tutorial module into `dir` with mode 0644.
fn tutorial_in(dir: &Path) -> String {
    let target = dir.join("tutorial.so");
    std::fs::copy(example("modules/tutorial.so"), &target).expect("copy tutorial.so");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    target.display().to_string()
}

#[test]
fn as_root_a_module_in_a_world_writable_directory_needs_allow_insecure_modules() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the ownership check only applies when running as root");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let module = tutorial_in(dir.path());
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let pid = target.pid().to_string();

    let (output, _out) = run_ptrace(&[&pid, "--module-load", &module]);
    let snapshot = snapshot_ok(&output);
    let log = stderr(&output);
    let refusal = log
        .lines()
        .find(|l| l.contains("tutorial.so"))
        .unwrap_or_else(|| panic!("no line names the refused module: {log}"));
    assert!(refusal.contains("refused when running as root"), "{refusal}");
    assert!(refusal.contains("writable by group or others"), "{refusal}");
    assert!(refusal.contains("--allow-insecure-modules"), "{refusal}");
    assert!(
        !has_classifier(&snapshot, "lua"),
        "the refused module ran: {snapshot}"
    );
    assert_running_untraced(target.pid());

    let (output, _out) = run_ptrace(&[&pid, "--allow-insecure-modules", "--module-load", &module]);
    let snapshot = snapshot_ok(&output);
    let log = stderr(&output);
    assert!(!log.contains("refused"), "{log}");
    assert!(has_classifier(&snapshot, "lua"), "the module did not run: {log}");
    assert_eq!(snapshot["attributes"]["lua_key1"], 42);
    assert_running_untraced(target.pid());

    // Once the directory is safe again, no flag is needed.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (output, _out) = run_ptrace(&[&pid, "--module-load", &module]);
    assert!(
        has_classifier(&snapshot_ok(&output), "lua"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_documents_allow_insecure_modules() {
    let output = std::process::Command::new(ptrace_bin())
        .arg("-h")
        .output()
        .expect("run ptrace -h");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--allow-insecure-modules"), "{help}");
    assert!(help.contains("*.so"), "{help}");
}

/// The variables named `name` of every `Auditor::walk` frame of `snapshot`.
fn walk_variables<'a>(snapshot: &'a Value, name: &str) -> Vec<&'a Value> {
    snapshot["threads"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["frames"].as_array().into_iter().flatten())
        .filter(|f| f["symbol"].as_str().is_some_and(|s| s.contains("Auditor::walk")))
        .flat_map(|f| f["variables"].as_array().into_iter().flatten())
        .filter(|v| v["name"] == name)
        .collect()
}

#[test]
fn cpp_printer_shows_strings_and_synthesized_ring_summaries() {
    let target = Target::start(&example("cpp_example"), &["hang"]);
    let pid = target.pid().to_string();
    let module = example("modules/cpp_printer.so").display().to_string();
    let (output, _out) = run_ptrace(&[&pid, "--module-load", &module]);
    let snapshot = snapshot_ok(&output);
    let log = stderr(&output);
    assert!(!log.contains("cpp_printer]"), "the module complained: {log}");
    assert_running_untraced(target.pid());

    // walk(3) ... walk(0): note is "audit", "audit/3", ...; step is note + "/depth".
    let mut steps: Vec<String> = walk_variables(&snapshot, "step")
        .iter()
        .map(|v| v["value"].as_str().unwrap_or_default().to_string())
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        ["audit/3", "audit/3/2", "audit/3/2/1", "audit/3/2/1/0"],
        "{log}"
    );
    let mut notes: Vec<String> = walk_variables(&snapshot, "note")
        .iter()
        .map(|v| v["value"].as_str().unwrap_or_default().to_string())
        .collect();
    notes.sort();
    assert_eq!(notes, ["audit", "audit/3", "audit/3/2", "audit/3/2/1"]);
    for v in walk_variables(&snapshot, "step") {
        assert_eq!(v["kind"], "string", "{v}");
    }

    let shelves = walk_variables(&snapshot, "shelf");
    assert_eq!(shelves.len(), 4);
    for shelf in shelves {
        assert!(
            shelf["annotations"].as_array().is_some_and(|a| a
                .iter()
                .any(|x| x["text"] == "label: power tools, aisle 7 (back wall)")),
            "{shelf}"
        );
        let children = shelf["children"].as_array().expect("children");
        let summary = |name: &str| {
            children
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("no {name} in {shelf}"))
        };
        let counts = summary("recent_counts.summary");
        assert_eq!(counts["value"], "Ring<int, 4>: 4 of 4 slots used");
        let prices = summary("recent_prices.summary");
        assert_eq!(prices["value"], "Ring<double, 3>: 2 of 3 slots used");
        // Dispatched: the module's own callback on synthesized variables saw them.
        for child in [counts, prices] {
            assert_eq!(
                child["annotations"][0]["text"], "synthesized by cpp_printer",
                "{child}"
            );
        }
    }
}

/// `ptrace --module-load MODULE --exec -- crash segv` (the program run through `env -u
/// LD_PRELOAD`, so a preloaded sanitizer stays in the CLI); returns the snapshot and stderr.
fn exec_segv(module: &str, env: &[(&str, &str)]) -> (Value, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(ptrace_bin())
        .arg("-O")
        .arg(out.path())
        .args(["--module-load", module, "--exec", "--", "env", "-u", "LD_PRELOAD"])
        .arg(example("crash"))
        .arg("segv")
        .envs(env.iter().copied())
        .output()
        .expect("run ptrace");
    assert_eq!(output.status.code(), Some(139), "{}", stderr(&output));
    (snapshot_of(&output), stderr(&output))
}

#[test]
fn the_c_tutorial_annotates_like_the_lua_tutorial() {
    let lua = repo().join("lua/examples/pmodule_lua.lua").display().to_string();
    let c = example("modules/tutorial.so").display().to_string();
    let (from_lua, lua_log) = exec_segv(&lua, &[]);
    let (from_c, c_log) = exec_segv(&c, &[]);
    let (lua_notes, c_notes) = (annotations(&from_lua), annotations(&from_c));
    assert!(lua_notes.len() >= 10, "{lua_notes:#?}\n{lua_log}");
    assert_eq!(lua_notes, c_notes, "\nlua log: {lua_log}\nc log: {c_log}");
    assert_eq!(from_lua["attributes"], from_c["attributes"]);
    assert_eq!(from_lua["classifiers"], from_c["classifiers"]);
    assert_eq!(from_c["classifiers"], serde_json::json!(["lua"]));
    assert!(c_log.contains("process state: "), "{c_log}");
    // The global, TLS and by-name iterations log the same lines (filters, values, objects,
    // compilation units, the string read at global_version).
    let (lua_lines, c_lines) = (iteration_log(&lua_log), iteration_log(&c_log));
    assert_tutorial_iterations(&lua_lines, "lua");
    assert_eq!(lua_lines, c_lines);
}

/// The lines the tutorial logs from "Global variables:" to "process state:", without the
/// module id, with what changes from run to run (addresses) replaced: `[hex]` by `[addr]` and
/// numbers of 9 digits or more by `N`.
fn iteration_log(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut on = false;
    for line in log.lines() {
        let text = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
            Some((module, rest)) if module.starts_with("pmodule_") => rest.to_string(),
            _ => line.to_string(),
        };
        on = on || text.ends_with("Global variables:");
        if !on {
            continue;
        }
        let normal = tutorial_line(&text);
        let done = normal.contains("process state:");
        out.push(normal);
        if done {
            break;
        }
    }
    out
}

#[test]
fn the_c_tutorial_built_with_address_sanitizer_runs_in_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = std::process::Command::new("cc")
        .arg("-print-file-name=libasan.so")
        .output()
        .expect("run cc");
    let runtime = String::from_utf8_lossy(&runtime.stdout).trim().to_string();
    let module = dir.path().join("tutorial-asan.so");
    let built = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-g",
            "-Wall",
            "-Werror",
            "-shared",
            "-fPIC",
            "-fsanitize=address",
            "-I",
        ])
        .arg(repo().join("include"))
        .arg(repo().join("c-examples/modules/tutorial.c"))
        .arg("-o")
        .arg(&module)
        .status()
        .is_ok_and(|s| s.success());
    if !built || !Path::new(&runtime).is_absolute() {
        eprintln!("skipped: this gcc cannot build AddressSanitizer modules");
        return;
    }
    // An ASan module needs the ASan runtime loaded first: it is preloaded into the CLI only.
    let (snapshot, log) = exec_segv(
        &module.display().to_string(),
        &[
            ("LD_PRELOAD", runtime.as_str()),
            ("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1"),
        ],
    );
    assert!(!log.contains("AddressSanitizer"), "{log}");
    assert_eq!(snapshot["attributes"]["lua_key1"], 42, "{log}");
    assert!(has_classifier(&snapshot, "lua"));
    let c = example("modules/tutorial.so").display().to_string();
    let (plain, _) = exec_segv(&c, &[]);
    assert_eq!(annotations(&snapshot), annotations(&plain));
}

#[test]
fn the_c_api_mirrors_lua_state_setters_synthesis_pmap_symbols_and_iterators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = common::fixture_module(dir.path(), "api").display().to_string();
    let (snapshot, log) = exec_segv(&module, &[]);
    let attributes = &snapshot["attributes"];
    let int = |key: &str| {
        attributes[key]
            .as_i64()
            .unwrap_or_else(|| panic!("attribute {key} in {attributes}\n{log}"))
    };
    let fault = snapshot["threads"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["fault"] == true))
        .expect("a faulting thread");
    let frames = fault["frames"].as_array().expect("frames");
    let recurse: Vec<&Value> = frames.iter().filter(|f| f["symbol"] == "recurse").collect();
    assert!(recurse.len() >= 6, "{fault}");

    // State: "frame" skipped (kept, without its members), "n" truncated, nothing else
    // touched.
    assert_eq!(int("c_skipped"), recurse.len() as i64);
    for f in &recurse {
        let names: Vec<&str> = f["variables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert_eq!(names, ["n", "ctx", "frame"], "{f}");
        assert_eq!(f["variables"][0]["state"], "truncated");
        assert_eq!(f["variables"][1]["state"], "ok");
        let frame = &f["variables"][2];
        assert_eq!(frame["state"], "ok", "{frame}");
        assert_eq!(frame["kind"], "tuple", "{frame}");
        assert_eq!(frame["children"], serde_json::json!([]), "{frame}");
    }
    assert!(int("c_truncated") >= recurse.len() as i64);
    // Variable relations.
    assert_eq!(int("c_ctx_fprm"), 1, "ctx is recurse's second parameter");
    assert_eq!(int("c_ctx_thread"), 1);
    assert_eq!(int("c_child_owner"), 1);

    // Frame setters on the real frames.
    assert_eq!(int("c_decl_line"), 119);
    assert_eq!(int("c_line_resolved"), 1);
    for f in &recurse {
        assert!(
            f["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("/crash_renamed.c")),
            "{f}"
        );
    }

    // Thread name and the synthesized frames: innermost, then after it.
    assert_eq!(fault["name"], "faulting");
    assert_eq!(int("c_kframes"), 0);
    assert_eq!(frames[0]["symbol"], "synthetic_top");
    assert_eq!(frames[0]["file"], "/other/a.c");
    assert_eq!(frames[0]["line"], 11);
    assert_eq!(frames[1]["symbol"], "synthetic_after");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["index"], i, "renumbered");
    }
    assert_eq!(
        attributes["c_top_symbol"], "synthetic_top",
        "the handle followed the frame"
    );
    assert!(attributes.get("c_added_twice").is_none());
    assert!(log.contains("already in a thread"), "{log}");
    let vars = frames[0]["variables"].as_array().expect("variables");
    assert_eq!(vars[0]["name"], "e");
    assert_eq!(vars[0]["kind"], "enum");
    assert_eq!(vars[0]["value"], 2);
    assert_eq!(vars[0]["symbol"], "GREEN");
    assert_eq!(vars[1]["kind"], "cdbl");
    assert_eq!(vars[1]["value"], serde_json::json!([1.5, -2.0]));
    assert_eq!(vars[2]["kind"], "fn");
    assert_eq!(vars[2]["symbol"], "main");
    assert_eq!(int("c_cdbl_read"), 1);
    // Kinds and type names as Lua's type() and type_name() give them.
    assert_eq!(int("c_ll_type"), 0, "PMODULE_VARIABLE_TYPE_LL");
    assert_eq!(int("c_optimized_type"), 12, "PMODULE_VARIABLE_TYPE_BOTTOM");
    assert_eq!(attributes["c_ctx_type_name"], "struct(crash_ctx) *");

    // pmap entry of main: executable and readable, not writable, in the crash binary.
    assert_eq!(int("c_pmap_enabled"), 1);
    assert_eq!(int("c_pmap_exec"), 1);
    assert_eq!(int("c_pmap_writable"), 0);
    assert_eq!(int("c_pmap_guard"), 0);
    assert_eq!(int("c_pmap_contains"), 1);
    assert_eq!(attributes["c_pmap_path"], "crash");

    // Symbol reads.
    assert_eq!(attributes["c_symbol_string"], "invalid write ahead");
    assert_eq!(int("c_symbol_raw") & 0xffff_ffff, 41);
    assert_eq!(int("c_symbol_missing"), -1);

    // Filtered iterations.
    assert_eq!(int("c_global_count"), 1);
    assert_eq!(int("c_global_value"), 41);
    assert_eq!(attributes["c_global_cu"], "invalid_write.c");
    assert_eq!(int("c_tls_value"), 100);
}

#[test]
fn handles_kept_past_their_callback_give_errors_and_addresses_are_never_reused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = common::fixture_module(dir.path(), "stale").display().to_string();
    let (snapshot, log) = exec_segv(&module, &[]);
    let attributes = &snapshot["attributes"];
    let int = |key: &str| {
        attributes[key]
            .as_i64()
            .unwrap_or_else(|| panic!("attribute {key} in {attributes}\n{log}"))
    };
    assert!(int("c_variables") > 10, "{log}");
    // Every kind of kept handle was tried many times (variables, bt variables and their types,
    // a struct libptrace filled, members, threads, frames, created frames, iterators).
    assert!(int("c_stale_checks") > 200, "{attributes}");
    assert_eq!(int("c_stale_failures"), 0, "{attributes}\n{log}");
    assert!(int("c_handles_seen") > 100, "{attributes}");
    assert_eq!(int("c_reused_handles"), 0, "a handle address was given out twice");
    // Nothing the stale calls attempted reached the snapshot.
    let text = snapshot.to_string();
    assert!(
        !text.contains("\"stale\""),
        "a stale handle wrote into the snapshot"
    );
}

/// The variables of the `main` frame of `snapshot` by name.
fn main_variables(snapshot: &Value) -> std::collections::BTreeMap<String, Value> {
    snapshot["threads"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["frames"].as_array().into_iter().flatten())
        .filter(|f| f["symbol"] == "main")
        .flat_map(|f| f["variables"].as_array().into_iter().flatten())
        .map(|v| (v["name"].as_str().unwrap_or_default().to_string(), v.clone()))
        .collect()
}

/// What the `pairs` module of `tests/fixtures/original_module` makes of `pairs_target`'s
/// `main`: each pretty-printed variable kept with its string and without its members (skipped),
/// and `head.next` synthesized beside `head` under the name the module set.
fn check_pairs(snapshot: &Value, what: &str) {
    let vars = main_variables(snapshot);
    let expect = [
        ("head", "(3, 4)"),
        ("tail", "(5, 6)"),
        ("head.next", "(5, 6)"),
        ("record", "a gizmo label long enough to live on the heap #7"),
        ("gadget", "drill, 3 uses"),
    ];
    for (name, text) in expect {
        let v = vars
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} in main: {:?}", vars.keys()));
        assert_eq!(v["kind"], "string", "{what}: {v}");
        assert_eq!(v["value"], text, "{what}: {v}");
        assert_eq!(v["state"], "ok", "{what}: {v}");
        assert_eq!(
            v["children"].as_array().map(Vec::len),
            Some(0),
            "{what}: a skipped variable's members are left out: {v}"
        );
    }
    assert_eq!(vars["head.next"]["address"], vars["tail"]["address"], "{what}");
    assert_eq!(vars["head"]["type"], "my_pair<int>", "{what}");
    assert_eq!(snapshot["attributes"]["pairs_printed"], 5, "{what}");
    assert!(snapshot.get("module_failures").is_none(), "{what}: {snapshot}");
}

#[test]
fn a_module_written_for_the_original_builds_with_pkg_config_and_runs_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    common::install::install(&prefix);
    // The module's own Makefile, INCLUDE from `pkg-config --cflags libptrace` and nothing else.
    let out = dir.path().join("build");
    let built = common::install::run(
        std::process::Command::new("make")
            .arg("-C")
            .arg(repo().join("tests/fixtures/original_module"))
            .arg(format!("OUT={}", out.display()))
            .env("PKG_CONFIG_PATH", common::install::pkg_config_path(&prefix))
            .env_remove("INCLUDE"),
    );
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    )
    .split(' ')
    .filter(|w| !w.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    assert!(!log.contains("warning"), "{log}");
    assert!(
        log.contains(&format!(
            "gcc -I{} -D_GNU_SOURCE -std=gnu99 -Wall -W -O2 -fPIC -c pairs.c",
            prefix.join("include").display()
        )),
        "{log}"
    );
    let module = out.join("pairs.so");
    let needed = common::install::run(std::process::Command::new("readelf").arg("-d").arg(&module));
    assert!(
        !String::from_utf8_lossy(&needed.stdout).contains("libptrace"),
        "the module is not linked with libptrace"
    );

    let target = Target::start(&out.join("pairs_target"), &[]);
    let pid = target.pid().to_string();
    let module = module.display().to_string();

    // The installed CLI.
    let snapshots = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(prefix.join("bin/ptrace"))
        .arg("-O")
        .arg(snapshots.path())
        .args(["--module-load", &module, &pid])
        .output()
        .expect("run the installed ptrace");
    check_pairs(&snapshot_ok(&output), "installed ptrace");
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_running_untraced(target.pid());

    // The CLI of this build.
    let (output, _out) = run_ptrace(&["--module-load", &module, &pid]);
    check_pairs(&snapshot_ok(&output), "ptrace");
    assert_running_untraced(target.pid());

    // A C host embedding the installed library.
    let hosted = std::process::Command::new(out.join("pairs_host"))
        .args([&pid, &module])
        .output()
        .expect("run pairs_host");
    assert!(hosted.status.success(), "{}", stderr(&hosted));
    let snapshot: Value = serde_json::from_slice(&hosted.stdout).expect("the host prints JSON");
    check_pairs(&snapshot, "pairs_host");
    assert_running_untraced(target.pid());
}
