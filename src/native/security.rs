//! Running as root, a module file (or its directory) that another user could have written is
//! refused: `sudo ptrace` must not run code anyone could have planted.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Group- and other-write permission bits.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// Checks `path` and its directory for `euid`: when `euid` is 0 (root), each must be owned by
/// root or by the file's owner... and writable by nobody else. Returns the reason of a refusal.
pub fn check_ownership(path: &Path, euid: u32) -> Result<(), String> {
    if euid != 0 {
        return Ok(());
    }
    let file = std::fs::metadata(path).map_err(|e| format!("cannot inspect the file: {e}"))?;
    let owner = file.uid();
    let directory = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(".").to_path_buf());
    let dir = std::fs::metadata(&directory)
        .map_err(|e| format!("cannot inspect the directory {}: {e}", directory.display()))?;
    for (what, meta, shown) in [
        ("file", &file, path.display().to_string()),
        ("directory", &dir, directory.display().to_string()),
    ] {
        if meta.mode() & WRITABLE_BY_OTHERS != 0 {
            return Err(format!(
                "refused when running as root: the {what} {shown} is writable by group or others \
                 (mode {:o}); use --allow-insecure-modules to load it anyway",
                meta.mode() & 0o7777
            ));
        }
        if meta.uid() != 0 && meta.uid() != owner {
            return Err(format!(
                "refused when running as root: the {what} {shown} belongs to uid {}, neither root \
                 nor the module's owner; use --allow-insecure-modules to load it anyway",
                meta.uid()
            ));
        }
    }
    Ok(())
}
