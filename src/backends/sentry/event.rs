//! A snapshot as a Sentry event (platform `native`): the fault as the exception (type the
//! signal's name, value the reason, mechanism `signalhandler`, not handled) — or, for a hang
//! snapshot without a fault, a message — every thread with its stack in Sentry's order (the
//! outermost frame first), each frame's variables rendered as gdb shows them, the loaded images
//! with their build ids (so a symbol server can symbolize what ptrace could not), tags from the
//! classifiers, contexts and extra data from the attributes and the annotations.
//!
//! An event must stay within Sentry's size limit: variables, tags and annotations are cut to a
//! bounded length and count, and when the event is still too large the variables of the other
//! threads, then the other threads past as many as fit, then the first thread's variables, then
//! the middle of its stack (`frames_omitted`), then the images no frame is in, are left out;
//! `extra.left_out` says what was.

use serde_json::{json, Map, Value};

use crate::backends::EventDetails;
use crate::snapshot::{Annotation, AttributeValue, Frame, Snapshot, Thread, Variable};

/// The largest event sent (Sentry refuses an event item of more than 1 MiB; the event id and
/// `extra.left_out` are added after the event is measured).
pub const MAX_EVENT_BYTES: usize = 1_000_000;
/// The longest value of one variable, in characters.
const MAX_VALUE_CHARS: usize = 512;
/// The most variables of one frame.
const MAX_FRAME_VARIABLES: usize = 64;
/// The longest tag value, in characters (Sentry drops a tag whose value is longer).
const MAX_TAG_VALUE_CHARS: usize = 200;
/// The most tags.
const MAX_TAGS: usize = 64;
/// The most annotations (and the most warnings) in `extra`.
const MAX_NOTES: usize = 200;
/// The longest annotation or warning, in characters.
const MAX_NOTE_CHARS: usize = 512;
/// The frames of the first thread kept when its whole stack is too large: as many innermost as
/// outermost.
const KEPT_FRAMES: usize = 100;

/// The Sentry debug id of an ELF object whose build id is `build_id` (hex), as Sentry's native
/// SDKs derive it (see [`crate::backends::build_id_guid`]), written as a UUID. `None` when the
/// text is not hex.
pub fn debug_id(build_id: &str) -> Option<String> {
    crate::backends::build_id_guid(build_id).map(|guid| guid.hyphenated().to_string())
}

/// The event of `snapshot`, with the details given as options; within [`MAX_EVENT_BYTES`].
pub fn event(snapshot: &Snapshot, details: &EventDetails) -> Value {
    let mut shapes_left_out: Vec<String> = Vec::new();
    let mut cut = Vec::new();
    let mut event = build(snapshot, details, Shape::FULL, &mut cut);
    let mut previous = Shape::FULL;
    for (mut shape, what) in Shape::SMALLER {
        let size = event.to_string().len();
        if size <= MAX_EVENT_BYTES {
            break;
        }
        let mut what = what.to_string();
        // Before the other threads go, as many of them as fit stay (in order).
        if previous.other_threads.is_none() && shape.other_threads == Some(0) {
            let (fit, others) = other_threads_that_fit(&event, size, main_thread(snapshot));
            if fit > 0 {
                shape.other_threads = Some(fit);
                what = format!("{} of the {others} threads but the first", others - fit);
            }
        }
        shapes_left_out.push(format!("{what} are left out (event too large)"));
        cut.clear();
        event = build(snapshot, details, shape, &mut cut);
        previous = shape;
    }
    shapes_left_out.extend(cut);
    if !shapes_left_out.is_empty() {
        event["extra"]["left_out"] = json!(shapes_left_out);
    }
    event
}

/// How many of the threads other than `main` in `event` (of `size` bytes) fit in
/// [`MAX_EVENT_BYTES`], taken in order; and how many there are.
fn other_threads_that_fit(event: &Value, size: usize, main: Option<i32>) -> (usize, usize) {
    let others: Vec<usize> = event["threads"]["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .filter(|t| t["id"].as_i64() != main.map(i64::from))
                .map(|t| t.to_string().len() + 1)
                .collect()
        })
        .unwrap_or_default();
    let mut total = size.saturating_sub(others.iter().sum::<usize>());
    let fit = others
        .iter()
        .take_while(|&&len| {
            total += len;
            total <= MAX_EVENT_BYTES
        })
        .count();
    (fit, others.len())
}

/// How much of the threads and images an event holds. The first thread is the faulting one, else
/// the main thread (tid = pid), else the first.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// The variables of the threads other than the first.
    other_variables: bool,
    /// The most threads other than the first (in order; `None`: all).
    other_threads: Option<usize>,
    /// The variables of the first thread.
    first_variables: bool,
    /// The most frames of the first thread.
    first_frames: Option<usize>,
    /// Images no frame is in.
    all_images: bool,
}

