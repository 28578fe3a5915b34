//! The output of gdb's `thread apply all bt full` parsed into threads, frames, arguments and
//! locals.
//!
//! The shape gdb prints (with `set print frame-arguments all`, `set width 0`):
//! ```text
//! Thread 1 (Thread 0x7f.. (LWP 1234) "crash-O2"):
//! #0  0x00007f.. in __libc_pause () at ../sysdeps/unix/sysv/linux/pause.c:29
//!         sc_ret = -514
//! #1  0x0000.. in recurse (n=n@entry=0, ctx=0x7ffd..) at crash.c:139
//!         frame = {depth = 0, tag = 49374, outer = 0x7ffd..}
//! #4  ___pthread_cond_wait (cond=cond@entry=0x.., mutex=..) at ./nptl/pthread_cond_wait.c:618
//! No locals.
//! #10 0x0000.. in _start ()
//! No symbol table info available.
//! ```
//! A frame line has no `0x... in` when the pc is at the start of a line-table row (frame 0
//! stopped there, and inlined frames): [`GdbFrame::pc`] is then `None`. Arguments are printed
//! inline as `name=value`; gdb adds the value the parameter had at function entry when it knows
//! it (`print entry-values default`): `n=n@entry=5` (same value now and at entry),
//! `n=6, n@entry=5` (different) or `n=<optimized out>, n@entry=5` (only the entry value is
//! known). Locals of every lexical block around the pc are listed one per line, innermost block
//! first, so a name can appear more than once.

use super::value::{Cursor, GdbValue};
use std::collections::HashMap;

/// One frame of gdb's backtrace.
#[derive(Clone, Debug, PartialEq)]
pub struct GdbFrame {
    /// gdb's frame number (0 innermost).
    pub index: usize,
    /// The pc gdb printed (`#1  0x... in`); `None` when gdb left it out (see the module doc).
    pub pc: Option<u64>,
    /// The function as gdb names it (qualified for C++: `shop::inventory::Auditor::walk`), `??`
    /// when unknown, `<signal handler called>` for a signal trampoline.
    pub function: String,
    /// The source file after ` at ` (as written in the debug info, e.g. `crash.c` or
    /// `./nptl/futex-internal.c`).
    pub file: Option<String>,
    /// The source line after `file:`.
    pub line: Option<u32>,
    /// The object after ` from ` (frames without line information).
    pub library: Option<String>,
    /// The arguments, in order, with their current values.
    pub args: Vec<(String, GdbValue)>,
    /// Entry values of arguments, when gdb printed one (`n@entry=5`).
    pub entry_values: Vec<(String, GdbValue)>,
    /// The locals of every block around the pc, innermost block first, as gdb listed them.
    pub locals: Vec<(String, GdbValue)>,
}

