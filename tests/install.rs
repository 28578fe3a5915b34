//! Installing libptrace as a user does, from the top of the repository: `make` (the release
//! build), `make install PREFIX=...` (and with `DESTDIR`), then using only what was installed:
//! a native module and an embedding host built with `pkg-config --cflags --libs libptrace`
//! alone, the installed `ptrace` running that module on a real target, the manual pages through
//! man, the bash completion in bash; then `make uninstall` leaves no file in the prefix.
//!
//! The first test to run builds the release (`make`, that is `cargo build --release`): a few
//! minutes when target/release is not up to date, a second when it is. Needs make, cc, man
//! (man-db), pkg-config, objcopy, objdump and readelf (`scripts/install-test-tools.sh`).

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::install::{pkg_config_path, readelf, run};
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The release build `make` made (once per test binary).
fn release_build() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            for tool in ["man", "pkg-config", "objcopy", "objdump", "readelf", "cc"] {
                assert!(
                    Command::new("sh")
                        .args(["-c", &format!("command -v {tool}")])
                        .output()
                        .is_ok_and(|o| o.status.success()),
                    "{tool} is missing: scripts/install-test-tools.sh installs it"
                );
            }
            let mut make = Command::new("make");
            make.arg("-s").arg("-C").arg(repo());
            // Without the variables cargo sets for this test (CARGO_MANIFEST_DIR, CARGO_PKG_*...):
            // build scripts (ring's) rerun when they change, and so the release build would be
            // redone, for minutes, each time it is made from here and from a shell in turn.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                if is_set_by_cargo_for_tests(&name) {
                    make.env_remove(&*name);
                }
            }
            run(&mut make);
            let dir = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo().join("target"), PathBuf::from)
                .join("release");
            assert!(
                dir.join("libptrace.so").is_file(),
                "make built no {}",
                dir.display()
            );
            dir
        })
        .clone()
}

/// Whether cargo sets the environment variable `name` for the test it runs (not one that
/// configures cargo, such as CARGO_HOME or CARGO_TARGET_DIR).
fn is_set_by_cargo_for_tests(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_BIN_EXE_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_MANIFEST_LINKS",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "OUT_DIR",
        ]
        .contains(&name)
}

/// `make -s VARIABLES... TARGET` at the top of the repository, for the release build.
fn make(target: &str, variables: &[String]) {
    release_build();
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo())
        .arg(target)
        .args(variables));
}

/// `make install PREFIX=prefix`.
fn install(prefix: &Path) {
    make("install", &[format!("PREFIX={}", prefix.display())]);
}

/// Every file (and symbolic link) under `dir`, relative to it; and every folder.
fn tree(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut files, mut folders) = (BTreeSet::new(), BTreeSet::new());
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("list a folder") {
            let path = entry.expect("folder entry").path();
            let relative = path
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            if std::fs::symlink_metadata(&path).expect("stat").is_dir() {
                folders.insert(relative);
                pending.push(path);
            } else {
                files.insert(relative);
            }
        }
    }
    (files, folders)
}

/// The files `make install` installs, relative to the prefix.
fn installed_files() -> BTreeSet<String> {
    let version = env!("CARGO_PKG_VERSION");
    [
        "bin/ptrace".to_string(),
        format!("lib/libptrace.so.{version}"),
        "lib/libptrace.so.0".to_string(),
        "lib/libptrace.so".to_string(),
        format!("lib/.debug/libptrace.so.{version}.debug"),
        "lib/pkgconfig/libptrace.pc".to_string(),
        "include/pmodule.h".to_string(),
        "include/bt.h".to_string(),
        "include/ptrace/pmodule.h".to_string(),
        "share/man/man1/ptrace.1".to_string(),
        "share/man/man1/ptrace-submit.1".to_string(),
        "share/man/man1/ptrace-dump.1".to_string(),
        "share/man/man1/ptrace-view.1".to_string(),
        "share/man/man1/ptrace-completions.1".to_string(),
        "share/bash-completion/completions/ptrace".to_string(),
        "share/zsh/site-functions/_ptrace".to_string(),
        "share/fish/vendor_completions.d/ptrace.fish".to_string(),
        "share/libptrace/lua/pmodule.d.lua".to_string(),
        "share/libptrace/schema/snapshot.schema.json".to_string(),
    ]
    .into_iter()
    .collect()
}

