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
        if exe.elf.is_some() && !exe.has_dwarf() {
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
        nspid: info.nspid.clone(),
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
        module_failures: Vec::new(),
        incomplete: false,
        core: None,
    }
}

/// How the frames of the snapshot are built after the resume: the symbolized entries by
/// (object base, lookup pc), so that threads running the same code are symbolized once, and
/// which frames record registers.
#[derive(Default)]
pub struct FrameBuilder {
    entries: HashMap<(u64, u64), Vec<SymbolizedFrame>>,
    all_registers: bool,
}

impl FrameBuilder {
    /// A builder; with `all_registers`, caller frames record the registers the unwinder
    /// recovered for them too (frame 0 always records all of them).
    pub fn new(all_registers: bool) -> Self {
        Self {
            entries: HashMap::new(),
            all_registers,
        }
    }

    fn symbolize(&mut self, object: Option<&Arc<LoadedObject>>, pc: u64) -> &[SymbolizedFrame] {
        let Some(object) = object else {
            return &[];
        };
        self.entries
            .entry((object.base, pc))
            .or_insert_with(|| object.symbolize(pc))
    }
}

/// Adds the captured threads (symbolized, with their variables, which are moved out of
/// `captured`) and the fault to `snapshot`. Returns the bt variables of each thread's snapshot
/// frames (empty lists when they were not kept), also moved out of `captured`.
pub fn add_threads(
    snapshot: &mut Snapshot,
    captured: &mut [CapturedThread],
    info: &ProcessInfo,
    prepared: &PreparedProcess,
    fault: Option<FaultMark>,
    builder: &mut FrameBuilder,
) -> Vec<Vec<Vec<BtVariable>>> {
    let fault = fault.map(|f| f.0);
    let fault_tid = fault.as_ref().map(|f| f.tid);
    let mut bt_variables = Vec::new();
    snapshot.threads.reserve(captured.len());
    for thread in captured {
        let thread_info = info
            .threads
            .get(&thread.tid)
            .cloned()
            .or_else(|| procinfo::read_thread(snapshot.pid, thread.tid));
        let (name, state, nspid) = thread_info
            .map(|t| (t.name, t.state, t.nspid))
            .unwrap_or_default();
        let is_fault = fault_tid == Some(thread.tid);
        let (frames, bts) = frames_of(thread, prepared, is_fault, builder);
        bt_variables.push(bts);
        snapshot.threads.push(Thread {
            tid: thread.tid,
            nspid,
            name,
            state,
            fault: is_fault,
            frames,
            variables: std::mem::take(&mut thread.thread_locals),
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
    thread: &mut CapturedThread,
    prepared: &PreparedProcess,
    is_fault: bool,
    builder: &mut FrameBuilder,
) -> (Vec<Frame>, Vec<Vec<BtVariable>>) {
    let mut frames = Vec::with_capacity(thread.frames.len());
    let mut bts = Vec::with_capacity(thread.frames.len());
    let found_later;
    let tail_calls = match &thread.tail_calls {
        Some(found) => found,
        None => {
            found_later = all_tail_calls(&thread.frames, &prepared.objects, &mut TailCallCache::default());
            &found_later
        }
    };
    let no_entry = [SymbolizedFrame {
        symbol: None,
        offset: None,
        file: None,
        line: None,
        inlined: false,
    }];
    for (depth, unwound) in thread.frames.iter().enumerate() {
        let mut registers: BTreeMap<String, Address> = if depth == 0 {
            all_registers(&thread.user_regs)
        } else if builder.all_registers {
            unwound
                .regs
                .named()
                .map(|(name, value)| (name.to_string(), Address(value)))
                .collect()
        } else {
            BTreeMap::new()
        };
        let object = prepared.objects.find(unwound.lookup_pc);
        let object_path = object.map(|o| o.path.as_str());
        let symbolized = builder.symbolize(object, unwound.lookup_pc);
        let entries = if symbolized.is_empty() {
            &no_entry[..]
        } else {
            symbolized
        };
        let levels = thread
            .variables
            .get_mut(depth)
            .map(Vec::as_mut_slice)
            .unwrap_or_default();
        let bt_levels = thread
            .bt_variables
            .get_mut(depth)
            .map(Vec::as_mut_slice)
            .unwrap_or_default();
        let entry_count = entries.len();
        for (i, entry) in entries.iter().enumerate() {
            bts.push(take_level(bt_levels, i, entry_count));
            frames.push(Frame {
                index: frames.len(),
                pc: Address(unwound.pc),
                cfa: unwound.cfa.map(Address),
                symbol: entry.symbol.clone(),
                // Offsets are of the lookup address; report them for the pc itself.
                offset: entry
                    .offset
                    .map(|o| o + unwound.pc.wrapping_sub(unwound.lookup_pc)),
                object: object_path.map(str::to_string),
                file: entry.file.clone(),
                line: entry.line,
                inlined: entry.inlined,
                suspect: unwound.suspect,
                fault: is_fault && depth == 0 && i == 0,
                signal_frame: unwound.signal_frame,
                tail_call: false,
                registers: if i + 1 == entry_count {
                    std::mem::take(&mut registers)
                } else {
                    registers.clone()
                },
                variables: take_level(levels, i, entry_count),
                annotations: refused_file_note(object),
            });
        }
        let tails = tail_calls.get(depth).map(Vec::as_slice).unwrap_or_default();
        let mut tail_variables = thread.tail_call_variables.get_mut(depth);
        let mut tail_bts = thread.tail_call_bt_variables.get_mut(depth);
        for (j, tail) in tails.iter().cloned().enumerate() {
            bts.push(take_at(tail_bts.as_deref_mut(), j));
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
                variables: take_at(tail_variables.as_deref_mut(), j),
                annotations: Vec::new(),
            });
        }
    }
    (frames, bts)
}

/// Takes the list at `index` of `lists` (an empty list when there is none).
fn take_at<T>(lists: Option<&mut Vec<Vec<T>>>, index: usize) -> Vec<T> {
    lists
        .and_then(|lists| lists.get_mut(index))
        .map(std::mem::take)
        .unwrap_or_default()
}

/// Takes the variables of entry `index` of `count` symbolized entries of one unwound frame. Both
/// lists end with the function itself; when they disagree on the number of inlined levels, they
/// are matched from that end.
fn take_level<T>(levels: &mut [Vec<T>], index: usize, count: usize) -> Vec<T> {
    let from_end = count - index;
    levels
        .len()
        .checked_sub(from_end)
        .and_then(|i| levels.get_mut(i))
        .map(std::mem::take)
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

/// The annotation of a frame whose object's file was refused (not the one mapped: see
/// `LoadedObject::unusable`), saying why it has no symbol, line or variables.
fn refused_file_note(object: Option<&Arc<LoadedObject>>) -> Vec<snapshot::Annotation> {
    object
        .and_then(|o| o.unusable.as_ref())
        .map(|why| {
            vec![snapshot::Annotation::Text {
                level: snapshot::AnnotationLevel::Warning,
                text: why.clone(),
            }]
        })
        .unwrap_or_default()
}
