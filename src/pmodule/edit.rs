//! What modules change in the snapshot: annotations, attributes, classifiers and tags, thread
//! names, frame fields, variable values, and synthesized frames and variables.
//!
//! Insertion rules (§2): `thread:add_frame(fr, first = true)` puts the frame innermost (or
//! outermost with `first = false`); `frame:add_frame(fr, insert_after = false)` puts it before
//! (inner to) the frame, or after it; `frame:add_variable(var, insert_after = true)` appends the
//! variable to the frame's variables (or puts it first), among the children of its owner when it
//! was created with an owner in that frame. Frames are renumbered after an insertion. Variables
//! made by `variable_from_bt` cannot be inserted; a created object is inserted once.

use super::annotate::make_annotation;
use super::handles::{FrameRef, TempId, ThreadRef, VarPath, VarRef};
use super::kinds::{AnnotationKind, VariableKind};
use super::scene::{Insertion, Scene, SceneError, TempSlot};
use super::values::{base_type_of, encode_address, encode_float, encode_integer};
use crate::snapshot::{Address, AttributeValue, Frame, SharedStr, Variable, VariableState};
use std::collections::BTreeMap;

/// What a module annotates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The whole snapshot.
    Backtrace,
    /// A thread.
    Thread(ThreadRef),
    /// A frame.
    Frame(FrameRef),
    /// A variable.
    Variable(VarRef),
}

/// A value a module sets on a variable.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    /// `set_struct()`.
    Struct,
    /// `set_array()`.
    Array,
    /// `set_function([sym])`.
    Function(Option<String>),
    /// `set_string(s [, sym])`.
    String(String, Option<String>),
    /// `set_enum(n [, sym])`.
    Enum(i64, Option<String>),
    /// `set_ref(addr [, sym])`.
    Ref(u64, Option<String>),
    /// `set_ll(n)`.
    Ll(i64),
    /// `set_ull(n)`.
    Ull(u64),
    /// `set_dbl(x)`.
    Dbl(f64),
    /// `set_cdbl(re, im)`.
    Cdbl(f64, f64),
}

/// Frame fields a module rewrites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameField {
    /// The function name.
    Symbol(String),
    /// The source file's base name (the directory is kept).
    Basename(String),
    /// The source file's directory (the base name is kept).
    Directory(String),
    /// The whole source path.
    Path(String),
    /// The source line.
    Line(u32),
    /// The function's declaration line.
    DeclLine(u32),
}

/// A new empty frame, as `create_frame` makes it.
pub fn empty_frame() -> Frame {
    Frame {
        index: 0,
        pc: Address(0),
        cfa: None,
        symbol: None,
        offset: None,
        object: None,
        file: None,
        line: None,
        inlined: false,
        suspect: false,
        fault: false,
        signal_frame: false,
        tail_call: false,
        registers: BTreeMap::new(),
        variables: Vec::new(),
        annotations: Vec::new(),
    }
}

impl Scene {
    /// Adds an annotation of `kind` with `text` to `target` (json text is validated).
    pub fn annotate(&mut self, target: &Target, kind: AnnotationKind, text: &str) -> Result<(), SceneError> {
        let annotation = make_annotation(kind, text)?;
        let list = match target {
            Target::Backtrace => &mut self.snapshot_mut()?.annotations,
            Target::Thread(t) => &mut self.thread_mut(*t)?.annotations,
            Target::Frame(f) => &mut self.frame_mut(*f)?.annotations,
            Target::Variable(v) => &mut self.var_mut(v)?.annotations,
        };
        list.push(annotation);
        Ok(())
    }

    /// Sets the attribute `key`.
    pub fn add_attribute(&mut self, key: &str, value: AttributeValue) -> Result<(), SceneError> {
        self.snapshot_mut()?.attributes.insert(key.to_string(), value);
        Ok(())
    }

    /// Adds a classifier (once).
    pub fn add_classifier(&mut self, classifier: &str) -> Result<(), SceneError> {
        let list = &mut self.snapshot_mut()?.classifiers;
        if !list.iter().any(|c| c == classifier) {
            list.push(classifier.to_string());
        }
        Ok(())
    }

    /// Adds a tag (once).
    pub fn add_tag(&mut self, tag: &str) -> Result<(), SceneError> {
        let list = &mut self.snapshot_mut()?.tags;
        if !list.iter().any(|t| t == tag) {
            list.push(tag.to_string());
        }
        Ok(())
    }

    /// Renames a thread.
    pub fn set_thread_name(&mut self, thread: ThreadRef, name: &str) -> Result<(), SceneError> {
        self.thread_mut(thread)?.name = name.to_string();
        Ok(())
    }

