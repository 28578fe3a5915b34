//! gdb as an oracle for variable values: run it on a live process or a core file, parse every
//! thread's `bt full` into frames with typed values, and compare those with a snapshot's frames.
//!
//! gdb is run as
//! `gdb -nx -batch -p PID` (or `-c CORE EXE`) + [`GDB_SETTINGS`] + `thread apply all bt full`,
//! with `LC_ALL=C`.
//! Why `bt full` rather than `info args` / `info locals` per frame: one command covers every
//! thread and frame, it lists the locals of every nested block, and its frame lines carry the
//! parameters' entry values (`n=n@entry=5`), which `info args` does not print; the price is
//! reading arguments inline from the frame line (see [`backtrace`]). The settings make the
//! output deterministic and complete:
//! - `disable pretty-printer`: the libstdc++ printers are auto-loaded from
//!   /usr/share/gdb/auto-load even with `-nx` (they show `std::vector of length 2, capacity 2 =
//!   {...}`); disabled, gdb prints the raw structure the DWARF describes, which is what a
//!   snapshot holds, so the comparison is member by member;
//! - `set print frame-arguments all`: aggregates in frame lines in full, not `...`;
//! - `set print static-members off`: a static member is not part of the object;
//! - `set print pretty off`, `set width 0`: one line per variable;
//! - `set print entry-values default`, `set print object off`, repeats 10, elements 200:
//!   gdb's defaults, spelled out.

pub mod backtrace;
pub mod compare;
pub mod value;

// Not every test binary that includes `common` uses the oracle.
#[allow(unused_imports)]
pub use backtrace::{parse_backtraces, parse_frame_line, thread_header, GdbFrame};
#[allow(unused_imports)]
pub use compare::{
    align_frames, compare_entry_values, compare_thread_with_snapshot, compare_with_snapshot, pair_variables,
    same_function, PairedVariable, Tally,
};
#[allow(unused_imports)]
pub use value::{GdbField, GdbFieldName, GdbPointer, GdbValue, ValueParseError};

use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The commands run before the backtrace (each passed with `-ex`).
pub const GDB_SETTINGS: &[&str] = &[
    "set pagination off",
    "set width 0",
    "set print pretty off",
    "set backtrace past-main on",
    "set print frame-arguments all",
    "set print entry-values default",
    "set print static-members off",
    "set print object off",
    "set print repeats 10",
    "set print elements 200",
    "disable pretty-printer",
];

/// How long gdb may take before it is killed.
const GDB_TIMEOUT: Duration = Duration::from_secs(120);

/// Why gdb's backtrace could not be had.
#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    /// gdb could not be started.
    #[error("cannot run gdb: {0}")]
    Spawn(#[source] std::io::Error),
    /// gdb did not finish in time (it was killed).
    #[error("gdb did not finish within {0:?}")]
    TimedOut(Duration),
    /// gdb printed no thread: it could not attach, or the process is gone.
    #[error("gdb printed no thread for pid {pid} (status {status}); stderr: {stderr}")]
    NoThreads {
        /// The process gdb was pointed at.
        pid: i32,
        /// gdb's exit status.
        status: std::process::ExitStatus,
        /// What gdb printed on stderr.
        stderr: String,
    },
    /// gdb printed no thread of a core file: it could not read it.
    #[error("gdb printed no thread for core {core} (status {status}); stderr: {stderr}")]
    NoCoreThreads {
        /// The core file gdb was pointed at.
        core: String,
        /// gdb's exit status.
        status: std::process::ExitStatus,
        /// What gdb printed on stderr.
        stderr: String,
    },
}

/// The gdb command line for `pid` (see the module doc).
pub fn gdb_command(pid: i32) -> Command {
    gdb_command_running(pid, &["thread apply all bt full"])
}

