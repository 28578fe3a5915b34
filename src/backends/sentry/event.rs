//! A snapshot as a Sentry event (platform `native`): the fault as the exception (type the
//! signal's name, value the reason, mechanism `signalhandler`, not handled) — or, for a hang
//! snapshot without a fault, a message — every thread with its stack in Sentry's order (the
//! outermost frame first), each frame's variables rendered as gdb shows them, the loaded images
//! with their build ids (so a symbol server can symbolize what ptrace could not), tags from the
//! classifiers, contexts and extra data from the attributes and the annotations.
//!
//! An event must stay within Sentry's size limit: variables are cut to a bounded length and
//! count, and when the event is still too large the variables of the other threads, then their
//! stacks, are left out; `extra.left_out` says what was.

use serde_json::{json, Map, Value};

use crate::backends::EventDetails;
use crate::snapshot::{Annotation, AttributeValue, Frame, Snapshot, Thread, Variable};

/// The largest event sent (Sentry refuses an event item of more than 1 MB).
pub const MAX_EVENT_BYTES: usize = 1_000_000;
/// The longest value of one variable, in characters.
const MAX_VALUE_CHARS: usize = 512;
/// The most variables of one frame.
const MAX_FRAME_VARIABLES: usize = 64;

/// The Sentry debug id of an ELF object whose build id is `build_id` (hex), as Sentry's native
/// SDKs derive it: the build id's first 16 bytes (zero-padded), the first three fields of that
/// GUID byte-swapped (ELF on x86-64 is little-endian), written as a UUID. `None` when the text is
/// not hex.
pub fn debug_id(build_id: &str) -> Option<String> {
    if !build_id.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..build_id.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(build_id.get(at..at + 2)?, 16).ok())
        .collect();
    let bytes = bytes?;
    let mut guid = [0u8; 16];
    let len = bytes.len().min(16);
    guid[..len].copy_from_slice(&bytes[..len]);
    guid[0..4].reverse();
    guid[4..6].reverse();
    guid[6..8].reverse();
    Some(uuid::Uuid::from_bytes(guid).hyphenated().to_string())
}

/// The event of `snapshot`, with the details given as options; within [`MAX_EVENT_BYTES`].
pub fn event(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let mut left_out: Vec<String> = Vec::new();
    let mut event = build(snapshot, details, Shape::Full, &mut left_out);
    for shape in [Shape::FaultVariablesOnly, Shape::FaultStackOnly] {
        if event.to_string().len() <= MAX_EVENT_BYTES {
            break;
        }
        left_out.push(shape.what_is_left_out().to_string());
        event = build(snapshot, details, shape, &mut Vec::new());
    }
    if !left_out.is_empty() {
        event["extra"]["left_out"] = json!(left_out);
    }
    event
}

/// How much of the threads an event holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Every thread, with its variables.
    Full,
    /// Every thread's stack; variables only in the faulting (else first) thread.
    FaultVariablesOnly,
    /// Only the faulting (else first) thread's stack.
    FaultStackOnly,
}

impl Shape {
    /// What this shape leaves out, for `extra.left_out`.
    fn what_is_left_out(self) -> &'static str {
        match self {
            Shape::Full => "",
            Shape::FaultVariablesOnly => {
                "the variables of the threads other than the faulting one (event too large)"
            }
            Shape::FaultStackOnly => {
                "the stacks of the threads other than the faulting one (event too large)"
            }
        }
    }
}

/// The event of `snapshot` in `shape`; `left_out` gets what bounds cut.
fn build(snapshot: &Snapshot, details: &EventDetails, shape: Shape, left_out: &mut Vec<String>) -> Value {
    let main = main_thread(snapshot);
    let mut event = json!({
        "timestamp": snapshot.timestamp,
        "platform": "native",
        "logger": "libptrace",
        "sdk": { "name": "libptrace", "version": env!("CARGO_PKG_VERSION") },
        "threads": { "values": threads(snapshot, main, shape, left_out) },
        "debug_meta": { "images": images(snapshot) },
        "tags": tags(snapshot),
        "contexts": contexts(snapshot),
        "extra": extra(snapshot),
    });
    match &snapshot.fault {
        Some(fault) => {
            let value = match fault.address {
                Some(address) => format!("{} at {:#x}", fault.reason, address.0),
                None => fault.reason.clone(),
            };
            let name = fault.signal_name.clone().unwrap_or_else(|| "fault".to_string());
            let stack = snapshot
                .threads
                .iter()
                .find(|t| t.tid == fault.tid)
                .map(|t| stacktrace(t, snapshot, true, left_out));
            event["level"] = json!(details.level.clone().unwrap_or_else(|| "fatal".to_string()));
            event["exception"] = json!({ "values": [{
                "type": name,
                "value": value,
                "thread_id": fault.tid,
                "mechanism": {
                    "type": "signalhandler",
                    "handled": false,
                    "synthetic": true,
                    "meta": { "signal": { "number": fault.signal, "code": fault.code, "name": name } },
                },
                "stacktrace": stack,
            }]});
        }
        None => {
            event["level"] = json!(details.level.clone().unwrap_or_else(|| "error".to_string()));
            event["message"] = json!({ "formatted": hang_message(snapshot) });
        }
    }
    let attribute = |name: &str| match snapshot.attributes.get(name) {
        Some(AttributeValue::Text(text)) => Some(text.clone()),
        Some(AttributeValue::Int(n)) => Some(n.to_string()),
        None => None,
    };
    if let Some(release) = details.release.clone().or_else(|| attribute("release")) {
        event["release"] = json!(release);
    }
    if let Some(environment) = details.environment.clone().or_else(|| attribute("environment")) {
        event["environment"] = json!(environment);
    }
    let server = details
        .server_name
        .clone()
        .or_else(|| attribute("hostname"))
        .or_else(this_host);
    if let Some(server) = server {
        event["server_name"] = json!(server);
    }
    event
}

