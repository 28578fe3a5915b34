//! The readable dump printed by `--pretty-print` and `ptrace dump`: what each thread is doing,
//! on a few screens even for hundreds of threads.
//!
//! First a header (application, pid, executable, state, thread count, the fault), the
//! attributes, classifiers, tags, annotations, module failures and warnings. Then the faulting
//! thread in full, then the threads grouped by stack ([`super::groups`]), largest group first:
//! `N threads (tids)`, the frames as gdb's frame lines (`#3  0x... in fn (a=1) at file.c:42`)
//! with recursion folded (`threads_recurse (...) at threads.c:93  ×20`), and the locals and
//! thread-local variables of the group's first thread. Thread-locals that look like a library's
//! internals (reserved names such as libc's `__libc_tsd_*`, or `tcache`, `errno`) are left out.
//!
//! [`DumpOptions::all`] prints everything instead: every thread on its own, every frame, every
//! thread-local variable.

use super::groups::{self, Group};
use super::model::{Annotation, Frame, ModuleFailure, Snapshot, Thread, Variable};
use std::fmt::Write;

/// How much the dump shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// Every thread on its own (no groups), every frame (no folding), every thread-local
    /// variable (libraries' internals too).
    pub all: bool,
}

/// The most thread ids a group's line lists before `…`.
pub const SHOWN_TIDS: usize = 8;

/// Renders `snapshot` as the grouped dump (see the module's documentation).
pub fn render(snapshot: &Snapshot) -> String {
    render_with(snapshot, &DumpOptions::default())
}

/// Renders `snapshot` as text for a terminal, as `options` ask.
pub fn render_with(snapshot: &Snapshot, options: &DumpOptions) -> String {
    let mut out = String::new();
    header(&mut out, snapshot);
    if options.all {
        let mut threads: Vec<&Thread> = snapshot.threads.iter().collect();
        let fault_tid = snapshot.fault.as_ref().map(|f| f.tid);
        threads.sort_by_key(|t| !(t.fault || Some(t.tid) == fault_tid));
        for thread in threads {
            out.push('\n');
            thread_header(&mut out, thread);
            thread_body(&mut out, thread, options);
        }
    } else {
        for group in groups::group_threads(snapshot) {
            out.push('\n');
            group_section(&mut out, &group, options);
        }
    }
    if !snapshot.globals.is_empty() {
        out.push_str("\nglobals:\n");
        for variable in &snapshot.globals {
            variable_lines(&mut out, variable, "  ");
        }
    }
    out
}

/// The dump's header: application, pid, state, threads, the fault, attributes, classifiers,
/// tags, annotations, module failures and warnings, one per line.
pub fn header_text(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    header(&mut out, snapshot);
    out
}

fn header(out: &mut String, snapshot: &Snapshot) {
    let threads = count_of(snapshot.threads.len(), "thread");
    let how = match &snapshot.core {
        Some(core) => format!("read from core {}", core.file),
        None => format!("stopped for {:.3} ms", snapshot.timing.stopped_us as f64 / 1000.0),
    };
    let _ = writeln!(
        out,
        "{} (pid {}) {} — {}, {threads}, {how}",
        snapshot.application, snapshot.pid, snapshot.executable, snapshot.process_state,
    );
    if let Some(fault) = &snapshot.fault {
        let name = fault.signal_name.as_deref().unwrap_or("no signal");
        let _ = write!(
            out,
            "fault: {name} (signal {}, code {}) in thread {}: {}",
            fault.signal, fault.code, fault.tid, fault.reason
        );
        if let Some(addr) = fault.address {
            let _ = write!(out, " at {:#x}", addr.0);
        }
        out.push('\n');
    }
    if snapshot.incomplete {
        out.push_str("incomplete: part of the process is missing (see the warnings)\n");
    }
    if !snapshot.attributes.is_empty() {
        let pairs: Vec<String> = snapshot
            .attributes
            .iter()
            .map(|(key, value)| match value {
                super::AttributeValue::Int(n) => format!("{key}={n}"),
                super::AttributeValue::Text(text) => format!("{key}={text}"),
            })
            .collect();
        let _ = writeln!(out, "attributes: {}", pairs.join(", "));
    }
    if !snapshot.classifiers.is_empty() {
        let _ = writeln!(out, "classifiers: {}", snapshot.classifiers.join(", "));
    }
    if !snapshot.tags.is_empty() {
        let _ = writeln!(out, "tags: {}", snapshot.tags.join(", "));
    }
    for annotation in &snapshot.annotations {
        let _ = writeln!(out, "{}", annotation_line(annotation));
    }
    for failure in &snapshot.module_failures {
        let _ = writeln!(out, "{}", module_failure_line(failure));
    }
    for warning in &snapshot.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
}

