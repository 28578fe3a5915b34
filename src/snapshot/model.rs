//! The snapshot's data model. Field names are the JSON contract of `schema/snapshot.schema.json`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::SharedStr;

/// The `format` value of every snapshot document.
pub const FORMAT_NAME: &str = "ptrace-snapshot";
/// The `version` of the document layout written by this crate.
pub const FORMAT_VERSION: u32 = 1;

/// A 64-bit target address, written as a hex string (`"0x7f..."`) so no JSON reader loses
/// precision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub u64);

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // "0x" and at most 16 digits, written on the stack: snapshots hold a lot of addresses.
        let mut text = [0u8; 18];
        let digits = (64 - self.0.leading_zeros()).div_ceil(4).max(1) as usize;
        text[0] = b'0';
        text[1] = b'x';
        for (i, byte) in text[2..2 + digits].iter_mut().enumerate() {
            let nibble = (self.0 >> (4 * (digits - 1 - i))) & 0xf;
            *byte = b"0123456789abcdef"[nibble as usize];
        }
        // ASCII only, so always valid UTF-8.
        serializer.serialize_str(std::str::from_utf8(&text[..2 + digits]).unwrap_or("0x0"))
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| serde::de::Error::custom(format!("address {text:?} lacks the 0x prefix")))?;
        u64::from_str_radix(digits, 16)
            .map(Address)
            .map_err(|e| serde::de::Error::custom(format!("address {text:?}: {e}")))
    }
}

/// One snapshot of one process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for documents written by this crate.
    pub version: u32,
    /// The process id (in ptrace's pid namespace).
    pub pid: i32,
    /// The process's ids in each pid namespace from ptrace's inward (the kernel's `NSpid`), the
    /// last the id the process knows itself by; absent when it is in ptrace's pid namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nspid: Option<Vec<i32>>,
    /// The application name (`--application`, else the executable's base name).
    pub application: String,
    /// Absolute path of the executable.
    pub executable: String,
    /// Scheduler state of the process before it was stopped (`sleeping`, `running`, ...).
    pub process_state: String,
    /// Unix time (seconds) when the snapshot was taken.
    pub timestamp: u64,
    /// The fault that triggered the snapshot, if any.
    pub fault: Option<Fault>,
    /// Every captured thread, the process's main thread first.
    pub threads: Vec<Thread>,
    /// Global variables requested or touched.
    pub globals: Vec<Variable>,
    /// Key/value attributes from `--kv` and modules.
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Classifiers from `--classifier` and modules.
    pub classifiers: Vec<String>,
    /// Tags from modules.
    pub tags: Vec<String>,
    /// Annotations on the whole snapshot.
    pub annotations: Vec<Annotation>,
    /// Objects mapped into the process.
    pub modules: Vec<Module>,
    /// How long the target was stopped, and the whole run.
    pub timing: Timing,
    /// Problems met while taking the snapshot that did not stop it (an object without debug
    /// info, a thread that could not be unwound, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Module callbacks that failed while this snapshot was taken, each distinct failure once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub module_failures: Vec<ModuleFailure>,
    /// Part of what a snapshot holds is missing: the target died while it was being captured,
    /// or the stop limit cut the capture short (`warnings` say what is missing and why).
    #[serde(default)]
    pub incomplete: bool,
    /// The core file the snapshot was read from (`process_state` is then `core`); absent for a
    /// live process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<CoreOrigin>,
}

/// Where a snapshot of a core came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreOrigin {
    /// The core file as given (`-` for standard input).
    pub file: String,
    /// The start of the command line the core records (`NT_PRPSINFO`: at most 80 bytes, the
    /// arguments separated by spaces), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
}

/// One distinct failure of a module's callbacks (the same module, event and message), with how
/// often it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleFailure {
    /// The module id.
    pub module: String,
    /// The event (`variable`, `postattach`, ...), or `reset` / `unload`.
    pub event: String,
    /// What went wrong (cut to a bounded length).
    pub message: String,
    /// How many callbacks failed this way.
    pub count: u64,
    /// How many of the module's callbacks were not run after it used up its instruction budget
    /// or its memory while the target was stopped (it gets no more events until the target
    /// runs again).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The fault that triggered a snapshot (a fatal signal under `--exec`, or `--fault-thread`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    /// The faulting thread.
    pub tid: i32,
    /// Signal number (0 when the thread was only marked with `--fault-thread`).
    pub signal: i32,
    /// Signal name, e.g. `SIGSEGV`.
    pub signal_name: Option<String>,
    /// `si_code` of the signal.
    pub code: i32,
    /// Faulting address (`si_addr`) where the signal has one.
    pub address: Option<Address>,
    /// Human-readable reason, from `si_code`.
    pub reason: String,
}

/// One thread.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Thread {
    /// Kernel thread id (in ptrace's pid namespace).
    pub tid: i32,
    /// The thread's ids in each pid namespace from ptrace's inward (`NSpid`), the last the id
    /// the target knows it by; absent when the target is in ptrace's pid namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nspid: Option<Vec<i32>>,
    /// Thread name (`/proc/PID/task/TID/comm`).
    pub name: String,
    /// Scheduler state before the stop.
    pub state: String,
    /// Whether this thread faulted.
    pub fault: bool,
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// Thread-local variables.
    pub variables: Vec<Variable>,
    /// Annotations on the thread.
    pub annotations: Vec<Annotation>,
}

