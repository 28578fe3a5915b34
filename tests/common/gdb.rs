//! gdb as an oracle for variable values: run it on a live process, parse every thread's
//! `bt full` into frames with typed values, and compare those with a snapshot's frames.
//!
//! gdb is run as
//! `gdb -nx -batch -p PID` + [`GDB_SETTINGS`] + `thread apply all bt full`, with `LC_ALL=C`.
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

use std::collections::HashMap;
use std::io::Read;
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

/// Runs gdb on the live process `pid` and returns what it printed on stdout. gdb stops the
/// process while it reads it and detaches when done.
pub fn run_gdb_backtraces(pid: i32) -> Result<String, GdbError> {
    run_gdb(pid, gdb_command(pid))
}

/// Runs `command` (gdb on `pid`, as [`gdb_command_running`] makes it) and returns its stdout,
/// which must name at least one thread.
fn run_gdb(pid: i32, mut command: Command) -> Result<String, GdbError> {
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
        return Err(GdbError::NoThreads {
            pid,
            status,
            stderr: errors,
        });
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
    let text =
        run_gdb(pid, gdb_command_running(pid, &commands)).unwrap_or_else(|e| panic!("gdb on {pid}: {e}"));
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