/// The thread that stands first: the faulting one, else the main thread (tid = pid), else the
/// first.
fn main_thread(snapshot: &Snapshot) -> Option<i32> {
    snapshot
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
        .or_else(|| snapshot.threads.first().map(|t| t.tid))
}

/// The message of a snapshot without a fault.
fn hang_message(snapshot: &Snapshot) -> String {
    let threads = snapshot.threads.len();
    format!(
        "{} (pid {}): snapshot of {threads} thread{} ({})",
        snapshot.application,
        snapshot.pid,
        if threads == 1 { "" } else { "s" },
        snapshot.process_state
    )
}

/// Sentry's `threads.values`.
fn threads(snapshot: &Snapshot, main: Option<i32>, shape: Shape, left_out: &mut Vec<String>) -> Vec<Value> {
    snapshot
        .threads
        .iter()
        .filter(|t| shape != Shape::FaultStackOnly || Some(t.tid) == main)
        .map(|thread| {
            let is_main = Some(thread.tid) == main;
            let with_variables = shape == Shape::Full || is_main;
            let mut value = json!({
                "id": thread.tid,
                "crashed": thread.fault,
                "current": is_main,
                "stacktrace": stacktrace(thread, snapshot, with_variables, left_out),
            });
            if !thread.name.is_empty() {
                value["name"] = json!(thread.name);
            }
            value
        })
        .collect()
}

/// A thread's stack trace, the outermost frame first.
fn stacktrace(
    thread: &Thread,
    snapshot: &Snapshot,
    with_variables: bool,
    left_out: &mut Vec<String>,
) -> Value {
    let frames: Vec<Value> = thread
        .frames
        .iter()
        .rev()
        .map(|frame| sentry_frame(frame, snapshot, with_variables, left_out))
        .collect();
    let mut stack = json!({ "frames": frames });
    // The registers of the innermost frame (where there are any).
    if let Some(innermost) = thread.frames.first().filter(|f| !f.registers.is_empty()) {
        let registers: Map<String, Value> = innermost
            .registers
            .iter()
            .map(|(name, value)| (name.clone(), json!(format!("{:#x}", value.0))))
            .collect();
        stack["registers"] = Value::Object(registers);
    }
    stack
}

/// One frame.
fn sentry_frame(
    frame: &Frame,
    snapshot: &Snapshot,
    with_variables: bool,
    left_out: &mut Vec<String>,
) -> Value {
    let mut value = json!({ "instruction_addr": format!("{:#x}", frame.pc.0) });
    if let Some(symbol) = &frame.symbol {
        value["function"] = json!(symbol);
    }
    if let Some(object) = &frame.object {
        value["package"] = json!(object);
        value["in_app"] = json!(*object == snapshot.executable);
    }
    if let Some(file) = &frame.file {
        value["filename"] = json!(file);
    }
    if let Some(line) = frame.line {
        value["lineno"] = json!(line);
    }
    if with_variables && !frame.variables.is_empty() {
        value["vars"] = Value::Object(vars(&frame.variables, left_out));
    }
    value
}

/// Variables by name, rendered as gdb shows them and bounded.
fn vars(variables: &[Variable], left_out: &mut Vec<String>) -> Map<String, Value> {
    let mut out = Map::new();
    for variable in variables.iter().take(MAX_FRAME_VARIABLES) {
        let mut text = crate::variables::render_value(variable);
        if text.chars().count() > MAX_VALUE_CHARS {
            text = text.chars().take(MAX_VALUE_CHARS).collect::<String>() + "…";
            note_once(
                left_out,
                format!("values longer than {MAX_VALUE_CHARS} characters are cut"),
            );
        }
        out.insert(variable.name.to_string(), json!(text));
    }
    if variables.len() > MAX_FRAME_VARIABLES {
        note_once(
            left_out,
            format!("only the first {MAX_FRAME_VARIABLES} variables of a frame are sent"),
        );
    }
    out
}

