//! Match objects (`pmodule.match()`): the filters of event registration and iterators.
//!
//! Criteria: object, file (compilation unit), frame symbol, variable base type, variable kind,
//! variable name, fault. Every criterion added must hold (AND); several values of one criterion
//! are alternatives (OR). Exact object and file criteria compare base names (`"crash"`,
//! `"crash.c"`), substring ones search the full path.
//!
//! A match is tested against what it is given: a variable (with the frame, thread or global
//! origin it lives in), a frame or a thread. A criterion about something the subject contains
//! holds when some part of it passes: a frame passes variable criteria when one of its variables
//! does, a thread passes frame and variable criteria when one of its frames does. A criterion
//! about something the subject lacks fails: a global has no frame symbol and is in no faulting
//! frame.

use super::kinds::{MatchType, VariableKind};
use crate::snapshot::{Frame, Thread, Variable};

/// One value of a text criterion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Criterion {
    /// The text compared.
    pub text: String,
    /// Exact or substring.
    pub mode: MatchType,
}

impl Criterion {
    /// Whether `candidate` passes (plain comparison).
    fn accepts(&self, candidate: &str) -> bool {
        match self.mode {
            MatchType::Exact => candidate == self.text,
            MatchType::Substr => candidate.contains(&self.text),
        }
    }

    /// Whether the path `candidate` passes: exact compares base names, substring the full path.
    fn accepts_path(&self, candidate: &str) -> bool {
        match self.mode {
            MatchType::Exact => base_name(candidate) == base_name(&self.text),
            MatchType::Substr => candidate.contains(&self.text),
        }
    }
}

/// The last component of a path.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Which faults `set_fault` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultScope {
    /// `set_fault()`: variables in a faulting frame, the faulting frames, threads containing one.
    Frame,
    /// `set_fault(true)`: everything in the faulting thread.
    Thread,
}

/// A match object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// Object criteria (the frame's object, a global's defining object).
    pub objects: Vec<Criterion>,
    /// File criteria (the frame's source file, a global's compilation unit).
    pub files: Vec<Criterion>,
    /// Frame symbol criteria.
    pub frame_symbols: Vec<Criterion>,
    /// Variable base type criteria.
    pub base_types: Vec<Criterion>,
    /// Variable kind criteria.
    pub kinds: Vec<VariableKind>,
    /// Variable name criteria.
    pub names: Vec<Criterion>,
    /// The fault criterion.
    pub fault: Option<FaultScope>,
}

/// Where a variable lives, as far as matching is concerned.
#[derive(Clone, Copy, Debug, Default)]
pub struct VariablePlace<'a> {
    /// The object (frame's object or the global's defining object).
    pub object: Option<&'a str>,
    /// The file (frame's source file or the global's compilation unit).
    pub file: Option<&'a str>,
    /// The frame's symbol (none for globals and thread-locals).
    pub frame_symbol: Option<&'a str>,
    /// In a faulting frame.
    pub faulting_frame: bool,
    /// In the faulting thread (a frame or thread-local variable of it).
    pub faulting_thread: bool,
}

impl<'a> VariablePlace<'a> {
    /// The place of a variable of `frame` in `thread`.
    pub fn in_frame(thread: &'a Thread, frame: &'a Frame) -> Self {
        VariablePlace {
            object: frame.object.as_deref(),
            file: frame.file.as_deref(),
            frame_symbol: frame.symbol.as_deref(),
            faulting_frame: frame.fault,
            faulting_thread: thread.fault,
        }
    }
}

fn any_accepts(criteria: &[Criterion], candidate: Option<&str>, path: bool) -> bool {
    criteria.is_empty()
        || candidate.is_some_and(|c| {
            criteria
                .iter()
                .any(|k| if path { k.accepts_path(c) } else { k.accepts(c) })
        })
}

impl Match {
    /// A match with no criterion (everything passes).
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every criterion.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Adds an object criterion.
    pub fn add_object(&mut self, text: &str, mode: MatchType) {
        self.objects.push(Criterion {
            text: text.to_string(),
            mode,
        });
    }

