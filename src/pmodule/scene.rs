//! The scene of a callback: the snapshot under construction (moved in by the host while events
//! fire), the detached objects modules made, and what the engine knows beside the snapshot (the
//! defining object and unit of globals and thread-locals). Every language binding reads and edits
//! the snapshot through it.

use super::handles::{FrameRef, TempId, ThreadRef, VarOwner, VarPath, VarRef};
use super::matcher::{Match, VariablePlace};
use crate::snapshot::{Frame, Snapshot, Thread, Variable};
use std::collections::HashMap;

/// Why a scene operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SceneError {
    /// Called outside an event (no snapshot is being built).
    #[error("no snapshot is available outside event callbacks")]
    NoSnapshot,
    /// The handle no longer designates anything (kept from an earlier callback, or removed).
    #[error("this {0} is no longer valid (objects are valid only during the callback that got them)")]
    Stale(&'static str),
    /// The operation is not allowed on this object.
    #[error("{0}")]
    NotAllowed(String),
    /// An annotation was refused.
    #[error(transparent)]
    Annotation(#[from] super::annotate::AnnotationError),
}

/// Where a global or thread-local variable is defined (for match criteria and iterators).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The defining object's path.
    pub object: String,
    /// The defining compilation unit.
    pub cu: String,
}

/// A detached object.
#[derive(Clone, Debug)]
pub(crate) enum TempSlot {
    /// A variable made by `create_variable` (`from_bt: false`) or `variable_from_bt`.
    Var {
        var: Box<Variable>,
        owner: Option<VarRef>,
        from_bt: bool,
    },
    /// A frame made by `create_frame`.
    Frame(Box<Frame>),
    /// A variable since inserted here.
    VarMoved(VarPath),
    /// A frame since inserted here.
    FrameMoved(FrameRef),
}

/// Something a module inserted into the snapshot during the current event (event walkers use it
/// to keep their place).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Insertion {
    /// A frame was inserted at position `at` of thread `thread`.
    Frame {
        /// The thread.
        thread: usize,
        /// The new frame's position.
        at: usize,
    },
    /// A top-level variable was inserted at position `at` of `owner`.
    Variable {
        /// The list.
        owner: VarOwner,
        /// The new variable's position.
        at: usize,
    },
}

/// The snapshot being built and what goes with it.
#[derive(Debug, Default)]
pub struct Scene {
    pub(crate) snapshot: Option<Snapshot>,
    pub(crate) temps: Vec<TempSlot>,
    pub(crate) generation: u64,
    pub(crate) insertions: Vec<Insertion>,
    pub(crate) global_origins: HashMap<usize, Origin>,
    pub(crate) tls_origins: HashMap<(usize, usize), Origin>,
    pub(crate) decl_lines: HashMap<(usize, usize), u32>,
    /// Whether the target is stopped (reads see the stop) or runs again (postattach).
    pub(crate) attached: bool,
}

fn get_var<'a>(list: &'a [Variable], indices: &[usize]) -> Option<&'a Variable> {
    let (first, rest) = indices.split_first()?;
    let mut var = list.get(*first)?;
    for i in rest {
        var = var.children.get(*i)?;
    }
    Some(var)
}

fn get_var_mut<'a>(list: &'a mut [Variable], indices: &[usize]) -> Option<&'a mut Variable> {
    let (first, rest) = indices.split_first()?;
    let mut var = list.get_mut(*first)?;
    for i in rest {
        var = var.children.get_mut(*i)?;
    }
    Some(var)
}

impl Scene {
    /// An empty scene (no snapshot).
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot.
    pub fn snapshot(&self) -> Result<&Snapshot, SceneError> {
        self.snapshot.as_ref().ok_or(SceneError::NoSnapshot)
    }

    /// The snapshot, to edit.
    pub fn snapshot_mut(&mut self) -> Result<&mut Snapshot, SceneError> {
        self.snapshot.as_mut().ok_or(SceneError::NoSnapshot)
    }

    /// Whether the target is stopped (attach phase) rather than running again.
    pub fn attached(&self) -> bool {
        self.attached
    }

    /// Records where global `index` of the snapshot is defined.
    pub fn set_global_origin(&mut self, index: usize, origin: Origin) {
        self.global_origins.insert(index, origin);
    }

    /// Records where thread-local variable `index` of thread `thread` is defined.
    pub fn set_tls_origin(&mut self, thread: usize, index: usize, origin: Origin) {
        self.tls_origins.insert((thread, index), origin);
    }

    /// Forgets the snapshot-specific knowledge (between snapshots).
    pub fn clear(&mut self) {
        self.end_callback();
        self.global_origins.clear();
        self.tls_origins.clear();
        self.decl_lines.clear();
        self.insertions.clear();
    }

