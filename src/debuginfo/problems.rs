//! Defects found in an object's debug information while it is read: a corrupt section costs
//! what depends on it and nothing more, and is said once per object and problem, as a warning
//! naming the object, the section and what was lost, rather than silently.

use std::sync::Mutex;

/// What a defect costs, as its warning says it.
pub(crate) mod lost {
    /// A unit's line program is unreadable.
    pub const LINES: &str = "no source lines for the units concerned";
    /// Units whose DIEs cannot be read.
    pub const UNITS: &str = "no source lines or variables for the units concerned";
    /// Names that could not be read, or were not text.
    pub const NAMES: &str = "names read from it are left out";
    /// A section whose absence only costs time.
    pub const INDEX: &str = "unit address ranges are read from the units instead";
    /// The DWARF as a whole.
    pub const ALL: &str = "no source lines or variables for this object";
    /// MiniDebugInfo (`.gnu_debugdata`): the symbols of functions not exported.
    pub const MINI_SYMBOLS: &str = "functions not in .dynsym are left unnamed";
}

/// One defect: the section, the first error met in it, and what it costs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Problem {
    section: &'static str,
    cause: String,
    lost: String,
}

/// The defects found so far in one object's debug information, each kept once (by section and
/// cost). Recorded from any thread; only failure paths record, so reading sound DWARF costs
/// nothing here.
#[derive(Debug, Default)]
pub struct DebugProblems {
    found: Mutex<Vec<Problem>>,
}

impl DebugProblems {
    /// Records that `section` is corrupt (`cause` says how) and costs `lost`, unless that
    /// section was already said to cost the same.
    pub(crate) fn record(&self, section: &'static str, cause: &dyn std::fmt::Display, lost: &str) {
        let mut found = self.found.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if found.iter().any(|p| p.section == section && p.lost == lost) {
            return;
        }
        found.push(Problem {
            section,
            cause: cause.to_string(),
            lost: lost.to_string(),
        });
    }

    /// One warning per defect, in the order they were found:
    /// `"<name>: <section> is corrupt (<cause>): <what was lost>"`.
    pub fn warnings(&self, name: &str) -> Vec<String> {
        let found = self.found.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        found
            .iter()
            .map(|p| format!("{name}: {} is corrupt ({}): {}", p.section, p.cause, p.lost))
            .collect()
    }
}

/// Whether `text`, read as a name (of a function, variable, type or file), is plausibly one:
/// not empty of meaning through replacement characters (bytes that were not UTF-8) or control
/// characters, which no compiler writes into a name and junk bytes almost always contain.
pub(crate) fn is_plausible_name(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c == char::REPLACEMENT_CHARACTER || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_said_once_with_its_first_cause() {
        let problems = DebugProblems::default();
        problems.record(".debug_line", &"bad version 99", lost::LINES);
        problems.record(".debug_line", &"bad version 7", lost::LINES);
        problems.record(".debug_str", &"not text", lost::NAMES);
        assert_eq!(
            problems.warnings("/bin/x"),
            vec![
                "/bin/x: .debug_line is corrupt (bad version 99): no source lines for the units concerned",
                "/bin/x: .debug_str is corrupt (not text): names read from it are left out",
            ]
        );
        assert!(DebugProblems::default().warnings("/bin/x").is_empty());
    }

    #[test]
    fn names_with_junk_bytes_are_not_plausible() {
        assert!(is_plausible_name("ns::Widget<int>::compute(int) const"));
        assert!(is_plausible_name("crash.c"));
        assert!(!is_plausible_name("ab\u{1}c"));
        assert!(!is_plausible_name(&String::from_utf8_lossy(b"a\xffb")));
    }
}
