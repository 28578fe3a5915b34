//! A core file as the capture's stopped target ([`CoreTarget`]), and what a run needs of the
//! core before the capture: the mappings its objects are loaded from (the executable's file
//! given on the command line standing for the one the core names), the process's facts, the
//! fault, and the files that give the memory the core left out.
//!
//! A core is a process that no longer runs: its threads' registers come from `NT_PRSTATUS`, its
//! memory from the core's `PT_LOAD` segments, read in place from the mapped file. As the run's
//! target ([`CoreRun`]), nothing is stopped or resumed, and it was stopped for no time.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::access::TargetAccess;
use super::assemble::FaultMark;
use super::prepare::PreparedProcess;
use super::sequence::{Opened, Plug, Resumed, StoppedPlug};
use super::target::StoppedTarget;
use super::{Session, SessionError};
use crate::arch::VectorRegisters;
use crate::core::CoreFile;
use crate::debuginfo::{hex, ElfFacts, MapEntry};
use crate::memory::MemoryReader;
use crate::pmodule::ProcessState;
use crate::procinfo::{ProcessInfo, ThreadInfo};
use crate::reader::SharedBytes;
use crate::snapshot::{CoreOrigin, Snapshot};
use crate::tracer::StoppedThread;

/// Signals whose default action dumps core: the signal of a core's `NT_SIGINFO` is its fault
/// when it is one of these (a core `gcore` wrote of a running process has none, or the stop
/// signal).
const DUMPING_SIGNALS: [i32; 10] = [
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGSYS,
];

/// A core file read as a stopped target: its threads (registers and stack copies) and memory.
struct CoreTarget {
    core: CoreFile,
    threads: Vec<StoppedThread>,
}

impl CoreTarget {
    /// The threads of `core` (only `only_thread` when given), each with the first `stack_limit`
    /// bytes of its stack copied from the core as a live thread's are copied at the stop.
    fn new(core: CoreFile, only_thread: Option<i32>, stack_limit: usize) -> Self {
        let regions: Vec<std::ops::Range<u64>> = core
            .segments()
            .iter()
            .filter(|s| s.readable && s.writable)
            .map(|s| s.vaddr..s.end())
            .collect();
        let threads = core
            .threads()
            .iter()
            .filter(|t| only_thread.is_none_or(|only| only == t.tid))
            .map(|t| {
                let vector = t.fpregs.as_deref().and_then(VectorRegisters::from_fxsave);
                StoppedThread::from_memory(t.tid, t.registers, vector, core.memory(), &regions, stack_limit)
            })
            .collect();
        Self { core, threads }
    }
}

impl StoppedTarget for CoreTarget {
    fn threads(&self) -> &[StoppedThread] {
        &self.threads
    }

    fn memory(&self) -> &(dyn MemoryReader + Sync) {
        self.core.memory()
    }
}

/// A core opened for a run: its threads and memory, and what the snapshot says of the core.
pub(super) struct CoreRun {
    target: CoreTarget,
    /// About the core itself (truncated, the executable not found among its mappings, ...).
    warnings: Vec<String>,
    /// The core file and its command line.
    origin: Option<CoreOrigin>,
}

/// A core in its "stopped phase": the stop limit counts from `limit_from`.
pub(super) struct CoreCapture {
    target: CoreTarget,
    limit_from: Instant,
}

