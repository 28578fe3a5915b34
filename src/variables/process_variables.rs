//! [`ProcessVariables`]: the variables engine over every object of a process — frame variables
//! for unwound frames, globals by name or enumerated, types by name.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::globals::{GlobalFilter, GlobalIter, GlobalVariable};
use super::index::{scopes_at, DieRef, GlobalEntry, ObjectDebug, ScopedVariable};
use super::location::{
    calls_of, locate_plan, resolve_entry_register, scope_locations, CallerFrames, Env, LocationPlan, Missing,
    ProcessDebug, ScopedLocation, Stack, ValueImage, MAX_IMAGE_BYTES, NO_IMAGE,
};
use super::navigate::BtVariable;
use super::types::{find_type_in, BaseEncoding, Type, TypeKind};
use super::value::{Builder, Deferral, StringCopies, VariableLimits};
use super::{TlsResolver, VariablesError};
use crate::debuginfo::{LoadedObject, ProcessObjects};
use crate::memory::MemoryReader;
use crate::snapshot::{SharedStr, Variable, VariableState};
use crate::unwind::UnwoundFrame;

/// The plans of the variables in scope at a pc: one list per level, innermost first.
type ScopePlans = Vec<Vec<VariablePlan>>;

/// The variables in scope at a pc, planned once: (object index, ELF pc) -> their plans.
type ScopeCache = HashMap<(usize, u64), Arc<ScopePlans>>;

/// The scope plans of one frame, shared by that frame's pending variables through a count of
/// its own: counting the shared plans once per frame, not once per variable, keeps threads read
/// in parallel from contending for the same counters.
type FrameScope = Arc<Arc<ScopePlans>>;

/// The scope plans of the frames of one thread, by (object index, ELF pc): threads often repeat
/// a pc down their stack (recursion), and each frame looking its plans up in the process's cache
/// would contend with threads read in parallel for the cache's lock.
type ScopeMemo = std::cell::RefCell<HashMap<(usize, u64), FrameScope>>;

/// One planned variable of a frame: its plan, where it is in the frame's scope plans.
struct FramePlan<'p> {
    scope: &'p FrameScope,
    level: usize,
    index: usize,
    plan: &'p VariablePlan,
}

impl std::ops::Deref for FramePlan<'_> {
    type Target = VariablePlan;

    fn deref(&self) -> &VariablePlan {
        self.plan
    }
}

/// A parameter or local in scope at a pc, with everything about it that does not depend on the
/// thread: its name, type and size, and its location decoded (or its value, when constant or
/// missing at that pc).
struct VariablePlan {
    name: SharedStr,
    parameter: bool,
    ty: Type,
    size: usize,
    /// What building the value after the resume needs copied while stopped.
    deferral: Deferral,
    source: Source,
    /// A parameter whose entry value the caller's call site may give: the DWARF register it is
    /// in at the function's entry (its type an integer, enum or pointer).
    entry_register: Option<u16>,
    /// A goto label without an address (listed optimized out, as gdb lists it).
    label: bool,
}

/// Why a goto label listed among a frame's variables has no value.
const LABEL_REASON: &str = "a goto label the compiler left without an address (gdb lists it, optimized out)";

/// Where a planned variable's bytes come from.
enum Source {
    /// Its location, evaluated in each frame.
    Location(LocationPlan),
    /// The same bytes in every frame (a constant, or missing at this pc).
    Fixed(ValueImage),
}

impl VariablePlan {
    /// The plan of `variable` of `debug`, which is at `location` at the scope's pc.
    fn new(debug: &Arc<ObjectDebug>, variable: &ScopedVariable, location: &ScopedLocation) -> Self {
        let ty = Type::at(debug, variable.ty);
        let size = ty.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let source = match (&location.expression, &variable.const_value) {
            (Some(Ok(expression)), _) => {
                match LocationPlan::new(debug, variable.die.unit, expression.clone()) {
                    Some(plan) => Source::Location(plan),
                    None => Source::Fixed(ValueImage::missing(
                        size,
                        Missing::optimized_out("its unit cannot be parsed"),
                    )),
                }
            }
            (Some(Err(missing)), _) => Source::Fixed(ValueImage::missing(size, missing.clone())),
            (None, Some((unit, value))) => {
                Source::Fixed(super::globals::const_image(debug, *unit, value, size))
            }
            (None, None) => Source::Fixed(ValueImage::missing(
                size,
                Missing::optimized_out("optimized out (no location)"),
            )),
        };
        let source = if variable.label {
            Source::Fixed(ValueImage::missing(0, Missing::optimized_out(LABEL_REASON)))
        } else {
            source
        };
        let entry_register = location
            .entry_register
            .filter(|_| size > 0 && size <= 8 && has_scalar_entry_value(&ty));
        Self {
            name: variable.name.clone().map(SharedStr::from).unwrap_or_default(),
            parameter: variable.parameter,
            deferral: Deferral::new(&ty, size),
            ty,
            size,
            source,
            entry_register,
            label: variable.label,
        }
    }

