//! The search of `/`: a case-insensitive substring looked for in what the panes show — each
//! group's frames (symbol, source file, object) and their variables (names, and the values of
//! those without children, whose members are searched instead), in the order the panes list
//! them.

use crate::snapshot::groups::Group;
use crate::snapshot::{Frame, Variable};

use super::rows::frame_rows;

/// Where a match is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The frame itself (its symbol, file or object).
    Frame,
    /// A variable of the frame, by its path (see [`super::rows::VarRow`]).
    Variable(Vec<usize>),
}

/// One match: a group, a row of its frames pane, and the frame or one of its variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The group's index.
    pub group: usize,
    /// The row of the frames pane.
    pub frame_row: usize,
    /// The frame or the variable matched.
    pub target: Target,
}

/// Every match of `query` (case-insensitive) in the frames shown of each group's representative
/// thread and in their variables.
pub fn find(groups: &[Group<'_>], query: &str) -> Vec<Match> {
    let needle = query.to_lowercase();
    let mut matches = Vec::new();
    for (group, g) in groups.iter().enumerate() {
        let thread = g.representative();
        for (frame_row, row) in frame_rows(thread).iter().enumerate() {
            let Some(frame) = thread.frames.get(row.frame) else {
                continue;
            };
            if frame_matches(frame, &needle) {
                matches.push(Match {
                    group,
                    frame_row,
                    target: Target::Frame,
                });
            }
            let mut path = Vec::new();
            variable_matches(&frame.variables, &needle, &mut path, &mut |path| {
                matches.push(Match {
                    group,
                    frame_row,
                    target: Target::Variable(path.to_vec()),
                })
            });
        }
    }
    matches
}

/// Whether `text` holds `needle` (already lower case), ignoring case.
fn contains(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(needle)
}

fn frame_matches(frame: &Frame, needle: &str) -> bool {
    [&frame.symbol, &frame.file, &frame.object]
        .into_iter()
        .flatten()
        .any(|text| contains(text, needle))
}

fn variable_matches(
    variables: &[Variable],
    needle: &str,
    path: &mut Vec<usize>,
    found: &mut dyn FnMut(&[usize]),
) {
    for (i, variable) in variables.iter().enumerate() {
        path.push(i);
        let value =
            variable.children.is_empty() && contains(&crate::variables::render_value(variable), needle);
        if value || contains(&variable.name, needle) {
            found(path);
        }
        variable_matches(&variable.children, needle, path, found);
        path.pop();
    }
}
