//! Every input of the committed fuzz corpus (`fuzz/corpus/<target>/`) and every input that once
//! crashed or hung a target (`fuzz/regressions/<target>/`) replayed through the same entry
//! points the fuzzers run: none may panic, and none may take longer than a generous bound (an
//! input that hangs fails the test, naming it).

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longer than any input takes even in a debug build: only a hang gets there.
const PER_INPUT: Duration = Duration::from_secs(20);

/// A fuzz entry point.
type Entry = fn(&[u8]) -> ptrace::fuzzing::Reached;

/// The fuzz targets, by the name of their directories.
const TARGETS: [(&str, Entry); 4] = [
    ("elf", ptrace::fuzzing::elf),
    ("dwarf", ptrace::fuzzing::dwarf),
    ("cfi", ptrace::fuzzing::cfi),
    ("snapshot_json", ptrace::fuzzing::snapshot_json),
];

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the directory does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `entry` over `input` on a thread of its own: `Err` with what went wrong when it panics
/// or runs past `limit` (the thread is then left behind; the test fails anyway).
fn replay(entry: Entry, input: &Path, limit: Duration) -> Result<Duration, String> {
    let bytes = std::fs::read(input).map_err(|e| format!("cannot read it: {e}"))?;
    let (done, finished) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            entry(&bytes);
        });
        let _ = done.send(outcome.is_ok());
    });
    match finished.recv_timeout(limit) {
        Ok(true) => Ok(started.elapsed()),
        Ok(false) => Err("it panicked".to_string()),
        Err(_) => Err(format!("it ran longer than {limit:?}")),
    }
}

/// Replays the corpus or regressions of every target, each target having `min_inputs` at least;
/// returns how many inputs were replayed.
fn replay_all(kind: &str, min_inputs: usize) -> usize {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, entry) in TARGETS {
        let files = inputs(kind, target);
        assert!(
            files.len() >= min_inputs,
            "fuzz/{kind}/{target} has {} inputs, expected at least {min_inputs}",
            files.len()
        );
        for file in files {
            replayed += 1;
            if let Err(why) = replay(entry, &file, PER_INPUT) {
                failures.push(format!("{target} {}: {why}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    replayed
}

#[test]
fn the_corpus_replays_without_panic_or_hang() {
    replay_all("corpus", 3);
}

#[test]
fn the_inputs_that_once_failed_replay_without_panic_or_hang() {
    // Not every target has had a failure, but the regressions are found where they should be.
    assert!(replay_all("regressions", 0) >= 6);
}

#[test]
fn a_hanging_or_panicking_input_is_caught() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let panics = replay(|_| panic!("on purpose"), &input, PER_INPUT);
    assert_eq!(panics, Err("it panicked".to_string()));
    let hangs = replay(
        |_| {
            std::thread::sleep(Duration::from_secs(3));
            Default::default()
        },
        &input,
        Duration::from_millis(300),
    );
    assert!(hangs.is_err_and(|why| why.starts_with("it ran longer")));
    assert!(replay(|_| Default::default(), &input, PER_INPUT).is_ok());
}
