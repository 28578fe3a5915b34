//! The `ptrace` command-line tool: a thin layer over the library. It parses options, checks
//! where the snapshot will go before touching the target, wires SIGINT/SIGTERM/SIGHUP to the
//! session's abort flag (the library detaches the target; the writer stops and removes what it
//! began; ptrace exits with 128 + the signal), runs the snapshot and writes it, printing the
//! file's path on stdout.
//!
//! It lives in the library so that both executables run the same code: cargo's `ptrace`
//! (`src/main.rs`, the engine linked in) and the installed `bin/ptrace`, a launcher linked
//! against `libptrace.so.0` that calls `ptrace_cli_main` (see [`crate::embed::cli`]), so that the
//! installed CLI and the native modules it loads share the one engine of that library.

use crate::abort::AbortFlag;
use crate::lua::LuaOptions;
use crate::pmodule::ModuleOptions;
use crate::session::named::parse_kv;
use crate::session::{ExecResult, ModuleSettings, Session, SessionError, SessionOptions};
use crate::snapshot::layout::Layout;
use crate::snapshot::output::{Destination, FileMode, OutputRequest, WriteOptions};
use crate::snapshot::{self, Snapshot};
use crate::tracer::{self, ChildEnd, TracerError};
mod backends;
mod completions;
mod dump;
mod man;

