//! The C face of libptrace from outside: `c-examples/host.c` linked with `-lptrace` (plain and
//! AddressSanitizer-built) snapshots `crash hang` with the C tutorial module and catches
//! `crash segv`; `make -C c-examples install PREFIX=...` installs a prefix from which a module
//! and the host build with `pkg-config --cflags --libs ptrace` alone; a module linked with
//! `-lptrace` loads into the installed CLI and binds to the executable's engine.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory holding the `libptrace.so` and `ptrace` this test was built with. `cargo test`
/// builds the shared library fresh only under `deps/` (it copies it up to the profile directory
/// only on `cargo build`), so the directory links to that fresh copy rather than to a possibly
/// stale `target/debug/libptrace.so`.
fn build_dir() -> PathBuf {
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

/// `dir` with `libptrace.so` and `libptrace.so.0` (its SONAME) linking to the built library.
fn lib_links(dir: &Path) -> PathBuf {
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).expect("mkdir lib");
    let built = build_dir().join("libptrace.so");
    assert!(built.exists(), "{} is not built", built.display());
    for name in ["libptrace.so", "libptrace.so.0"] {
        std::os::unix::fs::symlink(&built, lib.join(name)).expect("symlink");
    }
    lib
}

fn run(command: &mut Command) -> Output {
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

/// Whether gcc can build and run an AddressSanitizer program here.
fn asan_works(dir: &Path) -> bool {
    let source = dir.join("asan_probe.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").expect("write probe");
    let probe = dir.join("asan_probe");
    Command::new("cc")
        .args(["-fsanitize=address", "-o"])
        .arg(&probe)
        .arg(&source)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&probe).status().is_ok_and(|s| s.success())
}

/// Runs a built host on `crash` with the C tutorial module, writing into `out`; checks what it
/// printed and the file it wrote.
fn check_host(host: &Path, module: &Path, out: &Path, asan: bool) {
    let mut command = Command::new(host);
    command.arg(example("crash")).arg(module).arg(out);
    if asan {
        // The Rust side keeps process-lifetime caches and never frees module handles (modules
        // are never unloaded): leak reports there are by design; memory errors still abort.
        command.env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
    }
    let output = run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "modules loaded: 1",
        "  application: \"host-example\"",
        "  answer: 42",
        "  lua_key1: 42",
        "  classifiers: [\"embedded\",\"lua\"]",
        "  signal_name: \"SIGSEGV\"",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no {line:?} in:\n{stdout}");
    }
    let caught = stdout
        .lines()
        .find(|l| l.starts_with("caught "))
        .unwrap_or_else(|| panic!("segv not caught:\n{stdout}"));
    assert!(caught.ends_with("exit status 139"), "{caught}");
    let bytes: usize = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("snapshot of ")?
                .split(": ")
                .nth(1)?
                .strip_suffix(" bytes")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no snapshot size:\n{stdout}"));
    assert!(bytes > 1000, "{bytes}");
    let written = stdout
        .lines()
        .find_map(|l| l.strip_prefix("written: "))
        .unwrap_or_else(|| panic!("no file written:\n{stdout}"));
    assert!(Path::new(written).starts_with(out), "{written}");
    let snap: Value =
        serde_json::from_str(&std::fs::read_to_string(written).expect("read it")).expect("JSON");
    assert_eq!(snap["application"], "host-example");
    assert_eq!(snap["attributes"]["host"], "c");
    assert!(snap["threads"].as_array().is_some_and(|t| t.len() >= 2), "{snap}");
}

fn build_host(dir: &Path, lib: &Path, asan: bool) -> PathBuf {
    let host = dir.join(if asan { "host-asan" } else { "host" });
    let mut cc = Command::new("cc");
    cc.args([
        "-std=c11",
        "-D_GNU_SOURCE",
        "-g",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
    ])
    .arg(repo().join("include"))
    .arg(repo().join("c-examples/host.c"))
    .arg("-o")
    .arg(&host)
    .arg(format!("-L{}", lib.display()))
    .arg(format!("-Wl,-rpath,{}", lib.display()))
    .arg("-lptrace");
    if asan {
        cc.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
    }
    run(&mut cc);
    host
}