    /// Adds a file (compilation unit) criterion.
    pub fn add_file(&mut self, text: &str, mode: MatchType) {
        self.files.push(Criterion {
            text: text.to_string(),
            mode,
        });
    }

    /// Adds a frame symbol criterion.
    pub fn add_frame_symbol(&mut self, text: &str, mode: MatchType) {
        self.frame_symbols.push(Criterion {
            text: text.to_string(),
            mode,
        });
    }

    /// Adds a variable base type criterion.
    pub fn add_variable_base_type(&mut self, text: &str, mode: MatchType) {
        self.base_types.push(Criterion {
            text: text.to_string(),
            mode,
        });
    }

    /// Adds a variable kind criterion.
    pub fn add_variable_kind(&mut self, kind: VariableKind) {
        self.kinds.push(kind);
    }

    /// Adds a variable name criterion.
    pub fn add_variable_name(&mut self, text: &str, mode: MatchType) {
        self.names.push(Criterion {
            text: text.to_string(),
            mode,
        });
    }

    /// Sets the fault criterion.
    pub fn set_fault(&mut self, scope: FaultScope) {
        self.fault = Some(scope);
    }

    /// Whether any criterion concerns variables.
    pub fn has_variable_criteria(&self) -> bool {
        !self.base_types.is_empty() || !self.kinds.is_empty() || !self.names.is_empty()
    }

    /// Whether any criterion concerns frames (object, file, symbol).
    pub fn has_frame_criteria(&self) -> bool {
        !self.objects.is_empty() || !self.files.is_empty() || !self.frame_symbols.is_empty()
    }

    /// Whether the variable's own criteria (base type, kind, name) hold for `var`.
    pub fn variable_criteria_hold(&self, var: &Variable) -> bool {
        any_accepts(&self.base_types, Some(&var.base_type), false)
            && (self.kinds.is_empty() || self.kinds.contains(&var.kind))
            && any_accepts(&self.names, Some(&var.name), false)
    }

    /// Whether the place criteria (object, file, frame symbol) hold for `place`.
    fn place_criteria_hold(&self, place: &VariablePlace<'_>) -> bool {
        any_accepts(&self.objects, place.object, true)
            && any_accepts(&self.files, place.file, true)
            && any_accepts(&self.frame_symbols, place.frame_symbol, false)
    }

    /// Whether `var`, living at `place`, passes every criterion.
    pub fn matches_variable(&self, var: &Variable, place: &VariablePlace<'_>) -> bool {
        let fault_ok = match self.fault {
            None => true,
            Some(FaultScope::Frame) => place.faulting_frame,
            Some(FaultScope::Thread) => place.faulting_thread,
        };
        fault_ok && self.place_criteria_hold(place) && self.variable_criteria_hold(var)
    }

    /// Whether `frame` of `thread` passes: its own criteria, the fault criterion, and the
    /// variable criteria through one of its variables.
    pub fn matches_frame(&self, thread: &Thread, frame: &Frame) -> bool {
        let fault_ok = match self.fault {
            None => true,
            Some(FaultScope::Frame) => frame.fault,
            Some(FaultScope::Thread) => thread.fault,
        };
        fault_ok && self.frame_contents_match(thread, frame)
    }

    /// Frame and variable criteria of `frame` (not the fault).
    fn frame_contents_match(&self, thread: &Thread, frame: &Frame) -> bool {
        let place = VariablePlace::in_frame(thread, frame);
        self.place_criteria_hold(&place)
            && (!self.has_variable_criteria()
                || frame.variables.iter().any(|v| self.variable_criteria_hold(v)))
    }

