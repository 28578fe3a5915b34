//! Variable states as modules read and set them: the snapshot's state ([`VariableState`]), the
//! *skip* mark and the *synthesized* mark ([`ModuleMarks`]).
//!
//! A module skips a variable it stands for itself (a pretty-printer that gives it a string, or
//! synthesized variables beside or under it): the variable stays in the snapshot, with the value
//! the module gave it, but the members and elements extracted for it are left out; children a
//! module synthesized under it stay. Variables made by `create_variable` carry the synthesized
//! mark, which is how the two kinds of children are told apart.
//!
//! Marks stay on the variables until the snapshot is settled ([`settle`]), so positions never
//! shift while events fire. [`settle`] drops the extracted children of skipped variables before
//! `postattach`, and again with the marks removed after it.

use super::handles::VarRef;
use super::scene::{Scene, SceneError};
use crate::snapshot::{ModuleMarks, Snapshot, Variable, VariableState};

/// A variable's state: the snapshot's state and whether a module skipped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarState {
    /// `ok`, `optimized_out`, `unreadable` or `truncated`.
    pub word: VariableState,
    /// Its extracted members and elements are left out of the snapshot.
    pub skip: bool,
}

/// The marks of a variable a module creates (synthesized).
pub fn synthesized_marks() -> ModuleMarks {
    ModuleMarks {
        skip: false,
        synthesized: true,
    }
}

impl Scene {
    /// The state of `var`.
    pub fn var_state(&self, var: &VarRef) -> Result<VarState, SceneError> {
        let v = self.var(var)?;
        Ok(VarState {
            word: v.state,
            skip: v.marks.skip,
        })
    }

    /// Sets the state of `var` to `word`; `skip` leaves its extracted members out of the
    /// snapshot.
    pub fn set_var_state(&mut self, var: &VarRef, word: VariableState, skip: bool) -> Result<(), SceneError> {
        let v = self.var_mut(var)?;
        v.state = word;
        v.marks.skip = skip;
        Ok(())
    }
}

fn settle_list(list: &mut [Variable], final_pass: bool) {
    for v in list {
        if v.marks.skip {
            v.children.retain(|c| c.marks.synthesized);
        }
        if final_pass {
            v.marks = ModuleMarks::default();
        }
        settle_list(&mut v.children, final_pass);
    }
}

/// Drops the extracted members and elements of every skipped variable of `snapshot` (the
/// variables themselves and what modules synthesized under them stay). With `final_pass`, the
/// marks are removed too: the snapshot is then ready to be written.
pub fn settle(snapshot: &mut Snapshot, final_pass: bool) {
    for thread in &mut snapshot.threads {
        for frame in &mut thread.frames {
            settle_list(&mut frame.variables, final_pass);
        }
        settle_list(&mut thread.variables, final_pass);
    }
    settle_list(&mut snapshot.globals, final_pass);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmodule::handles::{VarOwner, VarPath};
    use crate::pmodule::testdata::{frame, snapshot, thread};

    #[test]
    fn a_skipped_variable_stays_with_its_synthesized_children_only() {
        let mut scene = Scene::new();
        let mut f = frame("main", "/bin/prog", "prog.c");
        let var = |name: &str| crate::pmodule::testdata::variable(name, "int", "int", "ll");
        let mut b = var("b");
        b.children = vec![var("extracted"), var("made")];
        b.children[1].marks = synthesized_marks();
        b.children[0].children = vec![var("deep")];
        f.variables = vec![var("a"), b, var("c")];
        scene.snapshot = Some(snapshot(1, vec![thread(1, vec![f])]));
        let b = VarRef::Node(VarPath::top(VarOwner::Frame { thread: 0, frame: 0 }, 1));
        scene.set_var_state(&b, VariableState::Truncated, true).unwrap();
        assert_eq!(
            scene.var_state(&b).unwrap(),
            VarState {
                word: VariableState::Truncated,
                skip: true
            }
        );
        let mut snap = scene.snapshot.take().unwrap();
        assert_eq!(snap.threads[0].frames[0].variables[1].children.len(), 2);

        settle(&mut snap, false);
        let vars = &snap.threads[0].frames[0].variables;
        let names: Vec<_> = vars.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(names, ["a", "b", "c"], "the skipped variable stays");
        let children: Vec<_> = vars[1].children.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(children, ["made"], "extracted members go, synthesized ones stay");
        assert_eq!(vars[1].state, VariableState::Truncated);
        assert!(vars[1].marks.skip, "marks stay until the final pass");

        settle(&mut snap, true);
        let vars = &snap.threads[0].frames[0].variables;
        assert_eq!(vars[1].state, VariableState::Truncated);
        assert_eq!(vars[1].marks, ModuleMarks::default());
        assert_eq!(vars[1].children[0].marks, ModuleMarks::default());
        assert_eq!(vars[1].children[0].state, VariableState::Ok);
    }

    #[test]
    fn the_state_is_replaced_with_the_marks_kept() {
        let mut scene = Scene::new();
        let mut f = frame("main", "/bin/prog", "prog.c");
        let mut made = crate::pmodule::testdata::variable("made", "int", "int", "ll");
        made.marks = synthesized_marks();
        made.state = VariableState::Unreadable;
        f.variables = vec![made];
        scene.snapshot = Some(snapshot(1, vec![thread(1, vec![f])]));
        let made = VarRef::Node(VarPath::top(VarOwner::Frame { thread: 0, frame: 0 }, 0));
        scene.set_var_state(&made, VariableState::Ok, true).unwrap();
        let v = scene.var(&made).unwrap();
        assert_eq!(v.state, VariableState::Ok);
        assert_eq!(
            v.marks,
            ModuleMarks {
                skip: true,
                synthesized: true
            }
        );
    }
}
