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

/// The positions of a variable node: in its list, then in each level of children. Up to
/// [`Indices::INLINE`] of them are held without an allocation (a handle is made for every
/// variable event).
#[derive(Clone)]
pub enum Indices {
    /// `len` positions in `items`.
    Inline {
        /// How many of `items` are used.
        len: u8,
        /// The positions (those past `len` are unused).
        items: [usize; Indices::INLINE],
    },
    /// More positions than fit inline.
    Heap(Vec<usize>),
}

impl Indices {
    /// How many positions are held inline.
    pub const INLINE: usize = 3;

    /// The single position `index`.
    pub fn one(index: usize) -> Self {
        Indices::Inline {
            len: 1,
            items: [index, 0, 0],
        }
    }

    /// Adds a position at the end.
    pub fn push(&mut self, index: usize) {
        match self {
            Indices::Inline { len, items } if usize::from(*len) < Self::INLINE => {
                items[usize::from(*len)] = index;
                *len += 1;
            }
            Indices::Inline { len, items } => {
                let mut all = items[..usize::from(*len)].to_vec();
                all.push(index);
                *self = Indices::Heap(all);
            }
            Indices::Heap(all) => all.push(index),
        }
    }
}

impl From<&[usize]> for Indices {
    fn from(list: &[usize]) -> Self {
        match u8::try_from(list.len()) {
            Ok(len) if list.len() <= Self::INLINE => {
                let mut items = [0; Self::INLINE];
                items[..list.len()].copy_from_slice(list);
                Indices::Inline { len, items }
            }
            _ => Indices::Heap(list.to_vec()),
        }
    }
}

impl std::ops::Deref for Indices {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Indices::Inline { len, items } => &items[..usize::from(*len)],
            Indices::Heap(all) => all,
        }
    }
}

impl std::ops::DerefMut for Indices {
    fn deref_mut(&mut self) -> &mut [usize] {
        match self {
            Indices::Inline { len, items } => &mut items[..usize::from(*len)],
            Indices::Heap(all) => all,
        }
    }
}

impl PartialEq for Indices {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Indices {}

impl std::hash::Hash for Indices {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl std::fmt::Debug for Indices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// A variable node: its list, then its position in the list and in each level of children.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VarPath {
    /// The list of the top-level variable.
    pub owner: VarOwner,
    /// Position in the list, then child positions (never empty).
    pub indices: Indices,
}

impl VarPath {
    /// The top-level variable at `index` of `owner`.
    pub fn top(owner: VarOwner, index: usize) -> Self {
        VarPath {
            owner,
            indices: Indices::one(index),
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
            indices: Indices::from(&self.indices[..self.indices.len() - 1]),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_keep_their_positions_inline_and_beyond() {
        let top = VarPath::top(VarOwner::Global, 7);
        let mut path = top.clone();
        for i in 0..5 {
            path = path.child(i);
        }
        assert_eq!(&*path.indices, &[7, 0, 1, 2, 3, 4]);
        assert!(matches!(path.indices, Indices::Heap(_)));
        let mut up = path.clone();
        let mut seen = Vec::new();
        while let Some(parent) = up.parent() {
            seen.push(parent.indices.to_vec());
            up = parent;
        }
        assert_eq!(seen.last(), Some(&vec![7]));
        assert_eq!(up, top);
        // Equal positions are equal handles, however they are held.
        assert_eq!(Indices::Heap(vec![7, 0]), Indices::from(&[7, 0][..]));
        let set: std::collections::HashSet<Indices> = [Indices::Heap(vec![1]), Indices::one(1)].into();
        assert_eq!(set.len(), 1);
        let mut first = Indices::one(3);
        first[0] += 1;
        assert_eq!(&*first, &[4]);
    }
}