use backends::{BackendArgs, Format};
use clap::{CommandFactory, Parser};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Snapshot a running process, a program when it crashes, or a core file: every thread, frame
/// and variable, written as JSON.
///
/// `ptrace PID` stops every thread of the process for a few milliseconds (at most --max-stop-ms),
/// copies their registers and stacks, resumes the process untouched, then unwinds with the DWARF
/// of its objects, reads the variables and writes the snapshot, printing the file's path on
/// standard output. `ptrace --exec -- PROGRAM [ARGS...]` runs PROGRAM traced and snapshots it
/// when a thread gets a fatal signal, then exits as the program did. `ptrace --core CORE [EXE]`
/// snapshots a core file. Modules (Lua `*.lua` files, or native `*.so` built against pmodule.h)
/// pretty-print, classify and annotate the snapshot while it is taken.
#[derive(Parser, Debug)]
#[command(
    name = "ptrace",
    version,
    about,
    override_usage = "ptrace [OPTIONS] PID\n       \
                      ptrace [OPTIONS] --exec -- PROGRAM [ARGS...]\n       \
                      ptrace [OPTIONS] --core CORE [EXE]\n       \
                      ptrace COMMAND [ARGS...]",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// What else ptrace does than snapshot a process.
    #[command(subcommand)]
    action: Option<Action>,

    /// The process to snapshot.
    #[arg(
        required_unless_present_any = ["exec", "core"],
        conflicts_with_all = ["exec", "core"],
        allow_negative_numbers = true
    )]
    pid: Option<i32>,

    /// Snapshot the core file CORE (`-`: read from standard input, as the kernel pipes a core to
    /// a core_pattern handler) of a process that ran EXE (default: the executable the core
    /// names). Nothing is stopped; modules run as on a live process.
    #[arg(long, num_args = 1..=2, value_names = ["CORE", "EXE"], conflicts_with = "exec")]
    core: Vec<PathBuf>,

    /// With `--core -`: the folder where the core read from standard input is kept while it is
    /// read (removed afterwards; default: $TMPDIR, else /tmp).
    #[arg(long = "spool-dir", value_name = "DIR", requires = "core")]
    spool_dir: Option<PathBuf>,

    /// Run PROGRAM (after `--`) traced and snapshot it when a thread gets a fatal signal
    /// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS).
    #[arg(long, requires = "command")]
    exec: bool,

    /// The program and its arguments, for --exec.
    #[arg(last = true, value_name = "PROGRAM [ARGS...]")]
    command: Vec<OsString>,

    /// Write the snapshot to FILE (`-`: standard output, and no path is printed). A FIFO,
    /// character device or Unix socket is written into; a symbolic link's file is replaced;
    /// a regular file is replaced atomically.
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "output_dir")]
    output: Option<PathBuf>,

    /// Write the snapshot into DIR as <application>.<pid>.<unix-time>.json (default: .); an
    /// existing file is never replaced (`-2`, `-3` ... is added before `.json`).
    #[arg(short = 'O', long = "output-dir", value_name = "DIR")]
    output_dir: Option<PathBuf>,

    /// The permissions of the snapshot files created, in octal, whatever the umask (a snapshot
    /// holds the target's memory: owner-only by default).
    #[arg(long = "file-mode", value_name = "MODE", default_value_t = FileMode::OWNER_ONLY)]
    file_mode: FileMode,

    /// How the JSON file is laid out. rows: the document's structure indented, each variable,
    /// module and annotation on one line of its own; compact: all on one line (the fewest
    /// bytes); pretty: every value on its own line. The same JSON document in every layout.
    #[arg(long, value_enum, value_name = "LAYOUT", default_value_t = Layout::Rows)]
    layout: Layout,

    /// Record the registers the unwinder recovered in every frame, not only frame 0's (all of
    /// them, as the thread stopped).
    #[arg(long)]
    all_registers: bool,

    /// Also print a readable dump: a header (the fault, attributes, warnings...), the faulting
    /// thread in full, then the threads grouped by stack, largest group first, frames as gdb's
    /// frame lines with recursion folded (`×N`), the variables of one thread of each group,
    /// libraries' internal thread-locals left out; on stderr when the snapshot itself goes to
    /// stdout (`-o -`). `ptrace dump FILE` prints it again from the file.
    #[arg(long)]
    pretty_print: bool,

    /// Then open the snapshot written in the terminal viewer (as `ptrace view FILE` does), once
    /// the target runs again. Needs a terminal and a file to write to (not `-o -`).
    #[arg(long)]
    view: bool,

    /// With --pretty-print: print everything instead, every thread on its own with every frame
    /// and every thread-local variable.
    #[arg(long = "dump-all", requires = "pretty_print")]
    dump_all: bool,

    /// Attributes to record, as key:value pairs (integers stay numbers).
    #[arg(long, value_name = "KEY:VALUE[,KEY:VALUE...]")]
    kv: Vec<String>,

    /// A classifier to record (repeatable).
    #[arg(long, value_name = "NAME")]
    classifier: Vec<String>,

    /// The application name (default: the executable's name).
    #[arg(long, value_name = "NAME")]
    application: Option<String>,

    /// Snapshot only this thread.
    #[arg(long, value_name = "TID")]
    thread: Option<i32>,

    /// Mark this thread as the faulting one (for crash handlers running ptrace on themselves).
    #[arg(long = "fault-thread", value_name = "TID")]
    fault_thread: Option<i32>,

    /// The most frames unwound per thread.
    #[arg(long, value_name = "N", default_value_t = crate::unwind::MAX_FRAMES)]
    max_frames: usize,

    /// How many levels of struct members and array elements variables are expanded into.
    #[arg(long, value_name = "N", default_value_t = crate::variables::VariableLimits::default().depth)]
    depth: usize,

    /// Record the global variable NAME in the snapshot (repeatable).
    #[arg(long = "global", value_name = "NAME")]
    globals: Vec<String>,

    /// Do not extract the variables of frames (globals asked for are still read).
    #[arg(long)]
    no_variables: bool,

    /// Load every module file (`*.lua`, and native `*.so` built against pmodule.h) of DIR, in
    /// name order (repeatable).
    #[arg(long = "module-path", alias = "modules-path", value_name = "DIR")]
    module_path: Vec<PathBuf>,

    /// Load the module FILE (`*.lua` or `*.so`), after those of --module-path (repeatable).
    #[arg(long = "module-load", value_name = "FILE")]
    module_load: Vec<PathBuf>,

    /// Options for the module ID, read with pmodule.config_option(key) (repeatable).
    #[arg(long = "module", value_name = "ID:KEY,VALUE[,KEY,VALUE...]")]
    module: Vec<String>,

    /// Open these Lua libraries to modules, which are sandboxed without them: io, os,
    /// package (require), load (load, loadfile, dofile; text chunks only).
    #[arg(long = "sandbox-whitelist", value_name = "LIB[,LIB...]")]
    sandbox_whitelist: Vec<String>,

    /// The most Lua instructions one module callback may run before it is stopped.
    #[arg(long = "lua-instruction-budget", value_name = "N", default_value_t = crate::lua::options::DEFAULT_INSTRUCTION_BUDGET)]
    lua_instruction_budget: u64,

    /// The most bytes one Lua module's state may allocate.
    #[arg(long = "lua-memory-limit", value_name = "BYTES", default_value_t = crate::lua::options::DEFAULT_MEMORY_LIMIT)]
    lua_memory_limit: usize,

    /// The most milliseconds the target may stay stopped (0: no limit). When it is reached,
    /// module callbacks end (Lua at once; a native callback when it returns), threads whose
    /// variables are not read yet are left out, the target resumes, and the snapshot's warnings
    /// say what is missing. Should a native callback still not return a second later, ptrace
    /// exits without a snapshot, and the kernel lets the target go.
    #[arg(long = "max-stop-ms", value_name = "MS", default_value_t = crate::cutoff::DEFAULT_STOP_LIMIT.as_millis() as u64)]
    max_stop_ms: u64,

    /// Look for separate debug files in DIR (repeatable, in order), before the target's and the
    /// host's /usr/lib/debug: DIR/.build-id/xx/rest.debug and DIR/<object's folder>/<debuglink>.
    #[arg(long = "debug-dir", value_name = "DIR")]
    debug_dir: Vec<PathBuf>,

    /// A copy of the target's file tree: the files it names (objects not reachable through
    /// /proc/PID/map_files, debug links, its /usr/lib/debug) are looked up under DIR instead of
    /// under /proc/PID/root.
    #[arg(long, value_name = "DIR")]
    sysroot: Option<PathBuf>,

    /// Do not fetch missing debug files from the debuginfod servers that DEBUGINFOD_URLS names
    /// (nor look in their cache).
    #[arg(long = "no-debuginfod")]
    no_debuginfod: bool,

    /// The most seconds all debuginfod downloads before the snapshot may take together (the
    /// target runs meanwhile; objects not fetched by then go without, and a warning says so).
    /// 0: only what the debuginfod cache holds is used.
    #[arg(long = "debuginfod-timeout", value_name = "SECONDS", default_value_t = crate::debuginfo::debuginfod::DEFAULT_TOTAL_TIMEOUT.as_secs_f64(), value_parser = parse_seconds)]
    debuginfod_timeout: f64,

    /// Running as root, load module files and directories that users other than root (or the
    /// module's owner) could write; without it they are refused with the reason.
    #[arg(long = "allow-insecure-modules")]
    allow_insecure_modules: bool,

    /// What the snapshot file holds: libptrace's JSON, or Backtrace's JSON submission format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Json)]
    format: Format,

    #[command(flatten)]
    backends: BackendArgs,

    /// Test hook: keep the target stopped this many milliseconds after capturing it.
    #[arg(long, hide = true, value_name = "MS")]
    hold_stopped_ms: Option<u64>,

    /// Comparison hook: build every variable while the target is stopped (as when modules watch
    /// variables) instead of after the resume; the snapshot is the same, the stop longer.
    #[arg(long, hide = true)]
    build_while_stopped: bool,
    /// Comparison hook: unwind and read the variables of every thread on one thread, not on two
    /// CPUs when there are many threads; the snapshot is the same, the stop longer.
    #[arg(long, hide = true)]
    sequential_capture: bool,
}

