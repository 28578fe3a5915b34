//! Installing the libptrace under test into a temporary prefix with the top-level `make
//! install`, as a user does, and running commands against it.

use super::{ptrace_bin, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory holding the `libptrace.so` and `ptrace` this test was built with. `cargo test`
/// builds the shared library fresh only under `deps/` (it copies it up to the profile directory
/// only on `cargo build`), so the directory links to that fresh copy rather than to a possibly
/// stale `target/debug/libptrace.so`.
pub fn build_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let profile = ptrace_bin()
            .parent()
            .expect("the binary has a directory")
            .to_path_buf();
        let fresh = profile.join("deps/libptrace.so");
        let library = if fresh.exists() {
            fresh
        } else {
            profile.join("libptrace.so")
        };
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::os::unix::fs::symlink(&library, dir.join("libptrace.so")).expect("symlink the library");
        std::os::unix::fs::symlink(ptrace_bin(), dir.join("ptrace")).expect("symlink the CLI");
        dir
    })
    .clone()
}

/// Runs `command`, asserting it succeeds; returns its output.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `make install PREFIX=prefix` of the library under test (the build of this test run,
/// [`build_dir`], not a release build).
pub fn install(prefix: &Path) {
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo())
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("BUILD_DIR={}", build_dir().display())));
}

/// The `PKG_CONFIG_PATH` that finds the `libptrace.pc` of `prefix`.
pub fn pkg_config_path(prefix: &Path) -> PathBuf {
    prefix.join("lib/pkgconfig")
}

/// The text of `readelf ARGS file`.
pub fn readelf(args: &[&str], file: &Path) -> String {
    String::from_utf8_lossy(&run(Command::new("readelf").args(args).arg(file)).stdout).into_owned()
}
