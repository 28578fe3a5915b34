//! Native (`*.so`) modules through the real `ptrace` CLI: the root ownership check and
//! `--allow-insecure-modules`, and the C tutorial module against its Lua original.

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