/// Adds `note` to `notes` unless it is there.
fn note_once(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}

/// `debug_meta.images`: every object with its build id.
fn images(snapshot: &Snapshot) -> Vec<Value> {
    snapshot
        .modules
        .iter()
        .map(|module| {
            let mut image = json!({
                "type": "elf",
                "image_addr": format!("{:#x}", module.base.0),
                "image_size": module.size,
                "code_file": module.path,
            });
            if let Some(build_id) = &module.build_id {
                image["code_id"] = json!(build_id);
                if let Some(id) = debug_id(build_id) {
                    image["debug_id"] = json!(id);
                }
            }
            if let Some(debug_file) = &module.debug_file {
                image["debug_file"] = json!(debug_file);
            }
            image
        })
        .collect()
}

/// Tags: the classifiers (`classifier` holds them all, comma-separated; each is also a tag of
/// its own), the modules' tags, the signal and the process state.
fn tags(snapshot: &Snapshot) -> Value {
    let mut tags = Map::new();
    if !snapshot.classifiers.is_empty() {
        tags.insert("classifier".into(), json!(snapshot.classifiers.join(",")));
        for classifier in &snapshot.classifiers {
            tags.insert(tag_key(classifier), json!("true"));
        }
    }
    for tag in &snapshot.tags {
        tags.insert(tag_key(tag), json!("true"));
    }
    if let Some(name) = snapshot.fault.as_ref().and_then(|f| f.signal_name.clone()) {
        tags.insert("signal".into(), json!(name));
    }
    tags.insert("process_state".into(), json!(snapshot.process_state));
    Value::Object(tags)
}

/// A tag key Sentry takes (at most 32 of `[a-zA-Z0-9_.:-]`).
fn tag_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect()
}

/// Contexts: the process, the OS, and the attributes.
fn contexts(snapshot: &Snapshot) -> Value {
    let attributes: Map<String, Value> = snapshot
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                AttributeValue::Int(n) => json!(n),
                AttributeValue::Text(text) => json!(text),
            };
            (key.clone(), value)
        })
        .collect();
    let mut contexts = json!({
        "os": { "type": "os", "name": "Linux" },
        "process": {
            "type": "default",
            "pid": snapshot.pid,
            "executable": snapshot.executable,
            "state": snapshot.process_state,
        },
        "attributes": attributes,
    });
    if let Some(core) = &snapshot.core {
        contexts["process"]["core_file"] = json!(core.file);
    }
    if let Some(release) = kernel_release() {
        contexts["os"]["kernel_version"] = json!(release);
    }
    contexts
}

/// Extra data: the annotations (of the snapshot, threads, frames and variables), the warnings and
/// the modules' failures.
fn extra(snapshot: &Snapshot) -> Value {
    let mut annotations = Vec::new();
    collect(&snapshot.annotations, "snapshot", &mut annotations);
    for thread in &snapshot.threads {
        let place = format!("thread {}", thread.tid);
        collect(&thread.annotations, &place, &mut annotations);
        for frame in &thread.frames {
            let place = format!("{place} frame {}", frame.index);
            collect(&frame.annotations, &place, &mut annotations);
            variable_annotations(&frame.variables, &place, &mut annotations);
        }
    }
    json!({
        "annotations": annotations,
        "warnings": snapshot.warnings,
        "module_failures": snapshot.module_failures,
    })
}

/// The annotations of `variables` and their members, each as `place/name: text`.
fn variable_annotations(variables: &[Variable], place: &str, out: &mut Vec<String>) {
    for variable in variables {
        let here = format!("{place}/{}", variable.name);
        collect(&variable.annotations, &here, out);
        variable_annotations(&variable.children, &here, out);
    }
}

/// Each annotation as `place: level text`.
fn collect(annotations: &[Annotation], place: &str, out: &mut Vec<String>) {
    for annotation in annotations {
        out.push(match annotation {
            Annotation::Text { level, text } => format!("{place}: {level:?} {text}").to_lowercase(),
            Annotation::Json { json, .. } => format!("{place}: {json}"),
        });
    }
}

/// This machine's name, when it has one.
fn this_host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// The running kernel's release.
fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|release| release.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_ids_are_the_build_id_as_a_little_endian_guid() {
        assert_eq!(
            debug_id("1b27fb217dd3a948cae6c0d098caf444104dc291").as_deref(),
            Some("21fb271b-d37d-48a9-cae6-c0d098caf444")
        );
        // Shorter build ids are padded with zeros.
        assert_eq!(
            debug_id("01020304").as_deref(),
            Some("04030201-0000-0000-0000-000000000000")
        );
        assert_eq!(debug_id("xyz"), None);
        assert_eq!(debug_id("0g"), None);
    }
}