#[test]
fn the_host_example_snapshots_hang_and_catches_segv() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = lib_links(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    let module = example("modules/tutorial.so");
    check_host(&build_host(dir.path(), &lib, false), &module, &out, false);
}

#[test]
fn the_host_example_built_with_address_sanitizer() {
    let dir = tempfile::tempdir().expect("temp dir");
    if !asan_works(dir.path()) {
        eprintln!("skipped: this gcc cannot build AddressSanitizer programs");
        return;
    }
    let lib = lib_links(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    let module = example("modules/tutorial.so");
    check_host(&build_host(dir.path(), &lib, true), &module, &out, true);
}

fn pkg_config(prefix: &Path) -> Vec<String> {
    let output = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "ptrace"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn install_into_a_prefix_then_build_a_module_and_a_host_with_pkg_config_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo().join("c-examples"))
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("PTRACE_BUILD={}", build_dir().display())));
    let lib = prefix.join("lib");
    assert!(lib.join("libptrace.so.0.1.0").is_file());
    assert_eq!(
        std::fs::read_link(lib.join("libptrace.so.0")).expect("link"),
        Path::new("libptrace.so.0.1.0")
    );
    assert_eq!(
        std::fs::read_link(lib.join("libptrace.so")).expect("link"),
        Path::new("libptrace.so.0")
    );
    assert_eq!(
        std::fs::read(prefix.join("include/pmodule.h")).expect("header"),
        std::fs::read(repo().join("include/pmodule.h")).expect("header")
    );
    assert!(prefix.join("bin/ptrace").is_file());

    let flags = pkg_config(&prefix);
    assert!(
        flags.contains(&format!("-I{}", prefix.join("include").display())),
        "{flags:?}"
    );
    assert!(flags.contains(&"-lptrace".to_string()), "{flags:?}");

    // A module linked with -lptrace, and the host, with the pkg-config flags alone.
    let module = dir.path().join("tutorial-linked.so");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .arg(repo().join("c-examples/modules/tutorial.c"))
        .arg("-o")
        .arg(&module)
        .args(&flags));
    let needed = run(Command::new("readelf").arg("-d").arg(&module));
    assert!(
        String::from_utf8_lossy(&needed.stdout).contains("[libptrace.so.0]"),
        "the module is not linked with -lptrace"
    );
    let host = dir.path().join("host");
    run(Command::new("cc")
        .args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"])
        .arg(repo().join("c-examples/host.c"))
        .arg("-o")
        .arg(&host)
        .args(&flags));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    check_host(&host, &module, &out, false);

    // The same module in the installed CLI: the executable's pmodule_* definitions win over
    // those of the libptrace.so.0 it pulls in, so its handles are the CLI engine's and every
    // call works (bound to the library's copy, each would be refused as a foreign handle).
    // `ptrace --exec` exits as the program did (139: SIGSEGV).
    let output = Command::new(prefix.join("bin/ptrace"))
        .arg("-O")
        .arg(&out)
        .arg("--module-load")
        .arg(&module)
        .args(["--exec", "--"])
        .arg(example("crash"))
        .arg("segv")
        .env("LD_DEBUG", "bindings")
        .env("LD_DEBUG_OUTPUT", dir.path().join("bindings"))
        .output()
        .expect("run the installed ptrace");
    assert_eq!(output.status.code(), Some(139), "{output:?}");
    let snap = snapshot_of(&output);
    assert_eq!(
        snap["attributes"]["lua_key1"],
        42,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(snap["classifiers"]
        .as_array()
        .is_some_and(|c| c.contains(&Value::from("lua"))));
    let bindings: String = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("bindings"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    let binding = bindings
        .lines()
        .find(|l| l.contains("tutorial-linked.so") && l.contains("`pmodule_backtrace_add_classifier'"))
        .unwrap_or_else(|| panic!("no binding of pmodule_backtrace_add_classifier"));
    assert!(
        binding.contains("to ") && binding.contains("bin/ptrace"),
        "{binding}"
    );
}