/// The subcommands.
#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Send saved snapshots (files ptrace wrote) to the crash backends.
    ///
    /// One line per file that could not be sent, exit status 1 when any could not. With
    /// --remove, each file sent is removed, so that a cron job can retry a spool folder.
    Submit {
        /// The snapshot files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Remove each file once sent.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Print the readable dump of a saved snapshot (a file ptrace wrote).
    ///
    /// The dump --pretty-print prints: the threads grouped by stack. A file that is not a
    /// snapshot this ptrace reads (not JSON, truncated, another format, a newer version) gets one
    /// line and status 1.
    Dump {
        /// The snapshot file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print everything: every thread on its own, every frame, every thread-local variable.
        #[arg(long = "dump-all")]
        dump_all: bool,
    },
    /// Browse a saved snapshot in the terminal.
    ///
    /// The stack groups, the frames of the selected group, the variables of the selected frame
    /// as a tree; / searches, f jumps to the fault, ? lists the keys, q quits. A file that is not
    /// a snapshot this ptrace reads gets one line and status 1, the terminal untouched.
    View {
        /// The snapshot file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the completion script of a shell for ptrace.
    ///
    /// `make install` installs those of bash, zsh and fish where these shells find them. For one
    /// user: `ptrace completions bash > ~/.local/share/bash-completion/completions/ptrace`,
    /// `ptrace completions zsh > DIR/_ptrace` with DIR in $fpath, `ptrace completions fish >
    /// ~/.config/fish/completions/ptrace.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (ptrace.1 and one per subcommand) into DIR, printing each file
    /// written (what `make install` installs).
    #[command(hide = true)]
    Man {
        /// The folder the pages are written into (it must exist).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// A `--debuginfod-timeout` value: seconds, 0 or more, that a duration can hold.
fn parse_seconds(value: &str) -> Result<f64, String> {
    crate::session::named::seconds("debuginfod-timeout", value).map(|d| d.as_secs_f64())
}

/// The exit status of a failed run.
const FAILURE: u8 = 1;

/// Runs the command line `args` (the program name first) and returns the exit status. Call it
/// once, from the process's main thread, before any other thread exists (it tunes malloc and
/// installs signal handlers); `--help`, `--version` and usage errors print and exit the
/// process as usual.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    std::panic::set_hook(Box::new(|info| {
        eprintln!("ptrace: internal error: {info}");
    }));
    tune_malloc();
    let cli = Cli::parse_from(args);
    let interrupts = match Interrupts::install() {
        Ok(interrupts) => interrupts,
        Err(message) => {
            eprintln!("ptrace: {message}");
            return FAILURE;
        }
    };
    let code = match run(cli, &interrupts) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ptrace: {message}");
            FAILURE
        }
    };
    interrupts.exit_code().unwrap_or(code)
}

