//! The work done after the target is resumed: symbols, lines and inlined frames for every captured
//! frame, and the snapshot document itself.

use super::capture::{all_tail_calls, CapturedThread, TailCallCache};
use super::prepare::PreparedProcess;
use super::SessionOptions;
use crate::debuginfo::{LoadedObject, SymbolizedFrame};
use crate::procinfo::{self, ProcessInfo};
use crate::snapshot::{self, Address, Fault, Frame, Module, Snapshot, Thread, Timing};
use crate::tracer;
use crate::variables::BtVariable;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The fault a snapshot records: a caught signal, or a thread marked by `--fault-thread`.
#[derive(Clone, Debug)]
pub struct FaultMark(pub Fault);

impl FaultMark {
    /// A thread marked faulted by the user (`--fault-thread`), with no signal.
    pub fn marked_thread(tid: i32) -> Self {
        FaultMark(Fault {
            tid,
            signal: 0,
            signal_name: None,
            code: 0,
            address: None,
            reason: "marked as faulted (--fault-thread)".to_string(),
        })
    }

    /// The fault the tracer caught under `--exec`.
    pub fn from_tracer(fault: &tracer::Fault) -> Self {
        FaultMark(Fault {
            tid: fault.tid,
            signal: fault.signal,
            signal_name: Some(tracer::signal_name(fault.signal)),
            code: fault.code,
            address: fault.address.map(Address),
            reason: fault.reason.clone(),
        })
    }
}

/// Records how long the target was stopped and how long the run took so far.
pub fn set_timing(snapshot: &mut Snapshot, stopped_for: Duration, started: Instant) {
    snapshot.timing = Timing {
        stopped_us: micros(stopped_for),
        total_us: micros(started.elapsed()),
    };
}

/// The snapshot without threads: process, application, objects, attributes and classifiers
/// asked for, the preparation's warnings (what `preattach` sees).
pub fn skeleton(
    options: &SessionOptions,
    pid: i32,
    info: &ProcessInfo,
    prepared: &PreparedProcess,
) -> Snapshot {
    let mut warnings = prepared.warnings.clone();
    if let Some(exe) = prepared
        .objects
        .objects()
        .iter()
        .find(|o| o.path == info.executable)
    {
        if !exe.has_dwarf() {
            warnings.push(format!(
                "{} has no debug info: frames show symbols only",
                exe.path
            ));
        }
    }

    let application = options.application.clone().unwrap_or_else(|| {
        std::path::Path::new(&info.executable)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| info.name.clone())
    });
    let modules = prepared
        .objects
        .objects()
        .iter()
        .map(|o| Module {
            path: o.path.clone(),
            base: Address(o.base),
            size: o.end.saturating_sub(o.base),
            build_id: o.build_id.clone(),
            debug_file: o.debug_file.clone(),
        })
        .collect();
    let timestamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    Snapshot {
        format: snapshot::FORMAT_NAME.to_string(),
        version: snapshot::FORMAT_VERSION,
        pid,
        application,
        executable: info.executable.clone(),
        process_state: info.state.clone(),
        timestamp,
        fault: None,
        threads: Vec::new(),
        globals: Vec::new(),
        attributes: options.attributes.iter().cloned().collect(),
        classifiers: options.classifiers.clone(),
        tags: Vec::new(),
        annotations: Vec::new(),
        modules,
        timing: Timing::default(),
        warnings,
    }
}

/// Symbolized entries by (object base, lookup pc): threads running the same code are
/// symbolized once.
#[derive(Default)]
pub struct SymbolCache {
    entries: HashMap<(u64, u64), Vec<SymbolizedFrame>>,
}

impl SymbolCache {
    fn symbolize(&mut self, object: Option<&Arc<LoadedObject>>, pc: u64) -> Vec<SymbolizedFrame> {
        let Some(object) = object else {
            return Vec::new();
        };
        self.entries
            .entry((object.base, pc))
            .or_insert_with(|| object.symbolize(pc))
            .clone()
    }
}