/// Asserts `prefix` holds no file, nor a folder only libptrace uses.
fn assert_uninstalled(prefix: &Path) {
    let (files, folders) = tree(prefix);
    assert!(files.is_empty(), "left after make uninstall: {files:?}");
    for own in ["include/ptrace", "share/libptrace"] {
        assert!(!folders.contains(own), "{own} is left: {folders:?}");
    }
}

#[test]
fn install_lays_out_the_library_headers_launcher_pages_and_completions_and_uninstall_removes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    install(&prefix);
    assert_eq!(tree(&prefix).0, installed_files());

    let version = env!("CARGO_PKG_VERSION");
    let lib = prefix.join("lib");
    let library = lib.join(format!("libptrace.so.{version}"));
    assert_eq!(
        std::fs::read_link(lib.join("libptrace.so.0")).expect("link"),
        Path::new(&format!("libptrace.so.{version}"))
    );
    assert_eq!(
        std::fs::read_link(lib.join("libptrace.so")).expect("link"),
        Path::new("libptrace.so.0")
    );
    assert!(readelf(&["-d"], &library).contains("Library soname: [libptrace.so.0]"));
    for header in ["pmodule.h", "bt.h", "ptrace/pmodule.h"] {
        assert_eq!(
            std::fs::read(prefix.join("include").join(header)).expect("installed header"),
            std::fs::read(repo().join("include").join(header)).expect("header"),
            "{header}"
        );
    }
    for (installed, source) in [
        ("share/libptrace/lua/pmodule.d.lua", "lua/pmodule.d.lua"),
        (
            "share/libptrace/schema/snapshot.schema.json",
            "schema/snapshot.schema.json",
        ),
    ] {
        assert_eq!(
            std::fs::read(prefix.join(installed)).expect("installed data"),
            std::fs::read(repo().join(source)).expect("data"),
            "{installed}"
        );
    }

    // The library is stripped: its debug information is in lib/.debug, which .gnu_debuglink
    // names, and its C API is still exported.
    let sections = readelf(&["-S", "-W"], &library);
    assert!(!sections.contains(".debug_line"), "{sections}");
    assert!(!sections.contains(".symtab"), "{sections}");
    let link = readelf(&["-p", ".gnu_debuglink"], &library);
    assert!(link.contains(&format!("libptrace.so.{version}.debug")), "{link}");
    let debug = lib.join(format!(".debug/libptrace.so.{version}.debug"));
    assert!(readelf(&["-S", "-W"], &debug).contains(".debug_line"));
    let exported = readelf(&["--dyn-syms", "-W"], &library);
    for symbol in ["pmodule_variable_dispatch", "bt_type_pp", "ptrace_cli_main"] {
        assert!(exported.contains(symbol), "{symbol} is not exported");
    }

    // bin/ptrace is a stripped launcher: it needs libptrace.so.0, found through
    // $ORIGIN/../lib, and defines none of the engine.
    let launcher = prefix.join("bin/ptrace");
    let dynamic = readelf(&["-d"], &launcher);
    assert!(dynamic.contains("[libptrace.so.0]"), "{dynamic}");
    assert!(dynamic.contains("[$ORIGIN/../lib]"), "{dynamic}");
    assert!(!readelf(&["-S", "-W"], &launcher).contains(".symtab"));
    let defined = readelf(&["--dyn-syms", "-W"], &launcher);
    assert!(
        !defined
            .lines()
            .any(|l| l.contains("pmodule_") && !l.contains(" UND ")),
        "{defined}"
    );
    assert!(std::fs::metadata(&launcher).expect("launcher").len() < 100_000);
    let printed = run(Command::new(&launcher).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        format!("ptrace {version}\n")
    );

    // The .pc names the prefix, its folders relative to it.
    let pc = std::fs::read_to_string(lib.join("pkgconfig/libptrace.pc")).expect("read the .pc");
    assert!(
        pc.starts_with(&format!("prefix={}\nlibdir=${{prefix}}/lib\n", prefix.display())),
        "{pc}"
    );
    assert!(pc.contains(&format!("\nVersion: {version}\n")), "{pc}");

    // The prefix still works once moved elsewhere (the launcher's rpath is relative), and
    // uninstalls from there.
    let moved = dir.path().join("moved");
    std::fs::rename(&prefix, &moved).expect("move the prefix");
    run(Command::new(moved.join("bin/ptrace")).arg("--help"));
    make("uninstall", &[format!("PREFIX={}", moved.display())]);
    assert_uninstalled(&moved);
}

