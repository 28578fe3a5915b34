//! The search of `/`: a case-insensitive substring looked for in what the panes show — each
//! group's frames (symbol, source file, object), the variables of every thread of the group
//! (frames' and thread-locals), and the globals: variables by name, and by value those without
//! children (whose members are searched instead).

use crate::snapshot::groups::Group;
use crate::snapshot::{Frame, Variable};

use super::rows::{frame_rows, Scope};

/// Where a match is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The frame itself (its symbol, file or object).
    Frame,
    /// A variable of a scope (the frame's, the thread's thread-locals, the globals), by its
    /// path (see [`super::rows::VarRow`]).
    Variable(Scope, Vec<usize>),
}

/// One match: a group, one of its threads, a row of its frames pane, and the frame or one of
/// the variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The group's index.
    pub group: usize,
    /// The thread, by its place in the group (0: the representative).
    pub member: usize,
    /// The row of the frames pane.
    pub frame_row: usize,
    /// The frame or the variable matched.
    pub target: Target,
}

/// Every match of `query` (case-insensitive), in the order the panes list them: for each group,
/// the frames shown (their symbols, files and objects: the same in every thread of the group,
/// so matched once), then the variables of every thread of the group in turn (frame by frame,
/// then its thread-locals: values differ from thread to thread); then the globals.
pub fn find(groups: &[Group<'_>], globals: &[Variable], query: &str) -> Vec<Match> {
    let needle = query.to_lowercase();
    let mut matches = Vec::new();
    for (group, g) in groups.iter().enumerate() {
        let representative = g.representative();
        for (frame_row, row) in frame_rows(representative).iter().enumerate() {
            if representative
                .frames
                .get(row.frame)
                .is_some_and(|frame| frame_matches(frame, &needle))
            {
                matches.push(Match {
                    group,
                    member: 0,
                    frame_row,
                    target: Target::Frame,
                });
            }
        }
        for (member, thread) in g.threads.iter().enumerate() {
            for (frame_row, row) in frame_rows(thread).iter().enumerate() {
                let Some(frame) = thread.frames.get(row.frame) else {
                    continue;
                };
                variable_matches(&frame.variables, &needle, &mut Vec::new(), &mut |path| {
                    matches.push(Match {
                        group,
                        member,
                        frame_row,
                        target: Target::Variable(Scope::Frame, path.to_vec()),
                    })
                });
            }
            variable_matches(&thread.variables, &needle, &mut Vec::new(), &mut |path| {
                matches.push(Match {
                    group,
                    member,
                    frame_row: 0,
                    target: Target::Variable(Scope::ThreadLocals, path.to_vec()),
                })
            });
        }
    }
    variable_matches(globals, &needle, &mut Vec::new(), &mut |path| {
        matches.push(Match {
            group: 0,
            member: 0,
            frame_row: 0,
            target: Target::Variable(Scope::Globals, path.to_vec()),
        })
    });
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
        let value = variable.children.is_empty()
            && contains(&crate::snapshot::value_text::render_value(variable), needle);
        if value || contains(&variable.name, needle) {
            found(path);
        }
        variable_matches(&variable.children, needle, path, found);
        path.pop();
    }
}
