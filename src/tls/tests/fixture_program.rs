//! The `tests/fixtures/tls` program: TLS in the executable (`.tdata` and `.tbss`), in a linked
//! library (static TLS), in a dlopen'ed one (dynamic TLS), and in a library that reused the
//! module id of a dlclose'd one, over six threads. Every address the resolver gives is compared
//! with gdb's on the same process, and the values are read through `ProcessMemory`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::gdb::tls_addresses;
use super::target::{cc, object_named, tls_symbol_offset, Target};
use crate::abort::AbortFlag;
use crate::memory::MemoryReader;
use crate::tls::{TlsError, TlsResolver};
use crate::tracer::{StopOptions, StoppedProcess};

/// Warnings and optimisations as the rest of the project builds C.
const CFLAGS: [&str; 5] = ["-Wall", "-Wextra", "-Werror", "-g", "-O0"];

/// The fixture, compiled: the program and its libraries in a private directory.
struct Built {
    dir: TempDir,
}

impl Built {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let source = |name: &str| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/tls")
                .join(name)
                .display()
                .to_string()
        };
        let out = |name: &str| dir.path().join(name).display().to_string();
        let mut args: Vec<String> = CFLAGS.iter().map(|s| s.to_string()).collect();
        let with = |more: &[String]| -> Vec<String> { args.iter().chain(more).cloned().collect() };
        let run = |all: Vec<String>| cc(&all.iter().map(String::as_str).collect::<Vec<_>>());
        run(with(&[
            "-shared".into(),
            "-fPIC".into(),
            "-o".into(),
            out("libtlslib.so"),
            source("tls_lib.c"),
        ]));
        for name in ["dl_tls", "gone_tls", "reuse_tls"] {
            run(with(&[
                "-shared".into(),
                "-fPIC".into(),
                format!("-DNAME={name}"),
                "-o".into(),
                out(&format!("lib{name}.so")),
                source("tls_dl.c"),
            ]));
        }
        args.extend([
            "-pthread".into(),
            "-o".into(),
            out("tls_main"),
            source("tls_main.c"),
            format!("-L{}", dir.path().display()),
            "-ltlslib".into(),
            format!("-Wl,-rpath,{}", dir.path().display()),
            "-ldl".into(),
        ]);
        run(args.clone());
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start(&self) -> Target {
        let lib = |name: &str| self.path(name).display().to_string();
        Target::start(
            &self.path("tls_main"),
            &[
                &lib("libdl_tls.so"),
                &lib("libgone_tls.so"),
                &lib("libreuse_tls.so"),
            ],
        )
    }
}

/// A TLS variable of the fixture: its name, the file defining it, its size in bytes.
struct Variable {
    name: &'static str,
    file: &'static str,
    size: usize,
}

const VARIABLES: [Variable; 5] = [
    Variable {
        name: "exe_tls_data",
        file: "tls_main",
        size: 4,
    },
    Variable {
        name: "exe_tls_bss",
        file: "tls_main",
        size: 8,
    },
    Variable {
        name: "lib_tls",
        file: "libtlslib.so",
        size: 8,
    },
    Variable {
        name: "dl_tls",
        file: "libdl_tls.so",
        size: 8,
    },
    Variable {
        name: "reuse_tls",
        file: "libreuse_tls.so",
        size: 8,
    },
];

/// What thread `index` holds in `variable` (see tls_main.c); `None`: not allocated there.
fn expected_value(variable: &str, index: i64) -> Option<i64> {
    let worker = (1..=3).contains(&index);
    let set_by_thread = worker || index == 0;
    match variable {
        "exe_tls_data" => Some(if set_by_thread { 1000 + index } else { 7 }),
        "exe_tls_bss" => Some(if set_by_thread { 2000 + index } else { 0 }),
        "lib_tls" => Some(if set_by_thread { 3000 + index } else { -1 }),
        "dl_tls" => worker.then_some(4000 + index),
        _ => None,
    }
}

/// A little-endian signed integer of `bytes.len()` (4 or 8) bytes.
fn signed(bytes: &[u8]) -> i64 {
    match bytes.len() {
        4 => i64::from(i32::from_le_bytes(bytes.try_into().unwrap())),
        _ => i64::from_le_bytes(bytes.try_into().unwrap()),
    }
}

