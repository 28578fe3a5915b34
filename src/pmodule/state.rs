//! Variable states as modules read and set them: the snapshot's `state` word (`ok`,
//! `optimized_out`, `unreadable`, `truncated`) and the *skip* mark. A skipped variable is left
//! out of the snapshot, with its members and elements: it stays in place (positions do not shift
//! while events fire) and [`prune_skipped`] removes every skipped variable when the snapshot is
//! complete, before `postattach` (and again after it).

use super::handles::VarRef;
use super::scene::{Scene, SceneError};
use crate::snapshot::{SharedStr, Snapshot, Variable};

/// What marks a skipped variable's `state` (followed by its real state) until it is pruned.
const SKIP_MARK: &str = "skip:";

/// The state words of the snapshot format, in the order of their flag bits.
pub const STATE_WORDS: [&str; 3] = ["optimized_out", "unreadable", "truncated"];

/// A variable's state: the snapshot's word and whether a module skipped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarState {
    /// `ok`, `optimized_out`, `unreadable` or `truncated`.
    pub word: String,
    /// Left out of the snapshot.
    pub skip: bool,
}

fn split(state: &str) -> VarState {
    match state.strip_prefix(SKIP_MARK) {
        Some(word) => VarState {
            word: word.to_string(),
            skip: true,
        },
        None => VarState {
            word: state.to_string(),
            skip: false,
        },
    }
}

impl Scene {
    /// The state of `var`.
    pub fn var_state(&self, var: &VarRef) -> Result<VarState, SceneError> {
        Ok(split(&self.var(var)?.state))
    }

    /// Sets the state of `var`: `word` is one of the snapshot's state words (`ok` or one of
    /// [`STATE_WORDS`]); `skip` leaves it out of the snapshot.
    pub fn set_var_state(&mut self, var: &VarRef, word: &str, skip: bool) -> Result<(), SceneError> {
        if word != "ok" && !STATE_WORDS.contains(&word) {
            return Err(SceneError::NotAllowed(format!(
                "'{word}' is not a variable state"
            )));
        }
        let v = self.var_mut(var)?;
        v.state = if skip {
            format!("{SKIP_MARK}{word}").into()
        } else {
            SharedStr::copy_of(word)
        };
        Ok(())
    }
}

fn prune(list: &mut Vec<Variable>) {
    list.retain(|v| !v.state.starts_with(SKIP_MARK));
    for v in list {
        prune(&mut v.children);
    }
}

/// Removes every skipped variable (with its children) from `snapshot`.
pub fn prune_skipped(snapshot: &mut Snapshot) {
    for thread in &mut snapshot.threads {
        for frame in &mut thread.frames {
            prune(&mut frame.variables);
        }
        prune(&mut thread.variables);
    }
    prune(&mut snapshot.globals);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmodule::handles::{VarOwner, VarPath};
    use crate::pmodule::testdata::{frame, snapshot, thread};

    #[test]
    fn skipped_variables_keep_their_place_until_pruned() {
        let mut scene = Scene::new();
        let mut f = frame("main", "/bin/prog", "prog.c");
        let var = |name: &str| crate::pmodule::testdata::variable(name, "int", "int", "ll");
        f.variables = vec![var("a"), var("b"), var("c")];
        scene.snapshot = Some(snapshot(1, vec![thread(1, vec![f])]));
        let b = VarRef::Node(VarPath::top(VarOwner::Frame { thread: 0, frame: 0 }, 1));
        scene.set_var_state(&b, "truncated", true).unwrap();
        assert_eq!(
            scene.var_state(&b).unwrap(),
            VarState {
                word: "truncated".into(),
                skip: true
            }
        );
        assert!(scene.set_var_state(&b, "bogus", false).is_err());
        let mut snap = scene.snapshot.take().unwrap();
        assert_eq!(snap.threads[0].frames[0].variables.len(), 3);
        prune_skipped(&mut snap);
        let names: Vec<_> = snap.threads[0].frames[0]
            .variables
            .iter()
            .map(|v| v.name.clone())
            .collect();
        assert_eq!(names, ["a", "c"]);
    }
}