/// gdb on `pid` with [`GDB_SETTINGS`], then `commands` (each passed with `-ex`).
pub fn gdb_command_running(pid: i32, commands: &[&str]) -> Command {
    let mut command = Command::new("gdb");
    command
        .env("LC_ALL", "C")
        .args(["-nx", "-batch", "-iex", "set debuginfod enabled off"])
        .args(["-p", &pid.to_string()]);
    for setting in GDB_SETTINGS.iter().chain(commands) {
        command.args(["-ex", setting]);
    }
    command
}

/// The gdb command line for the core file `core` of a process that ran `exe`: `gdb -nx -batch
/// -c CORE EXE` with [`GDB_SETTINGS`] (as [`gdb_command`] has them), then `commands`.
pub fn gdb_core_command(core: &Path, exe: &Path, commands: &[&str]) -> Command {
    let mut command = Command::new("gdb");
    command
        .env("LC_ALL", "C")
        .args(["-nx", "-batch", "-iex", "set debuginfod enabled off"])
        .arg("-c")
        .arg(core)
        .arg(exe);
    for setting in GDB_SETTINGS.iter().chain(commands) {
        command.args(["-ex", setting]);
    }
    command
}

/// Runs gdb on the live process `pid` and returns what it printed on stdout. gdb stops the
/// process while it reads it and detaches when done.
pub fn run_gdb_backtraces(pid: i32) -> Result<String, GdbError> {
    run_gdb(gdb_command(pid), |status, stderr| GdbError::NoThreads {
        pid,
        status,
        stderr,
    })
}

/// Runs gdb on the core file `core` of a process that ran `exe` (`thread apply all bt full`, see
/// [`gdb_core_command`]) and returns what it printed on stdout.
pub fn run_gdb_core_backtraces(core: &Path, exe: &Path) -> Result<String, GdbError> {
    let command = gdb_core_command(core, exe, &["thread apply all bt full"]);
    run_gdb(command, |status, stderr| GdbError::NoCoreThreads {
        core: core.display().to_string(),
        status,
        stderr,
    })
}

/// Every thread's frames with their arguments and locals as gdb reads them from the core file
/// `core` of a process that ran `exe`, keyed by thread id. Panics (it is a test helper) when gdb
/// cannot be run or reads no thread.
pub fn gdb_core_frames_with_variables(core: &Path, exe: &Path) -> HashMap<i32, Vec<GdbFrame>> {
    let text =
        run_gdb_core_backtraces(core, exe).unwrap_or_else(|e| panic!("gdb on {}: {e}", core.display()));
    parse_backtraces(&text)
}

/// Runs `command` (gdb, as [`gdb_command_running`] or [`gdb_core_command`] makes it) and returns
/// its stdout, which must name at least one thread (else the error `no_threads` makes of gdb's
/// exit status and stderr).
fn run_gdb(
    mut command: Command,
    no_threads: impl FnOnce(std::process::ExitStatus, String) -> GdbError,
) -> Result<String, GdbError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GdbError::Spawn)?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + GDB_TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(GdbError::Spawn)? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GdbError::TimedOut(GDB_TIMEOUT));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let text = out_reader.join().unwrap_or_default();
    let errors = err_reader.join().unwrap_or_default();
    if !text.lines().any(|l| l.starts_with("Thread ")) {
        return Err(no_threads(status, errors));
    }
    Ok(text)
}

