//! The work done while the target is stopped: unwinding every thread from its registers and its
//! stack copy, then reading the variables of every frame (tail-call frames included), each
//! thread's thread-local variables and the globals asked for. Symbols and lines are resolved
//! after the resume, and so are frame variables built unless modules watch them while stopped
//! ([`Extraction`]).

use super::prepare::PreparedProcess;
use super::target::StoppedTarget;
use super::thread_tls::ThreadTls;
use crate::cutoff::Cutoff;
use crate::debuginfo::{ProcessObjects, TailCallFrame};
use crate::memory::{LayeredMemory, MemoryReader};
use crate::snapshot::{Annotation, AnnotationLevel, Variable};
use crate::tracer::StoppedThread;
use crate::unwind::{UnwindScratch, Unwinder, UnwoundFrame};
use crate::variables::{
    BtVariable, CopiedStrings, GlobalPlan, GlobalVariable, PendingGlobal, PendingVariable, StringCopies,
    TlsResolver, VariableLimits,
};

/// One thread as captured while stopped.
pub struct CapturedThread {
    /// Kernel thread id.
    pub tid: i32,
    /// The thread's registers at the stop (all of them, for frame 0).
    pub user_regs: libc::user_regs_struct,
    /// The unwound frames, innermost first.
    pub frames: Vec<UnwoundFrame>,
    /// The variables of each unwound frame (same index as `frames`): one list per inline level,
    /// innermost first, the function itself last (empty when not extracted).
    pub variables: Vec<Vec<Vec<Variable>>>,
    /// The bt variable of each extracted variable (same shape as `variables`), when modules
    /// listen to variable events; empty otherwise.
    pub bt_variables: Vec<Vec<Vec<BtVariable>>>,
    /// The tail-call frames between each unwound frame and the next (same index as `frames`),
    /// when they were found while stopped (with variables); `None`: find them after the resume.
    pub tail_calls: Option<Vec<Vec<TailCallFrame>>>,
    /// The variables of each of those tail-call frames (same indices).
    pub tail_call_variables: Vec<Vec<Vec<Variable>>>,
    /// The bt variable of each variable of those tail-call frames (same shape as
    /// `tail_call_variables`), when modules listen to variable events; empty otherwise.
    pub tail_call_bt_variables: Vec<Vec<Vec<BtVariable>>>,
    /// The variables of each unwound frame and of each tail-call frame (same shapes as
    /// `variables` and `tail_call_variables`) when they are built after the resume
    /// ([`Extraction::Pending`]); `None` otherwise.
    pub pending: Option<(Levels<PendingVariable>, Levels<PendingVariable>)>,
    /// The thread-local variables (same order as the plans read) when they are built after the
    /// resume ([`Extraction::Pending`]); `None` otherwise.
    pub pending_thread_locals: Option<Vec<PendingGlobal>>,
    /// The thread's thread-local variables.
    pub thread_locals: Vec<Variable>,
    /// The bt variable of each thread-local variable (same index as `thread_locals`), when
    /// modules listen to variable events; empty otherwise.
    pub thread_local_bt_variables: Vec<BtVariable>,
}

/// Unwinds every stopped thread; on two CPUs when `parallel` and the threads are many (see
/// [`on_two_cpus`]).
pub fn capture(
    stopped: &dyn StoppedTarget,
    unwinder: &Unwinder,
    max_frames: usize,
    parallel: bool,
) -> Vec<CapturedThread> {
    let mut captured: Vec<CapturedThread> = stopped
        .threads()
        .iter()
        .map(|thread| CapturedThread {
            tid: thread.tid,
            user_regs: thread.user_regs,
            frames: Vec::new(),
            variables: Vec::new(),
            bt_variables: Vec::new(),
            tail_calls: None,
            tail_call_variables: Vec::new(),
            tail_call_bt_variables: Vec::new(),
            pending: None,
            pending_thread_locals: None,
            thread_locals: Vec::new(),
            thread_local_bt_variables: Vec::new(),
        })
        .collect();
    on_two_cpus(&mut captured, parallel, |first, share| {
        let mut scratch = UnwindScratch::default();
        for (captured, thread) in share.iter_mut().zip(&stopped.threads()[first..]) {
            let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
            captured.frames = unwinder
                .unwind_in(&mut scratch, &thread.regs, &memory, max_frames)
                .frames;
            if let Some(innermost) = captured.frames.first_mut() {
                innermost.vector = thread.vector.clone();
            }
        }
    });
    captured
}

