//! A snapshot in Backtrace's JSON submission format: `uuid`, `timestamp`, `lang`,
//! `langVersion`, `agent`, `agentVersion`, `threads` keyed by thread id (each with its name,
//! whether it faulted, and its stack: `funcName`, `address`, `line`, `library`, `faulted`, the
//! registers of the innermost frame), `mainThread`, `attributes`, `annotations`, `classifiers`
//! and `modules`. 64-bit values (addresses, registers) are strings, as JSON numbers cannot hold
//! them exactly.

use serde_json::{json, Map, Value};

use crate::backends::EventDetails;
use crate::snapshot::{AttributeValue, Frame, Snapshot, Thread};

/// The document of `snapshot`, with the details given as options.
pub fn document(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let main = snapshot
        .fault
        .as_ref()
        .map(|f| f.tid)
        .or_else(|| {
            snapshot
                .threads
                .iter()
                .find(|t| t.tid == snapshot.pid)
                .map(|t| t.tid)
        })
        .or_else(|| snapshot.threads.first().map(|t| t.tid));
    let threads: Map<String, Value> = snapshot
        .threads
        .iter()
        .map(|thread| (thread.tid.to_string(), thread_value(thread)))
        .collect();
    json!({
        "uuid": crate::backends::snapshot_uuid(snapshot).hyphenated().to_string(),
        "timestamp": snapshot.timestamp,
        "lang": "c",
        "langVersion": "unknown",
        "agent": "libptrace",
        "agentVersion": env!("CARGO_PKG_VERSION"),
        "mainThread": main.map(|tid| tid.to_string()),
        "threads": threads,
        "attributes": attributes(snapshot, details),
        "annotations": annotations(snapshot),
        "classifiers": classifiers(snapshot),
        "modules": modules(snapshot),
    })
}

/// One thread.
fn thread_value(thread: &Thread) -> Value {
    let stack: Vec<Value> = thread
        .frames
        .iter()
        .enumerate()
        .map(|(index, frame)| frame_value(frame, index == 0))
        .collect();
    json!({
        "name": if thread.name.is_empty() { thread.tid.to_string() } else { thread.name.clone() },
        "fault": thread.fault,
        "stack": stack,
    })
}

/// One frame (innermost first); the innermost with the registers.
fn frame_value(frame: &Frame, innermost: bool) -> Value {
    let mut value = json!({
        "address": format!("{:#x}", frame.pc.0),
        "faulted": frame.fault,
    });
    if let Some(symbol) = &frame.symbol {
        value["funcName"] = json!(symbol);
    }
    if let Some(line) = frame.line {
        value["line"] = json!(line.to_string());
    }
    if let Some(file) = &frame.file {
        value["sourceCode"] = json!(file);
    }
    if let Some(object) = &frame.object {
        value["library"] = json!(object);
    }
    if innermost && !frame.registers.is_empty() {
        let registers: Map<String, Value> = frame
            .registers
            .iter()
            .map(|(name, value)| (name.clone(), json!(format!("{:#x}", value.0))))
            .collect();
        value["registers"] = Value::Object(registers);
    }
    value
}

/// The attributes: the snapshot's, then what Backtrace indexes by name.
fn attributes(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let mut out: Map<String, Value> = snapshot
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                AttributeValue::Int(n) => json!(n.to_string()),
                AttributeValue::Text(text) => json!(text),
            };
            (key.clone(), value)
        })
        .collect();
    out.insert("application".into(), json!(snapshot.application));
    out.insert("process.id".into(), json!(snapshot.pid.to_string()));
    out.insert("process.state".into(), json!(snapshot.process_state));
    out.insert("executable.path".into(), json!(snapshot.executable));
    out.insert("uname.sysname".into(), json!("Linux"));
    out.insert("uname.machine".into(), json!(std::env::consts::ARCH));
    if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        out.insert("uname.release".into(), json!(release.trim()));
    }
    let host = details.server_name.clone().or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
    });
    if let Some(host) = host {
        out.entry("hostname").or_insert(json!(host));
    }
    if let Some(fault) = &snapshot.fault {
        if let Some(name) = &fault.signal_name {
            out.insert("error.message".into(), json!(format!("{name}: {}", fault.reason)));
        }
        if let Some(address) = fault.address {
            out.insert("fault.address".into(), json!(format!("{:#x}", address.0)));
        }
    }
    for (key, value) in [
        ("version", &details.release),
        ("environment", &details.environment),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    Value::Object(out)
}

/// The annotations, the warnings and the modules' failures, by name.
fn annotations(snapshot: &Snapshot) -> Value {
    json!({
        "Snapshot": snapshot.annotations,
        "Warnings": snapshot.warnings,
        "Module failures": snapshot.module_failures,
    })
}

/// The classifiers: the snapshot's, the modules' tags, and the signal's name.
fn classifiers(snapshot: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = snapshot.classifiers.clone();
    out.extend(snapshot.tags.iter().cloned());
    if let Some(name) = snapshot.fault.as_ref().and_then(|f| f.signal_name.clone()) {
        out.push(name);
    }
    out.dedup();
    out
}

/// The loaded objects.
fn modules(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .modules
        .iter()
        .map(|module| {
            json!({
                "code_file": module.path,
                "base_address": format!("{:#x}", module.base.0),
                "size": module.size.to_string(),
                "build_id": module.build_id,
                "debug_file": module.debug_file,
            })
        })
        .collect()
}
