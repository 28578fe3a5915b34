//! Frames for functions that left the stack through a tail call, found as gdb finds them: from
//! DWARF call-site information.
//!
//! A caller frame returns to an address that DWARF describes as the return address of a call
//! site; that call site names the function the caller called (its *target*). When the frame
//! below (the *callee*) is not that function, the target must have reached the callee through
//! tail calls — jumps that left no frame. The tail-call sites of the target (then of their
//! targets, and so on) are searched depth-first for chains that end at the callee:
//!
//! - one chain: each of its tail-call sites becomes a frame;
//! - several chains: only their common parts are kept — the tail calls every chain starts with
//!   (nearest the caller) and those every chain ends with (nearest the callee) — as gdb does; when
//!   the chains share neither end, nothing is inserted;
//! - no chain, or anything that prevents knowing all chains (a call site without a known target,
//!   a target DWARF does not describe as a function, a search cut short by its bounds): nothing is
//!   inserted. Like gdb, a function is only searched through when it claims its call-site list is
//!   complete (`DW_AT_call_all_calls` and friends).
//!
//! A target known only by name (a call through the PLT into another object) is looked up in the
//! symbol tables of every loaded object, an external definition first, as gdb looks up a
//! minimal symbol. Unlike gdb (which gives up on any `DW_AT_call_target` when it has no live
//! frame to evaluate it in), a `DW_AT_call_target` that is a constant address is used.

use std::collections::HashSet;
use std::sync::Arc;

use super::callsites::{CallSite, CallTarget};
use super::loaded::LoadedObject;
use super::process::ProcessObjects;
use super::symbolize::SymbolizedFrame;

/// Longest chain of tail calls searched between a caller and its callee.
pub const MAX_TAIL_CALL_DEPTH: usize = 8;

/// Most tail-call sites one search visits before it gives up (the search follows every path, so
/// this bounds its cost on functions with many tail calls).
pub const MAX_TAIL_CALL_VISITS: usize = 4096;

/// One frame of a function that tail-called onward: its frame is gone from the stack, and it is
/// shown as gdb shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailCallFrame {
    /// The tail-call site's return address (`DW_AT_call_return_pc`): the address right after the
    /// jump, as gdb prints it.
    pub pc: u64,
    /// Path of the object holding the jump.
    pub object: String,
    /// The function and source line of the jump (looked up at `pc - 1`; when the jump is in
    /// inlined code, the innermost inlined function, as gdb names such a frame). `offset` is of
    /// `pc`; `inlined` is false.
    pub frame: SymbolizedFrame,
}

/// Why no tail-call frames could be inserted between a caller and its callee.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TailCallError {
    /// DWARF describes no call site returning to the caller's return address (no call-site
    /// information, e.g. `-O0` code or an object without DWARF).
    #[error("no call site returns to {0:#x}")]
    NoCallSite(u64),
    /// A call site on the way has no target known without running the program (an indirect
    /// call) — other chains may hide behind it.
    #[error("the call site returning to {0:#x} has no known target")]
    UnknownTarget(u64),
    /// A call site names a function by a name that no loaded object defines.
    #[error("no loaded object defines {0}")]
    UnresolvedName(String),
    /// A call target is not the entry of a function DWARF describes.
    #[error("no DWARF function starts at {0:#x}")]
    NoFunctionAt(u64),
    /// No chain of tail calls leads from the caller's target to the callee.
    #[error("no chain of tail calls reaches {0:#x}")]
    NoChain(u64),
    /// Several chains lead to the callee and they share no tail call at either end.
    #[error("several chains of tail calls reach {0:#x} with nothing in common")]
    Ambiguous(u64),
    /// The search met its bounds (depth [`MAX_TAIL_CALL_DEPTH`], visits
    /// [`MAX_TAIL_CALL_VISITS`]) before it could know every chain.
    #[error("tail-call search cut short after {0} call sites")]
    SearchBounded(usize),
}

impl ProcessObjects {
    /// The frames of the functions that tail-called their way from the caller — whose frame
    /// returns to runtime address `caller_return_pc` — to the callee — the function whose runtime
    /// entry address is `callee_entry` — innermost (nearest the callee) first. Empty when the
    /// caller called the callee directly, and whenever the chain is not known for sure.
    pub fn tail_call_frames(&self, caller_return_pc: u64, callee_entry: u64) -> Vec<TailCallFrame> {
        self.tail_call_chain(caller_return_pc, callee_entry)
            .unwrap_or_default()
    }

