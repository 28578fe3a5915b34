//! A snapshot in Backtrace's JSON submission format, as Backtrace's own SDKs describe the body
//! they post to `/post?format=json` (backtrace-javascript's `BacktraceSubmitBody` and the types
//! it names; backtrace-python, -go and -rust build the same object):
//!
//! - required: `uuid`, `timestamp` (Unix seconds), `lang`, `langVersion`, `agent`,
//!   `agentVersion`, `threads` (keyed by thread id) and `mainThread`, which must be one of those
//!   keys and never null (the faulting thread, else the process's main thread, else the first);
//! - each thread: `name`, `fault`, `stack` (innermost first), each frame with `funcName`,
//!   `address`, `line`, `sourceCode` (a key of the top-level `sourceCode` object, which gives
//!   the file's `path`), `library` (required), `debug_identifier`, `faulted`, `guessed_frame`
//!   (found without CFI) and `registers` — registers are on the frame, not on the thread, and
//!   need the top-level `arch` naming each register's type;
//! - `entryThread` (the process's main thread), `attributes` (indexed: strings, numbers,
//!   booleans), `annotations` (free JSON), `classifiers`, `modules` (`start`, `size`,
//!   `code_file`, `debug_file`, `debug_identifier`, `debug_file_exists`: Breakpad's code module).
//!
//! JSON numbers cannot hold every 64-bit value, so 64-bit values are strings: frame addresses in
//! hex (`"0x401136"`, as Backtrace's clients send them); registers (typed `u64` in `arch`),
//! module starts and sizes as decimal integers, the form an integer parser reads whatever base
//! it expects. The `uuid` is the snapshot's own ([`crate::backends::snapshot_uuid`]): sending a
//! saved snapshot again gives the same one, which Backtrace takes as the same report.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::backends::EventDetails;
use crate::snapshot::{AttributeValue, Frame, Module, Snapshot, Thread};

/// The largest integer a JSON number holds exactly (2^53); larger attributes become strings.
const JSON_SAFE_INTEGER: i64 = 1 << 53;

/// The document of `snapshot`, with the details given as options.
pub fn document(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let identifiers = debug_identifiers(&snapshot.modules);
    let mut threads: Map<String, Value> = snapshot
        .threads
        .iter()
        .map(|thread| (thread.tid.to_string(), thread_value(thread, &identifiers)))
        .collect();
    let main = main_thread(snapshot)
        .map(|tid| tid.to_string())
        .unwrap_or_else(|| {
            // Nothing was captured (the target died at once): `mainThread` must still name a
            // thread, so the process stands for one, without a stack.
            let key = snapshot.pid.to_string();
            threads.insert(
                key.clone(),
                json!({"name": snapshot.application, "fault": snapshot.fault.is_some(), "stack": []}),
            );
            key
        });
    let mut document = json!({
        "uuid": crate::backends::snapshot_uuid(snapshot).hyphenated().to_string(),
        "timestamp": snapshot.timestamp,
        "lang": "c",
        "langVersion": "unknown",
        "agent": "libptrace",
        "agentVersion": env!("CARGO_PKG_VERSION"),
        "mainThread": main,
        "threads": threads,
        "attributes": attributes(snapshot, details),
        "annotations": annotations(snapshot),
        "classifiers": classifiers(snapshot),
        "modules": modules(snapshot, &identifiers),
    });
    if snapshot.threads.iter().any(|t| t.tid == snapshot.pid) {
        document["entryThread"] = json!(snapshot.pid.to_string());
    }
    if let Some(arch) = arch(snapshot) {
        document["arch"] = arch;
    }
    let sources = source_code(snapshot);
    if !sources.is_empty() {
        document["sourceCode"] = Value::Object(sources);
    }
    document
}

