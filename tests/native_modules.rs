//! Native (`*.so`) modules loaded in-process by the module host: a good module's callbacks run
//! on a real snapshot of `crash segv` (frames, threads, fault from the session), NULL and stale
//! handles give error results inside it, and the hostile set (not an ELF, no descriptor, wrong
//! ABI major, unresolved symbol, load returning false) is refused with one line each while the
//! other modules load and run. The modules are compiled here with `cc -shared -fPIC`, without
//! -lptrace: they bind to this test binary's engine (linked -rdynamic, like the CLI).

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use ptrace::lua::LuaOptions;
use ptrace::pmodule::{MemorySink, ModuleOptions};
use ptrace::session::{standard_host, ExecResult, Session, SessionOptions};
use ptrace::snapshot::{Annotation, AttributeValue, Snapshot};
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;

fn crash_snapshot() -> Snapshot {
    let program = common::example("crash");
    let session = Session::new(SessionOptions::default());
    match session
        .run_and_catch(program.as_os_str(), &[OsString::from("segv")])
        .expect("the session runs")
    {
        ExecResult::Crashed { snapshot, .. } => *snapshot,
        other => panic!("crash segv did not crash: {other:?}"),
    }
}

fn int_attribute(snap: &Snapshot, key: &str) -> i64 {
    match snap.attributes.get(key) {
        Some(AttributeValue::Int(n)) => *n,
        other => panic!("attribute {key}: {other:?}"),
    }
}

fn texts(annotations: &[Annotation]) -> Vec<String> {
    annotations
        .iter()
        .filter_map(|a| match a {
            Annotation::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn hostile_modules_are_refused_with_one_line_and_the_good_one_runs_on_a_real_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["good", "no_descriptor", "wrong_abi", "unresolved", "load_false"] {
        common::fixture_module(dir.path(), name);
    }
    std::fs::write(dir.path().join("not_elf.so"), "this is text, not ELF\n").unwrap();
    // A Lua module in the same directory still loads beside them.
    std::fs::write(
        dir.path().join("lua_side.lua"),
        "pmodule.define{ id = 'lua_side', load = function() pmodule.register(pmodule.event.postattach, function(bt) bt:add_classifier('lua_side') end) end }\n",
    )
    .unwrap();

    let sink = Arc::new(MemorySink::new());
    let mut options = ModuleOptions::new();
    options.set("good_native", "greeting", "hello");
    let host = standard_host(options, sink.clone(), LuaOptions::default());
    let failures = host.load_path(dir.path()).expect("the directory is readable");

    let mut reasons: Vec<(String, String)> = failures
        .iter()
        .map(|e| {
            let file = Path::new(&e.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, e.message.clone())
        })
        .collect();
    reasons.sort();
    let expect = [
        ("load_false.so", "load returned false"),
        ("no_descriptor.so", "no pmodule descriptor"),
        ("not_elf.so", "not a shared object"),
        ("unresolved.so", "pmodule_function_that_does_not_exist"),
        ("wrong_abi.so", "built for pmodule ABI 99.0"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:#?}");
    for ((file, message), (want_file, want_text)) in reasons.iter().zip(expect) {
        assert_eq!(file, want_file);
        assert!(message.contains(want_text), "{file}: {message}");
        assert!(!message.contains('\n'), "{file}: one line: {message}");
    }
    assert_eq!(host.module_ids(), ["good_native", "lua_side"]);
    let log = sink.text();
    assert!(log.contains("good module loaded (native)"), "{log}");
    for (file, _) in &expect {
        assert!(log.contains(file), "{file} not reported in the log: {log}");
    }

    let mut snap = crash_snapshot();
    host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        host.fire_thread_events(&mut snap, thread, &());
    }
    host.fire_postattach(&mut snap);

    let log = sink.text();
    assert_eq!(int_attribute(&snap, "c_null_failures"), 0, "{log}");
    assert_eq!(int_attribute(&snap, "c_attach"), 1);
    assert_eq!(int_attribute(&snap, "c_threads"), snap.threads.len() as i64);
    let fault_thread = snap.threads.iter().find(|t| t.fault).expect("a faulting thread");
    let faulting_frames = fault_thread.frames.iter().filter(|f| f.fault).count() as i64;
    assert!(faulting_frames >= 1);
    assert_eq!(
        int_attribute(&snap, "c_frames"),
        faulting_frames,
        "frames filtered by the fault match"
    );
    let variables: usize = snap
        .threads
        .iter()
        .flat_map(|t| &t.frames)
        .map(|f| f.variables.len())
        .sum::<usize>()
        + snap.threads.iter().map(|t| t.variables.len()).sum::<usize>();
    assert_eq!(int_attribute(&snap, "c_variables"), variables as i64);
    assert_eq!(
        snap.attributes.get("c_option"),
        Some(&AttributeValue::Text("hello".into())),
        "pmodule_config_option"
    );
    assert!(snap.classifiers.contains(&"native".to_string()));
    assert!(
        snap.classifiers.contains(&"lua_side".to_string()),
        "the Lua module ran too"
    );
    assert!(
        !snap.classifiers.contains(&"must-not-appear".to_string()),
        "a refused module's callback ran"
    );
    assert!(snap.tags.contains(&"c-module".to_string()));
    let recurse = fault_thread.frames.iter().find(|f| f.fault).unwrap();
    let frame_notes = texts(&recurse.annotations);
    assert!(
        frame_notes.iter().any(|t| t.starts_with("c frame recurse line ")),
        "{frame_notes:?}"
    );
    let thread_notes = texts(&fault_thread.annotations);
    assert!(
        thread_notes.iter().any(|t| t
            == &format!(
                "c thread {} with {} frames",
                fault_thread.tid,
                fault_thread.frames.len()
            )),
        "{thread_notes:?}"
    );
    let json = snap.annotations.iter().find_map(|a| match a {
        Annotation::Json { json, .. } => Some(json.clone()),
        _ => None,
    });
    assert_eq!(json, Some(serde_json::json!({"context": "C", "pid": snap.pid})));
    assert!(
        log.contains("json annotation"),
        "the refused json annotation is logged: {log}"
    );
}

#[test]
fn the_tutorial_module_annotates_the_faulting_frame_and_the_snapshot() {
    let module = common::example("modules/tutorial.so");
    let sink = Arc::new(MemorySink::new());
    let host = standard_host(ModuleOptions::new(), sink.clone(), LuaOptions::default());
    assert_eq!(host.load_file(&module).expect("tutorial.so loads"), ["pmodule_c"]);
    let mut snap = crash_snapshot();
    host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        host.fire_thread_events(&mut snap, thread, &());
    }
    host.fire_postattach(&mut snap);
    host.unload();
    let log = sink.text();
    assert!(!log.contains("error"), "{log}");
    assert!(log.contains("pm_unload"), "{log}");
    assert_eq!(snap.attributes.get("lua_key1"), Some(&AttributeValue::Int(42)));
    assert_eq!(
        snap.attributes.get("lua_key2"),
        Some(&AttributeValue::Text("lua_value".into()))
    );
    assert!(snap.classifiers.contains(&"lua".to_string()));
    let signal = snap
        .annotations
        .iter()
        .find_map(|a| match a {
            Annotation::Json { json, .. } if json["context"] == "Signal" => Some(json.clone()),
            _ => None,
        })
        .expect("the signal annotation");
    assert_eq!(signal["Num"], "11", "{signal}");
    assert_eq!(signal["Populated"], "true", "{signal}");
}