impl GdbFrame {
    /// The first argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&GdbValue> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The first (innermost) local called `name`.
    pub fn local(&self, name: &str) -> Option<&GdbValue> {
        self.locals.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Every argument, entry value and local value of the frame.
    pub fn values(&self) -> impl Iterator<Item = &GdbValue> {
        self.args
            .iter()
            .chain(&self.entry_values)
            .chain(&self.locals)
            .map(|(_, v)| v)
    }
}

/// Parses the whole output of `thread apply all bt full` into frames per thread id (LWP).
/// Lines that are neither thread headers, frame lines nor locals are ignored.
pub fn parse_backtraces(text: &str) -> HashMap<i32, Vec<GdbFrame>> {
    let mut threads: HashMap<i32, Vec<GdbFrame>> = HashMap::new();
    let mut current: Option<i32> = None;
    for line in text.lines() {
        if let Some(tid) = thread_header(line) {
            current = Some(tid);
            threads.entry(tid).or_default();
            continue;
        }
        let Some(frames) = current.and_then(|tid| threads.get_mut(&tid)) else {
            continue;
        };
        if line.starts_with('#') {
            if let Some(frame) = parse_frame_line(line) {
                frames.push(frame);
            }
        } else if line.starts_with(char::is_whitespace) {
            if let (Some(frame), Some((name, value))) = (frames.last_mut(), line.trim().split_once(" = ")) {
                frame
                    .locals
                    .push((name.to_string(), GdbValue::parse_lenient(value)));
            }
        }
    }
    threads
}

/// The thread id of a header line `Thread N (Thread 0x... (LWP TID) "name"):` (or
/// `Thread N (process TID):` without libthread_db).
pub fn thread_header(line: &str) -> Option<i32> {
    let rest = line.strip_prefix("Thread ")?;
    let after = rest
        .split_once("(LWP ")
        .or_else(|| rest.split_once("(process "))?
        .1;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parses one frame line `#N  [0xPC in ]FUNCTION (ARGS)[ at FILE:LINE| from LIB]`.
pub fn parse_frame_line(line: &str) -> Option<GdbFrame> {
    let rest = line.strip_prefix('#')?;
    let digits_end = rest.find(|c: char| !c.is_ascii_digit())?;
    let index = rest.get(..digits_end)?.parse().ok()?;
    let mut rest = rest.get(digits_end..)?.trim_start();
    let mut pc = None;
    if let Some(hex) = rest.strip_prefix("0x") {
        let (address, after) = hex.split_once(" in ")?;
        pc = Some(u64::from_str_radix(address, 16).ok()?);
        rest = after;
    }
    let mut frame = GdbFrame {
        index,
        pc,
        function: String::new(),
        file: None,
        line: None,
        library: None,
        args: Vec::new(),
        entry_values: Vec::new(),
        locals: Vec::new(),
    };
    if rest.starts_with("<signal handler called>") {
        frame.function = "<signal handler called>".to_string();
        return Some(frame);
    }
    // The argument list is the first " (" whose group parses as arguments and is followed by
    // the end of the line, " at " or " from ": function names may hold " (" themselves
    // (`std::function<void (int)>::operator()`).
    for (open, _) in rest.match_indices(" (") {
        let mut cursor = Cursor::new(rest.get(open + 1..)?);
        let Some((args, entry_values)) = parse_arguments(&mut cursor) else {
            continue;
        };
        let suffix = cursor.rest();
        if let Some(location) = suffix.strip_prefix(" at ") {
            let (file, line_number) = location.rsplit_once(':')?;
            frame.file = Some(file.to_string());
            frame.line = line_number.trim().parse().ok();
        } else if let Some(library) = suffix.strip_prefix(" from ") {
            frame.library = Some(library.trim().to_string());
        } else if !suffix.trim().is_empty() {
            continue;
        }
        frame.function = rest.get(..open)?.to_string();
        frame.args = args;
        frame.entry_values = entry_values;
        return Some(frame);
    }
    None
}

/// Arguments and entry values, as parsed from a frame line.
type Arguments = (Vec<(String, GdbValue)>, Vec<(String, GdbValue)>);

/// Parses `(name=value, name=name@entry=value, name@entry=value, ...)`. A value that does not
/// parse becomes [`GdbValue::Unparsed`] (see [`argument_value`]).
fn parse_arguments(cursor: &mut Cursor<'_>) -> Option<Arguments> {
    let mut args = Vec::new();
    let mut entry_values = Vec::new();
    if !cursor.eat("(") {
        return None;
    }
    if cursor.eat(")") {
        return Some((args, entry_values));
    }
    loop {
        let rest = cursor.rest();
        let name_len = rest.find(['=', ',', ')', ' '])?;
        let name = rest.get(..name_len)?.to_string();
        if name.is_empty() {
            return None;
        }
        cursor.reset(cursor.pos() + name_len);
        if !cursor.eat("=") {
            return None;
        }
        if let Some(parameter) = name.strip_suffix("@entry") {
            let value = argument_value(cursor)?;
            entry_values.push((parameter.to_string(), value));
        } else if cursor.eat(&format!("{name}@entry=")) {
            let value = argument_value(cursor)?;
            entry_values.push((name.clone(), value.clone()));
            args.push((name, value));
        } else {
            let value = argument_value(cursor)?;
            args.push((name, value));
        }
        if cursor.eat(")") {
            return Some((args, entry_values));
        }
        if !cursor.eat(", ") {
            return None;
        }
    }
}

/// One argument value: parsed, or skipped as [`GdbValue::Unparsed`] up to the next top-level
/// `)` or `, NAME=` (a pretty-printer's `std::vector of length 2, capacity 2 = {...}` has
/// top-level commas of its own).
fn argument_value(cursor: &mut Cursor<'_>) -> Option<GdbValue> {
    let start = cursor.pos();
    if let Ok(value) = cursor.value() {
        let rest = cursor.rest();
        if rest.starts_with(", ") || rest.starts_with(')') {
            return Some(value);
        }
        cursor.reset(start);
    }
    let rest = cursor.rest();
    let bytes = rest.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                i += 1;
                while let Some(&q) = bytes.get(i) {
                    if q == b'\\' {
                        i += 1;
                    } else if q == b {
                        break;
                    }
                    i += 1;
                }
            }
            b'{' | b'(' => depth += 1,
            b'}' => depth -= 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            b',' if depth == 0 && starts_argument(rest.get(i + 1..).unwrap_or("")) => break,
            _ => {}
        }
        i += 1;
    }
    let text = rest.get(..i)?.to_string();
    cursor.reset(start + i);
    Some(GdbValue::Unparsed(text))
}

/// Whether `text` is `" NAME=..."`: the start of the next argument after a comma.
fn starts_argument(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(' ') else {
        return false;
    };
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '#'))
        .unwrap_or(rest.len());
    name_len > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && rest.get(name_len..).is_some_and(|r| r.starts_with('='))
}