/// The thread the report is about: the faulting one, else the process's main thread, else the
/// first captured; always one of the captured threads. `None` when none was captured.
fn main_thread(snapshot: &Snapshot) -> Option<i32> {
    let captured = |tid: i32| snapshot.threads.iter().any(|t| t.tid == tid);
    snapshot
        .fault
        .as_ref()
        .map(|f| f.tid)
        .filter(|&tid| captured(tid))
        .or_else(|| snapshot.threads.iter().find(|t| t.fault).map(|t| t.tid))
        .or_else(|| Some(snapshot.pid).filter(|&pid| captured(pid)))
        .or_else(|| snapshot.threads.first().map(|t| t.tid))
}

/// One thread.
fn thread_value(thread: &Thread, identifiers: &BTreeMap<&str, String>) -> Value {
    let stack: Vec<Value> = thread
        .frames
        .iter()
        .map(|frame| frame_value(frame, identifiers))
        .collect();
    json!({
        "name": if thread.name.is_empty() { thread.tid.to_string() } else { thread.name.clone() },
        "fault": thread.fault,
        "stack": stack,
    })
}

/// One frame. `library` is required: the object's file name (its path is the module's
/// `code_file`), `unknown` when the pc is in no object.
fn frame_value(frame: &Frame, identifiers: &BTreeMap<&str, String>) -> Value {
    let library = frame
        .object
        .as_deref()
        .map(|path| path.rsplit('/').next().unwrap_or(path))
        .filter(|name| !name.is_empty())
        .unwrap_or("unknown");
    let mut value = json!({
        "address": format!("{:#x}", frame.pc.0),
        "library": library,
        "faulted": frame.fault,
    });
    if let Some(symbol) = &frame.symbol {
        value["funcName"] = json!(symbol);
    }
    if let Some(line) = frame.line {
        value["line"] = json!(line);
    }
    if let Some(file) = &frame.file {
        value["sourceCode"] = json!(file);
    }
    if let Some(id) = frame.object.as_deref().and_then(|o| identifiers.get(o)) {
        value["debug_identifier"] = json!(id);
    }
    if frame.suspect {
        value["guessed_frame"] = json!(true);
    }
    if !frame.registers.is_empty() {
        let registers: Map<String, Value> = frame
            .registers
            .iter()
            .map(|(name, value)| (name.clone(), json!(value.0.to_string())))
            .collect();
        value["registers"] = Value::Object(registers);
    }
    value
}

/// The architecture and the type of every register the frames hold (all 64-bit here), which
/// Backtrace needs to read frames' `registers`; `None` when no frame has registers.
fn arch(snapshot: &Snapshot) -> Option<Value> {
    let names: BTreeSet<&str> = snapshot
        .threads
        .iter()
        .flat_map(|t| &t.frames)
        .flat_map(|f| f.registers.keys())
        .map(String::as_str)
        .collect();
    if names.is_empty() {
        return None;
    }
    let registers: Map<String, Value> = names
        .into_iter()
        .map(|name| (name.into(), json!("u64")))
        .collect();
    Some(json!({"name": std::env::consts::ARCH, "registers": registers}))
}

/// The source files the frames name, keyed by their path (the frames' `sourceCode`).
fn source_code(snapshot: &Snapshot) -> Map<String, Value> {
    snapshot
        .threads
        .iter()
        .flat_map(|t| &t.frames)
        .filter_map(|f| f.file.as_ref())
        .map(|file| (file.clone(), json!({"path": file})))
        .collect()
}