/// SIGINT, SIGTERM and SIGHUP: each sets the abort flag (the session detaches the target, the
/// writer gives up and removes what it began) and is recorded, for ptrace to exit with
/// 128 + the signal as a shell reports a program killed by it.
struct Interrupts {
    abort: AbortFlag,
    signal: Arc<AtomicUsize>,
}

impl Interrupts {
    /// Installs the handlers.
    fn install() -> Result<Self, String> {
        let interrupts = Self {
            abort: AbortFlag::new(),
            signal: Arc::new(AtomicUsize::new(0)),
        };
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // The number first: whoever sees the flag set finds the number recorded.
            signal_hook::flag::register_usize(signal, Arc::clone(&interrupts.signal), signal as usize)
                .and_then(|_| signal_hook::flag::register(signal, interrupts.abort.as_arc()))
                .map_err(|e| format!("cannot install the handler of signal {signal}: {e}"))?;
        }
        Ok(interrupts)
    }

    /// 128 + the last signal caught, if one was.
    fn exit_code(&self) -> Option<u8> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(u8::try_from(128 + signal).unwrap_or(u8::MAX)),
        }
    }
}

/// Few malloc arenas, each grown in large steps. Three: the main thread's, the library's tracer
/// thread's (where the snapshot is built) and that of the worker thread the tracer shares the
/// stopped threads with (`session::capture`): two threads allocating from one arena would
/// contend for its lock while the target is stopped. A thread's own glibc arena grows its heap
/// one `mprotect` per page (thousands of system calls for a big snapshot, while the target is
/// stopped) unless a top pad makes each heap readable and writable whole when it is made: its
/// pages take memory only once touched.
fn tune_malloc() {
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 3);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

