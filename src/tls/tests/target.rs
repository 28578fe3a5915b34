//! Compiling C programs into a temporary directory, running them until they print `ready`, and
//! looking at them from outside (their objects, their TLS symbols).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use object::{Object as _, ObjectSymbol as _};

use crate::debuginfo::{read_maps, LoadedObject, ProcessObjects};
use crate::tracer::ProcessMemory;

/// How long a target may take to print `ready`.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `cc` with `args`; panics with its messages when it fails.
pub(super) fn cc(args: &[&str]) {
    let output = Command::new("cc").args(args).output().expect("cc runs");
    assert!(
        output.status.success(),
        "cc {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running target; killed and reaped when dropped.
pub(super) struct Target {
    child: Child,
    /// What it printed up to and including `ready`.
    pub(super) lines: Vec<String>,
}

impl Target {
    /// Starts `program args...` and waits until it prints `ready`.
    pub(super) fn start(program: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("target starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let ready = line == "ready";
                if sender.send(line).is_err() || ready {
                    break;
                }
            }
        });
        let mut target = Self {
            child,
            lines: Vec::new(),
        };
        loop {
            match receiver.recv_timeout(PATIENCE) {
                Ok(line) if line == "ready" => return target,
                Ok(line) => target.lines.push(line),
                Err(_) => panic!(
                    "{} never printed ready (got {:?})",
                    program.display(),
                    target.lines
                ),
            }
        }
    }

    /// Its pid.
    pub(super) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its live memory.
    pub(super) fn memory(&self) -> ProcessMemory {
        ProcessMemory::new(self.pid())
    }

    /// Its mapped objects, loaded as a snapshot would (while it runs).
    pub(super) fn objects(&self) -> ProcessObjects {
        let maps = read_maps(self.pid()).expect("target maps");
        ProcessObjects::load(&maps, &self.memory()).expect("objects load")
    }

    /// The values printed on lines `KEY NAME VALUE` (e.g. `thread 3 1234`): `(NAME, VALUE)`.
    pub(super) fn printed(&self, key: &str) -> Vec<(String, i64)> {
        self.lines
            .iter()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                (fields.next()? == key).then_some(())?;
                Some((fields.next()?.to_string(), fields.next()?.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The loaded object whose path ends with `/file_name`.
pub(super) fn object_named<'a>(objects: &'a ProcessObjects, file_name: &str) -> &'a LoadedObject {
    objects
        .objects()
        .iter()
        .find(|o| Path::new(&o.path).file_name().is_some_and(|n| n == file_name))
        .unwrap_or_else(|| panic!("{file_name} is not loaded"))
}

/// The `st_value` of the TLS symbol `name` in the ELF file `path`: the variable's offset in its
/// module's TLS block (what `DW_OP_const8u; DW_OP_form_tls_address` adds to the block).
pub(super) fn tls_symbol_offset(path: &Path, name: &str) -> u64 {
    let bytes = std::fs::read(path).expect("object file");
    let file = object::File::parse(&*bytes).expect("ELF");
    let symbol = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("{name} not in {}", path.display()));
    assert_eq!(symbol.kind(), object::SymbolKind::Tls, "{name} is a TLS symbol");
    symbol.address()
}
