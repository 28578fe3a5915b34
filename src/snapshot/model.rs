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
    /// What its value is.
    pub kind: VariableKind,
    /// Where it lives in the target.
    pub address: Option<Address>,
    /// Its value (number, hex string for references, or null).
    pub value: serde_json::Value,
    /// String contents, enum label or pointee symbol.
    pub symbol: Option<String>,
    /// A formal parameter.
    pub parameter: bool,
    /// Whether its value was read.
    pub state: VariableState,
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
    /// What modules marked it with while the snapshot is taken (never written: the snapshot
    /// is settled before, see [`ModuleMarks`]).
    #[serde(skip)]
    pub marks: ModuleMarks,
}

/// What a variable's value is: the snapshot's `kind` word, and the stable integer of the
/// module APIs (`pmodule.variable_type.*` in Lua, `PMODULE_VARIABLE_TYPE_*` in C), which is the
/// variant's discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableKind {
    /// Signed integer (and signed characters, pointers to members).
    Ll = 0,
    /// Unsigned integer (and booleans, unsigned characters).
    Ull = 1,
    /// `float`.
    Flt = 2,
    /// `double`.
    Dbl = 3,
    /// `long double` and other wider floats.
    Ldbl = 4,
    /// `float _Complex`.
    Cflt = 5,
    /// `double _Complex`.
    Cdbl = 6,
    /// `long double _Complex`.
    Cldbl = 7,
    /// A character array (or a synthesized string).
    String = 8,
    /// An enum.
    Enum = 9,
    /// A struct, union or class.
    Tuple = 10,
    /// An array.
    Array = 11,
    /// `void` or a type not modelled.
    Bottom = 12,
    /// A function pointer (or function).
    Fn = 13,
    /// A pointer or C++ reference.
    Reference = 14,
}

impl VariableKind {
    /// Every kind, in integer order.
    pub const ALL: &'static [VariableKind] = &[
        VariableKind::Ll,
        VariableKind::Ull,
        VariableKind::Flt,
        VariableKind::Dbl,
        VariableKind::Ldbl,
        VariableKind::Cflt,
        VariableKind::Cdbl,
        VariableKind::Cldbl,
        VariableKind::String,
        VariableKind::Enum,
        VariableKind::Tuple,
        VariableKind::Array,
        VariableKind::Bottom,
        VariableKind::Fn,
        VariableKind::Reference,
    ];

    /// The snapshot's word for it (also its name in the module APIs' tables).
    pub fn name(self) -> &'static str {
        match self {
            VariableKind::Ll => "ll",
            VariableKind::Ull => "ull",
            VariableKind::Flt => "flt",
            VariableKind::Dbl => "dbl",
            VariableKind::Ldbl => "ldbl",
            VariableKind::Cflt => "cflt",
            VariableKind::Cdbl => "cdbl",
            VariableKind::Cldbl => "cldbl",
            VariableKind::String => "string",
            VariableKind::Enum => "enum",
            VariableKind::Tuple => "tuple",
            VariableKind::Array => "array",
            VariableKind::Bottom => "bottom",
            VariableKind::Fn => "fn",
            VariableKind::Reference => "reference",
        }
    }

    /// The kind whose word is `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// The stable integer of the module APIs.
    pub fn value(self) -> i64 {
        self as i64
    }

    /// The kind whose integer is `value`, if any (integers coming from modules are validated
    /// here).
    pub fn from_value(value: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.value() == value)
    }
}

impl std::fmt::Display for VariableKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<str> for VariableKind {
    fn eq(&self, word: &str) -> bool {
        self.name() == word
    }
}

impl PartialEq<&str> for VariableKind {
    fn eq(&self, word: &&str) -> bool {
        self.name() == *word
    }
}

/// Whether a variable's value was read: the snapshot's `state` word, and the flag of the C API's
/// `pmodule_variable_state` (`PTRACE_VARIABLE_S_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableState {
    /// Read in full.
    #[default]
    Ok,
    /// Not available at this pc (no location, a register not recovered).
    OptimizedOut,
    /// In memory that could not be read.
    Unreadable,
    /// Read in part: an element, depth or length limit was reached.
    Truncated,
}

impl VariableState {
    /// Every state.
    pub const ALL: [VariableState; 4] = [
        VariableState::Ok,
        VariableState::OptimizedOut,
        VariableState::Unreadable,
        VariableState::Truncated,
    ];

    /// The snapshot's word for it.
    pub fn word(self) -> &'static str {
        match self {
            VariableState::Ok => "ok",
            VariableState::OptimizedOut => "optimized_out",
            VariableState::Unreadable => "unreadable",
            VariableState::Truncated => "truncated",
        }
    }

    /// The state whose word is `word`, if any.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.word() == word)
    }

    /// Its flag in the C API (`PTRACE_VARIABLE_S_OK` is 0: no flag).
    pub fn flag(self) -> u32 {
        match self {
            VariableState::Ok => 0,
            VariableState::OptimizedOut => 1,
            VariableState::Unreadable => 2,
            VariableState::Truncated => 4,
        }
    }

    /// Whether the value was read, in full or in part (`ok` or `truncated`).
    pub fn has_value(self) -> bool {
        matches!(self, VariableState::Ok | VariableState::Truncated)
    }
}

