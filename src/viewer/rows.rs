//! The rows of the frames and variables panes: which frames a thread shows (recursion folded)
//! and which variable a row of the variables pane is. The state ([`super::app`]) and the search
//! ([`super::search`]) both list them.

use crate::snapshot::groups;
use crate::snapshot::{Thread, Variable};

/// Whose variables the variables pane shows (`v` cycles through them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The selected frame's locals and parameters.
    Frame,
    /// The shown thread's thread-local variables.
    ThreadLocals,
    /// The process's global variables.
    Globals,
}

impl Scope {
    /// The scope `v` moves to.
    pub fn next(self) -> Self {
        match self {
            Scope::Frame => Scope::ThreadLocals,
            Scope::ThreadLocals => Scope::Globals,
            Scope::Globals => Scope::Frame,
        }
    }
}

/// One line of the frames pane: a frame shown (recursion folded: one repetition of each run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRow {
    /// The frame's index in the thread.
    pub frame: usize,
    /// `  ×20 (#1-#20)` after the frame line of a folded run, else empty.
    pub suffix: String,
}

/// One line of the variables pane: the variable at `path` (indexes into the frame's variables,
/// then into each one's children).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRow {
    /// The indexes from the frame's variables down to this one.
    pub path: Vec<usize>,
}

impl VarRow {
    /// How deep the variable is (0: one of the frame's own).
    pub fn depth(&self) -> usize {
        self.path.len().saturating_sub(1)
    }
}

/// The variable at `path` under `variables`, if there is one.
pub fn variable_at<'a>(variables: &'a [Variable], path: &[usize]) -> Option<&'a Variable> {
    let (first, rest) = path.split_first()?;
    let mut variable = variables.get(*first)?;
    for i in rest {
        variable = variable.children.get(*i)?;
    }
    Some(variable)
}

/// The frames shown for `thread`: one repetition of each run of [`groups::fold_frames`].
pub fn frame_rows(thread: &Thread) -> Vec<FrameRow> {
    let mut rows = Vec::new();
    for run in groups::fold_frames(&thread.frames) {
        let last = run.start + run.len() - 1;
        for frame in run.shown() {
            let suffix = match (run.repeats, run.period) {
                (1, _) => String::new(),
                (n, 1) => format!("  ×{n} (#{}-#{last})", run.start),
                (n, period) if frame + 1 == run.start + period => {
                    format!("  ×{n} (these {period} frames, #{}-#{last})", run.start)
                }
                _ => String::new(),
            };
            rows.push(FrameRow { frame, suffix });
        }
    }
    rows
}