    /// The snapshot variable of this plan whose bytes are `image`, with its entry value's bits
    /// when the caller's call site gave them.
    fn build(&self, image: &ValueImage, entry: Option<u64>, builder: &Builder<'_>) -> Variable {
        let mut variable = builder.variable(&self.name, &self.ty, image, self.parameter);
        if let Some(bits) = entry {
            variable.entry_value = Builder::scalar_value(&self.ty, bits);
        }
        if self.label {
            // A label has no type (`void`, as its bt variable says); it is never a value.
            variable.state = VariableState::OptimizedOut;
            variable.annotations.push(crate::snapshot::Annotation::Text {
                level: crate::snapshot::AnnotationLevel::Comment,
                text: LABEL_REASON.into(),
            });
        }
        variable
    }
}

/// A frame variable read while the target was stopped: built then, or only located (its bytes
/// and the strings it points to copied) and built after the resume by
/// [`ProcessVariables::build_pending`].
pub struct PendingVariable(Pending);

enum Pending {
    /// Built while stopped (boxed: a located variable, the usual kind, is half the size, and
    /// every byte of the pending variables is fresh memory touched while the target is stopped).
    Built(Box<Variable>),
    Located {
        /// The frame's scope plans, and where the variable's plan is in them.
        scope: FrameScope,
        level: usize,
        index: usize,
        /// The located bytes; `None`: the plan's fixed ones.
        image: Option<ValueImage>,
        /// The bits of its entry value, when the caller's call site gave them.
        entry: Option<u64>,
    },
}

impl std::fmt::Debug for PendingVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Pending::Built(variable) => f.debug_tuple("Built").field(&variable.name).finish(),
            Pending::Located {
                scope, level, index, ..
            } => {
                let name = scope.get(*level).and_then(|l| l.get(*index)).map(|p| &p.name);
                f.debug_tuple("Located").field(&name).finish()
            }
        }
    }
}

/// The variables of one thread's frames (see [`ProcessVariables::thread_variables`]); `T` is
/// [`Variable`], or `(Variable, BtVariable)` from
/// [`ProcessVariables::thread_variables_with_bt`].
#[derive(Clone, Debug)]
pub struct ThreadVariables<T = Variable> {
    /// For each physical frame: one list per inline level, innermost inlined call first and the
    /// function itself last.
    pub frames: Vec<Vec<Vec<T>>>,
    /// For each physical frame `k`: the variables of each tail-call frame between it and frame
    /// `k + 1`, innermost first.
    pub tail_calls: Vec<Vec<Vec<T>>>,
}

impl<T> Default for ThreadVariables<T> {
    fn default() -> Self {
        Self {
            frames: Vec::new(),
            tail_calls: Vec::new(),
        }
    }
}

/// The variables engine of one process: every mapped object with its DWARF indexed.
///
/// Build it before the target stops ([`ProcessVariables::new`] reads unit headers and address
/// ranges); while the target is stopped, [`frame_variables`](Self::frame_variables) and
/// [`GlobalVariable::read`] only parse the DIEs they need (cached) and read target memory. `Sync`:
/// threads may be processed in parallel.
pub struct ProcessVariables {
    /// Every object, by ascending base address, with its DWARF when it has some.
    objects: Vec<(Arc<LoadedObject>, Option<Arc<ObjectDebug>>)>,
    scopes: RwLock<ScopeCache>,
    warnings: Vec<String>,
}