fn run(cli: Cli, interrupts: &Interrupts) -> Result<u8, String> {
    match &cli.action {
        Some(Action::Submit {
            files,
            remove,
            backends,
        }) => return backends::submit_files(files, *remove, backends),
        Some(Action::Dump { file, dump_all }) => {
            let options = snapshot::text::DumpOptions { all: *dump_all };
            return dump::dump_file(file, &options);
        }
        Some(Action::View { file }) => {
            let snapshot = dump::read(file)?;
            crate::viewer::run(&snapshot, &interrupts.abort)?;
            // Left to the exit, as `emit` leaves a snapshot: freeing a big one piece by piece
            // would keep the user waiting after `q`.
            std::mem::forget(snapshot);
            return Ok(0);
        }
        Some(Action::Completions { shell }) => return print_completions(*shell),
        Some(Action::Man { dir }) => return write_man_pages(dir),
        None => {}
    }
    // Before anything touches the target: a snapshot with nowhere to go is never taken.
    let request = output_request(&cli);
    if cli.view {
        if request == OutputRequest::Stdout {
            return Err(
                "--view opens the snapshot it writes to a file; -o - writes it to standard output"
                    .to_string(),
            );
        }
        crate::viewer::check_terminal()?;
    }
    let destination = Destination::check(&request).map_err(|e| e.to_string())?;
    let options = SessionOptions {
        application: cli.application.clone(),
        only_thread: cli.thread,
        fault_thread: cli.fault_thread,
        attributes: parse_kv(&cli.kv)?,
        classifiers: cli.classifier.clone(),
        max_frames: cli.max_frames,
        hold_stopped: cli.hold_stopped_ms.map(Duration::from_millis),
        depth: cli.depth,
        globals: cli.globals.clone(),
        variables: !cli.no_variables,
        all_registers: cli.all_registers,
        modules: module_settings(&cli)?,
        build_while_stopped: cli.build_while_stopped,
        sequential_capture: cli.sequential_capture,
        stop_limit: crate::session::named::stop_limit(cli.max_stop_ms),
        debug_dirs: cli.debug_dir.clone(),
        sysroot: cli.sysroot.clone(),
        debuginfod: crate::debuginfo::debuginfod::Settings {
            enabled: !cli.no_debuginfod,
            total_timeout: Duration::from_secs_f64(cli.debuginfod_timeout),
            progress: true,
        },
        backends: cli.backends.settings()?,
        ..SessionOptions::default()
    };
    let session = Session::with_abort_flag(options, interrupts.abort.clone());
    if interrupts.abort.is_aborted() {
        return Err("interrupted before the target was touched".to_string());
    }

    if session.options().stop_limit.is_some() {
        watch_the_stop(session.cutoff());
    }
    // Writes a snapshot where the command line says, then sends it to its backends.
    let write_snapshot = |snapshot: Snapshot| {
        emit(
            &cli,
            &destination,
            snapshot,
            &session.options().backends,
            &interrupts.abort,
        )
    };

    if cli.exec {
        let (program, args) = cli
            .command
            .split_first()
            .ok_or("--exec needs a program after --")?;
        let result = session.run_and_catch(program, args).map_err(describe)?;
        return match result {
            ExecResult::Crashed { snapshot, end } => {
                // The program's status matters more to whoever ran it than the snapshot.
                if let Err(message) = write_snapshot(*snapshot) {
                    eprintln!("ptrace: {message}");
                }
                Ok(exit_code_of(end))
            }
            ExecResult::Ended(end) => {
                let how = match end {
                    ChildEnd::Exited(code) => format!("exited with status {code}"),
                    ChildEnd::Signaled(signal) => format!("was killed by {}", tracer::signal_name(signal)),
                };
                eprintln!(
                    "ptrace: {} {how}; no snapshot was taken",
                    program.to_string_lossy()
                );
                Ok(exit_code_of(end))
            }
        };
    }

    if let Some(core) = cli.core.first() {
        let snapshot = snapshot_core(&session, core, cli.core.get(1), cli.spool_dir.as_deref())?;
        write_snapshot(snapshot)?;
        return Ok(0);
    }

    let pid = cli
        .pid
        .ok_or("a PID (or --exec -- PROGRAM, or --core CORE) is required")?;
    match session.snapshot_pid(pid) {
        Ok(snapshot) => {
            write_snapshot(snapshot)?;
            Ok(0)
        }
        // What was captured before the target died is written, marked incomplete; the run
        // still failed.
        Err(SessionError::TargetDied { pid, death, snapshot }) => {
            write_snapshot(*snapshot)?;
            Err(format!(
                "process {pid} {death} while it was being captured; the snapshot written is incomplete"
            ))
        }
        Err(error) => Err(describe(error)),
    }
}

