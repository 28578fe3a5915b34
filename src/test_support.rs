//! Helpers shared by the crate's own tests.

pub(crate) mod kernel_core;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the `c-examples` program `name` (e.g. `crash`, `threads-O2`) into `dir` with the
/// examples' Makefile, and returns its path.
pub(crate) fn build_example(dir: &Path, name: &str) -> PathBuf {
    let program = dir.join(name);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("c-examples");
    let output = Command::new("make")
        .arg("-C")
        .arg(&examples)
        .arg(format!("BUILD={}", dir.display()))
        .arg(&program)
        .output()
        .expect("make runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    program
}