    /// Frees the detached objects of the callback that ends (their handles become stale).
    pub fn end_callback(&mut self) {
        self.temps.clear();
        self.generation = self.generation.wrapping_add(1);
    }

    /// The insertions made since the last call.
    pub fn take_insertions(&mut self) -> Vec<Insertion> {
        std::mem::take(&mut self.insertions)
    }

    pub(crate) fn new_temp(&mut self, slot: TempSlot) -> TempId {
        self.temps.push(slot);
        TempId {
            generation: self.generation,
            index: self.temps.len() - 1,
        }
    }

    pub(crate) fn temp(&self, id: TempId) -> Result<&TempSlot, SceneError> {
        if id.generation != self.generation {
            return Err(SceneError::Stale("object"));
        }
        self.temps.get(id.index).ok_or(SceneError::Stale("object"))
    }

    pub(crate) fn temp_mut(&mut self, id: TempId) -> Result<&mut TempSlot, SceneError> {
        if id.generation != self.generation {
            return Err(SceneError::Stale("object"));
        }
        self.temps.get_mut(id.index).ok_or(SceneError::Stale("object"))
    }

    // ---- threads -------------------------------------------------------------------------

    /// The thread.
    pub fn thread(&self, t: ThreadRef) -> Result<&Thread, SceneError> {
        self.snapshot()?
            .threads
            .get(t.0)
            .ok_or(SceneError::Stale("thread"))
    }

    /// The thread, to edit.
    pub fn thread_mut(&mut self, t: ThreadRef) -> Result<&mut Thread, SceneError> {
        self.snapshot_mut()?
            .threads
            .get_mut(t.0)
            .ok_or(SceneError::Stale("thread"))
    }

    /// The first thread after `prev` (from the start when `None`) that passes `filter`.
    pub fn next_thread(
        &self,
        prev: Option<ThreadRef>,
        filter: Option<&Match>,
    ) -> Result<Option<ThreadRef>, SceneError> {
        let threads = &self.snapshot()?.threads;
        let start = prev.map_or(0, |p| p.0 + 1);
        Ok((start..threads.len())
            .find(|i| filter.is_none_or(|m| m.matches_thread(&threads[*i])))
            .map(ThreadRef))
    }

    // ---- frames --------------------------------------------------------------------------

    /// `frame` with moves followed (a created frame since inserted resolves to its place).
    pub fn resolve_frame(&self, frame: FrameRef) -> Result<FrameRef, SceneError> {
        match frame {
            FrameRef::Node { .. } => Ok(frame),
            FrameRef::Temp(id) => match self.temp(id)? {
                TempSlot::Frame(_) => Ok(frame),
                TempSlot::FrameMoved(to) => Ok(*to),
                _ => Err(SceneError::Stale("frame")),
            },
        }
    }

    /// The frame.
    pub fn frame(&self, frame: FrameRef) -> Result<&Frame, SceneError> {
        match self.resolve_frame(frame)? {
            FrameRef::Node { thread, frame } => self
                .thread(ThreadRef(thread))?
                .frames
                .get(frame)
                .ok_or(SceneError::Stale("frame")),
            FrameRef::Temp(id) => match self.temp(id)? {
                TempSlot::Frame(f) => Ok(f),
                _ => Err(SceneError::Stale("frame")),
            },
        }
    }

    /// The frame, to edit.
    pub fn frame_mut(&mut self, frame: FrameRef) -> Result<&mut Frame, SceneError> {
        match self.resolve_frame(frame)? {
            FrameRef::Node { thread, frame } => self
                .thread_mut(ThreadRef(thread))?
                .frames
                .get_mut(frame)
                .ok_or(SceneError::Stale("frame")),
            FrameRef::Temp(id) => match self.temp_mut(id)? {
                TempSlot::Frame(f) => Ok(f),
                _ => Err(SceneError::Stale("frame")),
            },
        }
    }

    /// The thread a frame is in (none for a created frame not inserted).
    pub fn frame_thread(&self, frame: FrameRef) -> Result<Option<ThreadRef>, SceneError> {
        Ok(match self.resolve_frame(frame)? {
            FrameRef::Node { thread, .. } => Some(ThreadRef(thread)),
            FrameRef::Temp(_) => None,
        })
    }

    /// The first frame of `thread` after `prev` that passes `filter`.
    pub fn next_frame(
        &self,
        thread: ThreadRef,
        prev: Option<usize>,
        filter: Option<&Match>,
    ) -> Result<Option<FrameRef>, SceneError> {
        let t = self.thread(thread)?;
        let start = prev.map_or(0, |p| p + 1);
        Ok((start..t.frames.len())
            .find(|i| filter.is_none_or(|m| m.matches_frame(t, &t.frames[*i])))
            .map(|frame| FrameRef::Node {
                thread: thread.0,
                frame,
            }))
    }

