//! The cookbook's code is real: every listing of `docs/modules-cookbook.md` is the text of a
//! module the project ships (`docs/examples/`, `lua/examples/`, `c-examples/modules/`), and the
//! modules of `docs/examples/` run in ptrace against the example programs, the Lua and the C
//! version of each giving the same snapshot.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fenced ```lua and ```c blocks of `markdown`, without a last line that is only `...`.
fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```lua" | "```c") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                if lines.last().is_some_and(|l| l.trim() == "...") {
                    lines.pop();
                }
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// The text of every module source the cookbook may quote.
fn module_sources() -> Vec<(PathBuf, String)> {
    let mut sources = Vec::new();
    for dir in ["docs/examples", "lua/examples", "c-examples/modules"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("a module folder") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("read a module");
            sources.push((path, text));
        }
    }
    sources
}

#[test]
fn every_listing_of_the_cookbook_is_shipped_code() {
    let cookbook = std::fs::read_to_string(repo().join("docs/modules-cookbook.md")).expect("the cookbook");
    let blocks = code_blocks(&cookbook);
    assert!(blocks.len() >= 8, "found {} listings", blocks.len());
    let sources = module_sources();
    for block in &blocks {
        assert!(
            sources.iter().any(|(_, text)| text.contains(block.as_str())),
            "this listing of docs/modules-cookbook.md is in no shipped module:\n{block}"
        );
    }
    // The files of docs/examples are shown whole.
    for (path, text) in sources
        .iter()
        .filter(|(p, _)| p.starts_with(repo().join("docs/examples")))
    {
        assert!(
            blocks.iter().any(|b| b.trim_end() == text.trim_end()),
            "docs/modules-cookbook.md does not show {} whole",
            path.display()
        );
    }
}

/// `docs/examples/classify.c` built as a module in `dir`.
fn build_classify(dir: &Path) -> PathBuf {
    let module = dir.join("classify.so");
    common::build_module(&repo().join("docs/examples/classify.c"), &module);
    module
}

/// What a classifier leaves in a snapshot.
fn classification(snapshot: &Value) -> (Value, Value, Value) {
    (
        snapshot["classifiers"].clone(),
        snapshot["tags"].clone(),
        snapshot["attributes"]["waiting_threads"].clone(),
    )
}

#[test]
fn the_classifier_in_lua_and_in_c_classify_a_hang_and_a_crash_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lua = repo().join("docs/examples/classify.lua");
    let native = build_classify(dir.path());
    let crash = example("crash");
    for module in [&lua, &native] {
        let module = module.to_str().expect("utf-8 path");
        let target = Target::start(&crash, &["hang", "2"]);
        let (output, _out) = run_ptrace(&["--module-load", module, &target.pid().to_string()]);
        let hang = snapshot_ok(&output);
        assert_eq!(
            classification(&hang),
            (
                serde_json::json!(["hang"]),
                serde_json::json!([]),
                serde_json::json!(2)
            ),
            "{module} on a hang"
        );
        let (output, _out) = run_ptrace(&[
            "--module-load",
            module,
            "--exec",
            "--",
            crash.to_str().expect("utf-8 path"),
            "segv",
        ]);
        let segv = snapshot_of(&output);
        assert_eq!(
            classification(&segv),
            (
                serde_json::json!(["fault"]),
                serde_json::json!(["signal:11"]),
                serde_json::json!(0)
            ),
            "{module} on a crash"
        );
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("error"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The `step` and `note` variables of every frame, as (frame, name, kind, value).
fn strings(snapshot: &Value) -> Vec<(u64, String, Value, Value)> {
    let mut found = Vec::new();
    for frame in snapshot["threads"][0]["frames"].as_array().expect("frames") {
        for var in frame["variables"].as_array().expect("variables") {
            let name = var["name"].as_str().unwrap_or_default();
            if name == "step" || name == "note" {
                found.push((
                    frame["index"].as_u64().unwrap_or_default(),
                    name.to_string(),
                    var["kind"].clone(),
                    var["value"].clone(),
                ));
            }
        }
    }
    found
}

#[test]
fn the_lua_pretty_printer_reads_std_strings_as_the_c_one_does() {
    let program = example("cpp_example");
    let program = program.to_str().expect("utf-8 path");
    let lua = repo().join("docs/examples/std_string.lua");
    let native = example("modules/cpp_printer.so");
    let mut results = Vec::new();
    for module in [&lua, &native] {
        let (output, _out) = run_ptrace(&[
            "--module-load",
            module.to_str().expect("utf-8 path"),
            "--exec",
            "--",
            program,
            "segv",
        ]);
        results.push(strings(&snapshot_of(&output)));
    }
    let innermost_step = results[0]
        .iter()
        .find(|(frame, name, _, _)| *frame == 0 && name == "step")
        .expect("step in frame 0");
    assert_eq!(innermost_step.2, "string");
    assert_eq!(innermost_step.3, "audit/3/2/1/0");
    assert_eq!(results[0].len(), 8, "{:?}", results[0]);
    assert_eq!(results[0], results[1], "Lua and C disagree");
}
