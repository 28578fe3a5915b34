//! Variable states as modules read and set them: the snapshot's `state` word (`ok`,
//! `optimized_out`, `unreadable`, `truncated`), the *skip* mark and the *synthesized* mark.
//!
//! A module skips a variable it stands for itself (a pretty-printer that gives it a string, or
//! synthesized variables beside or under it): the variable stays in the snapshot, with the value
//! the module gave it, but the members and elements extracted for it are left out; children a
//! module synthesized under it stay. Variables made by `create_variable` carry the synthesized
//! mark, which is how the two kinds of children are told apart.
//!
//! Marks are prefixes of the variable's `state` until the snapshot is settled ([`settle`]), so
//! positions never shift while events fire. [`settle`] drops the extracted children of skipped
//! variables before `postattach`, and again with the marks removed after it. Whoever reads a
//! state word goes through [`state_word`].

use super::handles::VarRef;
use super::scene::{Scene, SceneError};
use crate::snapshot::{SharedStr, Snapshot, Variable};

/// The mark of a skipped variable.
const SKIP_MARK: &str = "skip:";
/// The mark of a variable a module created.
const SYNTHESIZED_MARK: &str = "synthesized:";

/// The state words of the snapshot format, in the order of their flag bits.
pub const STATE_WORDS: [&str; 3] = ["optimized_out", "unreadable", "truncated"];

/// A variable's state: the snapshot's word and whether a module skipped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarState {
    /// `ok`, `optimized_out`, `unreadable` or `truncated`.
    pub word: String,
    /// Its extracted members and elements are left out of the snapshot.
    pub skip: bool,
}

/// A `state` taken apart: its marks and the snapshot's word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Marked<'a> {
    skip: bool,
    synthesized: bool,
    word: &'a str,
}

fn parse(state: &str) -> Marked<'_> {
    let (skip, rest) = match state.strip_prefix(SKIP_MARK) {
        Some(rest) => (true, rest),
        None => (false, state),
    };
    let (synthesized, word) = match rest.strip_prefix(SYNTHESIZED_MARK) {
        Some(word) => (true, word),
        None => (false, rest),
    };
    Marked {
        skip,
        synthesized,
        word,
    }
}

fn compose(skip: bool, synthesized: bool, word: &str) -> SharedStr {
    if !skip && !synthesized {
        return SharedStr::copy_of(word);
    }
    let skip = if skip { SKIP_MARK } else { "" };
    let synthesized = if synthesized { SYNTHESIZED_MARK } else { "" };
    format!("{skip}{synthesized}{word}").into()
}

/// The snapshot's state word of a variable's `state` (its marks removed).
pub fn state_word(state: &str) -> &str {
    parse(state).word
}

/// `state` with its word replaced by `word`, its marks kept.
pub fn with_word(state: &str, word: &str) -> SharedStr {
    let marked = parse(state);
    compose(marked.skip, marked.synthesized, word)
}

/// The `state` of a variable a module creates (`ok`, marked synthesized).
pub fn synthesized_state() -> SharedStr {
    compose(false, true, "ok")
}

impl Scene {
    /// The state of `var`.
    pub fn var_state(&self, var: &VarRef) -> Result<VarState, SceneError> {
        let marked = parse(&self.var(var)?.state);
        Ok(VarState {
            word: marked.word.to_string(),
            skip: marked.skip,
        })
    }

    /// Sets the state of `var`: `word` is one of the snapshot's state words (`ok` or one of
    /// [`STATE_WORDS`]); `skip` leaves its extracted members out of the snapshot.
    pub fn set_var_state(&mut self, var: &VarRef, word: &str, skip: bool) -> Result<(), SceneError> {
        if word != "ok" && !STATE_WORDS.contains(&word) {
            return Err(SceneError::NotAllowed(format!(
                "'{word}' is not a variable state"
            )));
        }
        let v = self.var_mut(var)?;
        let synthesized = parse(&v.state).synthesized;
        v.state = compose(skip, synthesized, word);
        Ok(())
    }
}

fn settle_list(list: &mut [Variable], final_pass: bool) {
    for v in list {
        let marked = parse(&v.state);
        if marked.skip {
            v.children.retain(|c| parse(&c.state).synthesized);
        }
        if final_pass && (marked.skip || marked.synthesized) {
            v.state = SharedStr::copy_of(marked.word);
        }
        settle_list(&mut v.children, final_pass);
    }
}

/// Drops the extracted members and elements of every skipped variable of `snapshot` (the
/// variables themselves and what modules synthesized under them stay). With `final_pass`, the
/// marks are removed too: the snapshot's states are then plain words, ready to be written.
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
        b.children[1].state = synthesized_state();
        b.children[0].children = vec![var("deep")];
        f.variables = vec![var("a"), b, var("c")];
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
        assert_eq!(snap.threads[0].frames[0].variables[1].children.len(), 2);

        settle(&mut snap, false);
        let vars = &snap.threads[0].frames[0].variables;
        let names: Vec<_> = vars.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(names, ["a", "b", "c"], "the skipped variable stays");
        let children: Vec<_> = vars[1].children.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(children, ["made"], "extracted members go, synthesized ones stay");
        assert_eq!(state_word(&vars[1].state), "truncated");
        assert!(
            vars[1].state.starts_with(SKIP_MARK),
            "marks stay until the final pass"
        );

        settle(&mut snap, true);
        let vars = &snap.threads[0].frames[0].variables;
        assert_eq!(vars[1].state.as_str(), "truncated");
        assert_eq!(vars[1].children[0].state.as_str(), "ok");
    }

    #[test]
    fn words_are_replaced_with_marks_kept() {
        let state = compose(true, true, "unreadable");
        assert_eq!(state_word(&state), "unreadable");
        let changed = with_word(&state, "ok");
        assert_eq!(
            parse(&changed),
            Marked {
                skip: true,
                synthesized: true,
                word: "ok"
            }
        );
        assert_eq!(with_word("truncated", "ok").as_str(), "ok");
        assert_eq!(state_word("optimized_out"), "optimized_out");
    }
}
