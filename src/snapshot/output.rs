//! A snapshot as JSON, and where it goes: the default file name, the serialization, and the
//! destinations ([`Destination`]: standard output, a file replaced atomically, a FIFO, device or
//! socket written into, a folder), checked before the target is touched and written after.

mod abortable;
mod destination;
mod error;
mod file_mode;
mod folder;
mod links;
mod pending_file;
mod stream;
mod writer;

pub use destination::{Destination, OutputRequest};
pub use error::OutputError;
pub use file_mode::{FileMode, FileModeError};
pub use folder::MIN_FREE_BYTES;
pub use writer::{WriteOptions, Written};

use super::layout::{Layout, RowsFormatter};
use super::model::Snapshot;
use crate::abort::AbortFlag;
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// The default file name of a snapshot: `<application>.<pid>.<unix-time>.json`.
pub fn default_file_name(snapshot: &Snapshot) -> String {
    let app: String = snapshot
        .application
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    format!("{app}.{}.{}.json", snapshot.pid, snapshot.timestamp)
}

/// The snapshot as JSON text, indented ([`Layout::Pretty`]).
pub fn to_json(snapshot: &Snapshot) -> String {
    let mut text = Vec::new();
    match write_json(snapshot, &mut text, Layout::Pretty) {
        // serde_json writes valid UTF-8.
        Ok(()) => String::from_utf8_lossy(&text).into_owned(),
        // Serialising our own model into memory cannot fail: every map key is a string and
        // non-finite floats are written as null.
        Err(e) => format!("{{\"error\": \"{e}\"}}"),
    }
}

/// Serializes `snapshot` as JSON into `writer`, laid out as `layout` (no final newline).
pub fn write_json<W: Write>(snapshot: &Snapshot, writer: W, layout: Layout) -> io::Result<()> {
    serialize_as(snapshot, writer, layout)
}

/// Serializes any `value` as JSON into `writer`, laid out as `layout`.
fn serialize_as<T: Serialize + ?Sized, W: Write>(value: &T, writer: W, layout: Layout) -> io::Result<()> {
    let result = match layout {
        Layout::Rows => value.serialize(&mut serde_json::Serializer::with_formatter(
            writer,
            RowsFormatter::new(),
        )),
        Layout::Compact => value.serialize(&mut serde_json::Serializer::new(writer)),
        Layout::Pretty => value.serialize(&mut serde_json::Serializer::pretty(writer)),
    };
    result.map_err(io::Error::from)
}

/// What a snapshot file holds: the snapshot in libptrace's format, or a document made from it in
/// another format (a crash backend's), named as the snapshot would be.
pub trait Document {
    /// The file name in an output folder ([`default_file_name`]).
    fn file_name(&self) -> String;
    /// Writes the JSON text (no final newline).
    fn write_json(&self, out: &mut dyn Write, layout: Layout) -> io::Result<()>;
}

impl Document for Snapshot {
    fn file_name(&self) -> String {
        default_file_name(self)
    }

    fn write_json(&self, out: &mut dyn Write, layout: Layout) -> io::Result<()> {
        write_json(self, out, layout)
    }
}

/// A JSON document made from a snapshot in another format, named as the snapshot is.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonDocument {
    /// The file name in an output folder.
    pub name: String,
    /// The document.
    pub value: serde_json::Value,
}

impl JsonDocument {
    /// `value`, made from `snapshot`.
    pub fn of(snapshot: &Snapshot, value: serde_json::Value) -> Self {
        Self {
            name: default_file_name(snapshot),
            value,
        }
    }
}

impl Document for JsonDocument {
    fn file_name(&self) -> String {
        self.name.clone()
    }

    fn write_json(&self, out: &mut dyn Write, layout: Layout) -> io::Result<()> {
        serialize_as(&self.value, out, layout)
    }
}

/// Writes `snapshot` to `path` in the default layout; see [`write_file_as`].
pub fn write_file(snapshot: &Snapshot, path: &Path) -> Result<(), OutputError> {
    write_file_as(snapshot, path, Layout::default())
}

/// Writes `snapshot` to the file `path` laid out as `layout`, owner-only: checks `path` as
/// [`Destination::check`] does, then writes it as [`Destination::write`] does (a regular file
/// atomically, a FIFO, device or socket into). `-` is a file of that name here.
pub fn write_file_as(snapshot: &Snapshot, path: &Path, layout: Layout) -> Result<(), OutputError> {
    let options = WriteOptions {
        layout,
        ..WriteOptions::default()
    };
    Destination::check(&OutputRequest::File(path.to_path_buf()))?.write(
        snapshot,
        &options,
        &AbortFlag::new(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Frame, Thread, Timing, Variable};

    fn snapshot() -> Snapshot {
        Snapshot {
            format: crate::snapshot::FORMAT_NAME.into(),
            version: crate::snapshot::FORMAT_VERSION,
            pid: 7,
            nspid: None,
            application: "app".into(),
            executable: "/bin/app".into(),
            process_state: "sleeping".into(),
            timestamp: 1,
            fault: None,
            threads: vec![Thread {
                tid: 7,
                nspid: None,
                name: "app".into(),
                state: "sleeping".into(),
                fault: false,
                frames: vec![Frame {
                    index: 0,
                    pc: crate::snapshot::Address(0x10),
                    cfa: None,
                    symbol: Some("main".into()),
                    offset: Some(1),
                    object: Some("/bin/app".into()),
                    file: None,
                    line: None,
                    inlined: false,
                    suspect: false,
                    fault: false,
                    signal_frame: false,
                    tail_call: false,
                    registers: Default::default(),
                    variables: vec![Variable {
                        name: "s".into(),
                        type_name: "struct s".into(),
                        base_type: "s".into(),
                        kind: crate::snapshot::VariableKind::Tuple,
                        address: Some(crate::snapshot::Address(0x20)),
                        value: serde_json::Value::Null,
                        symbol: None,
                        parameter: false,
                        state: crate::snapshot::VariableState::Ok,
                        entry_value: serde_json::Value::Null,
                        target_symbol: None,
                        children: Vec::new(),
                        annotations: Vec::new(),
                        marks: Default::default(),
                    }],
                    annotations: Vec::new(),
                }],
                variables: Vec::new(),
                annotations: Vec::new(),
            }],
            globals: Vec::new(),
            attributes: Default::default(),
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

    #[test]
    fn every_layout_writes_the_same_document() {
        let snapshot = snapshot();
        let mut documents = Vec::new();
        let mut lines = Vec::new();
        for layout in [Layout::Rows, Layout::Compact, Layout::Pretty] {
            let mut text = Vec::new();
            write_json(&snapshot, &mut text, layout).unwrap();
            lines.push(text.iter().filter(|&&b| b == b'\n').count());
            documents.push(serde_json::from_slice::<serde_json::Value>(&text).unwrap());
        }
        assert_eq!(documents[0], documents[1]);
        assert_eq!(documents[0], documents[2]);
        assert_eq!(lines[1], 0, "compact is one line");
        assert!(lines[0] > 0 && lines[0] < lines[2], "rows: {lines:?}");
    }

    #[test]
    fn a_file_is_complete_and_its_temporary_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "old").unwrap();
        write_file_as(&snapshot(), &path, Layout::Compact).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["threads"][0]["frames"][0]["symbol"], "main");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("s.json")]);
    }
}