/// The attributes: the snapshot's (`--kv` and modules'), then those Backtrace indexes by name.
fn attributes(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let mut out: Map<String, Value> = snapshot
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                AttributeValue::Int(n) if (-JSON_SAFE_INTEGER..=JSON_SAFE_INTEGER).contains(n) => json!(n),
                AttributeValue::Int(n) => json!(n.to_string()),
                AttributeValue::Text(text) => json!(text),
            };
            (key.clone(), value)
        })
        .collect();
    out.insert("application".into(), json!(snapshot.application));
    out.insert("process.id".into(), json!(snapshot.pid));
    out.insert("process.state".into(), json!(snapshot.process_state));
    out.insert("executable.path".into(), json!(snapshot.executable));
    out.insert("uname.sysname".into(), json!("Linux"));
    out.insert("uname.machine".into(), json!(std::env::consts::ARCH));
    for (key, file) in [
        ("uname.release", "/proc/sys/kernel/osrelease"),
        ("uname.version", "/proc/sys/kernel/version"),
    ] {
        if let Some(text) = read_trimmed(file) {
            out.insert(key.into(), json!(text));
        }
    }
    // --server-name, else the attribute `hostname`, else this machine's name.
    match &details.server_name {
        Some(name) => {
            out.insert("hostname".into(), json!(name));
        }
        None => {
            if !out.contains_key("hostname") {
                if let Some(host) = read_trimmed("/proc/sys/kernel/hostname") {
                    out.insert("hostname".into(), json!(host));
                }
            }
        }
    }
    out.insert(
        "error.type".into(),
        json!(if snapshot.fault.is_some() {
            "Crash"
        } else {
            "Snapshot"
        }),
    );
    if let Some(fault) = &snapshot.fault {
        let message = match &fault.signal_name {
            Some(name) => format!("{name}: {}", fault.reason),
            None => fault.reason.clone(),
        };
        out.insert("error.message".into(), json!(message));
        if let Some(address) = fault.address {
            out.insert("fault.address".into(), json!(format!("{:#x}", address.0)));
        }
    }
    // --release, else the attribute `release`, as Backtrace's `version`.
    let release = details
        .release
        .clone()
        .or_else(|| match snapshot.attributes.get("release") {
            Some(AttributeValue::Text(text)) => Some(text.clone()),
            Some(AttributeValue::Int(n)) => Some(n.to_string()),
            None => None,
        });
    if let Some(release) = release {
        out.insert("version".into(), json!(release));
    }
    if let Some(environment) = &details.environment {
        out.insert("environment".into(), json!(environment));
    }
    if snapshot.incomplete {
        out.insert("snapshot.incomplete".into(), json!(true));
    }
    Value::Object(out)
}

/// The first line of `file`, when it has one.
fn read_trimmed(file: &str) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// The annotations (free JSON Backtrace shows as is): the snapshot's annotations, its warnings,
/// the modules' failures, the core it was read from and its timing; empty ones left out.
fn annotations(snapshot: &Snapshot) -> Value {
    let mut out = Map::new();
    if !snapshot.annotations.is_empty() {
        out.insert("Snapshot".into(), json!(snapshot.annotations));
    }
    if !snapshot.warnings.is_empty() {
        out.insert("Warnings".into(), json!(snapshot.warnings));
    }
    if !snapshot.module_failures.is_empty() {
        out.insert("Module failures".into(), json!(snapshot.module_failures));
    }
    if let Some(core) = &snapshot.core {
        out.insert("Core".into(), json!(core));
    }
    out.insert(
        "Timing".into(),
        json!({"stopped_us": snapshot.timing.stopped_us, "total_us": snapshot.timing.total_us}),
    );
    Value::Object(out)
}

/// The classifiers: the snapshot's, the modules' tags and the signal's name, each once.
fn classifiers(snapshot: &Snapshot) -> Vec<String> {
    let signal = snapshot.fault.as_ref().and_then(|f| f.signal_name.clone());
    let mut seen = BTreeSet::new();
    snapshot
        .classifiers
        .iter()
        .chain(&snapshot.tags)
        .cloned()
        .chain(signal)
        .filter(|name| seen.insert(name.clone()))
        .collect()
}