    /// The list of variables of a frame, as an owner.
    pub fn frame_owner(&self, frame: FrameRef) -> Result<VarOwner, SceneError> {
        Ok(match self.resolve_frame(frame)? {
            FrameRef::Node { thread, frame } => VarOwner::Frame { thread, frame },
            FrameRef::Temp(id) => VarOwner::DetachedFrame(id),
        })
    }

    /// The first top-level variable of `frame` after position `prev` that passes `filter`.
    pub fn next_frame_variable(
        &self,
        frame: FrameRef,
        prev: Option<usize>,
        filter: Option<&Match>,
    ) -> Result<Option<VarRef>, SceneError> {
        let owner = self.frame_owner(frame)?;
        let vars = self.owner_list(owner)?;
        let start = prev.map_or(0, |p| p + 1);
        for (i, var) in vars.iter().enumerate().skip(start) {
            let path = VarPath::top(owner, i);
            let passes = match filter {
                None => true,
                Some(m) => m.matches_variable(var, &self.place_of_path(&path)?),
            };
            if passes {
                return Ok(Some(VarRef::Node(path)));
            }
        }
        Ok(None)
    }

    /// The parameters of `frame` with their 0-based parameter index.
    pub fn frame_parameters(&self, frame: FrameRef) -> Result<Vec<(VarRef, usize)>, SceneError> {
        let owner = self.frame_owner(frame)?;
        Ok(self
            .owner_list(owner)?
            .iter()
            .enumerate()
            .filter(|(_, v)| v.parameter)
            .enumerate()
            .map(|(n, (i, _))| (VarRef::Node(VarPath::top(owner, i)), n))
            .collect())
    }

    /// The declaration line recorded for a frame (by the extraction or a module).
    pub fn decl_line(&self, frame: FrameRef) -> Result<Option<u32>, SceneError> {
        Ok(match self.resolve_frame(frame)? {
            FrameRef::Node { thread, frame } => self.decl_lines.get(&(thread, frame)).copied(),
            FrameRef::Temp(_) => None,
        })
    }

    // ---- variables -----------------------------------------------------------------------

    pub(crate) fn owner_list(&self, owner: VarOwner) -> Result<&Vec<Variable>, SceneError> {
        match owner {
            VarOwner::Frame { thread, frame } => Ok(&self.frame(FrameRef::Node { thread, frame })?.variables),
            VarOwner::ThreadLocal { thread } => Ok(&self.thread(ThreadRef(thread))?.variables),
            VarOwner::Global => Ok(&self.snapshot()?.globals),
            VarOwner::DetachedFrame(id) => Ok(&self.frame(FrameRef::Temp(id))?.variables),
        }
    }

    pub(crate) fn owner_list_mut(&mut self, owner: VarOwner) -> Result<&mut Vec<Variable>, SceneError> {
        match owner {
            VarOwner::Frame { thread, frame } => {
                Ok(&mut self.frame_mut(FrameRef::Node { thread, frame })?.variables)
            }
            VarOwner::ThreadLocal { thread } => Ok(&mut self.thread_mut(ThreadRef(thread))?.variables),
            VarOwner::Global => Ok(&mut self.snapshot_mut()?.globals),
            VarOwner::DetachedFrame(id) => Ok(&mut self.frame_mut(FrameRef::Temp(id))?.variables),
        }
    }

    /// `var` with moves followed (a created variable since inserted resolves to its place).
    pub fn resolve_var(&self, var: &VarRef) -> Result<VarRef, SceneError> {
        match var {
            VarRef::Node(_) => Ok(var.clone()),
            VarRef::Temp(id) => match self.temp(*id)? {
                TempSlot::Var { .. } => Ok(var.clone()),
                TempSlot::VarMoved(path) => Ok(VarRef::Node(path.clone())),
                _ => Err(SceneError::Stale("variable")),
            },
        }
    }

    /// The variable.
    pub fn var(&self, var: &VarRef) -> Result<&Variable, SceneError> {
        // The common case (a node of the snapshot) without copying the handle.
        if let VarRef::Node(path) = var {
            return get_var(self.owner_list(path.owner)?, &path.indices).ok_or(SceneError::Stale("variable"));
        }
        match self.resolve_var(var)? {
            VarRef::Node(path) => {
                get_var(self.owner_list(path.owner)?, &path.indices).ok_or(SceneError::Stale("variable"))
            }
            VarRef::Temp(id) => match self.temp(id)? {
                TempSlot::Var { var, .. } => Ok(var),
                _ => Err(SceneError::Stale("variable")),
            },
        }
    }