/// One stack frame (an inlined call is a frame of its own with `inlined: true`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frame {
    /// Position in the thread, 0 innermost.
    pub index: usize,
    /// Program counter (a return address for caller frames).
    pub pc: Address,
    /// Canonical frame address, when the unwinder knows it.
    pub cfa: Option<Address>,
    /// Function name, demangled.
    pub symbol: Option<String>,
    /// Offset of `pc` from the start of `symbol`.
    pub offset: Option<u64>,
    /// Path of the object the pc is in.
    pub object: Option<String>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
    /// An inlined call inside the next frame's function.
    pub inlined: bool,
    /// Found without CFI (frame-pointer fallback): may be wrong.
    pub suspect: bool,
    /// The faulting frame.
    pub fault: bool,
    /// A signal trampoline frame.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signal_frame: bool,
    /// A function that tail-called onward: its own frame is gone from the stack, and it is known
    /// from DWARF call-site information (as gdb shows it). `pc` is the return address of its
    /// tail-call site; it has no `cfa` and no registers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tail_call: bool,
    /// Registers known in this frame (frame 0: all of them).
    pub registers: BTreeMap<String, Address>,
    /// Parameters and locals.
    pub variables: Vec<Variable>,
    /// Annotations on the frame.
    pub annotations: Vec<Annotation>,
}

/// A variable (filled by the variables extraction; the shape is fixed now so tools can rely on it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Variable {
    /// Name as written in the source.
    pub name: SharedStr,
    /// Type as C would write it.
    #[serde(rename = "type")]
    pub type_name: SharedStr,
    /// Type with qualifiers, pointers and typedefs stripped.
    pub base_type: SharedStr,
    /// One of the `variable_type` names of the pmodule API (README "Modules").
    pub kind: SharedStr,
    /// Where it lives in the target.
    pub address: Option<Address>,
    /// Its value (number, hex string for references, or null).
    pub value: serde_json::Value,
    /// String contents, enum label or pointee symbol.
    pub symbol: Option<String>,
    /// A formal parameter.
    pub parameter: bool,
    /// `ok`, `optimized_out`, `unreadable` or `truncated`.
    pub state: SharedStr,
    /// A parameter's value on entry to its function, proven by the caller's call site
    /// (`DW_TAG_call_site_parameter`'s `DW_AT_call_value`): gdb's `x@entry`. A number or hex
    /// string like `value`; null when not proven (or not a parameter).
    #[serde(default)]
    pub entry_value: serde_json::Value,
    /// For a pointer or function pointer: the ELF symbol its address falls in, as gdb prints it
    /// after the address (`hang_lock`, `hang_forever+40`: decimal offset). Looked up after the
    /// target is resumed; absent when the address is in no symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_symbol: Option<String>,
    /// Members / elements.
    pub children: Vec<Variable>,
    /// Annotations on the variable.
    pub annotations: Vec<Annotation>,
}

/// An attribute value: an integer or a string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// An integer attribute.
    Int(i64),
    /// A string attribute.
    Text(String),
}

/// An annotation, as written in the JSON document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Annotation {
    /// A text annotation with a level.
    Text {
        /// `comment`, `warning` or `critical`.
        level: AnnotationLevel,
        /// The text.
        text: String,
    },
    /// A structured annotation (`level` is always `json`).
    Json {
        /// Always [`JsonLevel::Json`].
        level: JsonLevel,
        /// The object under the annotation's `json` key.
        json: serde_json::Value,
    },
}

/// Level of a text annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    /// Informational.
    Comment,
    /// Something looks wrong.
    Warning,
    /// Something is wrong.
    Critical,
}

/// The single level of structured annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonLevel {
    /// `"json"`.
    Json,
}

/// An object mapped into the process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Module {
    /// Path (or `[vdso]`).
    pub path: String,
    /// Lowest mapped address.
    pub base: Address,
    /// Size of the mapped range.
    pub size: u64,
    /// GNU build id, lowercase hex.
    pub build_id: Option<String>,
    /// Separate debug file used, if any.
    pub debug_file: Option<String>,
}

/// How long things took.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timing {
    /// First thread stopped to last thread resumed, in microseconds.
    pub stopped_us: u64,
    /// The whole snapshot run, in microseconds.
    pub total_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_hex_strings_both_ways() {
        let json = serde_json::to_string(&Address(0x7fff_0000_1234)).unwrap();
        assert_eq!(json, "\"0x7fff00001234\"");
        let back: Address = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Address(0x7fff_0000_1234));
        assert!(serde_json::from_str::<Address>("\"1234\"").is_err());
        for value in [0, 1, 0xf, 0x10, 0xdead_beef, u64::MAX] {
            let json = serde_json::to_string(&Address(value)).unwrap();
            assert_eq!(json, format!("\"{value:#x}\""));
        }
    }

    #[test]
    fn annotations_have_the_contract_shape() {
        let text = Annotation::Text {
            level: AnnotationLevel::Critical,
            text: "x".into(),
        };
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::json!({"level": "critical", "text": "x"})
        );
        let json = Annotation::Json {
            level: JsonLevel::Json,
            json: serde_json::json!({"context": "Signal"}),
        };
        assert_eq!(
            serde_json::to_value(&json).unwrap(),
            serde_json::json!({"level": "json", "json": {"context": "Signal"}})
        );
    }

    #[test]
    fn attributes_are_numbers_or_strings() {
        let mut attrs = BTreeMap::new();
        attrs.insert("a".to_string(), AttributeValue::Int(42));
        attrs.insert("b".to_string(), AttributeValue::Text("v".into()));
        assert_eq!(
            serde_json::to_value(&attrs).unwrap(),
            serde_json::json!({"a": 42, "b": "v"})
        );
    }
}