#[test]
fn a_module_and_a_host_built_with_pkg_config_alone_run_on_the_installed_library() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    install(&prefix);
    let pkg_config = |what: &str| -> Vec<String> {
        let output = run(Command::new("pkg-config")
            .arg(what)
            .arg("libptrace")
            .env("PKG_CONFIG_PATH", pkg_config_path(&prefix)));
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let (cflags, libs) = (pkg_config("--cflags"), pkg_config("--libs"));
    assert_eq!(cflags, [format!("-I{}", prefix.join("include").display())]);
    assert!(libs.contains(&"-lptrace".to_string()), "{libs:?}");
    let checkout = repo().display().to_string();
    assert!(
        !cflags.iter().chain(&libs).any(|flag| flag.contains(&checkout)),
        "{cflags:?} {libs:?} point into the repository"
    );

    // A native module as modules are built (no -lptrace), and the embedding host.
    let module = dir.path().join("tutorial.so");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"])
        .arg(repo().join("c-examples/modules/tutorial.c"))
        .arg("-o")
        .arg(&module)
        .args(&cflags));
    let host = dir.path().join("host");
    run(Command::new("cc")
        .args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"])
        .arg(repo().join("c-examples/host.c"))
        .arg("-o")
        .arg(&host)
        .args(&cflags)
        .args(&libs));

    // The installed ptrace with that module on a real target.
    let target = Target::start(&example("crash"), &["hang", "2"]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    let output = Command::new(prefix.join("bin/ptrace"))
        .arg("-O")
        .arg(&out)
        .arg("--module-load")
        .arg(&module)
        .arg(target.pid().to_string())
        .output()
        .expect("run the installed ptrace");
    let snapshot = snapshot_ok(&output);
    assert_eq!(snapshot["pid"], target.pid(), "{snapshot}");
    assert_eq!(
        snapshot["threads"].as_array().map(Vec::len),
        Some(3),
        "{snapshot}"
    );
    assert_eq!(snapshot["attributes"]["lua_key1"], 42, "{snapshot}");
    assert!(snapshot["classifiers"]
        .as_array()
        .is_some_and(|c| c.contains(&Value::from("lua"))));
    assert_running_untraced(target.pid());

    // The host snapshots `crash hang` with the module and catches `crash segv`.
    let output = run(Command::new(&host).arg(example("crash")).arg(&module).arg(&out));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "modules loaded: 1",
        "  lua_key1: 42",
        "  signal_name: \"SIGSEGV\"",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no {line:?} in:\n{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("caught ") && l.ends_with("exit status 139")),
        "{stdout}"
    );
}