    /// Rewrites a frame field.
    pub fn set_frame_field(&mut self, frame: FrameRef, field: FrameField) -> Result<(), SceneError> {
        if let FrameField::DeclLine(line) = field {
            match self.resolve_frame(frame)? {
                FrameRef::Node { thread, frame } => {
                    self.frame(FrameRef::Node { thread, frame })?;
                    self.decl_lines.insert((thread, frame), line);
                }
                FrameRef::Temp(_) => {
                    return Err(SceneError::NotAllowed(
                        "set_decl_line: insert the frame into a thread first".into(),
                    ))
                }
            }
            return Ok(());
        }
        let f = self.frame_mut(frame)?;
        match field {
            FrameField::Symbol(s) => f.symbol = Some(s),
            FrameField::Path(p) => f.file = Some(p),
            FrameField::Line(l) => f.line = Some(l),
            FrameField::Basename(b) => {
                f.file = Some(match f.file.as_deref().and_then(|p| p.rsplit_once('/')) {
                    Some((dir, _)) => format!("{dir}/{b}"),
                    None => b,
                })
            }
            FrameField::Directory(d) => {
                let base = f
                    .file
                    .as_deref()
                    .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
                    .unwrap_or_default();
                let d = d.trim_end_matches('/');
                f.file = Some(if base.is_empty() {
                    d.to_string()
                } else {
                    format!("{d}/{base}")
                });
            }
            FrameField::DeclLine(_) => {}
        }
        Ok(())
    }

    /// Sets a variable's kind and value (and symbol), marking it read.
    pub fn set_var_value(&mut self, var: &VarRef, value: VarValue) -> Result<(), SceneError> {
        let v = self.var_mut(var)?;
        let (kind, json, symbol) = match value {
            VarValue::Struct => (VariableKind::Tuple, serde_json::Value::Null, None),
            VarValue::Array => (VariableKind::Array, serde_json::Value::Null, None),
            VarValue::Function(sym) => (VariableKind::Fn, serde_json::Value::Null, sym),
            VarValue::String(s, sym) => (
                VariableKind::String,
                serde_json::Value::String(s.clone()),
                Some(sym.unwrap_or(s)),
            ),
            VarValue::Enum(n, sym) => (VariableKind::Enum, encode_integer(i128::from(n)), sym),
            VarValue::Ref(a, sym) => (VariableKind::Reference, encode_address(a), sym),
            VarValue::Ll(n) => (VariableKind::Ll, encode_integer(i128::from(n)), None),
            VarValue::Ull(n) => (VariableKind::Ull, encode_integer(i128::from(n)), None),
            VarValue::Dbl(x) => (VariableKind::Dbl, encode_float(x), None),
            VarValue::Cdbl(re, im) => (
                VariableKind::Cdbl,
                serde_json::Value::Array(vec![encode_float(re), encode_float(im)]),
                None,
            ),
        };
        v.kind = kind;
        v.value = json;
        if symbol.is_some() || !matches!(kind, VariableKind::Tuple | VariableKind::Array) {
            v.symbol = symbol;
        }
        v.state = VariableState::Ok;
        Ok(())
    }

    /// A detached variable holding `var` (what `variable_from_bt` returns): it lives until the
    /// callback returns and cannot be inserted.
    pub fn detached_variable(&mut self, var: Variable) -> VarRef {
        VarRef::Temp(self.new_temp(TempSlot::Var {
            var: Box::new(var),
            owner: None,
            from_bt: true,
        }))
    }

    /// `create_variable(type_name, name, addr, offset [, owner])`: a new variable of kind
    /// `bottom` with no value yet. `offset` is its array index (-1 when not an array element):
    /// an element with an empty name is named `[offset]`.
    pub fn create_variable(
        &mut self,
        type_name: &str,
        name: &str,
        address: u64,
        offset: i64,
        owner: Option<VarRef>,
    ) -> Result<VarRef, SceneError> {
        if let Some(owner) = &owner {
            self.var(owner)?;
        }
        let name = if name.is_empty() && offset >= 0 {
            format!("[{offset}]")
        } else {
            name.to_string()
        };
        let var = Variable {
            name: name.into(),
            type_name: SharedStr::copy_of(type_name),
            base_type: base_type_of(type_name).into(),
            kind: VariableKind::Bottom,
            address: (address != 0).then_some(Address(address)),
            value: serde_json::Value::Null,
            symbol: None,
            parameter: false,
            state: VariableState::Ok,
            entry_value: serde_json::Value::Null,
            target_symbol: None,
            children: Vec::new(),
            annotations: Vec::new(),
            // Marked as made by a module: a skip on its owner keeps it (see `state`).
            marks: super::state::synthesized_marks(),
        };
        Ok(VarRef::Temp(self.new_temp(TempSlot::Var {
            var: Box::new(var),
            owner,
            from_bt: false,
        })))
    }

    /// `create_frame()`: a new empty frame.
    pub fn create_frame(&mut self) -> FrameRef {
        FrameRef::Temp(self.new_temp(TempSlot::Frame(Box::new(empty_frame()))))
    }