impl Shape {
    /// Everything.
    const FULL: Shape = Shape {
        other_variables: true,
        other_threads: None,
        first_variables: true,
        first_frames: None,
        all_images: true,
    };

    /// The smaller shapes tried in turn while the event is too large, each with what it leaves
    /// out.
    const SMALLER: [(Shape, &'static str); 5] = [
        (
            Shape {
                other_variables: false,
                ..Shape::FULL
            },
            "the variables of the threads but the first",
        ),
        (
            Shape {
                other_variables: false,
                other_threads: Some(0),
                ..Shape::FULL
            },
            "the threads but the first",
        ),
        (
            Shape {
                other_variables: false,
                other_threads: Some(0),
                first_variables: false,
                ..Shape::FULL
            },
            "the variables of the first thread",
        ),
        (
            Shape {
                other_variables: false,
                other_threads: Some(0),
                first_variables: false,
                first_frames: Some(KEPT_FRAMES),
                all_images: true,
            },
            "the middle frames of the first thread (frames_omitted)",
        ),
        (
            Shape {
                other_variables: false,
                other_threads: Some(0),
                first_variables: false,
                first_frames: Some(KEPT_FRAMES),
                all_images: false,
            },
            "the images that no frame of the threads sent is in",
        ),
    ];
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
        "debug_meta": { "images": images(snapshot, main, shape) },
        "tags": tags(snapshot, left_out),
        "contexts": contexts(snapshot),
        "extra": extra(snapshot, left_out),
    });
    match &snapshot.fault {
        Some(fault) => {
            let value = match fault.address {
                Some(address) => format!("{} at {:#x}", fault.reason, address.0),
                None => fault.reason.clone(),
            };
            let name = fault.signal_name.clone().unwrap_or_else(|| "fault".to_string());
            let stack = snapshot.threads.iter().find(|t| t.tid == fault.tid).map(|t| {
                let first = Some(t.tid) == main;
                let variables = if first {
                    shape.first_variables
                } else {
                    shape.other_variables
                };
                let limit = if first { shape.first_frames } else { None };
                stacktrace(t, snapshot, variables, limit, left_out)
            });
            event["level"] = json!(details.level.clone().unwrap_or_else(|| "fatal".to_string()));
            event["exception"] = json!({ "values": [{
                "type": name,
                "value": value,
                "thread_id": fault.tid,
                "mechanism": {
                    "type": "signalhandler",
                    "handled": false,
                    "meta": { "signal": { "number": fault.signal, "code": fault.code, "name": name } },
                },
                "stacktrace": stack,
            }]});
        }
        None => {
            event["level"] = json!(details.level.clone().unwrap_or_else(|| "error".to_string()));
            // `logentry` (Sentry's schema has no `message` object at the top).
            event["logentry"] = json!({ "formatted": hang_message(snapshot) });
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
    format!(
        "{} (pid {}): snapshot of {} ({})",
        snapshot.application,
        snapshot.pid,
        crate::snapshot::text::count_of(snapshot.threads.len(), "thread"),
        snapshot.process_state
    )
}

/// The threads `shape` sends: the first (`main`), and the others up to its limit, in order.
fn sent_threads(snapshot: &Snapshot, main: Option<i32>, shape: Shape) -> impl Iterator<Item = &Thread> {
    let mut others = 0;
    snapshot.threads.iter().filter(move |t| {
        if Some(t.tid) == main {
            return true;
        }
        others += 1;
        shape.other_threads.is_none_or(|limit| others <= limit)
    })
}

/// Sentry's `threads.values`.
fn threads(snapshot: &Snapshot, main: Option<i32>, shape: Shape, left_out: &mut Vec<String>) -> Vec<Value> {
    sent_threads(snapshot, main, shape)
        .map(|thread| {
            let first = Some(thread.tid) == main;
            let variables = if first {
                shape.first_variables
            } else {
                shape.other_variables
            };
            let limit = if first { shape.first_frames } else { None };
            let mut value = json!({
                "id": thread.tid,
                "crashed": thread.fault,
                "current": first,
                "stacktrace": stacktrace(thread, snapshot, variables, limit, left_out),
            });
            if !thread.name.is_empty() {
                value["name"] = json!(thread.name);
            }
            value
        })
        .collect()
}

/// A thread's stack trace, the outermost frame first; with at most `limit` frames (as many
/// innermost as outermost; `frames_omitted` says which were left out).
fn stacktrace(
    thread: &Thread,
    snapshot: &Snapshot,
    with_variables: bool,
    limit: Option<usize>,
    left_out: &mut Vec<String>,
) -> Value {
    let count = thread.frames.len();
    // In Sentry's order (outermost first), the frames [omitted.0, omitted.1) are left out.
    let omitted = limit
        .filter(|&limit| count > limit)
        .map(|limit| (limit / 2, count - (limit - limit / 2)));
    let frames: Vec<Value> = thread
        .frames
        .iter()
        .rev()
        .enumerate()
        .filter(|(at, _)| omitted.is_none_or(|(from, to)| *at < from || *at >= to))
        .map(|(_, frame)| sentry_frame(frame, snapshot, with_variables, left_out))
        .collect();
    let mut stack = json!({ "frames": frames });
    if let Some((from, to)) = omitted {
        stack["frames_omitted"] = json!([from, to]);
    }
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
        let mut text = crate::snapshot::value_text::render_value(variable);
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

/// `debug_meta.images`: every object with its build id (in the smallest shape, only the objects
/// that a frame sent is in).
fn images(snapshot: &Snapshot, main: Option<i32>, shape: Shape) -> Vec<Value> {
    let framed: std::collections::HashSet<&str> = sent_threads(snapshot, main, shape)
        .flat_map(|t| t.frames.iter())
        .filter_map(|f| f.object.as_deref())
        .collect();
    snapshot
        .modules
        .iter()
        .filter(|module| shape.all_images || framed.contains(module.path.as_str()))
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
/// its own), the modules' tags, the signal and the process state; at most [`MAX_TAGS`] of them,
/// each value at most [`MAX_TAG_VALUE_CHARS`] long.
fn tags(snapshot: &Snapshot, left_out: &mut Vec<String>) -> Value {
    let mut tags = Map::new();
    if let Some(name) = snapshot.fault.as_ref().and_then(|f| f.signal_name.clone()) {
        tags.insert("signal".into(), json!(name));
    }
    tags.insert("process_state".into(), json!(snapshot.process_state));
    if !snapshot.classifiers.is_empty() {
        let all = snapshot.classifiers.join(",");
        if all.chars().count() > MAX_TAG_VALUE_CHARS {
            note_once(
                left_out,
                format!("the tag classifier is cut to {MAX_TAG_VALUE_CHARS} characters"),
            );
        }
        tags.insert(
            "classifier".into(),
            json!(all.chars().take(MAX_TAG_VALUE_CHARS).collect::<String>()),
        );
    }
    for name in snapshot.classifiers.iter().chain(&snapshot.tags) {
        if tags.len() >= MAX_TAGS {
            note_once(left_out, format!("only the first {MAX_TAGS} tags are sent"));
            break;
        }
        tags.insert(tag_key(name), json!("true"));
    }
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
/// the modules' failures; at most [`MAX_NOTES`] of each, each at most [`MAX_NOTE_CHARS`] long.
fn extra(snapshot: &Snapshot, left_out: &mut Vec<String>) -> Value {
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
        "annotations": bounded(&annotations, "annotations", left_out),
        "warnings": bounded(&snapshot.warnings, "warnings", left_out),
        "module_failures": snapshot.module_failures,
    })
}

/// The first [`MAX_NOTES`] of `notes`, each cut to [`MAX_NOTE_CHARS`]; what is cut is noted in
/// `left_out` under `what`.
fn bounded(notes: &[String], what: &str, left_out: &mut Vec<String>) -> Vec<String> {
    if notes.len() > MAX_NOTES {
        note_once(left_out, format!("only the first {MAX_NOTES} {what} are sent"));
    }
    notes
        .iter()
        .take(MAX_NOTES)
        .map(|note| {
            if note.chars().count() <= MAX_NOTE_CHARS {
                return note.clone();
            }
            note_once(
                left_out,
                format!("{what} longer than {MAX_NOTE_CHARS} characters are cut"),
            );
            note.chars().take(MAX_NOTE_CHARS).collect::<String>() + "…"
        })
        .collect()
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
            Annotation::Text { level, text } => {
                // The level in lower case (`comment`), the text as written.
                format!("{place}: {} {text}", format!("{level:?}").to_lowercase())
            }
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
    use crate::pmodule::testdata;
    use crate::snapshot::{Address, Fault, Module};

    /// `n` holding `value`.
    fn int(name: &str, value: i64) -> Variable {
        let mut variable = testdata::variable(name, "int", "int", "ll");
        variable.value = json!(value);
        variable
    }

    /// A process 42 that crashed in `recurse(0)` called from `recurse(1)` from `main`, with a
    /// second thread parked in `pause`.
    fn crashed() -> Snapshot {
        let frames = vec![
            ("recurse", vec![int("n", 0)]),
            ("recurse", vec![int("n", 1)]),
            ("main", vec![int("argc", 2)]),
        ]
        .into_iter()
        .map(|(symbol, variables)| {
            let mut frame = testdata::frame(symbol, "/b/crash", "crash.c");
            frame.variables = variables;
            frame
        })
        .collect();
        let mut thread = testdata::thread(42, frames);
        thread.fault = true;
        let other = testdata::thread(43, vec![testdata::frame("pause", "/lib/libc.so.6", "pause.c")]);
        let mut snapshot = testdata::snapshot(42, vec![other, thread]);
        snapshot.fault = Some(Fault {
            tid: 42,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: Some(Address(0x10)),
            reason: "address not mapped to object".into(),
        });
        snapshot.classifiers = vec!["mytag".into()];
        snapshot.modules = vec![Module {
            path: "/b/crash".into(),
            base: Address(0x400000),
            size: 0x1000,
            build_id: Some("0102030405060708090a0b0c0d0e0f1011121314".into()),
            debug_file: None,
        }];
        snapshot
    }

    #[test]
    fn a_fault_is_the_exception_of_a_native_event_with_the_stack_oldest_frame_first() {
        let event = event(&crashed(), &EventDetails::default());
        assert_eq!(event["platform"], "native");
        assert_eq!(event["level"], "fatal");
        let exception = &event["exception"]["values"][0];
        assert_eq!(exception["type"], "SIGSEGV");
        assert_eq!(exception["value"], "address not mapped to object at 0x10");
        let mechanism = &exception["mechanism"];
        assert_eq!(mechanism["type"], "signalhandler");
        assert_eq!(mechanism["handled"], false);
        // Not synthetic: the type and value say what happened, and Sentry titles the issue with
        // them (a synthetic exception is titled with the crashing function instead).
        assert!(mechanism.get("synthetic").is_none());
        assert_eq!(mechanism["meta"]["signal"]["number"], 11);
        let functions: Vec<&str> = exception["stacktrace"]["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .map(|f| f["function"].as_str().expect("function"))
            .collect();
        assert_eq!(functions, ["main", "recurse", "recurse"]);
        assert_eq!(exception["stacktrace"]["frames"][2]["vars"]["n"], "0");
        let threads = event["threads"]["values"].as_array().expect("threads");
        assert_eq!(threads.len(), 2);
        let crashed = threads.iter().find(|t| t["id"] == 42).expect("thread 42");
        assert_eq!(crashed["crashed"], true);
        assert_eq!(crashed["current"], true);
        let image = &event["debug_meta"]["images"][0];
        assert_eq!(image["code_id"], "0102030405060708090a0b0c0d0e0f1011121314");
        assert_eq!(image["debug_id"], "04030201-0605-0807-090a-0b0c0d0e0f10");
        assert_eq!(event["tags"]["mytag"], "true");
        assert!(event["extra"].get("left_out").is_none(), "{event}");
    }

    #[test]
    fn a_snapshot_without_a_fault_is_a_message_at_level_error_or_the_level_given() {
        let mut snapshot = crashed();
        snapshot.fault = None;
        let event_of = |level: Option<&str>| {
            let details = EventDetails {
                level: level.map(str::to_string),
                ..EventDetails::default()
            };
            event(&snapshot, &details)
        };
        let plain = event_of(None);
        assert!(plain.get("exception").is_none());
        assert_eq!(plain["level"], "error");
        assert_eq!(
            plain["logentry"]["formatted"],
            "crash (pid 42): snapshot of 2 threads (sleeping)"
        );
        // The main thread (tid = pid) is the current one.
        let current: Vec<&Value> = plain["threads"]["values"]
            .as_array()
            .expect("threads")
            .iter()
            .filter(|t| t["current"] == true)
            .collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], 42);
        assert_eq!(event_of(Some("warning"))["level"], "warning");
    }

    #[test]
    fn an_event_too_large_leaves_out_the_other_threads_then_the_middle_of_the_stack() {
        let mut snapshot = crashed();
        let long = "x".repeat(400);
        let mut big = testdata::frame("work", "/b/crash", "crash.c");
        big.variables = (0..64)
            .map(|i| {
                let mut v = testdata::variable(&format!("s{i}"), "char *", "char", "string");
                v.value = json!("0x1000");
                v.symbol = Some(long.clone());
                assert!(crate::snapshot::value_text::render_value(&v).len() > 400);
                v
            })
            .collect();
        // 5 threads of 10 such frames: 1.3 MB of variables.
        for tid in 1000..1005 {
            snapshot
                .threads
                .push(testdata::thread(tid, vec![big.clone(); 10]));
        }
        let event = event(&snapshot, &EventDetails::default());
        assert!(event.to_string().len() <= MAX_EVENT_BYTES);
        let left_out = event["extra"]["left_out"].to_string();
        assert!(
            left_out.contains("the variables of the threads but the first"),
            "{left_out}"
        );
        // The faulting thread keeps its variables.
        assert_eq!(
            event["exception"]["values"][0]["stacktrace"]["frames"][2]["vars"]["n"],
            "0"
        );

        // One thread of 20000 frames (some 2.5 MB, twice: in the exception and the thread): its
        // middle frames go.
        let mut deep = crashed();
        let plain = testdata::frame("work", "/b/crash", "crash.c");
        deep.threads = vec![testdata::thread(42, vec![plain; 20000])];
        deep.threads[0].fault = true;
        let event = super::event(&deep, &EventDetails::default());
        assert!(event.to_string().len() <= MAX_EVENT_BYTES);
        let stack = &event["threads"]["values"][0]["stacktrace"];
        assert_eq!(stack["frames"].as_array().map(Vec::len), Some(KEPT_FRAMES));
        assert_eq!(stack["frames_omitted"], json!([50, 19950]));
        let left_out = event["extra"]["left_out"].to_string();
        assert!(
            left_out.contains("the middle frames of the first thread"),
            "{left_out}"
        );
    }

    #[test]
    fn of_too_many_threads_as_many_as_fit_stay() {
        let mut snapshot = crashed();
        // 600 more threads of 20 frames: some 1.5 MB without variables.
        let frame = testdata::frame("threads_recurse", "/b/threads", "threads.c");
        for tid in 1000..1600 {
            snapshot
                .threads
                .push(testdata::thread(tid, vec![frame.clone(); 20]));
        }
        let event = event(&snapshot, &EventDetails::default());
        let size = event.to_string().len();
        assert!(size <= MAX_EVENT_BYTES, "{size}");
        let sent = event["threads"]["values"].as_array().map_or(0, Vec::len);
        assert!(sent > 100 && sent < 602, "{sent}");
        // Most of the room is used.
        assert!(size > MAX_EVENT_BYTES - 10_000, "{size}");
        // The faulting thread, and the others in order.
        assert!(event["threads"]["values"]
            .as_array()
            .is_some_and(|v| v.iter().any(|t| t["id"] == 42) && v[0]["id"] == 43 && v[2]["id"] == 1000));
        let left_out = event["extra"]["left_out"].to_string();
        let expected = format!("{} of the 601 threads but the first are left out", 602 - sent);
        assert!(left_out.contains(&expected), "{expected}: {left_out}");
        assert!(!left_out.contains("variables of the first thread"), "{left_out}");
    }

    #[test]
    fn annotations_keep_their_case_and_name_their_place() {
        let mut snapshot = crashed();
        snapshot.threads[1].frames[0].variables[0]
            .annotations
            .push(Annotation::Text {
                level: crate::snapshot::AnnotationLevel::Warning,
                text: "Lock held by TID 43".into(),
            });
        let event = event(&snapshot, &EventDetails::default());
        assert_eq!(
            event["extra"]["annotations"],
            json!(["thread 42 frame 0/n: warning Lock held by TID 43"])
        );
    }

    #[test]
    fn tags_and_notes_are_bounded() {
        let mut snapshot = crashed();
        snapshot.classifiers = (0..100).map(|i| format!("classifier-{i}")).collect();
        snapshot.warnings = (0..300)
            .map(|i| format!("warning {i} {}", "w".repeat(600)))
            .collect();
        let event = event(&snapshot, &EventDetails::default());
        let tags = event["tags"].as_object().expect("tags");
        assert_eq!(tags.len(), MAX_TAGS);
        assert_eq!(
            tags["classifier"].as_str().map(|t| t.chars().count()),
            Some(MAX_TAG_VALUE_CHARS)
        );
        let warnings = event["extra"]["warnings"].as_array().expect("warnings");
        assert_eq!(warnings.len(), MAX_NOTES);
        assert_eq!(
            warnings[0].as_str().map(|w| w.chars().count()),
            Some(MAX_NOTE_CHARS + 1)
        );
        let left_out = event["extra"]["left_out"].to_string();
        for note in [
            "only the first 64 tags",
            "classifier is cut",
            "only the first 200 warnings",
            "warnings longer than",
        ] {
            assert!(left_out.contains(note), "{note}: {left_out}");
        }
    }

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