/// The loaded objects, as Breakpad's code modules.
fn modules(snapshot: &Snapshot, identifiers: &BTreeMap<&str, String>) -> Vec<Value> {
    snapshot
        .modules
        .iter()
        .map(|module| {
            let mut value = json!({
                "start": module.base.0.to_string(),
                "size": module.size.to_string(),
                "code_file": module.path,
            });
            if let Some(id) = identifiers.get(module.path.as_str()) {
                value["debug_identifier"] = json!(id);
            }
            if let Some(debug_file) = &module.debug_file {
                value["debug_file"] = json!(debug_file);
                value["debug_file_exists"] = json!(true);
            }
            value
        })
        .collect()
}

/// The Breakpad debug identifier of each module with a build id, by path.
fn debug_identifiers(modules: &[Module]) -> BTreeMap<&str, String> {
    modules
        .iter()
        .filter_map(|m| Some((m.path.as_str(), breakpad_id(m.build_id.as_deref()?)?)))
        .collect()
}

/// The Breakpad debug identifier of an ELF object whose GNU build id is `build_id` (hex), as
/// Breakpad's `dump_syms` writes it in a symbol file's `MODULE` line: the GUID of
/// [`crate::backends::build_id_guid`] in upper-case hex, then the age `0`. `None` when the text
/// is not hex.
fn breakpad_id(build_id: &str) -> Option<String> {
    let guid = crate::backends::build_id_guid(build_id)?;
    Some(format!("{}0", guid.simple().to_string().to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmodule::testdata::{frame, snapshot, thread};
    use crate::snapshot::{Address, Fault};

    /// A made-up crash: thread 100 (the process's main thread) faulted in `recurse` called by
    /// `main`, with registers in its innermost frame; thread 101 waits in libc.
    fn crash() -> Snapshot {
        let mut top = frame("recurse", "/b/crash", "/src/crash.c");
        top.pc = Address(0x5555_5555_5136);
        top.line = Some(142);
        top.fault = true;
        top.registers.insert("rip".into(), Address(0x5555_5555_5136));
        top.registers.insert("rsp".into(), Address(u64::MAX - 15));
        let mut caller = frame("main", "/b/crash", "/src/crash.c");
        caller.pc = Address(0x5555_5555_5200);
        caller.line = Some(170);
        let mut faulted = thread(100, vec![top, caller]);
        faulted.fault = true;
        faulted.name = "crash".into();
        let mut waiting = frame(
            "__futex_abstimed_wait_common",
            "/lib/libc.so.6",
            "futex-internal.c",
        );
        waiting.suspect = true;
        let mut helper = thread(101, vec![waiting]);
        helper.name = String::new();
        let mut snap = snapshot(100, vec![faulted, helper]);
        snap.timestamp = 1_700_000_000;
        snap.fault = Some(Fault {
            tid: 100,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: Some(Address(0x10)),
            reason: "address not mapped to object".into(),
        });
        snap.attributes
            .insert("build".into(), AttributeValue::Int(i64::MAX));
        snap.attributes.insert("shard".into(), AttributeValue::Int(7));
        snap.attributes
            .insert("hostname".into(), AttributeValue::Text("from-kv".into()));
        snap.classifiers = vec!["nightly".into(), "SIGSEGV".into()];
        snap.modules = vec![
            Module {
                path: "/b/crash".into(),
                base: Address(0x5555_5555_4000),
                size: 0x5000,
                build_id: Some("1b27fb217dd3a948cae6c0d098caf444104dc291".into()),
                debug_file: None,
            },
            Module {
                path: "/lib/libc.so.6".into(),
                base: Address(0x7fff_f7c0_0000),
                size: 0x20_0000,
                build_id: None,
                debug_file: Some("/usr/lib/debug/libc.debug".into()),
            },
        ];
        snap
    }

    #[test]
    fn every_required_key_is_there_with_its_type() {
        let doc = document(&crash(), &EventDetails::default());
        for key in [
            "uuid",
            "lang",
            "langVersion",
            "agent",
            "agentVersion",
            "mainThread",
        ] {
            assert!(doc[key].is_string(), "{key}: {}", doc[key]);
        }
        assert_eq!(doc["timestamp"], json!(1_700_000_000u64), "seconds, a number");
        assert!(uuid::Uuid::parse_str(doc["uuid"].as_str().unwrap_or_default()).is_ok());
        assert_eq!(doc["agent"], "libptrace");
        assert!(doc["threads"].is_object());
        assert!(doc["attributes"].is_object());
        assert!(doc["annotations"].is_object());
        assert!(doc["classifiers"].is_array());
        assert!(doc["modules"].is_array());
        for (tid, thread) in doc["threads"].as_object().into_iter().flatten() {
            assert!(thread["name"].is_string(), "thread {tid}");
            assert!(thread["fault"].is_boolean(), "thread {tid}");
            for frame in thread["stack"].as_array().into_iter().flatten() {
                assert!(frame["library"].is_string(), "{frame}");
                assert!(frame["address"].is_string(), "{frame}");
                assert!(frame["faulted"].is_boolean(), "{frame}");
            }
        }
        // The empty name of thread 101 becomes its id.
        assert_eq!(doc["threads"]["101"]["name"], "101");
    }

    #[test]
    fn the_fault_thread_is_the_main_thread_and_its_top_frame_faulted() {
        let doc = document(&crash(), &EventDetails::default());
        assert_eq!(doc["mainThread"], "100");
        assert_eq!(doc["entryThread"], "100");
        let thread = &doc["threads"]["100"];
        assert_eq!(thread["fault"], true);
        assert_eq!(thread["name"], "crash");
        assert_eq!(doc["threads"]["101"]["fault"], false);
        let stack = thread["stack"].as_array().expect("stack");
        assert_eq!(stack[0]["funcName"], "recurse");
        assert_eq!(stack[0]["faulted"], true);
        assert_eq!(stack[0]["line"], json!(142), "a number");
        assert_eq!(stack[0]["library"], "crash");
        assert_eq!(stack[0]["sourceCode"], "/src/crash.c");
        assert_eq!(doc["sourceCode"]["/src/crash.c"]["path"], "/src/crash.c");
        assert_eq!(stack[1]["funcName"], "main");
        assert_eq!(stack[1]["faulted"], false);
        assert!(stack[1].get("registers").is_none());
        assert_eq!(doc["threads"]["101"]["stack"][0]["guessed_frame"], true);
        assert!(stack[0].get("guessed_frame").is_none());
        assert_eq!(doc["attributes"]["error.type"], "Crash");
        assert_eq!(
            doc["attributes"]["error.message"],
            "SIGSEGV: address not mapped to object"
        );
        assert_eq!(doc["attributes"]["fault.address"], "0x10");
        assert_eq!(doc["classifiers"], json!(["nightly", "SIGSEGV"]), "each once");
    }

    #[test]
    fn the_main_thread_is_always_a_captured_thread() {
        // A fault in a thread that was not captured (--thread): the process's main thread.
        let mut snap = crash();
        snap.threads.retain(|t| t.tid == 101);
        snap.threads
            .push(thread(100, vec![frame("main", "/b/crash", "/src/crash.c")]));
        snap.threads.rotate_left(1);
        snap.fault.as_mut().expect("fault").tid = 102;
        assert_eq!(document(&snap, &EventDetails::default())["mainThread"], "100");
        // Without the main thread either: the first captured.
        snap.threads.retain(|t| t.tid == 101);
        let doc = document(&snap, &EventDetails::default());
        assert_eq!(doc["mainThread"], "101");
        assert!(doc.get("entryThread").is_none());
        // Nothing captured: the process stands for a thread.
        snap.threads.clear();
        let doc = document(&snap, &EventDetails::default());
        assert_eq!(doc["mainThread"], "100");
        assert_eq!(doc["threads"]["100"]["stack"], json!([]));
    }

    #[test]
    fn sixty_four_bit_values_are_strings_and_registers_are_typed_by_arch() {
        let doc = document(&crash(), &EventDetails::default());
        let top = &doc["threads"]["100"]["stack"][0];
        assert_eq!(top["address"], "0x555555555136");
        assert_eq!(top["registers"]["rip"], "93824992235830");
        assert_eq!(top["registers"]["rsp"], (u64::MAX - 15).to_string());
        assert_eq!(doc["arch"]["name"], std::env::consts::ARCH);
        assert_eq!(doc["arch"]["registers"], json!({"rip": "u64", "rsp": "u64"}));
        let exe = &doc["modules"][0];
        assert_eq!(exe["start"], (0x5555_5555_4000u64).to_string());
        assert_eq!(exe["size"], "20480");
        assert_eq!(exe["code_file"], "/b/crash");
        assert_eq!(exe["debug_identifier"], "21FB271BD37D48A9CAE6C0D098CAF4440");
        assert_eq!(top["debug_identifier"], exe["debug_identifier"]);
        let libc = &doc["modules"][1];
        assert_eq!(libc["debug_file"], "/usr/lib/debug/libc.debug");
        assert_eq!(libc["debug_file_exists"], true);
        assert!(libc.get("debug_identifier").is_none());
        // Attributes: integers that JSON holds stay numbers, larger ones become strings.
        assert_eq!(doc["attributes"]["shard"], json!(7));
        assert_eq!(doc["attributes"]["build"], json!(i64::MAX.to_string()));
        assert_eq!(doc["attributes"]["process.id"], json!(100));
    }

    #[test]
    fn attributes_name_the_machine_and_the_options_win() {
        let doc = document(&crash(), &EventDetails::default());
        let attributes = &doc["attributes"];
        assert_eq!(attributes["application"], "crash");
        assert_eq!(attributes["uname.sysname"], "Linux");
        assert_eq!(attributes["uname.machine"], std::env::consts::ARCH);
        assert!(attributes["uname.release"].is_string());
        assert_eq!(
            attributes["hostname"], "from-kv",
            "the attribute beats this host's name"
        );
        let details = EventDetails {
            server_name: Some("web-7".into()),
            release: Some("2.1".into()),
            environment: Some("prod".into()),
            ..EventDetails::default()
        };
        let doc = document(&crash(), &details);
        assert_eq!(
            doc["attributes"]["hostname"], "web-7",
            "--server-name beats the attribute"
        );
        assert_eq!(doc["attributes"]["version"], "2.1");
        assert_eq!(doc["attributes"]["environment"], "prod");
        // A snapshot without a fault.
        let mut calm = crash();
        calm.fault = None;
        calm.threads[0].fault = false;
        let doc = document(&calm, &EventDetails::default());
        assert_eq!(doc["attributes"]["error.type"], "Snapshot");
        assert!(doc["attributes"].get("error.message").is_none());
        assert_eq!(doc["mainThread"], "100", "the process's main thread");
    }

    #[test]
    fn the_same_snapshot_gives_the_same_uuid() {
        let a = document(&crash(), &EventDetails::default());
        let b = document(&crash(), &EventDetails::default());
        assert_eq!(a["uuid"], b["uuid"]);
        let mut later = crash();
        later.timestamp += 1;
        assert_ne!(a["uuid"], document(&later, &EventDetails::default())["uuid"]);
    }

    #[test]
    fn breakpad_ids_swap_the_guid_fields_and_add_the_age() {
        assert_eq!(
            breakpad_id("1b27fb217dd3a948cae6c0d098caf444104dc291").as_deref(),
            Some("21FB271BD37D48A9CAE6C0D098CAF4440")
        );
        assert_eq!(
            breakpad_id("01020304").as_deref(),
            Some("040302010000000000000000000000000")
        );
        assert_eq!(breakpad_id(""), None);
        assert_eq!(breakpad_id("abc"), None);
        assert_eq!(breakpad_id("zz"), None);
    }
}
