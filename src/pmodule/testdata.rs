//! Snapshot pieces for unit tests.

use crate::snapshot::{Address, Frame, SharedStr, Snapshot, Thread, Timing, Variable};
use std::collections::BTreeMap;

/// A variable with a name, C type, base type and kind, value null.
pub fn variable(name: &str, type_name: &str, base_type: &str, kind: &str) -> Variable {
    Variable {
        name: SharedStr::copy_of(name),
        type_name: SharedStr::copy_of(type_name),
        base_type: SharedStr::copy_of(base_type),
        kind: crate::snapshot::VariableKind::from_name(kind).expect("a variable kind"),
        address: Some(Address(0x1000)),
        value: serde_json::Value::Null,
        symbol: None,
        parameter: false,
        state: crate::snapshot::VariableState::Ok,
        entry_value: serde_json::Value::Null,
        target_symbol: None,
        children: Vec::new(),
        annotations: Vec::new(),
        marks: Default::default(),
    }
}

/// A frame of `symbol` in `object`, source `file`.
pub fn frame(symbol: &str, object: &str, file: &str) -> Frame {
    let mut f = crate::pmodule::edit::empty_frame();
    f.symbol = Some(symbol.into());
    f.object = Some(object.into());
    f.file = Some(file.into());
    f.line = Some(10);
    f.pc = Address(0x401000);
    f
}

/// A thread `tid` with `frames` (renumbered).
pub fn thread(tid: i32, mut frames: Vec<Frame>) -> Thread {
    for (i, f) in frames.iter_mut().enumerate() {
        f.index = i;
    }
    Thread {
        tid,
        nspid: None,
        name: "t".into(),
        state: "sleeping".into(),
        fault: false,
        frames,
        variables: Vec::new(),
        annotations: Vec::new(),
    }
}

/// A snapshot of process `pid` with `threads`.
pub fn snapshot(pid: i32, threads: Vec<Thread>) -> Snapshot {
    Snapshot {
        format: crate::snapshot::FORMAT_NAME.into(),
        version: crate::snapshot::FORMAT_VERSION,
        pid,
        nspid: None,
        application: "crash".into(),
        executable: "/b/crash".into(),
        process_state: "sleeping".into(),
        timestamp: 0,
        fault: None,
        threads,
        globals: Vec::new(),
        attributes: BTreeMap::new(),
        classifiers: Vec::new(),
        tags: Vec::new(),
        annotations: Vec::new(),
        modules: Vec::new(),
        timing: Timing::default(),
        warnings: Vec::new(),
        module_failures: Vec::new(),
        incomplete: false,
        core: None,
    }
}
