//! Building and running the `stackdump` fixture (tests/fixtures/unwind/stackdump.c), and reading
//! the registers, return addresses, memory and maps it dumps.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::arch::RegisterSet;
use crate::memory::MemorySnapshot;

/// The fixture's source file.
pub(super) const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/unwind/stackdump.c");

/// Registers the fixture captures, with their DWARF numbers.
const CAPTURED_REGISTERS: [(&str, u16); 8] = [
    ("rip", 16),
    ("rsp", 7),
    ("rbp", 6),
    ("rbx", 3),
    ("r12", 12),
    ("r13", 13),
    ("r14", 14),
    ("r15", 15),
];

/// A compiled fixture in its own temporary directory.
pub(super) struct Fixture {
    /// Keeps the directory alive.
    dir: tempfile::TempDir,
    /// The executable.
    pub exe: PathBuf,
}

impl Fixture {
    /// Compiles the fixture with `cc` and the extra `flags`.
    pub fn build(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let exe = dir.path().join("stackdump");
        let output = Command::new("cc")
            .args(["-Wall", "-Wextra", "-Werror"])
            .args(flags)
            .arg("-o")
            .arg(&exe)
            .arg(SOURCE)
            .output()
            .expect("run cc");
        assert!(
            output.status.success(),
            "cc {flags:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { dir, exe }
    }

    /// A fresh output directory for one run.
    pub fn output_dir(&self, mode: &str) -> PathBuf {
        let out = self.dir.path().join(format!("out-{mode}"));
        std::fs::create_dir_all(&out).expect("create the output directory");
        out
    }

    /// Runs the fixture in `mode` and reads its dump.
    pub fn run(&self, mode: &str) -> Dump {
        let out = self.output_dir(mode);
        let status = Command::new(&self.exe)
            .arg(mode)
            .arg(&out)
            .status()
            .expect("run the fixture");
        assert!(status.success(), "fixture {mode} exited with {status}");
        Dump::read(&out, &self.exe)
    }
}

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug)]
pub(super) struct MapEntry {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Permissions, e.g. `r-xp`.
    pub perms: String,
    /// File offset of the start.
    pub offset: u64,
    /// The mapped file, when the mapping has one.
    pub path: Option<PathBuf>,
}

/// What the fixture dumped.
pub(super) struct Dump {
    /// Every `name 0xVALUE` line of regs.txt.
    pub values: HashMap<String, u64>,
    /// The copied memory regions.
    pub memory: Vec<MemorySnapshot>,
    /// The process's mappings.
    pub maps: Vec<MapEntry>,
    /// The fixture executable.
    pub exe: PathBuf,
}

impl Dump {
    /// Reads the dump written into `dir`.
    pub fn read(dir: &Path, exe: &Path) -> Self {
        let text = std::fs::read_to_string(dir.join("regs.txt")).expect("read regs.txt");
        let mut values = HashMap::new();
        let mut memory = Vec::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["mem", base, _len, file] => {
                    let bytes = std::fs::read(dir.join(file)).expect("read a memory copy");
                    memory.push(MemorySnapshot {
                        base: hex(base),
                        bytes,
                    });
                }
                [name, value] => {
                    values.insert(name.to_string(), hex(value));
                }
                _ => panic!("unexpected line in regs.txt: {line}"),
            }
        }
        let maps_text = std::fs::read_to_string(dir.join("maps.txt")).expect("read maps.txt");
        Self {
            values,
            memory,
            maps: parse_maps(&maps_text),
            exe: exe.to_path_buf(),
        }
    }

    /// The dumped value called `name`.
    pub fn value(&self, name: &str) -> u64 {
        *self
            .values
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the dump"))
    }

    /// The captured registers (others unknown).
    pub fn registers(&self) -> RegisterSet {
        let mut regs = RegisterSet::new();
        for (name, reg) in CAPTURED_REGISTERS {
            regs.set(reg, Some(self.value(name)));
        }
        regs
    }

    /// The return address each recursion level recorded, level 0 (deepest) first; the last one
    /// returns into main.
    pub fn level_returns(&self) -> Vec<u64> {
        (0..=self.value("depth"))
            .map(|n| self.value(&format!("level_return_{n}")))
            .collect()
    }
}

/// Parses `0x`-prefixed hexadecimal.
fn hex(text: &str) -> u64 {
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("hexadecimal number")
}

/// Parses the text of `/proc/PID/maps`.
pub(super) fn parse_maps(text: &str) -> Vec<MapEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let perms = fields.next()?.to_string();
            let offset = fields.next()?;
            let _device = fields.next()?;
            let _inode = fields.next()?;
            let path = fields.next().filter(|p| p.starts_with('/')).map(PathBuf::from);
            Some(MapEntry {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                perms,
                offset: u64::from_str_radix(offset, 16).ok()?,
                path,
            })
        })
        .collect()
}