/// Prints the completion script of `shell` on standard output.
fn print_completions(shell: clap_complete::Shell) -> Result<u8, String> {
    let script = completions::script(shell, &Cli::command(), "ptrace");
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| format!("cannot print the {shell} completions: {e}"))?;
    Ok(0)
}

/// Writes the manual pages into `dir`, printing the path of each. They are dated now, or at
/// `SOURCE_DATE_EPOCH` when it is set (reproducible builds).
fn write_man_pages(dir: &std::path::Path) -> Result<u8, String> {
    let now = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(seconds) => seconds
            .trim()
            .parse::<u64>()
            .map_err(|e| format!("SOURCE_DATE_EPOCH={seconds:?} is not a number of seconds: {e}"))?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
    };
    let written = man::write_pages(Cli::command(), dir, &man::iso_date(now))
        .map_err(|e| format!("cannot write the manual pages into {}: {e}", dir.display()))?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(0)
}

/// The snapshot of core file `core` (`-`: standard input, spooled into `spool_dir`) of a process
/// that ran `exe`.
fn snapshot_core(
    session: &Session,
    core: &std::path::Path,
    exe: Option<&PathBuf>,
    spool_dir: Option<&std::path::Path>,
) -> Result<Snapshot, String> {
    if core != std::path::Path::new("-") {
        return session
            .snapshot_core(core, exe.map(PathBuf::as_path))
            .map_err(describe);
    }
    let folder = spool_dir.map_or_else(std::env::temp_dir, std::path::Path::to_path_buf);
    let spooled =
        crate::core::SpooledCore::spool(&mut std::io::stdin().lock(), &folder).map_err(|e| e.to_string())?;
    let mut snapshot = session
        .snapshot_core(spooled.path(), exe.map(PathBuf::as_path))
        .map_err(|e| {
            describe(e).replace(
                &spooled.path().display().to_string(),
                "the core read from standard input",
            )
        })?;
    if let Some(origin) = snapshot.core.as_mut() {
        origin.file = "-".to_string();
    }
    Ok(snapshot)
}

/// How long past the stop limit a callback that cannot be interrupted (native code) may keep the
/// target stopped before ptrace exits so that the kernel lets the target go.
const STOP_LIMIT_GRACE: Duration = Duration::from_secs(1);

/// Starts the watchdog of the stop limit: native module code cannot be interrupted, so when the
/// target is still stopped [`STOP_LIMIT_GRACE`] past the limit, ptrace says so and exits at once
/// (no snapshot); the kernel detaches a dead tracer's tracees, delivering the signals they were
/// stopped with.
fn watch_the_stop(cutoff: std::sync::Arc<crate::cutoff::Cutoff>) {
    let spawned = std::thread::Builder::new()
        .name("ptrace-watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            let late = cutoff
                .overdue()
                .filter(|late| cutoff.target_stopped() && *late >= STOP_LIMIT_GRACE);
            if late.is_some() {
                eprintln!(
                    "ptrace: the target was still stopped {} ms past the stop limit (a native \
                     module callback that does not return?); exiting without a snapshot so that \
                     the kernel resumes it",
                    STOP_LIMIT_GRACE.as_millis()
                );
                // SAFETY: _exit ends the process without running anything else of it; the
                // kernel then detaches every tracee.
                unsafe { libc::_exit(WATCHDOG_EXIT) };
            }
        });
    if let Err(e) = spawned {
        eprintln!("ptrace: warning: cannot start the stop-limit watchdog: {e}");
    }
}