fn module_failure_line(failure: &ModuleFailure) -> String {
    let mut line = format!(
        "module failure: {} ({}): {}",
        failure.module, failure.event, failure.message
    );
    if failure.count > 1 {
        let _ = write!(line, " ×{}", failure.count);
    }
    if failure.skipped > 0 {
        let _ = write!(line, ", {} callbacks skipped", failure.skipped);
    }
    line
}

/// `thread TID "name" (state) [fault]`.
fn thread_header(out: &mut String, thread: &Thread) {
    let _ = writeln!(
        out,
        "thread {} \"{}\" ({}){}",
        thread.tid,
        thread.name,
        thread.state,
        if thread.fault { " [fault]" } else { "" }
    );
}

/// One group: a lone thread as `thread TID ...`, else `N threads (tids) "name" (state)`; then
/// its first thread's frames, folded.
fn group_section(out: &mut String, group: &Group<'_>, options: &DumpOptions) {
    let first = group.representative();
    if group.count() == 1 {
        thread_header(out, first);
    } else {
        let name = if group.threads.iter().all(|t| t.name == first.name) {
            format!(" \"{}\"", first.name)
        } else {
            String::new()
        };
        let state = if group.threads.iter().all(|t| t.state == first.state) {
            format!(" ({})", first.state)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} ({}){name}{state}",
            count_of(group.count(), "thread"),
            tid_list(&group.tids())
        );
        let _ = writeln!(out, "  (variables of thread {})", first.tid);
    }
    thread_body(out, first, options);
}