    /// [`tail_call_frames`](Self::tail_call_frames), saying why there are none: `Ok(vec![])` means
    /// the caller called the callee directly.
    pub fn tail_call_chain(
        &self,
        caller_return_pc: u64,
        callee_entry: u64,
    ) -> Result<Vec<TailCallFrame>, TailCallError> {
        let caller = self
            .find(caller_return_pc.wrapping_sub(1))
            .ok_or(TailCallError::NoCallSite(caller_return_pc))?;
        let site = caller
            .call_site(caller_return_pc)
            .ok_or(TailCallError::NoCallSite(caller_return_pc))?;
        let target = self.resolve(&site)?;
        if target == callee_entry {
            return Ok(Vec::new());
        }
        let mut search = Search {
            objects: self,
            callee: callee_entry,
            path: Vec::new(),
            on_path: HashSet::new(),
            found: None,
            visits: 0,
        };
        search.explore(target)?;
        let common = search.found.ok_or(TailCallError::NoChain(callee_entry))?;
        Ok(common
            .shown_sites()
            .into_iter()
            .map(|site| frame_of(&site.object, site.return_pc))
            .collect())
    }

    /// The runtime address a call site calls.
    fn resolve(&self, site: &CallSite) -> Result<u64, TailCallError> {
        match &site.target {
            CallTarget::Address(address) => Ok(*address),
            CallTarget::Name(name) => self
                .function_by_name(name)
                .ok_or_else(|| TailCallError::UnresolvedName(name.clone())),
            CallTarget::Unknown => Err(TailCallError::UnknownTarget(site.return_pc)),
        }
    }

    /// The runtime address of the function symbol `name`: the first external definition in
    /// object order (the executable first), else the first local one.
    fn function_by_name(&self, name: &str) -> Option<u64> {
        let mut local = None;
        for object in self.objects() {
            if let Some(found) = object.function_named(name) {
                if found.external {
                    return Some(found.address);
                }
                local.get_or_insert(found.address);
            }
        }
        local
    }
}

/// A tail-call site on a chain.
#[derive(Clone, Debug)]
struct ChainSite {
    /// Runtime return address of the jump.
    return_pc: u64,
    /// The object holding it.
    object: Arc<LoadedObject>,
}

/// What every chain found so far has in common (gdb's `call_site_chain`): the first chain, with
/// how many of its sites every chain starts with (`callers`) and ends with (`callees`).
struct CommonChain {
    chain: Vec<ChainSite>,
    callers: usize,
    callees: usize,
}

impl CommonChain {
    /// Intersects with another chain; `false` when nothing is left in common.
    fn intersect(&mut self, other: &[ChainSite]) -> bool {
        let same = |a: &ChainSite, b: &ChainSite| a.return_pc == b.return_pc;
        let callers = self.callers.min(other.len());
        self.callers = (0..callers)
            .find(|i| !same(&self.chain[*i], &other[*i]))
            .unwrap_or(callers);
        let callees = self.callees.min(other.len());
        self.callees = (0..callees)
            .find(|i| !same(&self.chain[self.chain.len() - 1 - i], &other[other.len() - 1 - i]))
            .unwrap_or(callees);
        self.callers > 0 || self.callees > 0
    }

    /// The sites shown as frames, innermost first: the common end nearest the callee, then the
    /// common start nearest the caller (unless the end already covers the whole chain).
    fn shown_sites(&self) -> Vec<ChainSite> {
        let length = self.chain.len();
        let mut shown: Vec<ChainSite> = self.chain[length - self.callees..]
            .iter()
            .rev()
            .cloned()
            .collect();
        if self.callees != length {
            shown.extend(self.chain[..self.callers].iter().rev().cloned());
        }
        shown
    }
}

/// One depth-first search for the chains of tail calls from a target to the callee. Like gdb's,
/// it follows every path, never entering a call site already on the current path.
struct Search<'a> {
    objects: &'a ProcessObjects,
    /// Runtime entry of the callee.
    callee: u64,
    /// The tail-call sites of the current path, outermost first.
    path: Vec<ChainSite>,
    /// Their return addresses.
    on_path: HashSet<u64>,
    /// What the chains found so far share.
    found: Option<CommonChain>,
    /// Call sites visited so far.
    visits: usize,
}

