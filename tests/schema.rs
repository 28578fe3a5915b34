//! Real snapshots validate against `schema/snapshot.schema.json`, and the schema rejects
//! documents that break the contract.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schema/snapshot.schema.json")).expect("read the schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, snap: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(snap)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}

#[test]
fn snapshots_of_a_running_process_and_a_crash_validate() {
    let validator = validator();
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let (output, _dir) = run_ptrace(&["--kv", "a:1,b:x", "--classifier", "c", &target.pid().to_string()]);
    let snap = snapshot_ok(&output);
    assert_valid(&validator, &snap);

    let crash = example("crash");
    let (output, _dir) = run_ptrace(&["--exec", "--", crash.to_str().unwrap(), "segv"]);
    let snap = snapshot_of(&output);
    assert!(snap["fault"].is_object());
    assert_valid(&validator, &snap);
}

#[test]
fn the_schema_rejects_broken_contracts() {
    let validator = validator();
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let (output, _dir) = run_ptrace(&[&target.pid().to_string()]);
    let snap = snapshot_ok(&output);

    let mut numeric_pc = snap.clone();
    numeric_pc["threads"][0]["frames"][0]["pc"] = serde_json::json!(4096);
    assert!(!validator.is_valid(&numeric_pc), "a numeric pc must be rejected");

    let mut no_threads = snap.clone();
    no_threads.as_object_mut().unwrap().remove("threads");
    assert!(!validator.is_valid(&no_threads));

    let mut bad_annotation = snap.clone();
    bad_annotation["annotations"] = serde_json::json!([{"level": "loud", "text": "x"}]);
    assert!(!validator.is_valid(&bad_annotation));

    // A variable's entry value is a number, a string or null; a pointee is named by a string.
    let (frame, _) = snap["threads"][0]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .enumerate()
        .find(|(_, f)| f["variables"].as_array().is_some_and(|v| !v.is_empty()))
        .expect("a frame with variables");
    let mut bad_entry = snap.clone();
    bad_entry["threads"][0]["frames"][frame]["variables"][0]["entry_value"] = serde_json::json!(true);
    assert!(
        !validator.is_valid(&bad_entry),
        "a boolean entry value must be rejected"
    );
    let mut no_entry = snap.clone();
    no_entry["threads"][0]["frames"][frame]["variables"][0]
        .as_object_mut()
        .expect("a variable")
        .remove("entry_value");
    assert!(!validator.is_valid(&no_entry), "entry_value is always written");
    let mut bad_pointee = snap;
    bad_pointee["threads"][0]["frames"][frame]["variables"][0]["target_symbol"] = serde_json::json!(7);
    assert!(
        !validator.is_valid(&bad_pointee),
        "a numeric target symbol must be rejected"
    );
}

#[test]
fn a_snapshot_cut_short_with_failing_modules_validates() {
    let validator = validator();
    let dir = tempfile::tempdir().expect("temp dir");
    let module = dir.path().join("failing.lua");
    std::fs::write(
        &module,
        "pmodule.define { id = \"failing\", load = function()\n    \
         pmodule.register(pmodule.event.frame, function() error('no frame for me') end)\nend }\n",
    )
    .expect("write the module");
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let (output, _dir) = run_ptrace(&[
        "--module-load",
        module.to_str().expect("utf-8 path"),
        "--hold-stopped-ms",
        "2000",
        "--max-stop-ms",
        "200",
        &target.pid().to_string(),
    ]);
    let snap = snapshot_ok(&output);
    assert_eq!(snap["incomplete"], true);
    assert_eq!(snap["module_failures"][0]["module"], "failing");
    assert!(snap["module_failures"][0]["count"].as_u64() > Some(1));
    assert_valid(&validator, &snap);
    let mut bad_failure = snap;
    bad_failure["module_failures"][0]["count"] = serde_json::json!(0);
    assert!(
        !validator.is_valid(&bad_failure),
        "a failure happened at least once"
    );
}

#[test]
fn a_snapshot_of_a_core_file_validates() {
    let validator = validator();
    let target = Target::start(&example("crash"), &["hang", "1"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("core");
    let gcore = std::process::Command::new("timeout")
        .args(["120", "gcore", "-o"])
        .arg(&prefix)
        .arg(target.pid().to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run gcore");
    let core = dir.path().join(format!("core.{}", target.pid()));
    assert!(gcore.status.success() && core.is_file(), "gcore: {gcore:?}");
    let (output, _out) = run_ptrace(&["--core", core.to_str().expect("utf-8 path")]);
    let snap = snapshot_ok(&output);
    assert_eq!(snap["process_state"], "core");
    assert_valid(&validator, &snap);
}
