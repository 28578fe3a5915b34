//! The tutorial's two modules, unchanged, on the tutorial's data.

use super::double::{self, Fake};
use super::*;
use crate::pmodule::{Origin, VarOwner, VarPath};

#[test]
fn array_iter_walks_the_list_and_the_array() {
    let t = TestHost::default();
    assert_eq!(
        t.host.load_file(&example("array_iter.lua")).unwrap(),
        ["array_iter"]
    );
    let fake = Fake::tutorial(&[100, 101]);
    let mut snap = crash_snapshot(false);
    // What the session does: attach, then the variable event of the global `papa`, which the
    // module's match selects by name.
    assert!(t.host.selects_global("papa", double::EXE, double::CRASH_C));
    assert!(!t
        .host
        .selects_global("some_struct_g", double::EXE, double::CRASH_C));
    t.host.fire_attach(&mut snap);
    snap.globals.push(fake.global_variable("papa"));
    t.host.fire_global(
        &mut snap,
        0,
        Origin {
            object: double::EXE.into(),
            cu: double::CRASH_C.into(),
        },
        Some(fake.global_bt("papa")),
    );
    let log = t.log();
    assert!(!log.contains("error"), "{log}");
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.trim_start_matches("[array_iter] info: "))
        .collect();
    for v in 0..10u64 {
        let line = format!("[{:x}] v: {v}", double::NODES + v * 16 + 8);
        assert!(lines.contains(&line.as_str()), "missing {line:?} in\n{log}");
    }
    assert!(
        lines.contains(&format!("addr: {:x}, len: 10, size: 72", double::KIDS).as_str()),
        "{log}"
    );
    for i in 0..10u64 {
        let at = lines
            .iter()
            .position(|l| *l == format!("--- iter {i} ({:x})---", double::KIDS + i * 72))
            .unwrap_or_else(|| panic!("iteration {i} missing:\n{log}"));
        assert_eq!(lines[at + 1], format!("a: {}", 9 + i));
        assert_eq!(lines[at + 2], format!("b: {:.6}", (9 + i) as f64));
        assert_eq!(lines[at + 3], format!("nppp.c: {}", 9 + i));
    }
    // A global the match does not select by kind or base type gets no callback.
    snap.globals.push(fake.global_variable("some_struct_g"));
    let before = t.log().len();
    t.host.fire_variable(
        &mut snap,
        VarPath::top(VarOwner::Global, 1),
        Some(fake.global_bt("some_struct_g")),
    );
    assert_eq!(t.log().len(), before);
}

#[test]
fn pmodule_lua_annotates_structs_fault_parameters_signal_and_classifies() {
    let t = TestHost::default();
    assert_eq!(
        t.host.load_file(&example("pmodule_lua.lua")).unwrap(),
        ["pmodule_lua"]
    );
    let mut snap = crash_snapshot(true);
    t.host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        t.host.fire_thread_events(&mut snap, thread, &());
    }
    t.host.fire_postattach(&mut snap);
    t.host.unload();
    let log = t.log();
    assert!(!log.contains("error"), "{log}");

    let main = &snap.threads[0];
    for f in main
        .frames
        .iter()
        .filter(|f| f.symbol.as_deref() == Some("recurse"))
    {
        let local = f.variables.iter().find(|v| v.name == "frame").unwrap();
        assert_eq!(
            serde_json::to_value(&local.annotations).unwrap(),
            serde_json::json!([{"level": "critical", "text": "lua: struct var"}])
        );
    }
    // The faulting frame's parameters: lua: fprm N.
    let fault_frame = &main.frames[0];
    let texts = |v: &crate::snapshot::Variable| -> Vec<String> {
        v.annotations
            .iter()
            .filter_map(|a| match a {
                crate::snapshot::Annotation::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(texts(&fault_frame.variables[0]).contains(&"lua: fprm 0".to_string()));
    assert!(texts(&fault_frame.variables[1]).contains(&"lua: fprm 1".to_string()));
    assert!(!texts(&main.frames[1].variables[0])
        .iter()
        .any(|t| t.starts_with("lua: fprm")));
    // The signal, as json on the backtrace.
    let json = serde_json::to_value(&snap.annotations).unwrap();
    assert_eq!(json[0]["level"], "json");
    assert_eq!(json[0]["json"]["context"], "Signal");
    assert_eq!(json[0]["json"]["Reason"], "address not mapped to object");
    assert_eq!(json[0]["json"]["Address"], "10");
    assert_eq!(json[0]["json"]["Num"], "11");
    assert_eq!(json[0]["json"]["Code"], "1");
    // References of the faulting thread: "[addr] name - example annotation".
    for f in &main.frames[..6] {
        assert!(texts(&f.variables[1]).contains(&"[7ffc0000] ctx - example annotation".to_string()));
    }
    // The log: globals of invalid_write.c, TLS of hang, global_version, the process state.
    assert!(log.contains("name: invalid_write_counter, value: 41, object: /build/crash, cu: /src/c-examples/invalid_write.c"), "{log}");
    assert!(log.contains("name: invalid_write_ratio, value: 2.5"), "{log}");
    assert!(!log.contains("name: papa"), "{log}");
    assert!(log.contains("name: hang_tls_counter, value: 100"), "{log}");
    assert!(log.contains("name: hang_tls_counter, value: 101"), "{log}");
    assert!(log.contains("string: crash 1.0.0"), "{log}");
    assert!(log.contains("process state: 1"), "{log}");
    assert!(log.contains("[pmodule_lua] warning: pm_unload"), "{log}");
    assert_eq!(
        snap.attributes["lua_key1"],
        crate::snapshot::AttributeValue::Int(42)
    );
    assert_eq!(
        snap.attributes["lua_key2"],
        crate::snapshot::AttributeValue::Text("lua_value".into())
    );
    assert_eq!(snap.classifiers, ["lua"]);
}