impl Search<'_> {
    /// Follows the tail calls of the function whose runtime entry is `function`.
    fn explore(&mut self, function: u64) -> Result<(), TailCallError> {
        let object = self
            .objects
            .find(function)
            .ok_or(TailCallError::NoFunctionAt(function))?
            .clone();
        let sites = object
            .tail_calls_of(function)
            .ok_or(TailCallError::NoFunctionAt(function))?;
        if sites.is_empty() {
            return Ok(());
        }
        if self.path.len() >= MAX_TAIL_CALL_DEPTH {
            return Err(TailCallError::SearchBounded(self.visits));
        }
        for site in sites {
            if !self.on_path.insert(site.return_pc) {
                continue;
            }
            self.visits += 1;
            if self.visits > MAX_TAIL_CALL_VISITS {
                return Err(TailCallError::SearchBounded(self.visits));
            }
            self.path.push(ChainSite {
                return_pc: site.return_pc,
                object: object.clone(),
            });
            let outcome = self.follow(&site);
            self.path.pop();
            self.on_path.remove(&site.return_pc);
            outcome?;
        }
        Ok(())
    }

    /// Follows one tail-call site just pushed on the path.
    fn follow(&mut self, site: &CallSite) -> Result<(), TailCallError> {
        let target = self.objects.resolve(site)?;
        if target != self.callee {
            return self.explore(target);
        }
        match &mut self.found {
            None => {
                self.found = Some(CommonChain {
                    chain: self.path.clone(),
                    callers: self.path.len(),
                    callees: self.path.len(),
                });
                Ok(())
            }
            Some(common) => {
                if common.intersect(&self.path) {
                    Ok(())
                } else {
                    Err(TailCallError::Ambiguous(self.callee))
                }
            }
        }
    }
}

/// The frame shown for a tail-call site returning to runtime `pc` in `object`.
fn frame_of(object: &LoadedObject, pc: u64) -> TailCallFrame {
    let jump = pc.wrapping_sub(1);
    let mut frame = object.symbolize(jump).into_iter().next().unwrap_or_default();
    frame.inlined = false;
    frame.offset = frame.offset.map(|offset| offset + 1);
    TailCallFrame {
        pc,
        object: object.path.clone(),
        frame,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Some loaded object to attach chain sites to (only their addresses matter here).
    fn object() -> Arc<LoadedObject> {
        static OBJECT: OnceLock<Arc<LoadedObject>> = OnceLock::new();
        OBJECT
            .get_or_init(|| {
                let exe = std::env::current_exe().unwrap();
                Arc::new(LoadedObject::open_file(&exe, 0, &Default::default()).unwrap())
            })
            .clone()
    }

    fn chain(pcs: &[u64]) -> Vec<ChainSite> {
        pcs.iter()
            .map(|pc| ChainSite {
                return_pc: *pc,
                object: object(),
            })
            .collect()
    }

    /// What is shown after intersecting `first` with each of `others` (`None`: nothing in common).
    fn shown(first: &[u64], others: &[&[u64]]) -> Option<Vec<u64>> {
        let mut common = CommonChain {
            chain: chain(first),
            callers: first.len(),
            callees: first.len(),
        };
        for other in others {
            if !common.intersect(&chain(other)) {
                return None;
            }
        }
        Some(common.shown_sites().iter().map(|s| s.return_pc).collect())
    }

    #[test]
    fn one_chain_is_shown_whole_innermost_first() {
        assert_eq!(shown(&[1, 2, 3], &[]), Some(vec![3, 2, 1]));
        assert_eq!(shown(&[1, 2, 3], &[&[1, 2, 3]]), Some(vec![3, 2, 1]));
    }

    #[test]
    fn several_chains_keep_only_their_common_ends_as_gdb_does() {
        // Same end (nearest the callee), different starts.
        assert_eq!(shown(&[1, 2, 3], &[&[4, 2, 3]]), Some(vec![3, 2]));
        // Same start (nearest the caller), different ends.
        assert_eq!(shown(&[1, 2, 3], &[&[1, 2, 5]]), Some(vec![2, 1]));
        // Both ends shared, the middle differs: the end first, then the start.
        assert_eq!(shown(&[1, 2, 3], &[&[1, 7, 3]]), Some(vec![3, 1]));
        // One chain inside the other: the shared end covers the whole first chain.
        assert_eq!(shown(&[2, 3], &[&[1, 2, 3]]), Some(vec![3, 2]));
        assert_eq!(shown(&[1, 2, 3], &[&[2, 3]]), Some(vec![3, 2]));
        // The order the chains are found in does not matter.
        assert_eq!(
            shown(&[1, 2, 3], &[&[4, 2, 3], &[1, 6, 3]]),
            shown(&[1, 6, 3], &[&[4, 2, 3], &[1, 2, 3]])
        );
        // Nothing in common: nothing at all is shown.
        assert_eq!(shown(&[1, 2], &[&[3, 4]]), None);
        assert_eq!(shown(&[1, 2, 3], &[&[1, 5, 6], &[7, 8, 3]]), None);
    }
}