#[test]
fn every_thread_and_module_agrees_with_gdb() {
    let built = Built::new();
    let target = built.start();
    let pid = target.pid();
    let objects = target.objects();
    let resolver = TlsResolver::new(&objects, &target.memory()).expect("resolver");
    assert!(resolver.checks_generations(), "{:?}", resolver.warnings());

    // Module ids: the executable is 1; the dlopen'ed ones are those dlinfo printed, and reuse_tls
    // really took over gone_tls's id.
    let modids: HashMap<String, i64> = target.printed("modid").into_iter().collect();
    assert_eq!(modids["gone_tls"], modids["reuse_tls"], "the module id is reused");
    let modid_of = |file| {
        resolver
            .module(object_named(&objects, file))
            .map(|m| m.modid as i64)
    };
    assert_eq!(modid_of("tls_main"), Some(1));
    assert_eq!(modid_of("libdl_tls.so"), Some(modids["dl_tls"]));
    assert_eq!(modid_of("libreuse_tls.so"), Some(modids["reuse_tls"]));
    assert!(modid_of("libtlslib.so").is_some());
    let exe_segment = resolver
        .module(object_named(&objects, "tls_main"))
        .and_then(|m| m.segment);
    assert!(exe_segment.is_some_and(|s| s.mem_size >= 12 && s.file_size >= 4));

    let index_of: HashMap<i32, i64> = target
        .printed("thread")
        .into_iter()
        .map(|(index, tid)| (tid as i32, index.parse().unwrap()))
        .collect();
    assert_eq!(index_of.len(), 6);

    // Our answers, read while the target is stopped, values included.
    let stopped = StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect("stop");
    let mut ours: HashMap<(i32, String), Option<u64>> = HashMap::new();
    let mut stale_entry = None;
    for thread in stopped.threads() {
        let tp = thread.user_regs.fs_base;
        let index = index_of[&thread.tid];
        for variable in &VARIABLES {
            let object = object_named(&objects, variable.file);
            let offset = tls_symbol_offset(&built.path(variable.file), variable.name);
            let address = resolver
                .block_address(object, tp, stopped.memory())
                .map(|block| block + offset);
            let value =
                address.map(|a| signed(&stopped.memory().read_exact(a, variable.size).expect("readable")));
            assert_eq!(
                value,
                expected_value(variable.name, index),
                "{} in thread {index} (tid {})",
                variable.name,
                thread.tid
            );
            ours.insert((thread.tid, variable.name.to_string()), address);
        }
        if index == 5 {
            // Without the generation check, thread 5's DTV entry for the reused id is the block
            // of the unloaded library: that is what the check refuses.
            let module = resolver
                .module(object_named(&objects, "libreuse_tls.so"))
                .unwrap();
            stale_entry =
                super::super::dtv::dtv_block(stopped.memory(), tp, module.modid, module.link_map, None);
        }
    }
    assert_eq!(ours.len(), 6 * VARIABLES.len());
    assert!(stale_entry.is_some(), "thread 5 holds a stale DTV entry");
    stopped.resume().expect("resume");

    // gdb's answers on the same process, attached after our reads.
    let names: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
    let gdb = tls_addresses(pid, &names, built.dir.path());
    for (key, address) in &ours {
        assert_eq!(
            gdb.get(key),
            Some(address),
            "thread {} {}: gdb vs ours",
            key.0,
            key.1
        );
    }
}

#[test]
fn a_static_executable_is_an_error_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("static.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include <unistd.h>\n__thread int counter = 5;\n\
         int main(void) { counter++; printf(\"ready\\n\"); fflush(stdout); for (;;) pause(); }\n",
    )
    .unwrap();
    let binary = dir.path().join("static");
    cc(&[
        "-static",
        "-g",
        "-o",
        binary.to_str().unwrap(),
        source.to_str().unwrap(),
    ]);
    let target = Target::start(&binary, &[]);
    let result = TlsResolver::new(&target.objects(), &target.memory());
    assert!(
        matches!(
            result,
            Err(TlsError::NoRendezvous | TlsError::LayoutUnknown { .. })
        ),
        "{result:?}"
    );
}