/// The values of `expressions` in every thread as gdb prints them (`thread apply all print
/// EXPR`, one command per expression), keyed by thread id: per thread, (expression, value) in
/// the order of `expressions`. Thread-local variables print each thread's own value. Panics (it
/// is a test helper) when gdb cannot be run or cannot attach.
pub fn gdb_thread_prints(pid: i32, expressions: &[&str]) -> HashMap<i32, Vec<(String, GdbValue)>> {
    let commands: Vec<String> = expressions
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            [
                format!("echo {PRINT_MARKER}{i}\\n"),
                format!("thread apply all print {e}"),
            ]
        })
        .collect();
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let no_threads = |status, stderr| GdbError::NoThreads { pid, status, stderr };
    let text = run_gdb(gdb_command_running(pid, &commands), no_threads)
        .unwrap_or_else(|e| panic!("gdb on {pid}: {e}"));
    let mut printed: HashMap<i32, Vec<(String, GdbValue)>> = HashMap::new();
    let mut expression = None;
    let mut thread = None;
    for line in text.lines() {
        if let Some(index) = line.strip_prefix(PRINT_MARKER) {
            expression = index
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|i| expressions.get(i));
            thread = None;
        } else if let Some(tid) = thread_header(line) {
            thread = Some(tid);
        } else if let (Some(expression), Some(tid), Some(rest)) = (expression, thread, line.strip_prefix('$'))
        {
            if let Some((_, value)) = rest.split_once(" = ") {
                printed
                    .entry(tid)
                    .or_default()
                    .push((expression.to_string(), GdbValue::parse_lenient(value)));
            }
        }
    }
    printed
}

/// The line [`gdb_thread_prints`] echoes before each expression's values (then its index).
const PRINT_MARKER: &str = "@@print ";

/// Every thread's frames with their arguments and locals as gdb sees them, keyed by thread id.
/// Panics (it is a test helper) when gdb cannot be run or cannot attach.
pub fn gdb_frames_with_variables(pid: i32) -> HashMap<i32, Vec<GdbFrame>> {
    let text = run_gdb_backtraces(pid).unwrap_or_else(|e| panic!("gdb on {pid}: {e}"));
    parse_backtraces(&text)
}

/// Compares every thread of `snap` with what gdb shows of the same process or core (`gdb`, as
/// [`parse_backtraces`] reads `thread apply all bt full` with [`GDB_SETTINGS`]): the same
/// threads; for every frame gdb prints, every variable it lists is here (its `<optimized out>`
/// ones too), those it prints with a value have the same value here, none it calls `<optimized
/// out>` has one here, every entry value it prints (`n@entry=5`) is the parameter's
/// `entry_value` here and no other parameter has one, every pointee it names (`<hang_lock>`) is
/// the `target_symbol` here, and there is no variable here that gdb does not list (see
/// [`compare`]). Returns how many of gdb's variables (with a value, or optimized out) were
/// checked; `what` names the target in what is printed.
pub fn assert_snapshot_matches_gdb(snap: &Value, gdb: &HashMap<i32, Vec<GdbFrame>>, what: &str) -> usize {
    let threads = snap["threads"].as_array().expect("threads");
    let mut ours: Vec<i64> = threads.iter().map(|t| t["tid"].as_i64().unwrap()).collect();
    let mut theirs: Vec<i64> = gdb.keys().map(|&tid| i64::from(tid)).collect();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs, "the same threads");
    let mut mismatches = Vec::new();
    let mut checked = 0;
    let mut tally = Tally::default();
    for thread in threads {
        let tid = thread["tid"].as_i64().unwrap() as i32;
        let frames = &gdb[&tid];
        tally.add_thread(frames, thread);
        mismatches.extend(
            compare_thread_with_snapshot(frames, thread)
                .into_iter()
                .map(|m| format!("thread {tid}: {m}")),
        );
        let pairs = align_frames(frames, thread["frames"].as_array().unwrap());
        for (g, _) in pairs {
            let frame = &frames[g];
            checked += frame
                .args
                .iter()
                .chain(&frame.locals)
                .filter(|(_, v)| v.has_value() || *v == GdbValue::OptimizedOut)
                .count();
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} differences with gdb:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    println!("{what} against gdb:\n{tally}");
    assert_eq!(
        tally.frames_found, tally.gdb_frames,
        "every frame gdb prints\n{tally}"
    );
    assert_eq!(
        tally.listed_found, tally.listed,
        "every variable gdb lists\n{tally}"
    );
    assert_eq!(
        tally.pointer_symbols_equal,
        tally.pointer_symbols,
        "every pointee gdb names:\n{}",
        tally.differences.join("\n")
    );
    checked
}
