//! The readable dump printed by `--pretty-print`: the fault first, then each thread (the faulting
//! one first) with its frames as `symbol (file:line)` and their variables as `name = value`, then
//! its thread-local variables.

use super::model::{Annotation, Frame, Snapshot, Thread};
use std::fmt::Write;

/// Renders `snapshot` as text for a terminal.
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let threads = match snapshot.threads.len() {
        1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    let how = match &snapshot.core {
        Some(core) => format!("read from core {}", core.file),
        None => format!("stopped for {:.3} ms", snapshot.timing.stopped_us as f64 / 1000.0),
    };
    let _ = writeln!(
        out,
        "{} (pid {}) {} — {threads}, {how}",
        snapshot.application, snapshot.pid, snapshot.executable,
    );
    if let Some(fault) = &snapshot.fault {
        let name = fault.signal_name.as_deref().unwrap_or("no signal");
        let _ = write!(out, "fault: {name} in thread {}: {}", fault.tid, fault.reason);
        if let Some(addr) = fault.address {
            let _ = write!(out, " at {:#x}", addr.0);
        }
        out.push('\n');
    }
    for annotation in &snapshot.annotations {
        let _ = writeln!(out, "{}", annotation_line(annotation));
    }
    let mut threads: Vec<&Thread> = snapshot.threads.iter().collect();
    threads.sort_by_key(|t| !t.fault);
    for thread in threads {
        out.push('\n');
        let _ = writeln!(
            out,
            "thread {} \"{}\" ({}){}",
            thread.tid,
            thread.name,
            thread.state,
            if thread.fault { " [fault]" } else { "" }
        );
        for annotation in &thread.annotations {
            let _ = writeln!(out, "  {}", annotation_line(annotation));
        }
        for frame in &thread.frames {
            let _ = writeln!(out, "  {}", frame_line(frame));
            for variable in &frame.variables {
                let _ = writeln!(out, "        {}", crate::variables::render_assignment(variable));
            }
            for annotation in &frame.annotations {
                let _ = writeln!(out, "      {}", annotation_line(annotation));
            }
        }
        if !thread.variables.is_empty() {
            out.push_str("  thread-local variables:\n");
            for variable in &thread.variables {
                let value = crate::variables::render_value(variable);
                let _ = writeln!(out, "        {} = {value}", variable.name);
            }
        }
    }
    if !snapshot.globals.is_empty() {
        out.push_str("\nglobals:\n");
        for variable in &snapshot.globals {
            let value = crate::variables::render_value(variable);
            let _ = writeln!(out, "  {} = {value}", variable.name);
        }
    }
    for warning in &snapshot.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}

/// One frame as `#N  0xPC symbol+off (file:line) [flags]`, or the object name when there is no
/// symbol.
pub fn frame_line(frame: &Frame) -> String {
    let mut line = format!("#{:<3} {:#018x} ", frame.index, frame.pc.0);
    match (&frame.symbol, frame.offset) {
        (Some(symbol), Some(offset)) if !frame.inlined => {
            let _ = write!(line, "{symbol}+{offset:#x}");
        }
        (Some(symbol), _) => line.push_str(symbol),
        (None, _) => line.push_str("??"),
    }
    match (&frame.file, frame.line) {
        (Some(file), Some(number)) => {
            let _ = write!(line, " ({file}:{number})");
        }
        _ => {
            if let Some(object) = &frame.object {
                let _ = write!(line, " from {object}");
            }
        }
    }
    for (flag, on) in [
        ("inlined", frame.inlined),
        ("signal frame", frame.signal_frame),
        ("tail call", frame.tail_call),
        ("suspect", frame.suspect),
        ("fault", frame.fault),
    ] {
        if on {
            let _ = write!(line, " [{flag}]");
        }
    }
    line
}

fn annotation_line(annotation: &Annotation) -> String {
    match annotation {
        Annotation::Text { level, text } => format!("{level:?}: {text}").to_lowercase(),
        Annotation::Json { json, .. } => format!("json: {json}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::*;

    fn frame(symbol: Option<&str>) -> Frame {
        Frame {
            index: 2,
            pc: Address(0x401000),
            cfa: None,
            symbol: symbol.map(str::to_string),
            offset: Some(0x12),
            object: Some("/bin/crash".into()),
            file: Some("crash.c".into()),
            line: Some(42),
            inlined: false,
            suspect: false,
            fault: true,
            signal_frame: false,
            tail_call: false,
            registers: Default::default(),
            variables: vec![],
            annotations: vec![],
        }
    }

    #[test]
    fn frame_lines_name_symbol_file_and_flags() {
        let text = frame_line(&frame(Some("recurse")));
        assert!(text.contains("recurse+0x12 (crash.c:42) [fault]"), "{text}");
        let mut unknown = frame(None);
        unknown.file = None;
        assert!(frame_line(&unknown).contains("?? from /bin/crash"));
    }
}