/// Adds the captured threads (symbolized, with their variables) and the fault to `snapshot`.
/// Returns the bt variables of each thread's snapshot frames (empty lists when they were not
/// kept).
pub fn add_threads(
    snapshot: &mut Snapshot,
    captured: &[CapturedThread],
    info: &ProcessInfo,
    prepared: &PreparedProcess,
    fault: Option<FaultMark>,
    symbols: &mut SymbolCache,
) -> Vec<Vec<Vec<BtVariable>>> {
    let fault = fault.map(|f| f.0);
    let fault_tid = fault.as_ref().map(|f| f.tid);
    let mut bt_variables = Vec::new();
    for thread in captured {
        let thread_info = info
            .threads
            .get(&thread.tid)
            .cloned()
            .or_else(|| procinfo::read_thread(snapshot.pid, thread.tid));
        let (name, state) = thread_info.map(|t| (t.name, t.state)).unwrap_or_default();
        let is_fault = fault_tid == Some(thread.tid);
        let (frames, bts) = frames_of(thread, prepared, is_fault, symbols);
        bt_variables.push(bts);
        snapshot.threads.push(Thread {
            tid: thread.tid,
            name,
            state,
            fault: is_fault,
            frames,
            variables: thread.thread_locals.clone(),
            annotations: Vec::new(),
        });
    }
    if let Some(tid) = fault_tid {
        if !snapshot.threads.iter().any(|t| t.tid == tid) {
            snapshot.warnings.push(format!(
                "the faulting thread {tid} is not among the captured threads"
            ));
        }
    }
    snapshot.fault = fault;
    bt_variables
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The snapshot frames of one thread: each unwound frame expands to its inlined calls (innermost
/// first) followed by the function that contains them, then the frames of the functions that
/// tail-called their way from its caller to it (found while stopped with the variables, else now).
/// Also the bt variables of each snapshot frame (empty lists when they were not kept).
fn frames_of(
    thread: &CapturedThread,
    prepared: &PreparedProcess,
    is_fault: bool,
    symbols: &mut SymbolCache,
) -> (Vec<Frame>, Vec<Vec<BtVariable>>) {
    let mut frames = Vec::new();
    let mut bts = Vec::new();
    let found_later;
    let tail_calls = match &thread.tail_calls {
        Some(found) => found,
        None => {
            found_later = all_tail_calls(&thread.frames, &prepared.objects, &mut TailCallCache::new());
            &found_later
        }
    };
    for (depth, unwound) in thread.frames.iter().enumerate() {
        let registers: BTreeMap<String, Address> = if depth == 0 {
            all_registers(&thread.user_regs)
        } else {
            unwound
                .regs
                .named()
                .map(|(name, value)| (name.to_string(), Address(value)))
                .collect()
        };
        let object = prepared.objects.find(unwound.lookup_pc);
        let symbolized = symbols.symbolize(object, unwound.lookup_pc);
        let entries: Vec<_> = if symbolized.is_empty() {
            vec![crate::debuginfo::SymbolizedFrame {
                symbol: None,
                offset: None,
                file: None,
                line: None,
                inlined: false,
            }]
        } else {
            symbolized
        };
        let levels = thread.variables.get(depth).map(Vec::as_slice).unwrap_or_default();
        let bt_levels = thread
            .bt_variables
            .get(depth)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let entry_count = entries.len();
        for (i, entry) in entries.into_iter().enumerate() {
            bts.push(level_variables(bt_levels, i, entry_count));
            frames.push(Frame {
                index: frames.len(),
                pc: Address(unwound.pc),
                cfa: unwound.cfa.map(Address),
                symbol: entry.symbol,
                // Offsets are of the lookup address; report them for the pc itself.
                offset: entry
                    .offset
                    .map(|o| o + unwound.pc.wrapping_sub(unwound.lookup_pc)),
                object: object.map(|o| o.path.clone()),
                file: entry.file,
                line: entry.line,
                inlined: entry.inlined,
                suspect: unwound.suspect,
                fault: is_fault && depth == 0 && i == 0,
                signal_frame: unwound.signal_frame,
                tail_call: false,
                registers: registers.clone(),
                variables: level_variables(levels, i, entry_count),
                annotations: Vec::new(),
            });
        }
        let tails = tail_calls.get(depth).map(Vec::as_slice).unwrap_or_default();
        let tail_variables = thread.tail_call_variables.get(depth);
        let tail_bts = thread.tail_call_bt_variables.get(depth);
        for (j, tail) in tails.iter().cloned().enumerate() {
            bts.push(tail_bts.and_then(|list| list.get(j)).cloned().unwrap_or_default());
            frames.push(Frame {
                index: frames.len(),
                pc: Address(tail.pc),
                cfa: None,
                symbol: tail.frame.symbol,
                offset: tail.frame.offset,
                object: Some(tail.object),
                file: tail.frame.file,
                line: tail.frame.line,
                inlined: false,
                suspect: false,
                fault: false,
                signal_frame: false,
                tail_call: true,
                registers: BTreeMap::new(),
                variables: tail_variables
                    .and_then(|list| list.get(j))
                    .cloned()
                    .unwrap_or_default(),
                annotations: Vec::new(),
            });
        }
    }
    (frames, bts)
}

/// The variables of entry `index` of `count` symbolized entries of one unwound frame. Both lists
/// end with the function itself; when they disagree on the number of inlined levels, they are
/// matched from that end.
fn level_variables<T: Clone>(levels: &[Vec<T>], index: usize, count: usize) -> Vec<T> {
    let from_end = count - index;
    levels
        .len()
        .checked_sub(from_end)
        .and_then(|i| levels.get(i))
        .cloned()
        .unwrap_or_default()
}

/// Every register of the kernel's `user_regs_struct`, by name.
fn all_registers(r: &libc::user_regs_struct) -> BTreeMap<String, Address> {
    [
        ("rax", r.rax),
        ("rbx", r.rbx),
        ("rcx", r.rcx),
        ("rdx", r.rdx),
        ("rsi", r.rsi),
        ("rdi", r.rdi),
        ("rbp", r.rbp),
        ("rsp", r.rsp),
        ("r8", r.r8),
        ("r9", r.r9),
        ("r10", r.r10),
        ("r11", r.r11),
        ("r12", r.r12),
        ("r13", r.r13),
        ("r14", r.r14),
        ("r15", r.r15),
        ("rip", r.rip),
        ("eflags", r.eflags),
        ("cs", r.cs),
        ("ss", r.ss),
        ("ds", r.ds),
        ("es", r.es),
        ("fs", r.fs),
        ("gs", r.gs),
        ("fs_base", r.fs_base),
        ("gs_base", r.gs_base),
        ("orig_rax", r.orig_rax),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), Address(value)))
    .collect()
}
