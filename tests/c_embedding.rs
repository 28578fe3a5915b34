//! The C face of libptrace from outside: `c-examples/host.c` linked with `-lptrace` (plain and
//! AddressSanitizer-built) snapshots `crash hang` with the C tutorial module and catches
//! `crash segv`; `make install PREFIX=...` installs a prefix from which a module
//! and the host build with `pkg-config --cflags --libs libptrace` alone; a module linked with
//! `-lptrace` loads into the installed CLI and binds to the executable's engine.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::install::{build_dir, install, pkg_config_path, readelf, run};
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A core of `crash hang 1` written by gdb's `gcore` into `dir`.
fn gcore_of_hang(dir: &Path) -> PathBuf {
    let mut child = Command::new(example("crash"))
        .args(["hang", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start crash hang");
    let mut ready = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready).expect("read ready");
    let prefix = dir.join("core");
    let written = Command::new("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(child.id().to_string())
        .output();
    let _ = child.kill();
    let _ = child.wait();
    let written = written.expect("gcore runs");
    assert!(ready.starts_with("ready"), "crash hang printed {ready:?}");
    assert!(
        written.status.success(),
        "gcore: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    PathBuf::from(format!("{}.{}", prefix.display(), child.id()))
}

/// Runs a built host on `crash` with the C tutorial module, writing into `out`, and on a core
/// of `crash hang`; checks what it printed and the file it wrote.
fn check_host(host: &Path, module: &Path, out: &Path, asan: bool) {
    let core = gcore_of_hang(out.parent().expect("out has a parent"));
    let mut command = Command::new(host);
    command.arg(example("crash")).arg(module).arg(out).arg(&core);
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
        "  process_state: \"core\"",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no {line:?} in:\n{stdout}");
    }
    let caught = stdout
        .lines()
        .find(|l| l.starts_with("caught "))
        .unwrap_or_else(|| panic!("segv not caught:\n{stdout}"));
    assert!(caught.ends_with("exit status 139"), "{caught}");
    // The module ran on the core too: its attribute is there (after the --exec snapshot's).
    let after_core: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("core ")).collect();
    assert!(
        after_core.first().is_some_and(|l| l.ends_with(" bytes")) && after_core.contains(&"  lua_key1: 42"),
        "no core snapshot with the module's attribute:\n{stdout}"
    );
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
        .args(["--cflags", "--libs", "libptrace"])
        .env("PKG_CONFIG_PATH", pkg_config_path(prefix)));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Every `binding file MODULE ... to FILE ...: normal symbol `pmodule_...'` line of the
/// `LD_DEBUG=bindings` files written under `dir` (what the module named `module` uses), as
/// (symbol, FILE).
fn engine_bindings(dir: &Path, module: &str) -> Vec<(String, String)> {
    let text: String = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("bindings"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    text.lines()
        .filter(|l| l.contains("`pmodule_"))
        .filter_map(|l| {
            let (from, rest) = l.split_once("binding file ")?.1.split_once(" to ")?;
            let to = rest.split(" [").next()?.to_string();
            // Its own symbols (the descriptor) are not the engine's.
            if !from.contains(module) || to.contains(module) {
                return None;
            }
            let symbol = l.split('`').nth(1)?.trim_end_matches('\'').to_string();
            Some((symbol, to))
        })
        .collect()
}

/// How many times the dynamic loader mapped a libptrace (`LD_DEBUG=files` under `dir`).
fn libptrace_loads(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|text| {
            text.lines()
                .filter(|l| {
                    l.contains("file=") && l.contains("libptrace") && l.contains("generating link map")
                })
                .count()
        })
        .sum()
}

#[test]
fn install_into_a_prefix_then_build_a_module_and_a_host_with_pkg_config_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    install(&prefix);
    let flags = pkg_config(&prefix);
    assert!(
        flags.contains(&format!("-I{}", prefix.join("include").display())),
        "{flags:?}"
    );
    assert!(flags.contains(&"-lptrace".to_string()), "{flags:?}");

    // A module linked with -lptrace, and the host, with the pkg-config flags alone.
    let linked = dir.path().join("tutorial-linked.so");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .arg(repo().join("c-examples/modules/tutorial.c"))
        .arg("-o")
        .arg(&linked)
        .args(&flags));
    assert!(
        readelf(&["-d"], &linked).contains("[libptrace.so.0]"),
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
    check_host(&host, &linked, &out, false);

    // The same module in the installed CLI, and one built without -lptrace: both bind to the
    // one engine the CLI runs on, that of lib/libptrace.so.0 (no second copy is loaded).
    // `ptrace --exec` exits as the program did (139: SIGSEGV).
    let unlinked = dir.path().join("tutorial-unlinked.so");
    let cflags: Vec<&String> = flags.iter().filter(|f| f.starts_with("-I")).collect();
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .arg(repo().join("c-examples/modules/tutorial.c"))
        .arg("-o")
        .arg(&unlinked)
        .args(cflags));
    for module in [&linked, &unlinked] {
        let name = module.file_name().unwrap().to_string_lossy().into_owned();
        let trace = dir.path().join(format!("trace-{name}"));
        std::fs::create_dir(&trace).expect("mkdir trace");
        let output = Command::new(prefix.join("bin/ptrace"))
            .arg("-O")
            .arg(&out)
            .arg("--module-load")
            .arg(module)
            .args(["--exec", "--"])
            .arg(example("crash"))
            .arg("segv")
            .env("LD_DEBUG", "bindings,files")
            .env("LD_DEBUG_OUTPUT", trace.join("bindings"))
            .output()
            .expect("run the installed ptrace");
        assert_eq!(output.status.code(), Some(139), "{output:?}");
        let snap = snapshot_of(&output);
        assert_eq!(
            snap["attributes"]["lua_key1"],
            42,
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(snap["classifiers"]
            .as_array()
            .is_some_and(|c| c.contains(&Value::from("lua"))));
        let bindings = engine_bindings(&trace, &name);
        assert!(
            bindings
                .iter()
                .any(|(s, _)| s == "pmodule_backtrace_add_classifier"),
            "{name}: {bindings:?}"
        );
        for (symbol, to) in &bindings {
            assert!(
                to.ends_with("lib/libptrace.so.0"),
                "{name}: {symbol} bound to {to}"
            );
        }
        assert_eq!(
            libptrace_loads(&trace),
            1,
            "{name}: libptrace loaded more than once"
        );
    }
}
