//! The viewer's state: the stack groups, the selected group, frame and variable, which variables
//! are expanded, the pane with the focus, the search and the overlays. Everything here is plain
//! data moved by [`App`]'s methods, so it is tested without a terminal.

use std::collections::HashSet;

use crate::snapshot::groups::{self, Group};
use crate::snapshot::{Frame, Snapshot, Thread, Variable};

use super::rows::{frame_rows, variable_at, FrameRow, Scope, VarRow};
use super::search::{self, Match, Target};

/// The panes, in the order Tab visits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// The stack groups.
    Groups,
    /// The frames of the selected group's representative thread.
    Frames,
    /// The variables of the selected frame, as a tree.
    Variables,
}

impl Pane {
    /// The pane after this one.
    pub fn next(self) -> Self {
        match self {
            Pane::Groups => Pane::Frames,
            Pane::Frames => Pane::Variables,
            Pane::Variables => Pane::Groups,
        }
    }

    /// The pane before this one.
    pub fn previous(self) -> Self {
        self.next().next()
    }
}

/// A full-screen view shown over the panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// The keys.
    Help,
    /// The header: fault and siginfo, attributes, classifiers, tags, annotations, warnings.
    Info,
    /// The mapped objects: paths, build ids, debug files.
    Modules,
    /// The selected frame's registers.
    Registers,
    /// The selected variable whole: its value unclipped, type, kind, state, address, entry
    /// value and annotations.
    Variable,
}

/// The viewer's whole state.
pub struct App<'a> {
    /// The snapshot viewed.
    pub snapshot: &'a Snapshot,
    /// Its threads grouped by stack, the faulting thread first.
    pub groups: Vec<Group<'a>>,
    /// The pane with the focus.
    pub pane: Pane,
    /// The selected group.
    pub group: usize,
    /// The thread shown, by its place in the selected group (0: the representative).
    pub member: usize,
    /// The rows of the frames pane (the selected group's representative thread).
    pub frame_rows: Vec<FrameRow>,
    /// The selected row of the frames pane.
    pub frame_row: usize,
    /// Whose variables the variables pane shows.
    pub scope: Scope,
    /// The rows of the variables pane (the variables of the scope, expanded ones with their
    /// children).
    pub var_rows: Vec<VarRow>,
    /// The selected row of the variables pane.
    pub var_row: usize,
    /// The paths of the expanded variables of the selected frame.
    pub expanded: HashSet<Vec<usize>>,
    /// The search being typed after `/`, if one is.
    pub input: Option<String>,
    /// The last search and its matches.
    pub search: Option<(String, Vec<Match>)>,
    /// The match last moved to.
    pub current_match: Option<usize>,
    /// The overlay shown over the panes, if any.
    pub overlay: Option<Overlay>,
    /// The first line of the overlay shown.
    pub overlay_scroll: usize,
    /// A message for the status line.
    pub status: String,
    /// Set when the viewer should end.
    pub quit: bool,
}