    /// Whether `thread` passes: the fault criterion (it contains a faulting frame, or is the
    /// faulting thread with `set_fault(true)`), and frame and variable criteria through one of
    /// its frames.
    pub fn matches_thread(&self, thread: &Thread) -> bool {
        let fault_ok = match self.fault {
            None => true,
            Some(FaultScope::Frame) => thread.frames.iter().any(|f| f.fault),
            Some(FaultScope::Thread) => thread.fault,
        };
        if !fault_ok {
            return false;
        }
        if !self.has_frame_criteria() && !self.has_variable_criteria() {
            return true;
        }
        thread.frames.iter().any(|f| {
            let frame_fault_ok = self.fault != Some(FaultScope::Frame) || f.fault;
            frame_fault_ok && self.frame_contents_match(thread, f)
        })
    }

    /// Whether this match selects, by name, a global named `name` defined in `object` / `cu`:
    /// it has a name criterion that accepts it, and its object and file criteria accept it.
    /// (Its other criteria are tested on the extracted variable when its event fires.)
    pub fn selects_global(&self, name: &str, object: &str, cu: &str) -> bool {
        !self.names.is_empty()
            && self.frame_symbols.is_empty()
            && self.fault.is_none()
            && any_accepts(&self.names, Some(name), false)
            && any_accepts(&self.objects, Some(object), true)
            && any_accepts(&self.files, Some(cu), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmodule::testdata::{frame, thread, variable};

    fn crash_frame(symbol: &str, fault: bool) -> Frame {
        let mut f = frame(symbol, "/home/u/build/crash", "/home/u/src/crash.c");
        f.fault = fault;
        f.variables = vec![
            variable("n", "int", "int", "ll"),
            variable("frame", "struct crash_frame_info", "crash_frame_info", "tuple"),
        ];
        f
    }

    #[test]
    fn exact_object_and_file_compare_base_names_substring_searches_paths() {
        let t = thread(1, vec![crash_frame("recurse", false)]);
        let f = &t.frames[0];
        let mut m = Match::new();
        m.add_object("crash", MatchType::Exact);
        m.add_file("crash.c", MatchType::Exact);
        assert!(m.matches_frame(&t, f));

        let mut m = Match::new();
        m.add_object("/other/dir/crash", MatchType::Exact);
        assert!(m.matches_frame(&t, f), "base names of both sides compare");

        let mut m = Match::new();
        m.add_object("cras", MatchType::Exact);
        assert!(!m.matches_frame(&t, f));
        let mut m = Match::new();
        m.add_object("u/build/cr", MatchType::Substr);
        assert!(m.matches_frame(&t, f), "substring searches the full path");
        let mut m = Match::new();
        m.add_file("src/crash", MatchType::Substr);
        assert!(m.matches_frame(&t, f));
        let mut m = Match::new();
        m.add_file("crash", MatchType::Exact);
        assert!(!m.matches_frame(&t, f));
    }

    #[test]
    fn criteria_and_across_or_within() {
        let t = thread(1, vec![crash_frame("recurse", false)]);
        let f = &t.frames[0];
        let place = VariablePlace::in_frame(&t, f);
        let frame_var = &f.variables[1];
        let n = &f.variables[0];

        // The tutorial's match.
        let mut m = Match::new();
        m.add_object("crash", MatchType::Exact);
        m.add_file("crash.c", MatchType::Exact);
        m.add_frame_symbol("recurse", MatchType::Substr);
        m.add_variable_base_type("crash_", MatchType::Substr);
        m.add_variable_kind(VariableKind::Tuple);
        assert!(m.matches_variable(frame_var, &place));
        assert!(!m.matches_variable(n, &place), "kind and base type fail for n");

        // OR within one criterion.
        let mut m = Match::new();
        m.add_variable_name("nope", MatchType::Exact);
        m.add_variable_name("n", MatchType::Exact);
        assert!(m.matches_variable(n, &place));
        assert!(!m.matches_variable(frame_var, &place));

        // AND across: a failing symbol criterion fails the whole.
        m.add_frame_symbol("main", MatchType::Exact);
        assert!(!m.matches_variable(n, &place));

        // Several kinds: alternatives.
        let mut m = Match::new();
        m.add_variable_kind(VariableKind::Reference);
        m.add_variable_kind(VariableKind::Ll);
        assert!(m.matches_variable(n, &place));
        assert!(!m.matches_variable(frame_var, &place));
    }

    #[test]
    fn frames_and_threads_pass_through_their_contents() {
        let t = thread(
            1,
            vec![crash_frame("pause", false), crash_frame("recurse", false)],
        );
        let mut m = Match::new();
        m.add_variable_name("frame", MatchType::Exact);
        assert!(m.matches_frame(&t, &t.frames[1]));
        m.add_variable_name("missing", MatchType::Exact);
        assert!(m.matches_thread(&t));
        let mut m = Match::new();
        m.add_variable_name("missing", MatchType::Exact);
        assert!(!m.matches_frame(&t, &t.frames[1]));
        assert!(!m.matches_thread(&t));
        let mut m = Match::new();
        m.add_frame_symbol("recurse", MatchType::Exact);
        assert!(m.matches_thread(&t));
        assert!(!m.matches_frame(&t, &t.frames[0]));
    }

    #[test]
    fn fault_and_fault_thread() {
        let mut faulting = thread(
            1,
            vec![crash_frame("recurse", true), crash_frame("recurse", false)],
        );
        faulting.fault = true;
        let calm = thread(2, vec![crash_frame("recurse", false)]);

        let mut m = Match::new();
        m.set_fault(FaultScope::Frame);
        assert!(m.matches_frame(&faulting, &faulting.frames[0]));
        assert!(!m.matches_frame(&faulting, &faulting.frames[1]));
        assert!(m.matches_thread(&faulting));
        assert!(!m.matches_thread(&calm));
        let v = &faulting.frames[1].variables[0];
        assert!(!m.matches_variable(v, &VariablePlace::in_frame(&faulting, &faulting.frames[1])));
        assert!(m.matches_variable(v, &VariablePlace::in_frame(&faulting, &faulting.frames[0])));

        let mut m = Match::new();
        m.set_fault(FaultScope::Thread);
        assert!(m.matches_frame(&faulting, &faulting.frames[1]));
        assert!(m.matches_variable(v, &VariablePlace::in_frame(&faulting, &faulting.frames[1])));
        assert!(!m.matches_frame(&calm, &calm.frames[0]));
        assert!(!m.matches_thread(&calm));

        // A global is in no faulting frame.
        let mut m = Match::new();
        m.set_fault(FaultScope::Frame);
        assert!(!m.matches_variable(v, &VariablePlace::default()));
    }

    #[test]
    fn globals_have_no_frame_symbol_and_are_selected_by_name() {
        let papa = variable("papa", "struct array_struct", "array_struct", "tuple");
        let place = VariablePlace {
            object: Some("/b/crash"),
            file: Some("/src/crash.c"),
            ..VariablePlace::default()
        };
        let mut m = Match::new();
        m.add_object("crash", MatchType::Exact);
        m.add_file("crash.c", MatchType::Exact);
        m.add_variable_base_type("array_struct", MatchType::Substr);
        m.add_variable_kind(VariableKind::Tuple);
        m.add_variable_name("papa", MatchType::Substr);
        assert!(m.matches_variable(&papa, &place));
        assert!(m.selects_global("papa", "/b/crash", "/src/crash.c"));
        assert!(!m.selects_global("papa", "/b/libc.so.6", "/src/crash.c"));
        assert!(!m.selects_global("mama", "/b/crash", "/src/crash.c"));

        let mut with_symbol = m.clone();
        with_symbol.add_frame_symbol("main", MatchType::Exact);
        assert!(!with_symbol.matches_variable(&papa, &place));
        assert!(!with_symbol.selects_global("papa", "/b/crash", "/src/crash.c"));

        let mut unnamed = Match::new();
        unnamed.add_object("crash", MatchType::Exact);
        assert!(
            !unnamed.selects_global("papa", "/b/crash", "/src/crash.c"),
            "only names select"
        );

        m.reset();
        assert_eq!(m, Match::new());
    }
}