    /// The variable, to edit.
    pub fn var_mut(&mut self, var: &VarRef) -> Result<&mut Variable, SceneError> {
        match self.resolve_var(var)? {
            VarRef::Node(path) => get_var_mut(self.owner_list_mut(path.owner)?, &path.indices)
                .ok_or(SceneError::Stale("variable")),
            VarRef::Temp(id) => match self.temp_mut(id)? {
                TempSlot::Var { var, .. } => Ok(var),
                _ => Err(SceneError::Stale("variable")),
            },
        }
    }

    /// The variable `var` is a member or element of (or the owner given at creation).
    pub fn var_owner(&self, var: &VarRef) -> Result<Option<VarRef>, SceneError> {
        match self.resolve_var(var)? {
            VarRef::Node(path) => Ok(path.parent().map(VarRef::Node)),
            VarRef::Temp(id) => match self.temp(id)? {
                TempSlot::Var { owner, .. } => Ok(owner.clone()),
                _ => Err(SceneError::Stale("variable")),
            },
        }
    }

    /// The frame `var` is in (none for globals, thread-locals and detached variables).
    pub fn var_frame(&self, var: &VarRef) -> Result<Option<FrameRef>, SceneError> {
        Ok(match self.resolve_var(var)? {
            VarRef::Node(VarPath {
                owner: VarOwner::Frame { thread, frame },
                ..
            }) => Some(FrameRef::Node { thread, frame }),
            VarRef::Node(VarPath {
                owner: VarOwner::DetachedFrame(id),
                ..
            }) => Some(FrameRef::Temp(id)),
            _ => None,
        })
    }

    /// The thread `var` is in (frame variables and thread-locals).
    pub fn var_thread(&self, var: &VarRef) -> Result<Option<ThreadRef>, SceneError> {
        Ok(match self.resolve_var(var)? {
            VarRef::Node(VarPath {
                owner: VarOwner::Frame { thread, .. } | VarOwner::ThreadLocal { thread },
                ..
            }) => Some(ThreadRef(thread)),
            _ => None,
        })
    }

    /// The 0-based parameter index of `var` among its frame's parameters, or -1.
    pub fn fprm_offset(&self, var: &VarRef) -> Result<i64, SceneError> {
        let VarRef::Node(path) = self.resolve_var(var)? else {
            return Ok(-1);
        };
        if path.indices.len() != 1
            || !matches!(path.owner, VarOwner::Frame { .. } | VarOwner::DetachedFrame(_))
        {
            return Ok(-1);
        }
        let list = self.owner_list(path.owner)?;
        let index = path.indices[0];
        match list.get(index) {
            Some(v) if v.parameter => Ok(list[..index].iter().filter(|v| v.parameter).count() as i64),
            Some(_) => Ok(-1),
            None => Err(SceneError::Stale("variable")),
        }
    }

    /// Where the top-level variable of `path` lives, for matching.
    pub fn place_of_path(&self, path: &VarPath) -> Result<VariablePlace<'_>, SceneError> {
        Ok(match path.owner {
            VarOwner::Frame { thread, frame } => {
                let t = self.thread(ThreadRef(thread))?;
                let f = t.frames.get(frame).ok_or(SceneError::Stale("frame"))?;
                VariablePlace::in_frame(t, f)
            }
            VarOwner::ThreadLocal { thread } => {
                let t = self.thread(ThreadRef(thread))?;
                let origin = path
                    .indices
                    .first()
                    .and_then(|i| self.tls_origins.get(&(thread, *i)));
                VariablePlace {
                    object: origin.map(|o| o.object.as_str()),
                    file: origin.map(|o| o.cu.as_str()),
                    frame_symbol: None,
                    faulting_frame: false,
                    faulting_thread: t.fault,
                }
            }
            VarOwner::Global => {
                let origin = path.indices.first().and_then(|i| self.global_origins.get(i));
                VariablePlace {
                    object: origin.map(|o| o.object.as_str()),
                    file: origin.map(|o| o.cu.as_str()),
                    ..VariablePlace::default()
                }
            }
            VarOwner::DetachedFrame(_) => VariablePlace::default(),
        })
    }

    /// Whether `var` passes `filter`.
    pub fn var_matches(&self, var: &VarRef, filter: &Match) -> Result<bool, SceneError> {
        let variable = self.var(var)?;
        Ok(match self.resolve_var(var)? {
            VarRef::Node(path) => filter.matches_variable(variable, &self.place_of_path(&path)?),
            VarRef::Temp(_) => filter.matches_variable(variable, &VariablePlace::default()),
        })
    }
}