/// With at least this many threads, the stopped threads are processed on two CPUs (fewer would
/// not repay starting a worker thread, about 50 µs).
pub const PARALLEL_MIN_THREADS: usize = 8;

/// Whether `count` threads are processed on two CPUs (see [`on_two_cpus`]).
fn fans_out(parallel: bool, count: usize) -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    parallel && cpus >= 2 && count >= PARALLEL_MIN_THREADS
}

/// Runs `work` over `items` as `work(index of the first item, items)`: with `parallel` (and
/// [`PARALLEL_MIN_THREADS`] items or more, and more than one CPU) on two CPUs — this thread and
/// a worker, each taking the next [`SHARE`]th of the items until none is left, so that neither
/// waits for the other when some items cost more — else all of them here in one call. What each
/// call returned, in the order of the items; a panic in the worker is raised again here.
///
/// While the target is stopped, this thread (the tracer) and the worker have the machine to
/// themselves. Every ptrace call is done by then: registers and stacks are copied, and live
/// memory is read with `process_vm_readv`, which any thread may call.
fn on_two_cpus<T: Send, R: Send>(
    items: &mut [T],
    parallel: bool,
    work: impl Fn(usize, &mut [T]) -> R + Sync,
) -> Vec<R> {
    if !fans_out(parallel, items.len()) {
        return vec![work(0, items)];
    }
    let size = items.len().div_ceil(SHARE);
    let shares = std::sync::Mutex::new(items.chunks_mut(size).enumerate());
    let take_shares = || {
        let mut done = Vec::new();
        loop {
            let next = shares.lock().unwrap_or_else(|p| p.into_inner()).next();
            let Some((index, share)) = next else {
                return done;
            };
            done.push((index, work(index * size, share)));
        }
    };
    let mut done = std::thread::scope(|scope| {
        let worker = scope.spawn(take_shares);
        let mut mine = take_shares();
        match worker.join() {
            Ok(theirs) => {
                mine.extend(theirs);
                mine
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// Into how many shares [`on_two_cpus`] cuts the items: enough that the two CPUs end within a
/// share of each other, few enough that taking one costs nothing next to reading it.
const SHARE: usize = 32;

/// How the frame variables are read while the target is stopped.
#[derive(Clone, Copy)]
pub enum Extraction<'a> {
    /// Built into snapshot variables now.
    Built,
    /// Built now, each with its bt variable (for the variable events of modules).
    BuiltWithBt,
    /// Located now, their strings copied into the copies; built after the resume
    /// ([`build_pending`]).
    Pending(&'a StringCopies),
}

/// Reads the variables of every frame of every captured thread — the tail-call frames between
/// them found first, as their entry values resolve through them — and the thread-local variables
/// `thread_locals` in each thread (from copies of the thread's stack and TLS blocks, else live
/// memory), as `extraction` says.
///
/// With `parallel`, many threads are read on two CPUs ([`on_two_cpus`]): once their tail-call
/// frames are found and the scopes of every frame planned ([`find_tail_calls`]), the variables,
/// each share of the threads copying strings into copies of its own, merged after. The result is the same as
/// read in order on one thread.
///
/// Once `cutoff` says work must end (the stop limit), the threads not read yet are left without
/// variables; returns how many.
#[allow(clippy::too_many_arguments)]
pub fn capture_variables(
    stopped: &dyn StoppedTarget,
    threads: &mut [CapturedThread],
    prepared: &PreparedProcess,
    thread_locals: &[GlobalPlan],
    limits: &VariableLimits,
    extraction: Extraction<'_>,
    parallel: bool,
    cutoff: &Cutoff,
) -> usize {
    find_tail_calls(threads, prepared, parallel);
    // `StringCopies` is not shared between threads: each share copies strings into its own,
    // merged after (what each share is told is rebuilt from these two flags).
    let pending = matches!(extraction, Extraction::Pending(_));
    let with_bt = matches!(extraction, Extraction::BuiltWithBt);
    let copies = on_two_cpus(threads, parallel, |first, share| {
        let copies = StringCopies::new();
        let extraction = match (pending, with_bt) {
            (true, _) => Extraction::Pending(&copies),
            (false, true) => Extraction::BuiltWithBt,
            (false, false) => Extraction::Built,
        };
        let mut left_out = 0;
        for (index, captured) in (first..).zip(share) {
            if cutoff.reason().is_some() {
                left_out += 1;
                continue;
            }
            thread_variables(
                stopped,
                index,
                captured,
                prepared,
                thread_locals,
                limits,
                extraction,
            );
        }
        (copies, left_out)
    });
    let mut left_out = 0;
    for (share, share_left_out) in copies {
        left_out += share_left_out;
        if let Extraction::Pending(strings) = extraction {
            strings.merge(share);
        }
    }
    left_out
}

/// Finds the tail-call frames between the unwound frames of every thread, on this thread
/// (threads share most of them, found once in the cache). When the threads are then read on two
/// CPUs ([`on_two_cpus`]), the scopes of every frame are planned first, so that both CPUs only
/// read the shared plans: those of the unwound frames on a worker meanwhile, then those of
/// the tail-call frames.
fn find_tail_calls(threads: &mut [CapturedThread], prepared: &PreparedProcess, parallel: bool) {
    let find = |threads: &mut [CapturedThread]| {
        let mut cache = TailCallCache::default();
        for captured in threads {
            captured.tail_calls = Some(all_tail_calls(&captured.frames, &prepared.objects, &mut cache));
        }
    };
    if !fans_out(parallel, threads.len()) {
        find(threads);
        return;
    }
    let unwound = frame_pcs(threads.iter().map(|t| t.frames.iter().map(|f| f.lookup_pc)));
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| prepared.variables.plan_scopes(unwound));
        find(threads);
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    });
    let tail_calls = threads.iter().map(|t| {
        let frames = t.tail_calls.iter().flatten().flatten();
        frames.map(|f| f.pc.wrapping_sub(1))
    });
    prepared.variables.plan_scopes(frame_pcs(tail_calls));
}

/// The pcs of `threads` (one sequence per thread), each once.
fn frame_pcs<I: Iterator<Item = u64>>(threads: impl Iterator<Item = I>) -> std::collections::HashSet<u64> {
    let mut pcs = std::collections::HashSet::new();
    for thread in threads {
        // Recursion repeats a pc frame after frame: hashed once.
        let mut previous = None;
        for pc in thread {
            if previous != Some(pc) {
                pcs.insert(pc);
                previous = Some(pc);
            }
        }
    }
    pcs
}

/// Reads the variables of one captured thread, whose tail-call frames are found, the thread
/// `index` of the stopped threads (see [`capture_variables`]).
fn thread_variables(
    stopped: &dyn StoppedTarget,
    index: usize,
    captured: &mut CapturedThread,
    prepared: &PreparedProcess,
    thread_locals: &[GlobalPlan],
    limits: &VariableLimits,
    extraction: Extraction<'_>,
) {
    // The threads were captured in the stopped threads' order (no search through them all).
    let at_index = stopped.threads().get(index).filter(|t| t.tid == captured.tid);
    let Some(thread) = at_index.or_else(|| stopped.threads().iter().find(|t| t.tid == captured.tid)) else {
        return;
    };
    let stack = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
    let tls = thread_tls(prepared, thread, &stack);
    let blocks = match (&tls, thread_locals.is_empty()) {
        (Some(tls), false) => tls.block_copies(&prepared.objects),
        _ => Vec::new(),
    };
    let memory = LayeredMemory::new(&blocks, Some(&stack));
    let tls = tls.as_ref().map(|t| t as &dyn TlsResolver);
    let pcs: Vec<Vec<u64>> = captured
        .tail_calls
        .iter()
        .flatten()
        .map(|frames| frames.iter().map(|f| f.pc).collect())
        .collect();
    let variables = &prepared.variables;
    match extraction {
        Extraction::BuiltWithBt => {
            let paired = variables.thread_variables_with_bt(&captured.frames, &pcs, &memory, tls, limits);
            (captured.variables, captured.bt_variables) = split_bt(paired.frames);
            (captured.tail_call_variables, captured.tail_call_bt_variables) = split_bt(paired.tail_calls);
        }
        Extraction::Built => {
            let read = variables.thread_variables(&captured.frames, &pcs, &memory, tls, limits);
            captured.variables = read.frames;
            captured.tail_call_variables = read.tail_calls;
        }
        Extraction::Pending(copies) => {
            let read =
                variables.thread_variables_pending(&captured.frames, &pcs, &memory, tls, limits, copies);
            captured.pending = Some((read.frames, read.tail_calls));
        }
    }
    if let Extraction::Pending(copies) = extraction {
        // No symbol is looked up while stopped: `name_pointees` does it after the resume.
        let no_symbols = |_: u64| None;
        captured.pending_thread_locals = Some(
            thread_locals
                .iter()
                .map(|global| global.read_pending(&memory, tls, limits, copies, &no_symbols))
                .collect(),
        );
    } else {
        captured.thread_locals = thread_locals
            .iter()
            .map(|global| variables.read_planned_global(global, &memory, tls, limits))
            .collect();
    }
    if matches!(extraction, Extraction::BuiltWithBt) {
        captured.thread_local_bt_variables = thread_locals
            .iter()
            .map(|global| BtVariable::from_global(global.global(), &memory, tls))
            .collect();
    }
}

/// Per frame, per list (inline level or tail-call frame), the variables.
pub type Levels<T> = Vec<Vec<Vec<T>>>;

/// After the resume: builds the variables left pending by [`Extraction::Pending`] from their
/// located bytes and the strings `copies` copied while the target was stopped
/// (`thread_locals`: the plans the thread-local variables were read with).
pub fn build_pending(
    threads: &mut [CapturedThread],
    prepared: &PreparedProcess,
    limits: &VariableLimits,
    copies: &CopiedStrings,
    thread_locals: &[GlobalPlan],
) {
    let symbolize = |address: u64| prepared.variables.symbolize_function(address);
    let build = |levels: Levels<PendingVariable>| -> Levels<Variable> {
        levels
            .into_iter()
            .map(|lists| {
                lists
                    .into_iter()
                    .map(|list| {
                        list.into_iter()
                            .map(|pending| prepared.variables.build_pending(pending, copies, limits))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    };
    // After the resume, on two CPUs as while stopped (the threads are independent).
    on_two_cpus(threads, true, |_, share| {
        for thread in share {
            if let Some((frames, tail_calls)) = thread.pending.take() {
                thread.variables = build(frames);
                thread.tail_call_variables = build(tail_calls);
            }
            if let Some(pending) = thread.pending_thread_locals.take() {
                thread.thread_locals = thread_locals
                    .iter()
                    .zip(pending)
                    .map(|(plan, pending)| plan.build_pending(pending, copies, limits, &symbolize))
                    .collect();
            }
        }
    });
}

/// Splits variables paired with their bt variables into two lists of the same shape.
fn split_bt(paired: Levels<(Variable, BtVariable)>) -> (Levels<Variable>, Levels<BtVariable>) {
    paired
        .into_iter()
        .map(|lists| {
            lists
                .into_iter()
                .map(|list| list.into_iter().unzip::<_, _, Vec<_>, Vec<_>>())
                .unzip::<_, _, Vec<_>, Vec<_>>()
        })
        .unzip()
}

/// Reads the globals asked for. A thread-local one is read in the thread `tls_thread` (when
/// captured; else the first), and says so.
pub fn capture_globals(
    stopped: &dyn StoppedTarget,
    prepared: &PreparedProcess,
    globals: &[GlobalVariable],
    limits: &VariableLimits,
    tls_thread: i32,
) -> Vec<Variable> {
    let thread = tls_thread_of(stopped, tls_thread);
    // No symbol is looked up while stopped: `name_pointees` does it after the resume.
    let no_symbols = |_: u64| None;
    globals
        .iter()
        .map(|global| {
            let Some(thread) = thread.filter(|_| global.is_thread_local()) else {
                return global.read(stopped.memory(), None, limits, &no_symbols);
            };
            let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
            let tls = thread_tls(prepared, thread, &memory);
            let mut variable = global.read(
                &memory,
                tls.as_ref().map(|t| t as &dyn TlsResolver),
                limits,
                &no_symbols,
            );
            variable.annotations.push(Annotation::Text {
                level: AnnotationLevel::Comment,
                text: format!("thread-local: the value in thread {}", thread.tid),
            });
            variable
        })
        .collect()
}

/// The bt variable of global `global` (for the global event of modules): a thread-local one
/// is located in the thread `tls_thread` (when captured; else the first), as
/// [`capture_globals`] reads it.
pub fn global_bt_variable(
    stopped: &dyn StoppedTarget,
    prepared: &PreparedProcess,
    global: &GlobalVariable,
    tls_thread: i32,
) -> BtVariable {
    let Some(thread) = tls_thread_of(stopped, tls_thread).filter(|_| global.is_thread_local()) else {
        return BtVariable::from_global(global, stopped.memory(), None);
    };
    let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
    let tls = thread_tls(prepared, thread, &memory);
    BtVariable::from_global(global, &memory, tls.as_ref().map(|t| t as &dyn TlsResolver))
}

/// The thread whose thread-local globals are read: `tls_thread` when captured, else the first.
fn tls_thread_of(stopped: &dyn StoppedTarget, tls_thread: i32) -> Option<&StoppedThread> {
    stopped
        .threads()
        .iter()
        .find(|t| t.tid == tls_thread)
        .or_else(|| stopped.threads().first())
}

/// The TLS blocks of `thread`, when the process's TLS modules are known.
fn thread_tls<'a>(
    prepared: &'a PreparedProcess,
    thread: &StoppedThread,
    memory: &'a dyn MemoryReader,
) -> Option<ThreadTls<'a>> {
    let resolver = prepared.tls.as_ref()?;
    Some(ThreadTls::new(resolver, thread.user_regs.fs_base, memory))
}

/// Tail-call frames already found, by the caller's return address and the callee's lookup pc
/// (threads often share their outer frames).
pub type TailCallCache = rustc_hash::FxHashMap<(u64, u64), Vec<TailCallFrame>>;

/// The tail-call frames between each unwound frame and the next (the last frame: none).
pub fn all_tail_calls(
    frames: &[UnwoundFrame],
    objects: &ProcessObjects,
    cache: &mut TailCallCache,
) -> Vec<Vec<TailCallFrame>> {
    // Recursion repeats a (caller, callee) pair frame after frame: looked up once.
    let mut previous: Option<((u64, u64), Vec<TailCallFrame>)> = None;
    frames
        .iter()
        .enumerate()
        .map(|(depth, callee)| {
            let Some(caller) = frames.get(depth + 1) else {
                return Vec::new();
            };
            let key = (caller.pc, callee.lookup_pc);
            if let Some((_, found)) = previous.as_ref().filter(|(k, _)| *k == key) {
                return found.clone();
            }
            let found = cache
                .entry(key)
                .or_insert_with(|| tail_calls_between(callee, caller, objects))
                .clone();
            previous = Some((key, found.clone()));
            found
        })
        .collect()
}

/// The frames of the functions that tail-called from `caller` to `callee` (innermost first), as
/// DWARF call-site information proves them. Only between frames the CFI unwound, where the
/// caller's pc is a return address (not a signal-interrupted pc) and the callee is not a signal
/// trampoline.
fn tail_calls_between(
    callee: &UnwoundFrame,
    caller: &UnwoundFrame,
    objects: &ProcessObjects,
) -> Vec<TailCallFrame> {
    let caller_returns = caller.pc != caller.lookup_pc;
    if !caller_returns || callee.signal_frame || callee.suspect || caller.suspect {
        return Vec::new();
    }
    let Some(entry) = objects
        .find(callee.lookup_pc)
        .and_then(|object| object.function_entry(callee.lookup_pc))
    else {
        return Vec::new();
    };
    objects.tail_call_frames(caller.pc, entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cpus_take_every_item_once_and_results_come_back_in_order() {
        let mut items: Vec<(usize, u32)> = (0..1000).map(|i| (i, 0)).collect();
        let results = on_two_cpus(&mut items, true, |first, share| {
            for (offset, item) in share.iter_mut().enumerate() {
                assert_eq!(
                    item.0,
                    first + offset,
                    "the index given is the share's first item's"
                );
                item.1 += 1;
            }
            (first, share.len())
        });
        assert!(
            items.iter().all(|&(_, visits)| visits == 1),
            "each item exactly once"
        );
        let mut next = 0;
        for (first, len) in &results {
            assert_eq!(*first, next, "results in the order of the items");
            next += len;
        }
        assert_eq!(next, items.len());
        if fans_out(true, items.len()) {
            assert_eq!(results.len(), items.len().div_ceil(items.len().div_ceil(SHARE)));
        }
        let one = on_two_cpus(&mut items, false, |first, share| (first, share.len()));
        assert_eq!(one, vec![(0, 1000)], "not parallel: one call over every item");
    }
}
