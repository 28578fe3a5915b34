//! `ptrace dump FILE`: the readable dump of a saved snapshot, as `--pretty-print` prints it when
//! the snapshot is taken (`--dump-all`: everything, every thread).

use std::io::Write;
use std::path::Path;

use crate::snapshot::text::{self, DumpOptions};
use crate::snapshot::{Snapshot, FORMAT_NAME, FORMAT_VERSION};

/// What identifies a snapshot document, read before the whole of it.
#[derive(serde::Deserialize)]
struct Identity {
    format: Option<String>,
    version: Option<u64>,
}

/// Prints the dump of the snapshot saved in `file` on stdout. `Err`: one line saying why the
/// file is not a snapshot this build reads (unreadable, not JSON, truncated, another format, a
/// newer version).
pub fn dump_file(file: &Path, options: &DumpOptions) -> Result<u8, String> {
    let snapshot = read(file)?;
    let dump = text::render_with(&snapshot, options);
    match std::io::stdout().lock().write_all(dump.as_bytes()) {
        // A reader that stopped early (`| head`) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write the dump: {e}")),
        _ => Ok(0),
    }
}

/// The snapshot saved in `file`, checked: its `format` and a `version` this build knows.
pub fn read(file: &Path) -> Result<Snapshot, String> {
    let name = file.display();
    let bytes = std::fs::read(file).map_err(|e| format!("{name}: cannot be read: {e}"))?;
    let syntax = |e: serde_json::Error| {
        if e.is_eof() {
            format!("{name}: truncated: the JSON ends early ({e})")
        } else {
            format!("{name}: not a ptrace snapshot: {e}")
        }
    };
    // One parse of the whole document when it is a snapshot (a 30 MB one takes a third of a
    // second); only a document that does not parse is read again for what identifies it, so
    // that another format or a newer version is said as such.
    let parsed: Result<Snapshot, _> = serde_json::from_slice(&bytes);
    let identity = match &parsed {
        Ok(snapshot) => Identity {
            format: Some(snapshot.format.clone()),
            version: Some(u64::from(snapshot.version)),
        },
        Err(_) => serde_json::from_slice(&bytes).map_err(syntax)?,
    };
    if identity.format.as_deref() != Some(FORMAT_NAME) {
        return Err(format!(
            "{name}: not a ptrace snapshot (its \"format\" is not \"{FORMAT_NAME}\")"
        ));
    }
    match identity.version {
        Some(version) if version > u64::from(FORMAT_VERSION) => {
            return Err(format!(
                "{name}: snapshot version {version} is newer than this ptrace reads \
                 (version {FORMAT_VERSION}); use a newer ptrace"
            ))
        }
        Some(_) => {}
        None => return Err(format!("{name}: not a ptrace snapshot (no \"version\")")),
    }
    parsed.map_err(|e| format!("{name}: not a ptrace snapshot: {e}"))
}
