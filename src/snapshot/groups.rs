//! Threads grouped by stack, as the poor man's profiler does: one [`Group`] per distinct stack
//! (frames compared by symbol, object, file and line, or by pc when a frame has no symbol;
//! variables' values never split a group), the faulting thread first and alone, then the groups
//! largest first. Each stack's recursion folds into [`Run`]s (consecutive calls of one function,
//! or a repeating sequence of functions, shown once with a count).
//!
//! The text dump ([`super::text`]) is written on it; a viewer can reuse it as is.

use std::collections::HashMap;

use super::model::{Frame, Snapshot, Thread};

/// What identifies a frame when stacks are compared: its symbol, object, source file and line,
/// or, when it has no symbol, its pc.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameKey<'a> {
    /// The function name.
    pub symbol: Option<&'a str>,
    /// The object's path.
    pub object: Option<&'a str>,
    /// The source file.
    pub file: Option<&'a str>,
    /// The source line.
    pub line: Option<u32>,
    /// The pc, only for a frame without a symbol.
    pub pc: Option<u64>,
    /// An inlined call.
    pub inlined: bool,
}

impl<'a> FrameKey<'a> {
    /// The key of `frame`.
    pub fn of(frame: &'a Frame) -> Self {
        Self {
            symbol: frame.symbol.as_deref(),
            object: frame.object.as_deref(),
            file: frame.file.as_deref(),
            line: frame.line,
            pc: frame.symbol.is_none().then_some(frame.pc.0),
            inlined: frame.inlined,
        }
    }
}

/// What identifies a function when recursion is folded: its symbol and object, or, without a
/// symbol, the pc.
fn function_key(frame: &Frame) -> (Option<&str>, Option<&str>, Option<u64>) {
    (
        frame.symbol.as_deref(),
        frame.object.as_deref(),
        frame.symbol.is_none().then_some(frame.pc.0),
    )
}

/// Threads with the same stack.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    /// The threads, in snapshot order (the faulting thread alone in its group). Never empty.
    pub threads: Vec<&'a Thread>,
    /// The group of the faulting thread.
    pub fault: bool,
}

impl<'a> Group<'a> {
    /// How many threads the group holds.
    pub fn count(&self) -> usize {
        self.threads.len()
    }

    /// The thread ids, in snapshot order.
    pub fn tids(&self) -> Vec<i32> {
        self.threads.iter().map(|t| t.tid).collect()
    }

    /// The thread whose frames and variables stand for the group (its first).
    pub fn representative(&self) -> &'a Thread {
        self.threads[0]
    }

    /// The stack the group's threads share, folded into runs.
    pub fn runs(&self) -> Vec<Run> {
        fold_frames(&self.representative().frames)
    }
}

/// Groups the threads of `snapshot` by stack: the faulting thread first, alone (a thread marked
/// `fault`, else the thread the snapshot's fault names), then one group per distinct stack,
/// largest first (equal sizes in the order of their first thread in the snapshot).
pub fn group_threads(snapshot: &Snapshot) -> Vec<Group<'_>> {
    let fault_tid = snapshot
        .threads
        .iter()
        .find(|t| t.fault)
        .map(|t| t.tid)
        .or_else(|| snapshot.fault.as_ref().map(|f| f.tid));
    let mut fault = None;
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<Vec<FrameKey<'_>>, usize> = HashMap::new();
    for thread in &snapshot.threads {
        if fault.is_none() && Some(thread.tid) == fault_tid {
            fault = Some(Group {
                threads: vec![thread],
                fault: true,
            });
            continue;
        }
        let key: Vec<FrameKey<'_>> = thread.frames.iter().map(FrameKey::of).collect();
        match index.get(&key) {
            Some(&i) => groups[i].threads.push(thread),
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    threads: vec![thread],
                    fault: false,
                });
            }
        }
    }
    // A stable sort: equal sizes keep the order of their first thread.
    groups.sort_by_key(|g| std::cmp::Reverse(g.count()));
    fault.into_iter().chain(groups).collect()
}

/// A stretch of a stack shown once: `frames[start..start + period]`, repeated `repeats` times in
/// a row (1: no recursion).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The index (in the thread's frames) of the run's first frame, the innermost.
    pub start: usize,
    /// How many frames one repetition holds (1: one function calling itself).
    pub period: usize,
    /// How many times the sequence repeats (1 when it does not).
    pub repeats: usize,
}