/// Reads the core file at `path` (of a process run from `exe` when given; else the executable
/// the core names) and loads its objects' debug info as the core's mappings give them; the fault
/// is the thread `--fault-thread` marks, else the signal that dumped the core.
pub(super) fn open(
    session: &Session,
    path: &Path,
    exe: Option<&Path>,
) -> Result<Opened<CoreRun>, SessionError> {
    let options = &session.options;
    let core = CoreFile::open(path).map_err(|source| SessionError::Core {
        file: path.display().to_string(),
        source,
    })?;
    let (maps, warnings) = object_maps(&core, exe);
    let prepared = Arc::new(PreparedProcess::load_from(
        maps,
        core.memory(),
        &options.core_search(),
        &options.debuginfod,
    )?);
    check_executable(&prepared, &core, exe)?;
    read_left_out_from_files(&core, &prepared);
    let executable = match exe {
        Some(exe) => std::fs::canonicalize(exe)
            .unwrap_or_else(|_| exe.to_path_buf())
            .display()
            .to_string(),
        None => core.executable_path().unwrap_or_default(),
    };
    let (pid, info) = process_info(&core, executable);
    let fault = match options.fault_thread {
        Some(tid) => Some(FaultMark::marked_thread(tid)),
        None => fault(&core),
    };
    let origin = origin(&core, path);
    let target = CoreTarget::new(core, options.only_thread, options.stack_limit);
    Ok(Opened {
        plug: CoreRun {
            target,
            warnings,
            origin: Some(origin),
        },
        pid,
        info,
        prepared,
        fault,
    })
}

impl Plug for CoreRun {
    type Stopped = CoreCapture;

    fn access(&self, session: &Session, prepared: &Arc<PreparedProcess>) -> TargetAccess {
        TargetAccess::of_core(
            self.target.core.shared_memory(),
            prepared.clone(),
            session.options.variable_limits(),
        )
    }

    /// The core's warnings and origin go into the snapshot (after `preattach`).
    fn before_stop(&mut self, _session: &Session, _prepared: &PreparedProcess, snapshot: &mut Snapshot) {
        snapshot.warnings.append(&mut self.warnings);
        snapshot.core = self.origin.take();
    }

    /// Nothing is stopped, but the limit bounds the modules' work as it does for a process.
    fn stop(self, _session: &Session, _prepared: &PreparedProcess) -> Result<CoreCapture, SessionError> {
        Ok(CoreCapture {
            target: self.target,
            limit_from: Instant::now(),
        })
    }
}

impl StoppedPlug for CoreCapture {
    type Output = Snapshot;

    fn target(&self) -> &dyn StoppedTarget {
        &self.target
    }

    fn stopped_at(&self) -> Instant {
        self.limit_from
    }

    /// A core is not held: nothing waits on it.
    fn hold(&self, _session: &Session) -> Result<bool, SessionError> {
        Ok(false)
    }

    fn resume(&mut self) -> Result<Resumed, SessionError> {
        Ok(Resumed {
            stopped_for: Duration::ZERO,
            death: None,
        })
    }

    fn finish(self, snapshot: Snapshot) -> Result<Snapshot, SessionError> {
        Ok(snapshot)
    }
}

/// The core's mappings, from which its objects are loaded. With `exe` (the executable given on
/// the command line), the executable's mappings name `exe` instead of the path the core
/// records (a core from another machine names files that are not here); the build id check of
/// the loader then tells whether it is the same file. Also the warnings about the core itself.
fn object_maps(core: &CoreFile, exe: Option<&Path>) -> (Vec<MapEntry>, Vec<String>) {
    let mut maps = core.mappings().to_vec();
    let mut warnings = core.warnings().to_vec();
    let truncated = core.truncated_segments();
    if truncated > 0 {
        warnings.push(format!(
            "the core is truncated: {truncated} of its memory segments end early, what they \
             miss is unreadable"
        ));
    }
    let Some(exe) = exe else {
        return (maps, warnings);
    };
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let exe = exe.to_string_lossy().into_owned();
    match core.executable_path() {
        Some(recorded) => {
            for map in maps
                .iter_mut()
                // By the name as recorded (a core without NT_FILE may name it relatively).
                .filter(|m| m.path.as_deref() == Some(recorded.as_str()))
            {
                map.path = Some(exe.clone());
            }
        }
        None => warnings.push(format!(
            "the core does not say which of its mappings is the executable, so {exe} is not used"
        )),
    }
    (maps, warnings)
}