/// The exit status when the watchdog ends ptrace (as `timeout` reports a command it ended).
const WATCHDOG_EXIT: i32 = 124;

/// Where the command line asks the snapshot to go: `-o` (`-` for stdout), `-O`, or `.`.
fn output_request(cli: &Cli) -> OutputRequest {
    match (&cli.output, &cli.output_dir) {
        (Some(path), _) => OutputRequest::from_path(path.clone()),
        (None, Some(dir)) => OutputRequest::Folder(dir.clone()),
        (None, None) => OutputRequest::Folder(PathBuf::from(".")),
    }
}

/// Writes the snapshot to its checked destination, then prints its warnings on stderr, the dump
/// when asked (on stdout, or on stderr when the snapshot went to stdout) and the path written
/// (none for stdout). The snapshot is then left to the process's exit: freeing a big one piece
/// by piece takes longer than everything else after the resume but writing it.
fn emit(
    cli: &Cli,
    destination: &Destination,
    snapshot: Snapshot,
    settings: &crate::backends::BackendSettings,
    abort: &AbortFlag,
) -> Result<(), String> {
    let snapshot = &*Box::leak(Box::new(snapshot));
    let options = WriteOptions {
        layout: cli.layout,
        file_mode: cli.file_mode,
    };
    let written = match cli.format {
        Format::Json => destination.write(snapshot, &options, abort),
        Format::BacktraceJson => {
            let document = crate::backends::backtrace::document(snapshot, &settings.details);
            let document = crate::snapshot::output::JsonDocument::of(snapshot, document);
            destination.write(&document, &options, abort)
        }
    }
    .map_err(|e| e.to_string())?;
    for warning in &snapshot.warnings {
        eprintln!("ptrace: warning: {warning}");
    }
    if cli.pretty_print {
        let options = snapshot::text::DumpOptions { all: cli.dump_all };
        let dump = snapshot::text::render_with(snapshot, &options);
        match written.path() {
            Some(_) => print!("{dump}"),
            None => eprint!("{dump}"),
        }
    }
    if let Some(path) = written.path() {
        println!("{}", path.display());
    }
    // Once written, never while the target is stopped: it runs again by now.
    if !settings.is_empty() {
        backends::submit(snapshot, settings)?;
    }
    if cli.view {
        crate::viewer::run(snapshot, abort)?;
    }
    Ok(())
}

/// The module options of the command line.
fn module_settings(cli: &Cli) -> Result<ModuleSettings, String> {
    let options = ModuleOptions::from_arguments(&cli.module).map_err(|e| e.to_string())?;
    let mut lua = LuaOptions {
        instruction_budget: cli.lua_instruction_budget,
        memory_limit: cli.lua_memory_limit,
        ..LuaOptions::default()
    };
    for arg in &cli.sandbox_whitelist {
        lua.add_whitelist(arg).map_err(|e| e.to_string())?;
    }
    lua.validate().map_err(|e| format!("--{e}").replace('_', "-"))?;
    Ok(ModuleSettings {
        paths: cli.module_path.clone(),
        files: cli.module_load.clone(),
        options,
        lua,
        native: crate::native::NativeOptions {
            allow_insecure_modules: cli.allow_insecure_modules,
        },
    })
}

/// The exit status that mirrors how a program ended (128 + signal, as shells report it).
fn exit_code_of(end: ChildEnd) -> u8 {
    let code = match end {
        ChildEnd::Exited(code) => code,
        ChildEnd::Signaled(signal) => 128 + signal,
    };
    u8::try_from(code & 0xff).unwrap_or(FAILURE)
}

/// One line for an error.
fn describe(error: SessionError) -> String {
    match error {
        SessionError::Tracer(TracerError::Aborted) | SessionError::Aborted => {
            "interrupted; the target was detached and resumed".to_string()
        }
        other => other.to_string(),
    }
}
