//! The tutorial's first module on a real snapshot: `c-examples`' `crash segv` run under the
//! session (`--exec`), whose frames, objects, files and signal are real. (Frame variables are
//! not extracted on this branch yet: the parameter and struct annotations are checked on the
//! built snapshots of `tutorial.rs`.)

use super::*;
use crate::session::{ExecResult, Session, SessionOptions};
use std::ffi::OsString;

#[test]
fn pmodule_lua_on_a_real_crash_segv_snapshot() {
    let build = tempfile::tempdir().unwrap();
    let program = crate::test_support::build_example(build.path(), "crash");
    let session = Session::new(SessionOptions::default());
    let result = session
        .run_and_catch(program.as_os_str(), &[OsString::from("segv")])
        .expect("the session runs");
    let ExecResult::Crashed { snapshot, .. } = result else {
        panic!("crash segv did not crash: {result:?}");
    };
    let mut snap = *snapshot;

    let t = TestHost::default();
    t.host.load_file(&example("pmodule_lua.lua")).unwrap();
    // A frame-symbol match on the real frames: the module's fault match selects the faulting
    // `recurse` frame by its real object and file names.
    t.load(
        "names.lua",
        r#"
pmodule.define{ id = "names", load = function()
    local m = pmodule.match()
    m:add_object("crash")
    m:add_file("crash.c")
    m:add_frame_symbol("recurse")
    pmodule.register(pmodule.event.frame, function(fr) fr:annotate(pmodule.annotation.comment, "recurse in crash.c") end, m)
end }
"#,
    )
    .unwrap();
    t.host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        t.host.fire_thread_events(&mut snap, thread, &());
    }
    t.host.fire_postattach(&mut snap);
    let log = t.log();
    assert!(!log.contains("error"), "{log}");

    let fault_thread = snap.threads.iter().find(|t| t.fault).expect("a faulting thread");
    let recurse = fault_thread
        .frames
        .iter()
        .filter(|f| f.symbol.as_deref() == Some("recurse"))
        .count();
    assert_eq!(
        recurse,
        6,
        "{:?}",
        fault_thread.frames.iter().map(|f| &f.symbol).collect::<Vec<_>>()
    );
    let annotated = fault_thread
        .frames
        .iter()
        .filter(|f| !f.annotations.is_empty())
        .count();
    assert_eq!(annotated, 6, "every recurse frame of crash.c, and no other");

    // The json annotation of the real signal.
    let json = serde_json::to_value(&snap.annotations).unwrap();
    assert_eq!(json[0]["level"], "json", "{json}");
    assert_eq!(json[0]["json"]["context"], "Signal");
    assert_eq!(json[0]["json"]["Num"], libc::SIGSEGV.to_string());
    assert_eq!(json[0]["json"]["Address"], "10");
    assert_eq!(json[0]["json"]["Populated"], "true");
    assert_eq!(json[0]["json"]["Code"], "1");
    assert!(json[0]["json"]["String"]
        .as_str()
        .unwrap()
        .starts_with("SIGSEGV (11)"));
    assert_eq!(snap.classifiers, ["lua"]);
    assert_eq!(
        snap.attributes["lua_key1"],
        crate::snapshot::AttributeValue::Int(42)
    );
}