impl<'a> App<'a> {
    /// The viewer of `snapshot`, on its first group (the faulting thread's when it has one).
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let mut app = Self {
            snapshot,
            groups: groups::group_threads(snapshot),
            pane: Pane::Groups,
            group: 0,
            member: 0,
            frame_rows: Vec::new(),
            frame_row: 0,
            scope: Scope::Frame,
            var_rows: Vec::new(),
            var_row: 0,
            expanded: HashSet::new(),
            input: None,
            search: None,
            current_match: None,
            overlay: None,
            overlay_scroll: 0,
            status: String::new(),
            quit: false,
        };
        app.select_group(0);
        app
    }

    /// The thread whose frames are shown: the selected group's representative, or the member
    /// `t` moved to.
    pub fn thread(&self) -> Option<&'a Thread> {
        let group = self.groups.get(self.group)?;
        Some(
            group
                .threads
                .get(self.member)
                .copied()
                .unwrap_or(group.representative()),
        )
    }

    /// Shows the next thread of the selected group (`forward`) or the previous one, wrapping
    /// around; the frame row selected stays (the stacks are the same).
    pub fn next_member(&mut self, forward: bool) {
        let Some(count) = self.groups.get(self.group).map(Group::count) else {
            return;
        };
        let member = if forward {
            (self.member + 1) % count
        } else {
            (self.member + count - 1) % count
        };
        self.show_member(member);
        if let Some(label) = self.member_label() {
            self.status = label;
        }
    }

    /// Shows thread `member` of the selected group on the same frame row, with the same scope,
    /// expanded variables and selection (same stack, so the same variables: what is being
    /// compared stays in view).
    fn show_member(&mut self, member: usize) {
        self.member = member;
        self.frame_rows = self.thread().map(frame_rows).unwrap_or_default();
        self.frame_row = self.frame_row.min(self.frame_rows.len().saturating_sub(1));
        self.rebuild_var_rows();
    }

    /// `thread 104 (4 of 5)`: the thread shown and its place in its group.
    fn member_label(&self) -> Option<String> {
        let count = self.groups.get(self.group)?.count();
        let thread = self.thread()?;
        Some(format!("thread {} ({} of {count})", thread.tid, self.member + 1))
    }

    /// The selected frame.
    pub fn frame(&self) -> Option<&'a Frame> {
        let row = self.frame_rows.get(self.frame_row)?;
        self.thread()?.frames.get(row.frame)
    }

    /// The variables of the scope shown: the selected frame's (none without a frame), the
    /// shown thread's thread-locals or the globals.
    pub fn variables(&self) -> &'a [Variable] {
        match self.scope {
            Scope::Frame => self.frame().map_or(&[], |f| &f.variables[..]),
            Scope::ThreadLocals => self.thread().map_or(&[], |t| &t.variables[..]),
            Scope::Globals => &self.snapshot.globals,
        }
    }

    /// Shows `scope`'s variables in the variables pane, collapsed, and gives it the focus.
    pub fn show_scope(&mut self, scope: Scope) {
        self.scope = scope;
        self.expanded.clear();
        self.var_row = 0;
        self.rebuild_var_rows();
        self.pane = Pane::Variables;
    }

    /// The selected variable.
    pub fn variable(&self) -> Option<&'a Variable> {
        let row = self.var_rows.get(self.var_row)?;
        variable_at(self.variables(), &row.path)
    }

    /// Selects group `index` and its first frame.
    pub fn select_group(&mut self, index: usize) {
        self.group = index.min(self.groups.len().saturating_sub(1));
        self.member = 0;
        self.frame_rows = self.thread().map(frame_rows).unwrap_or_default();
        self.select_frame_row(0);
    }

    /// Selects row `index` of the frames pane; the frame's variables are shown, collapsed.
    pub fn select_frame_row(&mut self, index: usize) {
        self.frame_row = index.min(self.frame_rows.len().saturating_sub(1));
        self.scope = Scope::Frame;
        self.expanded.clear();
        self.rebuild_var_rows();
        self.var_row = 0;
    }

    /// Rebuilds the variables pane's rows from the selected frame and the expanded paths.
    pub fn rebuild_var_rows(&mut self) {
        let mut rows = Vec::new();
        let mut path = Vec::new();
        push_rows(&mut rows, &mut path, self.variables(), &self.expanded);
        self.var_rows = rows;
        self.var_row = self.var_row.min(self.var_rows.len().saturating_sub(1));
    }

    /// How many rows the focused pane holds.
    fn rows(&self, pane: Pane) -> usize {
        match pane {
            Pane::Groups => self.groups.len(),
            Pane::Frames => self.frame_rows.len(),
            Pane::Variables => self.var_rows.len(),
        }
    }

    /// Moves the focused pane's selection by `delta` rows (clamped to its ends).
    pub fn move_by(&mut self, delta: isize) {
        if self.overlay.is_some() {
            self.overlay_scroll = self.overlay_scroll.saturating_add_signed(delta);
            return;
        }
        let pane = self.pane;
        let last = self.rows(pane).saturating_sub(1);
        let current = match pane {
            Pane::Groups => self.group,
            Pane::Frames => self.frame_row,
            Pane::Variables => self.var_row,
        };
        let target = current.saturating_add_signed(delta).min(last);
        match pane {
            Pane::Groups if target != self.group => self.select_group(target),
            Pane::Frames if target != self.frame_row => self.select_frame_row(target),
            Pane::Variables => self.var_row = target,
            _ => {}
        }
    }

    /// Expands the selected variable if it has children and is collapsed, else collapses it;
    /// a variable without children is shown whole (its value unclipped).
    pub fn toggle(&mut self) {
        let Some(row) = self.var_rows.get(self.var_row) else {
            return;
        };
        let path = row.path.clone();
        if self.variable().is_some_and(|v| v.children.is_empty()) {
            self.overlay = Some(Overlay::Variable);
            self.overlay_scroll = 0;
            return;
        }
        if !self.expanded.remove(&path) {
            self.expanded.insert(path);
        }
        self.rebuild_var_rows();
    }

    /// Expands the selected variable (when it has children).
    pub fn expand(&mut self) {
        let Some(row) = self.var_rows.get(self.var_row) else {
            return;
        };
        if self.variable().is_some_and(|v| !v.children.is_empty()) {
            self.expanded.insert(row.path.clone());
            self.rebuild_var_rows();
        }
    }

    /// Collapses the selected variable, or, when it is collapsed, selects its parent.
    pub fn collapse(&mut self) {
        let Some(row) = self.var_rows.get(self.var_row) else {
            return;
        };
        let path = row.path.clone();
        if self.expanded.remove(&path) {
            self.rebuild_var_rows();
        } else if path.len() > 1 {
            let parent = &path[..path.len() - 1];
            if let Some(i) = self.var_rows.iter().position(|r| r.path == parent) {
                self.var_row = i;
            }
        }
    }

    /// Selects the faulting thread's group and its faulting frame (the first when no frame is
    /// marked).
    pub fn jump_to_fault(&mut self) {
        let Some(group) = self.groups.iter().position(|g| g.fault) else {
            self.status = "no fault in this snapshot".to_string();
            return;
        };
        self.select_group(group);
        let thread = self.groups[group].representative();
        if let Some(frame) = thread.frames.iter().position(|f| f.fault) {
            if let Some(row) = self.frame_rows.iter().position(|r| r.frame == frame) {
                self.select_frame_row(row);
            }
        }
        self.pane = Pane::Frames;
        self.status = format!("the fault: thread {}", thread.tid);
    }

    /// Searches `query` (case-insensitive) and moves to the first match.
    pub fn start_search(&mut self, query: &str) {
        if query.is_empty() {
            return;
        }
        let matches = search::find(&self.groups, &self.snapshot.globals, query);
        self.search = Some((query.to_string(), matches));
        self.current_match = None;
        self.next_match(true);
    }

    /// Moves to the next match (`forward`) or the previous one, wrapping around.
    pub fn next_match(&mut self, forward: bool) {
        let Some((query, matches)) = &self.search else {
            self.status = "no search: / starts one".to_string();
            return;
        };
        if matches.is_empty() {
            self.status = format!("no match for {query:?}");
            return;
        }
        let count = matches.len();
        let index = match (self.current_match, forward) {
            (None, _) => 0,
            (Some(i), true) => (i + 1) % count,
            (Some(i), false) => (i + count - 1) % count,
        };
        let found = matches[index].clone();
        self.status = format!("match {} of {count} for {query:?}", index + 1);
        self.current_match = Some(index);
        self.go_to(&found);
    }

    /// Selects what `found` points at, expanding the variables above it.
    fn go_to(&mut self, found: &Match) {
        if !matches!(found.target, Target::Variable(Scope::Globals, _)) {
            self.select_group(found.group);
            self.show_member(found.member);
            self.select_frame_row(found.frame_row);
            if found.member != 0 {
                if let Some(label) = self.member_label() {
                    self.status.push_str(&format!(", {label}"));
                }
            }
        }
        match &found.target {
            Target::Frame => self.pane = Pane::Frames,
            Target::Variable(scope, path) => {
                if *scope != Scope::Frame {
                    self.show_scope(*scope);
                }
                for depth in 1..path.len() {
                    self.expanded.insert(path[..depth].to_vec());
                }
                self.rebuild_var_rows();
                if let Some(i) = self.var_rows.iter().position(|r| &r.path == path) {
                    self.var_row = i;
                }
                self.pane = Pane::Variables;
            }
        }
    }
}

/// Appends the rows of `variables` (under `path`), with the children of the expanded ones.
fn push_rows(
    rows: &mut Vec<VarRow>,
    path: &mut Vec<usize>,
    variables: &[Variable],
    expanded: &HashSet<Vec<usize>>,
) {
    for (i, variable) in variables.iter().enumerate() {
        path.push(i);
        rows.push(VarRow { path: path.clone() });
        if expanded.contains(path) {
            push_rows(rows, path, &variable.children, expanded);
        }
        path.pop();
    }
}