    /// Takes a created frame out of its slot for insertion (leaving a placeholder).
    fn take_temp_frame(&mut self, frame: FrameRef) -> Result<(TempId, Frame), SceneError> {
        let FrameRef::Temp(id) = frame else {
            return Err(SceneError::NotAllowed(
                "add_frame: the frame is already in a thread (make new ones with pmodule.create_frame)"
                    .into(),
            ));
        };
        let slot = self.temp_mut(id)?;
        match slot {
            TempSlot::Frame(_) => {
                let TempSlot::Frame(taken) = std::mem::replace(slot, TempSlot::FrameMoved(frame)) else {
                    return Err(SceneError::Stale("frame"));
                };
                Ok((id, *taken))
            }
            TempSlot::FrameMoved(_) => Err(SceneError::NotAllowed(
                "add_frame: this frame was already added".into(),
            )),
            _ => Err(SceneError::Stale("frame")),
        }
    }

    fn insert_frame_at(&mut self, thread: usize, at: usize, frame: FrameRef) -> Result<FrameRef, SceneError> {
        let len = self.thread(ThreadRef(thread))?.frames.len();
        let at = at.min(len);
        let (id, new_frame) = self.take_temp_frame(frame)?;
        let t = self.thread_mut(ThreadRef(thread))?;
        t.frames.insert(at, new_frame);
        for (i, f) in t.frames.iter_mut().enumerate() {
            f.index = i;
        }
        let placed = FrameRef::Node { thread, frame: at };
        if let Ok(slot) = self.temp_mut(id) {
            *slot = TempSlot::FrameMoved(placed);
        }
        self.insertions.push(Insertion::Frame { thread, at });
        // Positions recorded beside the snapshot shift with the frames.
        let shifted: std::collections::HashMap<(usize, usize), u32> = self
            .decl_lines
            .drain()
            .map(|((t, f), l)| {
                if t == thread && f >= at {
                    ((t, f + 1), l)
                } else {
                    ((t, f), l)
                }
            })
            .collect();
        self.decl_lines = shifted;
        Ok(placed)
    }

    /// `thread:add_frame(fr [, first = true])`.
    pub fn thread_add_frame(
        &mut self,
        thread: ThreadRef,
        frame: FrameRef,
        first: bool,
    ) -> Result<FrameRef, SceneError> {
        let at = if first {
            0
        } else {
            self.thread(thread)?.frames.len()
        };
        self.insert_frame_at(thread.0, at, frame)
    }

    /// `frame:add_frame(fr [, insert_after = false])`.
    pub fn frame_add_frame(
        &mut self,
        anchor: FrameRef,
        frame: FrameRef,
        insert_after: bool,
    ) -> Result<FrameRef, SceneError> {
        match self.resolve_frame(anchor)? {
            FrameRef::Node {
                thread,
                frame: position,
            } => self.insert_frame_at(thread, if insert_after { position + 1 } else { position }, frame),
            FrameRef::Temp(_) => Err(SceneError::NotAllowed(
                "add_frame: insert this frame into a thread before adding frames next to it".into(),
            )),
        }
    }

    /// `frame:add_variable(var [, insert_after = true])`.
    pub fn frame_add_variable(
        &mut self,
        frame: FrameRef,
        var: &VarRef,
        insert_after: bool,
    ) -> Result<VarRef, SceneError> {
        let VarRef::Temp(id) = var else {
            return Err(SceneError::NotAllowed(
                "add_variable: the variable is already in the snapshot (make new ones with pmodule.create_variable)"
                    .into(),
            ));
        };
        let owner_list = self.frame_owner(frame)?;
        let (creator_owner, from_bt) = match self.temp(*id)? {
            TempSlot::Var { owner, from_bt, .. } => (owner.clone(), *from_bt),
            TempSlot::VarMoved(_) => {
                return Err(SceneError::NotAllowed(
                    "add_variable: this variable was already added".into(),
                ))
            }
            _ => return Err(SceneError::Stale("variable")),
        };
        if from_bt {
            return Err(SceneError::NotAllowed(
                "add_variable: variables from pmodule.variable_from_bt are temporary and cannot be added \
                 (synthesize one with pmodule.create_variable)"
                    .into(),
            ));
        }
        // Under its owner when the owner is in this frame, else at the frame's top level.
        let parent = match creator_owner.map(|o| self.resolve_var(&o)).transpose()? {
            Some(VarRef::Node(path)) if path.owner == owner_list => Some(path),
            _ => None,
        };
        let slot = self.temp_mut(*id)?;
        let TempSlot::Var { var: new_var, .. } =
            std::mem::replace(slot, TempSlot::VarMoved(VarPath::top(owner_list, 0)))
        else {
            return Err(SceneError::Stale("variable"));
        };
        let placed = match parent {
            Some(parent_path) => {
                let parent_var = self.var_mut(&VarRef::Node(parent_path.clone()))?;
                let at = if insert_after {
                    parent_var.children.len()
                } else {
                    0
                };
                parent_var.children.insert(at, *new_var);
                parent_path.child(at)
            }
            None => {
                let list = self.owner_list_mut(owner_list)?;
                let at = if insert_after { list.len() } else { 0 };
                list.insert(at, *new_var);
                self.insertions.push(Insertion::Variable {
                    owner: owner_list,
                    at,
                });
                VarPath::top(owner_list, at)
            }
        };
        if let Ok(slot) = self.temp_mut(*id) {
            *slot = TempSlot::VarMoved(placed.clone());
        }
        Ok(VarRef::Node(placed))
    }
}
