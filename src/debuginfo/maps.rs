//! `/proc/PID/maps`: the memory mappings of a process.

use super::DebugInfoError;

/// The suffix the kernel appends to the path of a mapped file that was unlinked.
const DELETED_SUFFIX: &str = " (deleted)";

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address of the mapping.
    pub end: u64,
    /// Mapped readable (`r`).
    pub readable: bool,
    /// Mapped writable (`w`).
    pub writable: bool,
    /// Mapped executable (`x`).
    pub executable: bool,
    /// Offset in the mapped file of `start`.
    pub offset: u64,
    /// Device of the mapped file, as the kernel numbers it (`major:minor`; `0:0` for anonymous
    /// mappings).
    pub device: (u32, u32),
    /// Inode of the mapped file (0 for anonymous mappings).
    pub inode: u64,
    /// What is mapped, as the kernel prints it: `"/usr/lib/..."` (with a `" (deleted)"` suffix
    /// when the file was unlinked), `"[vdso]"`, `"[stack]"`, ...; `None` for anonymous memory.
    pub path: Option<String>,
}

impl MapEntry {
    /// Whether this maps a file (its path is absolute), deleted or not.
    pub fn is_file(&self) -> bool {
        self.path.as_deref().is_some_and(|p| p.starts_with('/'))
    }

    /// Whether the mapped file was unlinked after it was mapped.
    pub fn is_deleted(&self) -> bool {
        self.is_file() && self.path.as_deref().is_some_and(|p| p.ends_with(DELETED_SUFFIX))
    }

    /// The mapped file's path without the kernel's `" (deleted)"` suffix; `None` when this is not
    /// a file mapping.
    pub fn file_path(&self) -> Option<&str> {
        let path = self.path.as_deref().filter(|p| p.starts_with('/'))?;
        Some(path.strip_suffix(DELETED_SUFFIX).unwrap_or(path))
    }

    /// Whether `address` lies inside the mapping.
    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end).contains(&address)
    }
}

/// Reads and parses `/proc/PID/maps`. Needs no stop of the process.
pub fn read_maps(pid: i32) -> Result<Vec<MapEntry>, DebugInfoError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|source| DebugInfoError::Maps { pid, source })?;
    parse_maps(pid, &text)
}

/// Parses the text of a maps file (`pid` only names the process in errors).
pub fn parse_maps(pid: i32, text: &str) -> Result<Vec<MapEntry>, DebugInfoError> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            parse_maps_line(line).map_err(|what| DebugInfoError::MapsFormat {
                pid,
                line: line.to_string(),
                what,
            })
        })
        .collect()
}

/// Splits off the first whitespace-separated field of `text`: `(field, rest)`.
fn next_field(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches(' ');
    if text.is_empty() {
        return None;
    }
    Some(text.split_once(' ').unwrap_or((text, "")))
}

/// Parses one maps line: `start-end perms offset major:minor inode [path]`.
fn parse_maps_line(line: &str) -> Result<MapEntry, &'static str> {
    let (range, rest) = next_field(line).ok_or("missing address range")?;
    let (perms, rest) = next_field(rest).ok_or("missing permissions")?;
    let (offset, rest) = next_field(rest).ok_or("missing offset")?;
    let (device, rest) = next_field(rest).ok_or("missing device")?;
    let (inode, rest) = next_field(rest).ok_or("missing inode")?;

    let (start, end) = range.split_once('-').ok_or("address range without '-'")?;
    let start = u64::from_str_radix(start, 16).map_err(|_| "bad start address")?;
    let end = u64::from_str_radix(end, 16).map_err(|_| "bad end address")?;
    if end < start {
        return Err("end address below start");
    }
    let perms = perms.as_bytes();
    if perms.len() < 3 {
        return Err("permissions too short");
    }
    let offset = u64::from_str_radix(offset, 16).map_err(|_| "bad offset")?;
    let inode = inode.parse::<u64>().map_err(|_| "bad inode")?;
    let (major, minor) = device.split_once(':').ok_or("device without ':'")?;
    let device = (
        u32::from_str_radix(major, 16).map_err(|_| "bad device major")?,
        u32::from_str_radix(minor, 16).map_err(|_| "bad device minor")?,
    );
    // The path is the rest of the line after the padding; it may itself contain spaces.
    let path = rest.trim_start_matches(' ');
    Ok(MapEntry {
        start,
        end,
        readable: perms.first() == Some(&b'r'),
        writable: perms.get(1) == Some(&b'w'),
        executable: perms.get(2) == Some(&b'x'),
        offset,
        device,
        inode,
        path: (!path.is_empty()).then(|| path.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lines() {
        let text = "\
5627c99de000-5627c99e0000 r--p 00000000 fe:00 247030                     /usr/bin/cat
5627c99e0000-5627c99e5000 r-xp 00002000 fe:00 247030                     /usr/bin/cat
7ffd1a5f2000-7ffd1a613000 rw-p 00000000 00:00 0                          [stack]
7f0000000000-7f0000001000 rw-p 00000000 00:00 0
7f0000001000-7f0000002000 r-xp 00001000 08:01 42                         /tmp/a dir/prog with space (deleted)
";
        let maps = parse_maps(1, text).unwrap();
        assert_eq!(maps.len(), 5);
        assert_eq!(maps[1].start, 0x5627c99e0000);
        assert_eq!(maps[1].end, 0x5627c99e5000);
        assert!(maps[1].readable && !maps[1].writable && maps[1].executable);
        assert_eq!(maps[1].offset, 0x2000);
        assert_eq!(maps[1].inode, 247030);
        assert_eq!(maps[1].device, (0xfe, 0));
        assert_eq!(maps[4].device, (8, 1));
        assert_eq!(maps[1].file_path(), Some("/usr/bin/cat"));
        assert_eq!(maps[2].path.as_deref(), Some("[stack]"));
        assert!(!maps[2].is_file());
        assert_eq!(maps[3].path, None);
        assert!(maps[4].is_deleted());
        assert_eq!(maps[4].file_path(), Some("/tmp/a dir/prog with space"));
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "zzzz-1000 r-xp 0 00:00 0",
            "1000 r-xp 0 00:00 0",
            "2000-1000 r-xp 0 00:00 0",
            "1000-2000 r-xp 0 00:00",
        ] {
            assert!(parse_maps(7, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_own_maps() {
        let maps = read_maps(std::process::id() as i32).unwrap();
        let here = parses_kernel_lines as fn() as usize as u64;
        let entry = maps
            .iter()
            .find(|m| m.contains(here))
            .expect("code address is mapped");
        assert!(entry.executable && entry.is_file());
        assert!(matches!(read_maps(-5), Err(DebugInfoError::Maps { pid: -5, .. })));
    }
}