impl ProcessVariables {
    /// Indexes the DWARF of every object of `objects` (loading it if [`LoadedObject::prepare`]
    /// did not). An object whose DWARF is unusable is kept without, with a warning.
    pub fn new(objects: &ProcessObjects) -> Self {
        Self::from_objects(objects.objects().to_vec())
    }

    /// [`new`](Self::new) over a list of objects (sorted by base address here).
    pub fn from_objects(mut list: Vec<Arc<LoadedObject>>) -> Self {
        list.sort_by_key(|o| o.base);
        let mut warnings = Vec::new();
        let objects = list
            .into_iter()
            .map(|object| {
                let debug = match ObjectDebug::new(object.clone()) {
                    Ok(debug) => debug.map(Arc::new),
                    Err(e) => {
                        warnings.push(format!("variables unavailable: {e}"));
                        None
                    }
                };
                (object, debug)
            })
            .collect();
        Self {
            objects,
            scopes: RwLock::new(HashMap::new()),
            warnings,
        }
    }

    /// Problems met while indexing.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The objects with DWARF, by ascending base address.
    pub fn debug_objects(&self) -> impl Iterator<Item = &Arc<ObjectDebug>> {
        self.objects.iter().filter_map(|(_, d)| d.as_ref())
    }

    /// The object mapping runtime `address`, with its DWARF when it has some.
    fn object_index_at(&self, address: u64) -> Option<usize> {
        let end = self.objects.partition_point(|(o, _)| o.base <= address);
        let candidates = self.objects.get(..end)?;
        candidates
            .iter()
            .rposition(|(o, _)| o.maps_address(address))
            .or_else(|| {
                candidates
                    .iter()
                    .rposition(|(o, _)| (o.base..o.end).contains(&address))
            })
    }

    /// The DWARF of the object mapping runtime `address`.
    pub fn debug_at(&self, address: u64) -> Option<&Arc<ObjectDebug>> {
        self.objects.get(self.object_index_at(address)?)?.1.as_ref()
    }

    /// The function symbol at runtime `address`: `name` at its start, `name+0x10` inside.
    pub fn symbolize_function(&self, address: u64) -> Option<String> {
        let (object, _) = self.objects.get(self.object_index_at(address)?)?;
        let (name, offset) = object.function_symbol(address)?;
        Some(if offset == 0 {
            name
        } else {
            format!("{name}+{offset:#x}")
        })
    }

    /// The runtime address of the function symbol `name`: the first external definition in
    /// address order (the executable first in usual layouts), else the first local one.
    pub(crate) fn function_named(&self, name: &str) -> Option<u64> {
        let mut local = None;
        for (object, _) in &self.objects {
            if let Some(found) = object.function_named(name) {
                if found.external {
                    return Some(found.address);
                }
                local.get_or_insert(found.address);
            }
        }
        local
    }