impl std::fmt::Display for VariableState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl PartialEq<str> for VariableState {
    fn eq(&self, word: &str) -> bool {
        self.word() == word
    }
}

impl PartialEq<&str> for VariableState {
    fn eq(&self, word: &&str) -> bool {
        self.word() == *word
    }
}

/// What modules mark a variable with while the snapshot is taken (the positions of variables
/// never shift while events fire). Settled before the snapshot is written: the extracted
/// children of skipped variables are dropped, and the marks with them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleMarks {
    /// A module stands for the variable's members itself: the members and elements extracted
    /// for it are left out of the snapshot (those modules synthesized under it stay).
    pub skip: bool,
    /// A module created the variable.
    pub synthesized: bool,
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

    /// A repository file's text.
    fn repo_file(path: &str) -> String {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The `#define PREFIX<NAME> <integer>` lines of a C header, as (NAME, integer).
    fn c_defines(header: &str, prefix: &str) -> Vec<(String, i64)> {
        header
            .lines()
            .filter_map(|line| line.strip_prefix("#define ")?.strip_prefix(prefix))
            .filter_map(|rest| {
                let (name, value) = rest.split_once(' ')?;
                Some((name.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn kinds_and_states_are_written_as_their_words() {
        for kind in VariableKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            let back: VariableKind = serde_json::from_value(serde_json::json!(kind.name())).unwrap();
            assert_eq!(back, *kind);
            assert_eq!(VariableKind::from_name(kind.name()), Some(*kind));
            assert_eq!(VariableKind::from_value(kind.value()), Some(*kind));
        }
        for state in VariableState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.word());
            let back: VariableState = serde_json::from_value(serde_json::json!(state.word())).unwrap();
            assert_eq!(back, state);
            assert_eq!(VariableState::from_word(state.word()), Some(state));
        }
        assert!(serde_json::from_value::<VariableKind>(serde_json::json!("int")).is_err());
        assert!(serde_json::from_value::<VariableState>(serde_json::json!("skip:ok")).is_err());
        assert_eq!(VariableKind::from_value(15), None);
        assert!(VariableState::Truncated.has_value() && !VariableState::Unreadable.has_value());
    }

    #[test]
    fn kinds_and_states_are_the_c_headers_and_the_luas() {
        // C: the kinds' integers and the states' flags of include/pmodule.h (generated from
        // src/ffi, which tests/header.rs checks).
        let header = repo_file("include/pmodule.h");
        let mut kinds: Vec<(String, i64)> = VariableKind::ALL
            .iter()
            .map(|k| (k.name().to_uppercase(), k.value()))
            .collect();
        let mut defined = c_defines(&header, "PMODULE_VARIABLE_TYPE_");
        kinds.sort();
        defined.sort();
        assert_eq!(kinds, defined, "PMODULE_VARIABLE_TYPE_* of include/pmodule.h");
        let states: Vec<(String, i64)> = VariableState::ALL
            .iter()
            .map(|s| {
                let name = if *s == VariableState::Ok {
                    "OK".to_string()
                } else {
                    s.word().to_uppercase()
                };
                (name, i64::from(s.flag()))
            })
            .collect();
        let flags = c_defines(&header, "PTRACE_VARIABLE_S_");
        for state in &states {
            assert!(
                flags.contains(state),
                "PTRACE_VARIABLE_S_{} = {} in {flags:?}",
                state.0,
                state.1
            );
        }
        // Lua: the `pmodule.variable_type` table the type declarations give modules (the
        // runtime's is made from `VariableKind::ALL`).
        let declarations = repo_file("lua/pmodule.d.lua");
        let table = declarations
            .split_once("pmodule.variable_type = {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(table, _)| table)
            .expect("pmodule.variable_type in lua/pmodule.d.lua");
        let mut declared: Vec<(String, i64)> = table
            .split(',')
            .filter_map(|entry| {
                let (name, value) = entry.split_once('=')?;
                Some((name.trim().to_uppercase(), value.trim().parse().ok()?))
            })
            .collect();
        declared.sort();
        assert_eq!(kinds, declared, "pmodule.variable_type of lua/pmodule.d.lua");
        // The JSON schema's lists of words.
        let schema: serde_json::Value =
            serde_json::from_str(&repo_file("schema/snapshot.schema.json")).unwrap();
        let variable = &schema["$defs"]["variable"]["properties"];
        let words = |field: &str| -> Vec<String> {
            let mut words: Vec<String> = variable[field]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("the schema's variable {field} words"))
                .iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect();
            words.sort();
            words
        };
        let mut kind_words: Vec<String> = VariableKind::ALL.iter().map(|k| k.name().to_string()).collect();
        kind_words.sort();
        assert_eq!(words("kind"), kind_words);
        let mut state_words: Vec<String> = VariableState::ALL.iter().map(|s| s.word().to_string()).collect();
        state_words.sort();
        assert_eq!(words("state"), state_words);
    }
}
