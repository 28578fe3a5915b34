//! Writing a snapshot as a JSON file: the default file name and an atomic write.

use super::model::Snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default file name of a snapshot: `<application>.<pid>.<unix-time>.json`.
pub fn default_file_name(snapshot: &Snapshot) -> String {
    let app: String = snapshot
        .application
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    format!("{app}.{}.{}.json", snapshot.pid, snapshot.timestamp)
}

/// The snapshot as JSON text.
pub fn to_json(snapshot: &Snapshot) -> String {
    // Serialising our own model cannot fail: every map key is a string and no value is a
    // non-finite float written by us (floats come from target memory later; serde_json writes
    // them as null).
    serde_json::to_string_pretty(snapshot).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes `snapshot` to `path` atomically (a temporary file in the same directory, then a
/// rename), so readers never see half a snapshot.
pub fn write_file(snapshot: &Snapshot, path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(to_json(snapshot).as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