/// [`SessionError::CoreExecutable`] when `exe` was given and the loader refused it (its build id
/// is not the core's executable's).
fn check_executable(
    prepared: &PreparedProcess,
    core: &CoreFile,
    exe: Option<&Path>,
) -> Result<(), SessionError> {
    let (Some(exe), Some(mapping)) = (exe, core.executable_mapping()) else {
        return Ok(());
    };
    let Some(refused) = prepared
        .objects
        .find(mapping.start)
        .and_then(|object| object.unusable.clone())
    else {
        return Ok(());
    };
    let file_id = SharedBytes::map_file(exe)
        .ok()
        .and_then(|bytes| ElfFacts::parse(&bytes, &exe.display().to_string()).ok())
        .and_then(|facts| facts.build_id);
    let why = match (file_id, core.build_id(mapping)) {
        (Some(file), Some(core)) => format!(
            "its build id is {}, the core's executable's {}",
            hex(&file),
            hex(&core)
        ),
        (None, Some(core)) => format!("it has no build id, the core's executable {}", hex(&core)),
        _ => refused,
    };
    Err(SessionError::CoreExecutable {
        exe: exe.display().to_string(),
        why,
    })
}

/// Lets the core's memory read what the kernel left out of file mappings (unmodified text and
/// read-only data) from the objects' files, each as the loader opened and checked it: by
/// address, so a mapping reads the very file its object was matched to, never another.
fn read_left_out_from_files(core: &CoreFile, prepared: &PreparedProcess) {
    let mut by_path: HashMap<String, SharedBytes> = HashMap::new();
    for file in core.files() {
        let object = prepared
            .objects
            .find(file.start)
            .filter(|o| o.unusable.is_none() && o.maps_address(file.start));
        if let Some(bytes) = object.and_then(|o| o.elf.clone()) {
            by_path.entry(file.path.clone()).or_insert(bytes);
        }
    }
    // Set once, before any reader exists.
    core.set_file_source(move |path: &str| by_path.get(path).cloned());
}

/// The process's facts as the snapshot records them: pid and name from `NT_PRPSINFO` (else the
/// first thread's id), `executable` as found, the state `core`. The main thread's name is the
/// process's (`pr_fname` is the group leader's); the others' names and every thread's scheduler
/// state are not recorded in a core: empty and `unknown`.
fn process_info(core: &CoreFile, executable: String) -> (i32, ProcessInfo) {
    let process = core.process();
    let pid = process
        .map(|p| p.pid)
        .or_else(|| core.threads().first().map(|t| t.tid))
        .unwrap_or(0);
    let name = process.map(|p| p.name.clone()).unwrap_or_default();
    let threads = core
        .threads()
        .iter()
        .map(|t| {
            let info = ThreadInfo {
                name: if t.tid == pid { name.clone() } else { String::new() },
                state: ProcessState::Unknown.name().to_string(),
                nspid: None,
            };
            (t.tid, info)
        })
        .collect();
    let info = ProcessInfo {
        executable,
        name,
        state: ProcessState::Core.name().to_string(),
        threads,
        nspid: None,
    };
    (pid, info)
}

/// Where the snapshot came from: the core file as given, and its command line.
fn origin(core: &CoreFile, file: &Path) -> CoreOrigin {
    CoreOrigin {
        file: file.display().to_string(),
        command_line: core
            .process()
            .map(|p| p.args.trim_end().to_string())
            .filter(|a| !a.is_empty()),
    }
}

/// The fault: the signal that dumped the core (`NT_SIGINFO`) when it is one whose default
/// action dumps core, in the thread that took it (the first whose `pr_cursig` is that signal;
/// the kernel writes the dumping thread first).
fn fault(core: &CoreFile) -> Option<FaultMark> {
    let siginfo = core.siginfo().filter(|s| DUMPING_SIGNALS.contains(&s.signo))?;
    let thread = core
        .threads()
        .iter()
        .find(|t| t.signal == siginfo.signo)
        .or_else(|| core.threads().first())?;
    let siginfo = thread
        .siginfo
        .as_ref()
        .filter(|s| s.signo == siginfo.signo)
        .unwrap_or(siginfo);
    Some(FaultMark::from_tracer(&siginfo.fault(thread.tid)))
}