/// `n` with `noun`, plural unless `n` is 1: `1 thread`, `2 threads`, `0 groups`. Every count a
/// person reads (the dump, `ptrace view`, a Sentry message) is written with it.
pub fn count_of(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The first [`SHOWN_TIDS`] ids, then `…` when there are more.
pub fn tid_list(tids: &[i32]) -> String {
    let mut list: Vec<String> = tids.iter().take(SHOWN_TIDS).map(i32::to_string).collect();
    if tids.len() > SHOWN_TIDS {
        list.push("…".to_string());
    }
    list.join(", ")
}

/// A thread's annotations, frames (folded unless `options.all`) with their locals, and its
/// thread-local variables.
fn thread_body(out: &mut String, thread: &Thread, options: &DumpOptions) {
    for annotation in &thread.annotations {
        let _ = writeln!(out, "  {}", annotation_line(annotation));
    }
    if options.all {
        for frame in &thread.frames {
            frame_lines(out, frame, "");
        }
    } else {
        for run in groups::fold_frames(&thread.frames) {
            let shown = &thread.frames[run.shown()];
            let last = run.start + run.len() - 1;
            let range = format!("#{}-#{}", run.start, last);
            for (i, frame) in shown.iter().enumerate() {
                let suffix = match (run.repeats, run.period) {
                    (1, _) => String::new(),
                    (n, 1) => format!("  ×{n} ({range})"),
                    _ if i + 1 == shown.len() => {
                        format!("  ×{} (these {} frames, {range})", run.repeats, run.period)
                    }
                    _ => String::new(),
                };
                frame_lines(out, frame, &suffix);
            }
        }
    }
    let locals: Vec<&Variable> = thread
        .variables
        .iter()
        .filter(|v| options.all || !is_internal_thread_local(&v.name))
        .collect();
    let hidden = thread.variables.len() - locals.len();
    if !locals.is_empty() {
        out.push_str("  thread-local variables:\n");
        for variable in locals {
            variable_lines(out, variable, "        ");
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  ({hidden} thread-local variables of libraries left out: --dump-all shows them)"
        );
    }
}

/// The frame line, then the frame's annotations, then its locals (the parameters are on the
/// frame line) with their annotations.
fn frame_lines(out: &mut String, frame: &Frame, suffix: &str) {
    let _ = writeln!(out, "  {}{suffix}", frame_line(frame));
    for annotation in &frame.annotations {
        let _ = writeln!(out, "      {}", annotation_line(annotation));
    }
    for variable in frame.variables.iter().filter(|v| !v.parameter) {
        variable_lines(out, variable, "        ");
    }
}

/// `name = value`, then the annotations of the variable and of its members on the same line
/// (`n = <optimized out>  (comment: not available at this pc)`).
fn variable_lines(out: &mut String, variable: &Variable, indent: &str) {
    let mut notes = Vec::new();
    variable_annotations(&mut notes, variable, None);
    let _ = write!(out, "{indent}{}", super::value_text::render_assignment(variable));
    if !notes.is_empty() {
        let _ = write!(out, "  ({})", notes.join("; "));
    }
    out.push('\n');
}

fn variable_annotations(notes: &mut Vec<String>, variable: &Variable, path: Option<&str>) {
    for annotation in &variable.annotations {
        match path {
            Some(path) => notes.push(format!("{path}: {}", annotation_line(annotation))),
            None => notes.push(annotation_line(annotation)),
        }
    }
    for child in &variable.children {
        let base = path.unwrap_or(&variable.name);
        let path = if child.name.starts_with('[') {
            format!("{base}{}", child.name)
        } else {
            format!("{base}.{}", child.name)
        };
        variable_annotations(notes, child, Some(&path));
    }
}

/// Whether a thread-local variable looks like a library's internals rather than the program's:
/// a reserved name (`_` first: libc's `__libc_tsd_CTYPE_B`, `__resp`), or one of the C
/// library's own (`tcache`, `errno`, `tls_dtor_list`, ...). The snapshot does not record which object a
/// thread-local belongs to, so the name decides.
pub fn is_internal_thread_local(name: &str) -> bool {
    const LIBC: &[&str] = &[
        "tcache",
        "tcache_shutting_down",
        "thread_arena",
        "errno",
        "h_errno",
        "lock_held",
        "tls_dtor_list",
        "lm_cache",
        "buffer",
        "current",
        "thread_rpc_vars",
        "catch_hook",
    ];
    name.starts_with('_') || LIBC.contains(&name)
}

/// One frame as gdb prints its frame line: `#N  0xPC in symbol (a=1, b=0x0) at file:line`, or
/// `from object` without a line; an inlined frame without its pc; flags (`[suspect]`, ...)
/// after.
pub fn frame_line(frame: &Frame) -> String {
    let mut line = format!("#{:<3}", frame.index);
    if !frame.inlined {
        let _ = write!(line, "{:#018x} in ", frame.pc.0);
    }
    line.push_str(frame.symbol.as_deref().unwrap_or("??"));
    let arguments: Vec<String> = frame
        .variables
        .iter()
        .filter(|v| v.parameter)
        .map(super::value_text::render_argument)
        .collect();
    let _ = write!(line, " ({})", arguments.join(", "));
    match (&frame.file, frame.line) {
        (Some(file), Some(number)) => {
            let _ = write!(line, " at {file}:{number}");
        }
        _ => {
            if let Some(object) = &frame.object {
                let _ = write!(line, " from {object}");
            }
        }
    }
    line.push_str(&frame_flags(frame));
    line
}

/// The flags of `frame` as the dump and the viewer print them after its place:
/// ` [inlined] [fault]`; empty without any.
pub fn frame_flags(frame: &Frame) -> String {
    let mut flags = String::new();
    for (flag, on) in [
        ("inlined", frame.inlined),
        ("signal frame", frame.signal_frame),
        ("tail call", frame.tail_call),
        ("suspect", frame.suspect),
        ("fault", frame.fault),
    ] {
        if on {
            let _ = write!(flags, " [{flag}]");
        }
    }
    flags
}

/// One annotation as the dump prints it: `warning: text`, `json: {...}`.
pub fn annotation_line(annotation: &Annotation) -> String {
    match annotation {
        Annotation::Text { level, text } => {
            let level = match level {
                super::AnnotationLevel::Comment => "comment",
                super::AnnotationLevel::Warning => "warning",
                super::AnnotationLevel::Critical => "critical",
            };
            format!("{level}: {text}")
        }
        Annotation::Json { json, .. } => format!("json: {json}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::*;

    fn frame(index: usize, symbol: Option<&str>, line: u32) -> Frame {
        let mut frame = crate::pmodule::testdata::frame("", "/bin/crash", "crash.c");
        frame.index = index;
        frame.symbol = symbol.map(str::to_string);
        frame.offset = Some(0x12);
        frame.line = Some(line);
        frame
    }

    fn variable(name: &str, value: i64, parameter: bool) -> Variable {
        Variable {
            name: crate::snapshot::SharedStr::copy_of(name),
            type_name: "int".into(),
            base_type: "int".into(),
            kind: crate::snapshot::VariableKind::Ll,
            address: None,
            value: serde_json::json!(value),
            symbol: None,
            parameter,
            state: crate::snapshot::VariableState::Ok,
            entry_value: serde_json::Value::Null,
            target_symbol: None,
            children: vec![],
            annotations: vec![],
            marks: Default::default(),
        }
    }

    fn thread(tid: i32, depth: usize) -> Thread {
        let mut frames = vec![frame(0, Some("wait"), 1)];
        for i in 0..depth {
            let mut f = frame(i + 1, Some("recurse"), 42);
            f.variables = vec![
                variable("n", i as i64 + 1, true),
                variable("local", tid as i64, false),
            ];
            frames.push(f);
        }
        frames.push(frame(depth + 1, Some("main"), 7));
        Thread {
            tid,
            nspid: None,
            name: "crash".into(),
            state: "sleeping".into(),
            fault: false,
            frames,
            variables: vec![
                variable("counter", 3, false),
                variable("__libc_tsd_CTYPE_B", 0, false),
            ],
            annotations: vec![],
        }
    }

    fn snapshot(threads: Vec<Thread>) -> Snapshot {
        Snapshot {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            pid: 10,
            nspid: None,
            application: "crash".into(),
            executable: "/bin/crash".into(),
            process_state: "sleeping".into(),
            timestamp: 0,
            fault: None,
            threads,
            globals: vec![],
            attributes: [("build".to_string(), AttributeValue::Int(42))].into(),
            classifiers: vec!["hang".into()],
            tags: vec!["t1".into()],
            annotations: vec![Annotation::Text {
                level: AnnotationLevel::Warning,
                text: "look".into(),
            }],
            modules: vec![],
            timing: Timing::default(),
            warnings: vec!["no debug info".into()],
            module_failures: vec![ModuleFailure {
                module: "m".into(),
                event: "variable".into(),
                message: "boom".into(),
                count: 2,
                skipped: 0,
            }],
            incomplete: false,
            core: None,
        }
    }

    #[test]
    fn counts_are_singular_only_for_one() {
        assert_eq!(count_of(1, "thread"), "1 thread");
        assert_eq!(count_of(0, "thread"), "0 threads");
        assert_eq!(count_of(2, "group"), "2 groups");
    }

    #[test]
    fn frame_lines_read_like_gdb() {
        let mut f = frame(2, Some("recurse"), 42);
        f.fault = true;
        let mut n = variable("n", 5, true);
        n.entry_value = serde_json::json!(5);
        f.variables = vec![n, variable("m", 1, true), variable("local", 9, false)];
        let text = frame_line(&f);
        assert_eq!(
            text,
            "#2  0x0000000000401000 in recurse (n=n@entry=5, m=1) at crash.c:42 [fault]"
        );
        let mut unknown = frame(0, None, 0);
        unknown.file = None;
        assert!(frame_line(&unknown).ends_with("in ?? () from /bin/crash"));
    }

    #[test]
    fn the_dump_groups_threads_and_folds_recursion() {
        let mut threads: Vec<Thread> = (0..12).map(|i| thread(100 + i, 20)).collect();
        threads[3].fault = true;
        threads.push(thread(200, 3));
        threads[0].frames[1].variables[1]
            .annotations
            .push(Annotation::Text {
                level: AnnotationLevel::Comment,
                text: "not available at this pc".into(),
            });
        let mut snap = snapshot(threads);
        snap.fault = Some(Fault {
            tid: 103,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: Some(Address(0)),
            reason: "address not mapped".into(),
        });
        let text = render(&snap);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("crash (pid 10) /bin/crash — sleeping, 13 threads"),
            "{text}"
        );
        for wanted in [
            "fault: SIGSEGV (signal 11, code 1) in thread 103: address not mapped at 0x0",
            "attributes: build=42",
            "classifiers: hang",
            "tags: t1",
            "warning: look",
            "module failure: m (variable): boom ×2",
            "warning: no debug info",
        ] {
            assert!(lines.contains(&wanted), "no {wanted:?} in\n{text}");
        }
        let fault = text
            .find("thread 103 \"crash\" (sleeping) [fault]")
            .expect("the fault's thread");
        let group = text
            .find("11 threads (100, 101, 102, 104, 105, 106, 107, 108, …) \"crash\" (sleeping)")
            .expect("the group of 11");
        let small = text.find("thread 200 \"crash\"").expect("the lone thread");
        assert!(fault < group && group < small, "{text}");
        assert!(
            text.contains("in recurse (n=1) at crash.c:42  ×20 (#1-#20)"),
            "{text}"
        );
        assert!(
            text.contains("in recurse (n=1) at crash.c:42  ×3 (#1-#3)"),
            "{text}"
        );
        assert!(
            text.contains("        local = 100  (comment: not available at this pc)\n"),
            "{text}"
        );
        assert!(!text.contains("local = 101\n"), "one representative: {text}");
        assert!(text.contains("        counter = 3\n"), "{text}");
        assert!(!text.contains("__libc_tsd_CTYPE_B"), "{text}");
        assert!(lines.len() < 40, "{} lines:\n{text}", lines.len());

        let all = render_with(&snap, &DumpOptions { all: true });
        for tid in 100..112 {
            assert!(all.contains(&format!("\nthread {tid} \"crash\"")), "{tid}: {all}");
        }
        assert!(all.contains("__libc_tsd_CTYPE_B = 0"), "{all}");
        assert!(!all.contains("  ×"), "no folding: {all}");
        assert!(all.contains("#20 0x0000000000401000 in recurse (n=20)"), "{all}");
        assert!(all.find("thread 103 ").unwrap() < all.find("thread 100 ").unwrap());
    }

    #[test]
    fn long_tid_lists_are_shortened() {
        assert_eq!(tid_list(&[1, 2, 3]), "1, 2, 3");
        let many: Vec<i32> = (1..=20).collect();
        assert_eq!(tid_list(&many), "1, 2, 3, 4, 5, 6, 7, 8, …");
    }
}