impl Run {
    /// The frames the run covers in all, repetitions included.
    pub fn len(&self) -> usize {
        self.period * self.repeats
    }

    /// Whether the run covers no frame (never, for runs [`fold_frames`] makes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indexes of the frames shown: one repetition.
    pub fn shown(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.period
    }
}

/// The longest sequence of frames looked for as a repeating unit.
pub const MAX_PERIOD: usize = 8;

/// Folds the recursion of `frames` (innermost first) into runs that cover every frame in order:
/// a function calling itself (frames of one function in a row, whatever their lines) is one run
/// of period 1; a sequence of up to [`MAX_PERIOD`] functions repeated in a row (`a b a b a b`)
/// is one run of that period. At each frame the run covering the most frames wins, the shortest
/// period among equals.
pub fn fold_frames(frames: &[Frame]) -> Vec<Run> {
    let keys: Vec<_> = frames.iter().map(function_key).collect();
    let mut runs = Vec::new();
    let mut start = 0;
    while start < keys.len() {
        let mut best = Run {
            start,
            period: 1,
            repeats: 1,
        };
        for period in 1..=MAX_PERIOD.min((keys.len() - start) / 2) {
            let unit = &keys[start..start + period];
            let mut repeats = 1;
            while start + (repeats + 1) * period <= keys.len()
                && keys[start + repeats * period..start + (repeats + 1) * period] == *unit
            {
                repeats += 1;
            }
            if repeats > 1 && repeats * period > best.len() {
                best = Run {
                    start,
                    period,
                    repeats,
                };
            }
        }
        start += best.len();
        runs.push(best);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::*;

    fn frame(index: usize, symbol: &str, line: u32) -> Frame {
        let mut frame = crate::pmodule::testdata::frame(symbol, "/bin/app", "app.c");
        frame.index = index;
        frame.pc = Address(0x401000 + line as u64);
        frame.offset = Some(4);
        frame.line = Some(line);
        frame
    }

    fn stack(symbols: &[(&str, u32)]) -> Vec<Frame> {
        symbols
            .iter()
            .enumerate()
            .map(|(i, (symbol, line))| frame(i, symbol, *line))
            .collect()
    }

    fn thread(tid: i32, frames: Vec<Frame>) -> Thread {
        Thread {
            tid,
            nspid: None,
            name: "app".into(),
            state: "sleeping".into(),
            fault: false,
            frames,
            variables: vec![],
            annotations: vec![],
        }
    }

    fn snapshot(threads: Vec<Thread>) -> Snapshot {
        Snapshot {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            pid: 1,
            nspid: None,
            application: "app".into(),
            executable: "/bin/app".into(),
            process_state: "sleeping".into(),
            timestamp: 0,
            fault: None,
            threads,
            globals: vec![],
            attributes: Default::default(),
            classifiers: vec![],
            tags: vec![],
            annotations: vec![],
            modules: vec![],
            timing: Timing::default(),
            warnings: vec![],
            module_failures: vec![],
            incomplete: false,
            core: None,
        }
    }

    fn waiting() -> Vec<Frame> {
        stack(&[("wait", 1), ("work", 10), ("main", 20)])
    }

    #[test]
    fn identical_stacks_make_one_group_whatever_the_variables() {
        let mut a = thread(11, waiting());
        a.frames[1].variables.push(Variable {
            name: "n".into(),
            type_name: "int".into(),
            base_type: "int".into(),
            kind: crate::snapshot::VariableKind::Ll,
            address: None,
            value: serde_json::json!(1),
            symbol: None,
            parameter: true,
            state: crate::snapshot::VariableState::Ok,
            entry_value: serde_json::Value::Null,
            target_symbol: None,
            children: vec![],
            annotations: vec![],
            marks: Default::default(),
        });
        let mut b = thread(12, waiting());
        b.frames[1].variables = a.frames[1].variables.clone();
        b.frames[1].variables[0].value = serde_json::json!(2);
        // Another pc on the same line: the same frame.
        b.frames[0].pc = Address(0x999);
        let other = thread(13, stack(&[("wait", 1), ("work", 11), ("main", 20)]));
        let snap = snapshot(vec![a, b, other]);
        let groups = group_threads(&snap);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].tids(), [11, 12]);
        assert_eq!(groups[0].representative().tid, 11);
        assert_eq!(groups[1].tids(), [13]);
        assert!(!groups[0].fault && !groups[1].fault);
    }

    #[test]
    fn frames_without_symbols_compare_by_pc() {
        let mut a = thread(1, waiting());
        a.frames[0].symbol = None;
        let mut b = a.clone();
        b.tid = 2;
        let mut c = a.clone();
        c.tid = 3;
        c.frames[0].pc = Address(0x1234);
        let snap = snapshot(vec![a, b, c]);
        let tids: Vec<Vec<i32>> = group_threads(&snap).iter().map(Group::tids).collect();
        assert_eq!(tids, [vec![1, 2], vec![3]]);
    }

    #[test]
    fn the_faulting_thread_comes_first_and_alone() {
        let mut faulting = thread(12, waiting());
        faulting.fault = true;
        let snap = snapshot(vec![thread(11, waiting()), faulting, thread(13, waiting())]);
        let groups = group_threads(&snap);
        assert_eq!(groups.len(), 2);
        assert!(groups[0].fault);
        assert_eq!(groups[0].tids(), [12]);
        assert_eq!(groups[1].tids(), [11, 13]);

        // Only the snapshot's fault names it (e.g. a thread marked from outside).
        let mut snap = snapshot(vec![thread(11, waiting()), thread(12, waiting())]);
        snap.fault = Some(Fault {
            tid: 12,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: None,
            reason: "address not mapped".into(),
        });
        let groups = group_threads(&snap);
        assert_eq!(groups[0].tids(), [12]);
        assert!(groups[0].fault);
    }

    #[test]
    fn groups_come_largest_first_then_in_snapshot_order() {
        let lone = thread(1, stack(&[("main", 5)]));
        let pair = |tid| thread(tid, stack(&[("poll", 1), ("io", 2)]));
        let triple = |tid| thread(tid, waiting());
        let other = thread(9, stack(&[("tick", 3)]));
        let snap = snapshot(vec![
            lone,
            pair(2),
            triple(3),
            pair(4),
            triple(5),
            triple(6),
            other,
        ]);
        let groups = group_threads(&snap);
        let sizes: Vec<usize> = groups.iter().map(Group::count).collect();
        assert_eq!(sizes, [3, 2, 1, 1]);
        assert_eq!(groups[0].tids(), [3, 5, 6]);
        assert_eq!(groups[2].tids(), [1]);
        assert_eq!(groups[3].tids(), [9]);
    }

    #[test]
    fn recursion_of_one_function_folds_whatever_the_lines() {
        let mut symbols = vec![("futex_wait", 1), ("recurse", 90)];
        symbols.extend(std::iter::repeat_n(("recurse", 88), 19));
        symbols.extend([("thread_main", 100), ("start_thread", 0)]);
        let frames = stack(&symbols);
        let runs = fold_frames(&frames);
        let shape: Vec<(usize, usize, usize)> = runs.iter().map(|r| (r.start, r.period, r.repeats)).collect();
        assert_eq!(shape, [(0, 1, 1), (1, 1, 20), (21, 1, 1), (22, 1, 1)]);
        assert_eq!(runs.iter().map(Run::len).sum::<usize>(), frames.len());
        assert_eq!(runs[1].shown(), 1..2);
    }

    #[test]
    fn repeating_sequences_fold() {
        let frames = stack(&[
            ("leaf", 1),
            ("even", 2),
            ("odd", 3),
            ("even", 2),
            ("odd", 3),
            ("even", 2),
            ("odd", 3),
            ("main", 4),
        ]);
        let runs = fold_frames(&frames);
        let shape: Vec<(usize, usize, usize)> = runs.iter().map(|r| (r.start, r.period, r.repeats)).collect();
        assert_eq!(shape, [(0, 1, 1), (1, 2, 3), (7, 1, 1)]);
        assert!(fold_frames(&[]).is_empty());
        let single = fold_frames(&frames[..1]);
        assert_eq!(
            single,
            [Run {
                start: 0,
                period: 1,
                repeats: 1
            }]
        );
    }
}