/// `man ARGS` with the manual path `manpath`, its output in 80 columns without a pager.
fn man(manpath: &str, args: &[&str]) -> String {
    let output = run(Command::new("man")
        .args(args)
        .env("MANPATH", manpath)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_manual_pages_render_and_man_ptrace_finds_section_1_before_the_system_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    install(&prefix);
    let man1 = prefix.join("share/man/man1");

    let page = man("", &["-l", &man1.join("ptrace.1").display().to_string()]);
    for text in [
        "SYNOPSIS",
        "ptrace [OPTIONS] PID",
        "ptrace [OPTIONS] --exec -- PROGRAM [ARGS...]",
        "--module-path <DIR>",
        "ptrace-submit(1)",
        "EXIT STATUS",
        "SEE ALSO",
        "man 2 ptrace",
    ] {
        assert!(page.contains(text), "no {text:?} in:\n{page}");
    }

    // Through the manual path, each subcommand's page by its name.
    let manpath = prefix.join("share/man").display().to_string();
    for (name, option) in [
        ("ptrace-submit", "--remove"),
        ("ptrace-dump", "--dump-all"),
        ("ptrace-view", "FILE"),
        ("ptrace-completions", "SHELL"),
    ] {
        let page = man(&manpath, &["1", name]);
        assert!(page.contains(option), "{name}: no {option} in:\n{page}");
        assert!(page.contains("ptrace(1)"), "{name}:\n{page}");
    }

    // With a section-2 ptrace page on the path too, even ahead of ours, `man ptrace` opens
    // section 1 (man-db's section order), `man 2 ptrace` the system call's.
    let syscall = dir.path().join("syscall-pages");
    std::fs::create_dir_all(syscall.join("man2")).expect("mkdir man2");
    std::fs::write(
        syscall.join("man2/ptrace.2"),
        ".TH PTRACE 2\n.SH NAME\nptrace \\- process trace\n",
    )
    .expect("write ptrace.2");
    let both = format!("{}:{manpath}", syscall.display());
    assert_eq!(
        man(&both, &["-w", "ptrace"]).trim(),
        man1.join("ptrace.1").display().to_string()
    );
    assert_eq!(
        man(&both, &["-w", "2", "ptrace"]).trim(),
        syscall.join("man2/ptrace.2").display().to_string()
    );
}

#[test]
fn the_installed_bash_completion_loads_and_completes_options_and_shells() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("prefix");
    install(&prefix);
    let script = prefix.join("share/bash-completion/completions/ptrace");
    // Completes `ptrace --module-pa` and `ptrace completions `, as bash calls the function.
    let output = run(Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$1" || exit 1
complete -p ptrace
COMP_WORDS=(ptrace --module-pa); COMP_CWORD=1; _ptrace ptrace --module-pa ptrace
echo "options: ${COMPREPLY[*]}"
COMP_WORDS=(ptrace completions ''); COMP_CWORD=2; _ptrace ptrace '' completions
echo "shells: ${COMPREPLY[*]}""#,
        )
        .arg("bash")
        .arg(&script));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("-F _ptrace ptrace\n"), "{stdout}");
    assert!(stdout.contains("\noptions: --module-path\n"), "{stdout}");
    let shells = stdout
        .lines()
        .find_map(|l| l.strip_prefix("shells: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.split(' ').any(|s| s == shell), "{shells}");
    }
    // zsh and fish scripts name the command they complete.
    let zsh = std::fs::read_to_string(prefix.join("share/zsh/site-functions/_ptrace")).expect("zsh");
    assert!(zsh.starts_with("#compdef ptrace\n"), "{zsh}");
    let fish =
        std::fs::read_to_string(prefix.join("share/fish/vendor_completions.d/ptrace.fish")).expect("fish");
    assert!(fish.contains("complete -c ptrace "), "{fish}");
}

#[test]
fn destdir_stages_an_install_for_its_prefix_and_uninstall_removes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stage = dir.path().join("stage");
    let prefix = "/opt/libptrace-test";
    let variables = [format!("DESTDIR={}", stage.display()), format!("PREFIX={prefix}")];
    make("install", &variables);
    assert!(
        !Path::new(prefix).exists(),
        "{prefix} was written outside DESTDIR"
    );
    let root = stage.join(prefix.trim_start_matches('/'));
    assert_eq!(tree(&stage).0.len(), installed_files().len());
    assert_eq!(tree(&root).0, installed_files());
    // The files name the final prefix, not the staging folder.
    let pc = std::fs::read_to_string(root.join("lib/pkgconfig/libptrace.pc")).expect("read .pc");
    assert!(pc.starts_with(&format!("prefix={prefix}\n")), "{pc}");
    assert!(!pc.contains(&stage.display().to_string()), "{pc}");
    let dynamic = readelf(&["-d"], &root.join("bin/ptrace"));
    assert!(!dynamic.contains(&stage.display().to_string()), "{dynamic}");
    // The staged launcher runs in place (its rpath is relative).
    run(Command::new(root.join("bin/ptrace")).arg("--version"));

    make("uninstall", &variables);
    assert_uninstalled(&root);
}
