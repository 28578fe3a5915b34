//! One session, several snapshots (as an embedding host takes them): each module's `reset` runs
//! between them, never before the first. A Lua module counts its resets into an attribute of
//! each snapshot.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{example, Target};
use ptrace::session::{ModuleSettings, Session, SessionOptions};
use ptrace::snapshot::AttributeValue;

const COUNTING_MODULE: &str = r#"
local resets = 0
pmodule.define{
    id = "reset_counter",
    load = function()
        pmodule.register(pmodule.event.postattach, function(bt)
            bt:add_kv_int("resets_seen", resets)
        end)
        return true
    end,
    reset = function() resets = resets + 1 end,
}
"#;

#[test]
fn modules_are_reset_between_the_snapshots_of_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("reset_counter.lua");
    std::fs::write(&module, COUNTING_MODULE).unwrap();
    let session = Session::new(SessionOptions {
        modules: ModuleSettings {
            files: vec![module],
            ..ModuleSettings::default()
        },
        ..SessionOptions::default()
    });
    let target = Target::start(&example("threads"), &["2", "2"]);
    let resets: Vec<AttributeValue> = (0..3)
        .map(|_| {
            let snapshot = session.snapshot_pid(target.pid()).unwrap();
            snapshot.attributes.get("resets_seen").cloned().unwrap()
        })
        .collect();
    assert_eq!(
        resets,
        [0, 1, 2].map(AttributeValue::Int),
        "reset runs before the 2nd and the 3rd snapshot only"
    );
}
