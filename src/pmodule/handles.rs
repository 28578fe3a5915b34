//! Handles on the objects modules see: threads, frames and variables of the snapshot under
//! construction, and detached objects (created or read by a module, not yet in the snapshot).
//! Handles are plain positions: they stay valid while the callback that got them runs.

/// A thread: its position in the snapshot's `threads`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadRef(pub usize);

/// A detached object (created frame or variable, or a variable read from a bt variable), valid
/// until the callback that made it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TempId {
    /// The callback generation that made it.
    pub(crate) generation: u64,
    /// Its slot.
    pub(crate) index: usize,
}

/// A frame: in a thread of the snapshot, or created and not inserted yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameRef {
    /// Frame `frame` of thread `thread`.
    Node {
        /// The thread's position.
        thread: usize,
        /// The frame's position in the thread (0 innermost).
        frame: usize,
    },
    /// A frame made by `create_frame`.
    Temp(TempId),
}

/// The list a top-level variable belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VarOwner {
    /// The variables of a frame.
    Frame {
        /// The thread's position.
        thread: usize,
        /// The frame's position.
        frame: usize,
    },
    /// The thread-local variables of a thread.
    ThreadLocal {
        /// The thread's position.
        thread: usize,
    },
    /// The snapshot's globals.
    Global,
    /// The variables of a created frame not inserted yet.
    DetachedFrame(TempId),
}

/// A variable node: its list, then its position in the list and in each level of children.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VarPath {
    /// The list of the top-level variable.
    pub owner: VarOwner,
    /// Position in the list, then child positions (never empty).
    pub indices: Vec<usize>,
}

impl VarPath {
    /// The top-level variable at `index` of `owner`.
    pub fn top(owner: VarOwner, index: usize) -> Self {
        VarPath {
            owner,
            indices: vec![index],
        }
    }

    /// Child `index` of this variable.
    pub fn child(&self, index: usize) -> Self {
        let mut indices = self.indices.clone();
        indices.push(index);
        VarPath {
            owner: self.owner,
            indices,
        }
    }

    /// The variable this one is a member or element of.
    pub fn parent(&self) -> Option<Self> {
        (self.indices.len() > 1).then(|| VarPath {
            owner: self.owner,
            indices: self.indices[..self.indices.len() - 1].to_vec(),
        })
    }
}

/// A variable: a node of the snapshot, or a detached one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VarRef {
    /// In the snapshot (or in a created frame).
    Node(VarPath),
    /// Made by `create_variable` or `variable_from_bt`.
    Temp(TempId),
}