    /// The variables of physical frame `index` of `frames` (one thread's unwind, innermost
    /// first): one list per level, innermost inlined call first and the function itself last (the
    /// order of `LoadedObject::symbolize`); in each, the parameters (`parameter: true`) then the
    /// locals in scope, in declaration order. Empty without DWARF for the frame's pc.
    ///
    /// Without the tail-call frames of the thread (see [`thread_variables`](Self::thread_variables)),
    /// an entry value whose caller reached this function through tail calls is optimized out.
    pub fn frame_variables(
        &self,
        frames: &[UnwoundFrame],
        index: usize,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> Vec<Vec<Variable>> {
        let stack = Stack::new(self, frames, &[]);
        let memo = ScopeMemo::default();
        self.frame_variables_in(&stack, &memo, index, memory, tls, limits, &only_variable)
    }

    /// [`frame_variables`](Self::frame_variables), each variable with the [`BtVariable`] that
    /// navigates from it (its type and address, or its bytes when it lives in registers).
    pub fn frame_variables_with_bt(
        &self,
        frames: &[UnwoundFrame],
        index: usize,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> Vec<Vec<(Variable, BtVariable)>> {
        let stack = Stack::new(self, frames, &[]);
        let memo = ScopeMemo::default();
        self.frame_variables_in(&stack, &memo, index, memory, tls, limits, &with_bt_variable)
    }

    /// The variables of every frame of one thread: each physical frame of `frames` (what
    /// [`frame_variables`](Self::frame_variables) gives), and each tail-call frame of
    /// `tail_calls` — `tail_calls[k]` holds the runtime return addresses of the jumps of the
    /// functions that tail-called from `frames[k + 1]` down to `frames[k]`, innermost first (as
    /// [`ProcessObjects::tail_call_frames`](crate::debuginfo::ProcessObjects::tail_call_frames)
    /// proves them). Entry values resolve through those jumps.
    pub fn thread_variables(
        &self,
        frames: &[UnwoundFrame],
        tail_calls: &[Vec<u64>],
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> ThreadVariables {
        self.thread_variables_as(frames, tail_calls, memory, tls, limits, &only_variable)
    }

    /// [`thread_variables`](Self::thread_variables), each variable with the [`BtVariable`]
    /// that navigates from it (what the variable event of the module APIs passes), tail-call
    /// frames' variables included.
    pub fn thread_variables_with_bt(
        &self,
        frames: &[UnwoundFrame],
        tail_calls: &[Vec<u64>],
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> ThreadVariables<(Variable, BtVariable)> {
        self.thread_variables_as(frames, tail_calls, memory, tls, limits, &with_bt_variable)
    }

    /// [`thread_variables`](Self::thread_variables) for building after the resume: each variable
    /// located now, and the strings its value points to copied into `copies`, but its snapshot
    /// variable built later by [`build_pending`](Self::build_pending) (most of the cost of a
    /// variable, and none of it needs the target stopped). A variable whose building would read
    /// more target memory than that is built now.
    pub fn thread_variables_pending(
        &self,
        frames: &[UnwoundFrame],
        tail_calls: &[Vec<u64>],
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        copies: &StringCopies,
    ) -> ThreadVariables<PendingVariable> {
        let make =
            |plan: &FramePlan<'_>, located: Option<ValueImage>, entry: Option<u64>, builder: &Builder<'_>| {
                pending_variable(copies, plan, located, entry, builder)
            };
        self.thread_variables_as(frames, tail_calls, memory, tls, limits, &make)
    }

    /// The snapshot variable of `pending` (see
    /// [`thread_variables_pending`](Self::thread_variables_pending)), built with the strings
    /// `copies` copied while the target was stopped (and no other target memory).
    pub fn build_pending(
        &self,
        pending: PendingVariable,
        copies: &dyn MemoryReader,
        limits: &VariableLimits,
    ) -> Variable {
        match pending.0 {
            Pending::Built(variable) => *variable,
            Pending::Located {
                scope,
                level,
                index,
                image,
                entry,
            } => {
                // Where the plan was found when the variable was located.
                let plan = &scope[level][index];
                let symbolize = |address: u64| self.symbolize_function(address);
                let builder = Builder {
                    limits,
                    memory: copies,
                    symbolize: &symbolize,
                };
                plan.build(plan.image(&image), entry, &builder)
            }
        }
    }

    /// [`thread_variables`](Self::thread_variables), each variable made into a `T` by `make`.
    fn thread_variables_as<T>(
        &self,
        frames: &[UnwoundFrame],
        tail_calls: &[Vec<u64>],
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        make: &Make<'_, T>,
    ) -> ThreadVariables<T> {
        let stack = Stack::new(self, frames, tail_calls);
        let memo = ScopeMemo::default();
        let physical = (0..frames.len())
            .map(|index| self.frame_variables_in(&stack, &memo, index, memory, tls, limits, make))
            .collect();
        let tail_calls = (0..frames.len())
            .map(|callee| {
                stack
                    .tail_frames_of(callee)
                    .map(|index| {
                        // A tail-call frame is named by the innermost function at its jump.
                        self.frame_variables_in(&stack, &memo, index, memory, tls, limits, make)
                            .into_iter()
                            .next()
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect();
        ThreadVariables {
            frames: physical,
            tail_calls,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn frame_variables_in<T>(
        &self,
        stack: &Stack<'_>,
        memo: &ScopeMemo,
        index: usize,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        make: &Make<'_, T>,
    ) -> Vec<Vec<T>> {
        let Some(frame) = stack.frame_state(index) else {
            return Vec::new();
        };
        let Some(function) = frame.function else {
            return Vec::new();
        };
        let Some(object_index) = stack.lookup_pc(index).and_then(|pc| self.object_index_at(pc)) else {
            return Vec::new();
        };
        let scope = memo
            .borrow_mut()
            .entry((object_index, frame.elf_pc))
            .or_insert_with(|| {
                Arc::new(self.scopes_cached(object_index, frame.debug, function, frame.elf_pc))
            })
            .clone();
        let env = Env {
            memory,
            tls,
            frame: Some(frame),
            stack: Some(stack),
            depth: 0,
        };
        let symbolize = |address: u64| self.symbolize_function(address);
        let builder = Builder {
            limits,
            memory,
            symbolize: &symbolize,
        };
        scope
            .iter()
            .enumerate()
            .map(|(level, plans)| {
                plans
                    .iter()
                    .enumerate()
                    .map(|(index, plan)| {
                        let plan = FramePlan {
                            scope: &scope,
                            level,
                            index,
                            plan,
                        };
                        planned_variable(frame.debug, &plan, &env, &builder, make)
                    })
                    .collect()
            })
            .collect()
    }

    /// Reads now, for a frame whose lookup pc is `pc` (a return address - 1, or the innermost
    /// pc), what extracting its variables with `limits` would read of the DWARF: the function
    /// and scopes at `pc`, the plans of the variables in scope with their types and string
    /// pointers, and the function's call sites (entry values are proven there). Returns whether
    /// `pc` is in a function with DWARF. Before the stop, this leaves the stop only the reads
    /// of target memory.
    pub fn prepare_at(&self, pc: u64, limits: &VariableLimits) -> bool {
        let Some((debug, function, levels)) = self.planned_levels_at(pc) else {
            return false;
        };
        for plan in levels.iter().flatten() {
            plan.deferral.slots(&plan.ty, limits);
        }
        calls_of(debug, function);
        true
    }

    /// How many (object, pc) keys have their scopes planned.
    #[cfg(test)]
    pub(crate) fn planned_scopes(&self) -> usize {
        self.scopes.read().map(|scopes| scopes.len()).unwrap_or(0)
    }

    /// Plans the variables in scope at each runtime lookup pc of `pcs` not planned yet (frames
    /// then only look their plans up): done before threads are read in parallel, so that the
    /// workers share finished plans instead of planning the same scopes twice.
    pub fn plan_scopes(&self, pcs: impl IntoIterator<Item = u64>) {
        for pc in pcs {
            self.planned_levels_at(pc);
        }
    }

    /// The DWARF, function and planned scope levels at runtime lookup pc `pc`.
    fn planned_levels_at(&self, pc: u64) -> Option<(&Arc<ObjectDebug>, DieRef, Arc<ScopePlans>)> {
        let object_index = self.object_index_at(pc)?;
        let debug = self.objects.get(object_index)?.1.as_ref()?;
        let elf_pc = debug.elf_address(pc);
        let function = debug.function_at(elf_pc)?;
        Some((
            debug,
            function,
            self.scopes_cached(object_index, debug, function, elf_pc),
        ))
    }

    /// The scope levels at a pc, parsed once per (object, pc).
    fn scopes_cached(
        &self,
        object_index: usize,
        debug: &Arc<ObjectDebug>,
        function: DieRef,
        elf_pc: u64,
    ) -> Arc<ScopePlans> {
        let key = (object_index, elf_pc);
        if let Some(found) = self.scopes.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return found.clone();
        }
        let scopes = scopes_at(debug, function, elf_pc);
        let locations = scope_locations(debug, function.unit, &scopes, elf_pc);
        let levels: Arc<ScopePlans> = Arc::new(
            scopes
                .iter()
                .zip(&locations)
                .map(|(level, locations)| {
                    level
                        .variables
                        .iter()
                        .zip(locations)
                        .map(|(variable, location)| VariablePlan::new(debug, variable, location))
                        .collect()
                })
                .collect(),
        );
        self.scopes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, levels.clone());
        levels
    }

    /// The global named `name`: the first definition found, objects by ascending base address
    /// (the executable first in usual layouts), units in order. `object` and `cu` are substrings
    /// of the object's path and of the compilation unit's name.
    pub fn find_global(
        &self,
        name: &str,
        object: Option<&str>,
        cu: Option<&str>,
    ) -> Result<GlobalVariable, VariablesError> {
        for debug in self.debug_objects() {
            if object.is_some_and(|f| !debug.path().contains(f)) {
                continue;
            }
            for die in debug.names().globals(name) {
                if let Some(cu) = cu {
                    if !debug.unit_name(die.unit).is_some_and(|n| n.contains(cu)) {
                        continue;
                    }
                }
                return Ok(GlobalVariable::new(
                    debug.clone(),
                    GlobalEntry {
                        name: name.to_string(),
                        die: *die,
                    },
                ));
            }
        }
        let mut filters = String::new();
        if let Some(object) = object {
            filters.push_str(&format!(" in an object matching {object:?}"));
        }
        if let Some(cu) = cu {
            filters.push_str(&format!(" in a unit matching {cu:?}"));
        }
        Err(VariablesError::GlobalNotFound {
            name: name.to_string(),
            filters,
        })
    }

    /// Every definition of the global named `name` (objects by ascending base address, units in
    /// order), through each object's name index (no unit is walked); `object` and `cu` are
    /// substrings of the object's path and of the compilation unit's name.
    pub fn find_globals(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Vec<GlobalVariable> {
        let mut found = Vec::new();
        for debug in self.debug_objects() {
            if object.is_some_and(|f| !debug.path().contains(f)) {
                continue;
            }
            for die in debug.names().globals(name) {
                if cu.is_some_and(|cu| !debug.unit_name(die.unit).is_some_and(|n| n.contains(cu))) {
                    continue;
                }
                found.push(GlobalVariable::new(
                    debug.clone(),
                    GlobalEntry {
                        name: name.to_string(),
                        die: *die,
                    },
                ));
            }
        }
        found
    }

    /// Every global (file-static ones included) matching `filter`, found lazily: nothing is read
    /// until the iterator is advanced, and then one unit at a time.
    pub fn globals(&self, filter: GlobalFilter) -> GlobalIter {
        GlobalIter::new(self.debug_objects().cloned().collect(), filter)
    }

    /// The thread-local variables defined by the objects `wanted` accepts (e.g. those with a TLS
    /// block), objects by ascending base address, then in unit and DIE order. One light walk over
    /// the unit-level DIEs of those objects (no name index is built); no value is read.
    pub fn thread_locals(&self, wanted: &dyn Fn(&LoadedObject) -> bool) -> Vec<GlobalVariable> {
        self.debug_objects()
            .filter(|debug| wanted(debug.object()))
            .flat_map(|debug| {
                debug
                    .thread_locals()
                    .iter()
                    .map(|entry| GlobalVariable::new(debug.clone(), entry.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Reads global `global` as a snapshot variable.
    pub fn read_global(
        &self,
        global: &GlobalVariable,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> Variable {
        global.read(memory, tls, limits, &|address| self.symbolize_function(address))
    }

    /// Reads a planned global (a thread-local variable read in every thread) as a snapshot
    /// variable.
    pub fn read_planned_global(
        &self,
        global: &super::globals::GlobalPlan,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
    ) -> Variable {
        global.read(memory, tls, limits, &|address| self.symbolize_function(address))
    }

    /// The value of type `ty` at runtime `address` as a snapshot variable named `name` (a typed
    /// view of memory, for navigation and for variables synthesized by modules).
    pub fn read_typed(
        &self,
        name: &str,
        ty: &Type,
        address: u64,
        memory: &dyn MemoryReader,
        limits: &VariableLimits,
    ) -> Variable {
        let size = ty.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let image = ValueImage::from_memory(address, size.min(MAX_IMAGE_BYTES), memory);
        let symbolize = |a: u64| self.symbolize_function(a);
        let builder = Builder {
            limits,
            memory,
            symbolize: &symbolize,
        };
        builder.variable(&SharedStr::copy_of(name), ty, &image, false)
    }

    /// The type named `name` (`struct foo`, `foo`, a typedef, a base type), in the first object
    /// (optionally: whose path contains `object`) that defines it.
    pub fn find_type(&self, name: &str, object: Option<&str>) -> Result<Type, VariablesError> {
        for debug in self.debug_objects() {
            if object.is_some_and(|f| !debug.path().contains(f)) {
                continue;
            }
            if let Some(found) = find_type_in(debug, name) {
                return Ok(found);
            }
        }
        Err(VariablesError::TypeNotFound {
            object: object.unwrap_or("any object").to_string(),
            name: name.to_string(),
        })
    }
}

impl ProcessDebug for ProcessVariables {
    fn debug_at(&self, address: u64) -> Option<&Arc<ObjectDebug>> {
        ProcessVariables::debug_at(self, address)
    }

    fn function_named(&self, name: &str) -> Option<u64> {
        ProcessVariables::function_named(self, name)
    }
}

impl std::fmt::Debug for ProcessVariables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessVariables")
            .field("objects", &self.objects.len())
            .finish()
    }
}

/// What a frame's variable is made into: from its plan, its bytes located now (`None`: the
/// plan's fixed bytes), the bits of its entry value (when proven) and the builder of the frame.
type Make<'m, T> = dyn Fn(&FramePlan<'_>, Option<ValueImage>, Option<u64>, &Builder<'_>) -> T + 'm;

impl VariablePlan {
    /// The bytes of the value: those located, else the plan's fixed ones.
    fn image<'a>(&'a self, located: &'a Option<ValueImage>) -> &'a ValueImage {
        match (located, &self.source) {
            (Some(image), _) => image,
            (None, Source::Fixed(image)) => image,
            (None, Source::Location(_)) => &NO_IMAGE,
        }
    }
}

/// The snapshot variable alone.
fn only_variable(
    plan: &FramePlan<'_>,
    located: Option<ValueImage>,
    entry: Option<u64>,
    builder: &Builder<'_>,
) -> Variable {
    plan.build(plan.image(&located), entry, builder)
}

/// The snapshot variable with its bt variable.
fn with_bt_variable(
    plan: &FramePlan<'_>,
    located: Option<ValueImage>,
    entry: Option<u64>,
    builder: &Builder<'_>,
) -> (Variable, BtVariable) {
    let image = plan.image(&located);
    (
        plan.build(image, entry, builder),
        BtVariable::from_image(&plan.name, plan.ty.clone(), image),
    )
}

/// The variable located, its strings copied into `copies`, to be built after the resume; built
/// now when building would read memory beyond its bytes.
fn pending_variable(
    copies: &StringCopies,
    plan: &FramePlan<'_>,
    located: Option<ValueImage>,
    entry: Option<u64>,
    builder: &Builder<'_>,
) -> PendingVariable {
    let image = plan.image(&located);
    if !plan
        .deferral
        .defer(&plan.ty, image, builder.memory, builder.limits, copies)
    {
        // Built while the target is stopped: no symbol is looked up now (the function a
        // function pointer points to is named after the resume, see `name_pointees`).
        let unsymbolized = Builder {
            limits: builder.limits,
            memory: builder.memory,
            symbolize: &|_| None,
        };
        return PendingVariable(Pending::Built(Box::new(plan.build(image, entry, &unsymbolized))));
    }
    PendingVariable(Pending::Located {
        scope: plan.scope.clone(),
        level: plan.level,
        index: plan.index,
        image: located,
        entry,
    })
}

/// The plan `plan` located in the frame of `env`, made into a `T` by `make`.
fn planned_variable<T>(
    debug: &Arc<ObjectDebug>,
    plan: &FramePlan<'_>,
    env: &Env<'_>,
    builder: &Builder<'_>,
    make: &Make<'_, T>,
) -> T {
    let located = match &plan.source {
        Source::Location(location) => Some(locate_plan(debug, location, env, plan.size)),
        Source::Fixed(_) => None,
    };
    // What the caller's call site says the parameter held on entry (only when it proves it).
    let entry = plan
        .entry_register
        .and_then(|register| resolve_entry_register(register, env).ok());
    make(plan, located, entry, builder)
}

/// Whether an entry value of a value of type `ty` is one register's bits as they are: an
/// integer (not a float), an enum or a pointer.
fn has_scalar_entry_value(ty: &Type) -> bool {
    let stripped = ty.resolved();
    match stripped.kind() {
        TypeKind::Base => !matches!(
            stripped.encoding(),
            Some(BaseEncoding::Float | BaseEncoding::ComplexFloat) | None
        ),
        TypeKind::Enum | TypeKind::Pointer => true,
        _ => false,
    }
}
