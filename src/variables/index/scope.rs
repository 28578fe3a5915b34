//! What is in scope at a pc: the function DIE, the inlined calls containing the pc (innermost
//! first, as `LoadedObject::symbolize` lists frames), and for each level its parameters and the
//! locals of the lexical blocks containing the pc, innermost block first.
//!
//! The variables listed are the ones gdb lists for the frame (`info args` / `info locals`,
//! `bt full`), by gdb's reading of the DWARF:
//! - a lexical block with code ranges is a scope of its own, seen when it contains the pc; a
//!   block without any (no `DW_AT_low_pc`/`DW_AT_high_pc` pair and no `DW_AT_ranges`) is no scope:
//!   its variables belong to the enclosing one;
//! - a function, inlined call or block with an abstract origin also holds every child of the
//!   origin that none of its own *direct* children stands for (an abstract block among them is
//!   such a block without ranges): a variable whose concrete DIE sits in a block the abstract
//!   tree does not have is thus listed twice, as gdb does, once with its location and once
//!   without;
//! - a variable without `DW_AT_location` or `DW_AT_const_value` is listed, optimized out; so is
//!   a goto label the compiler left without an address (gdb lists it as `<optimized out>`; one
//!   with an address is code, not listed);
//! - a name declared again in a nested block is listed once per declaration.

use std::collections::HashSet;

use gimli::AttributeValue;

use super::object::ObjectDebug;
use super::unit_table::{DieRef, Entry, Unit};
use crate::reader::DwarfReader;

/// A parameter or local in scope.
#[derive(Clone, Debug)]
pub(crate) struct ScopedVariable {
    /// Its name (`None` for an unnamed parameter).
    pub name: Option<String>,
    /// The DIE the variable was found as (concrete when there is one).
    pub die: DieRef,
    /// Its type DIE (`None`: void or unknown).
    pub ty: Option<DieRef>,
    /// Its `DW_AT_location` (of the concrete DIE), when it has one.
    pub location: Option<AttributeValue<DwarfReader>>,
    /// Its `DW_AT_const_value` (concrete or inherited) with the unit of the DIE holding it.
    pub const_value: Option<(usize, AttributeValue<DwarfReader>)>,
    /// A formal parameter.
    pub parameter: bool,
    /// A goto label without an address (`DW_TAG_label`), listed as gdb lists it.
    pub label: bool,
}

/// One level of a frame: the function itself or an inlined call.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopeLevel {
    /// Parameters first, then the locals in scope, innermost block first.
    pub variables: Vec<ScopedVariable>,
    /// The ELF address the level's code is entered at (the function's `DW_AT_low_pc` or first
    /// range, an inlined call's `DW_AT_entry_pc` or first range), when known.
    pub entry_pc: Option<u64>,
}

/// How deep blocks and inlined calls are followed.
const MAX_DEPTH: usize = 64;

/// The levels of `function` at ELF address `pc`, innermost first (the function itself last).
pub(crate) fn scopes_at(debug: &ObjectDebug, function: DieRef, pc: u64) -> Vec<ScopeLevel> {
    let Some(unit) = debug.unit(function.unit) else {
        return Vec::new();
    };
    let Ok(mut tree) = unit.entries_tree(Some(function.offset)) else {
        return Vec::new();
    };
    let Ok(root) = tree.root() else {
        return Vec::new();
    };
    // Only an abstract origin (an abstract instance) has variables the concrete function may
    // lack; a specification (a member function's declaration in its class) lists the parameter
    // types alone.
    let origin = debug.attr_ref(function.unit, root.entry(), gimli::DW_AT_abstract_origin);
    let mut walker = Walker {
        debug,
        unit: &unit,
        unit_index: function.unit,
        pc,
        levels: Vec::new(),
    };
    let entry_pc = walker.entry_pc(root.entry());
    walker.level(root, origin, entry_pc, 0);
    let mut levels = walker.levels;
    levels.reverse();
    levels
}

struct Walker<'a> {
    debug: &'a ObjectDebug,
    unit: &'a Unit,
    unit_index: usize,
    pc: u64,
    /// Outermost first while walking.
    levels: Vec<ScopeLevel>,
}

/// Whether a lexical block is a scope, and whether it contains the pc.
enum Bounds {
    /// No code ranges: not a scope, its variables are the enclosing scope's.
    None,
    /// A scope that contains the pc.
    Contains,
    /// A scope elsewhere (or whose ranges cannot be read).
    Elsewhere,
}

impl Walker<'_> {
    /// Adds a level for `node` (a function or inlined call): its parameters, then its locals.
    fn level(
        &mut self,
        node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
        origin: Option<DieRef>,
        entry_pc: Option<u64>,
        depth: usize,
    ) {
        self.levels.push(ScopeLevel {
            variables: Vec::new(),
            entry_pc,
        });
        let level = self.levels.len() - 1;
        let mut parameters = Vec::new();
        let locals = self.walk(node, origin, Some(&mut parameters), depth);
        if let Some(target) = self.levels.get_mut(level) {
            parameters.extend(locals);
            target.variables = parameters;
        }
    }

    /// The locals of `node` (a function, inlined call or block) and of the blocks in it that
    /// contain the pc, innermost block first; its parameters go to `parameters` (a function or
    /// inlined call). `origin` is its abstract origin, whose children none of the node's direct
    /// children stand for are added, without a location.
    fn walk(
        &mut self,
        node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
        origin: Option<DieRef>,
        mut parameters: Option<&mut Vec<ScopedVariable>>,
        depth: usize,
    ) -> Vec<ScopedVariable> {
        let mut own = Vec::new();
        let mut inner = Vec::new();
        if depth > MAX_DEPTH {
            return own;
        }
        let mut stood_for = HashSet::new();
        let mut children = node.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            let die = DieRef {
                unit: self.unit_index,
                offset: entry.offset(),
            };
            let tag = entry.tag();
            if tag != gimli::DW_TAG_call_site && tag != gimli::DW_TAG_GNU_call_site {
                if let Some(abstract_die) =
                    self.debug
                        .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin)
                {
                    stood_for.insert(abstract_die);
                }
            }
            match tag {
                gimli::DW_TAG_formal_parameter => {
                    if let Some(list) = parameters.as_deref_mut() {
                        list.push(self.variable(die, entry, true));
                    }
                }
                gimli::DW_TAG_variable if !is_declaration(entry) => {
                    own.push(self.variable(die, entry, false));
                }
                gimli::DW_TAG_label if entry.attr_value(gimli::DW_AT_low_pc).is_none() => {
                    own.push(self.label(die, entry));
                }
                gimli::DW_TAG_lexical_block => {
                    let block_origin =
                        self.debug
                            .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin);
                    match self.bounds(entry) {
                        Bounds::None => own.extend(self.walk(child, None, None, depth + 1)),
                        Bounds::Contains => {
                            inner = self.walk(child, block_origin, None, depth + 1);
                        }
                        Bounds::Elsewhere => {}
                    }
                }
                gimli::DW_TAG_inlined_subroutine if matches!(self.bounds(entry), Bounds::Contains) => {
                    let inlined_origin =
                        self.debug
                            .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin);
                    let entry_pc = self.entry_pc(entry);
                    self.level(child, inlined_origin, entry_pc, depth + 1);
                }
                _ => {}
            }
        }
        if let Some(origin) = origin {
            self.inherit(origin, &stood_for, parameters, &mut own, depth);
        }
        inner.extend(own);
        inner
    }

    /// Adds the children of abstract DIE `origin` (a function, inlined function or block) that
    /// no DIE of `stood_for` stands for: parameters to `parameters`, variables and labels to
    /// `locals`, and the variables of its blocks (which have no ranges) to `locals` too.
    fn inherit(
        &mut self,
        origin: DieRef,
        stood_for: &HashSet<DieRef>,
        mut parameters: Option<&mut Vec<ScopedVariable>>,
        locals: &mut Vec<ScopedVariable>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(unit) = self.debug.unit(origin.unit) else {
            return;
        };
        let Ok(mut tree) = unit.entries_tree(Some(origin.offset)) else {
            return;
        };
        let Ok(root) = tree.root() else {
            return;
        };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            let die = DieRef {
                unit: origin.unit,
                offset: entry.offset(),
            };
            if stood_for.contains(&die) {
                continue;
            }
            match entry.tag() {
                gimli::DW_TAG_formal_parameter => {
                    if let Some(list) = parameters.as_deref_mut() {
                        let mut variable = self.variable(die, entry, true);
                        variable.location = None;
                        list.push(variable);
                    }
                }
                gimli::DW_TAG_variable if !is_declaration(entry) => {
                    let mut variable = self.variable(die, entry, false);
                    variable.location = None;
                    locals.push(variable);
                }
                gimli::DW_TAG_label if entry.attr_value(gimli::DW_AT_low_pc).is_none() => {
                    locals.push(self.label(die, entry));
                }
                gimli::DW_TAG_lexical_block => {
                    // An abstract block: its own children, none of them stood for.
                    self.inherit(die, &HashSet::new(), None, locals, depth + 1);
                }
                _ => {}
            }
        }
    }

    /// A goto label without an address, as a variable that is optimized out.
    fn label(&self, die: DieRef, entry: &Entry) -> ScopedVariable {
        ScopedVariable {
            label: true,
            ty: None,
            const_value: None,
            location: None,
            ..self.variable(die, entry, false)
        }
    }

    fn variable(&self, die: DieRef, entry: &Entry, parameter: bool) -> ScopedVariable {
        ScopedVariable {
            name: self.debug.name_of(die, entry),
            die,
            ty: self.debug.type_of(die, entry),
            location: entry.attr_value(gimli::DW_AT_location),
            const_value: self
                .debug
                .inherited_attr(die, entry, gimli::DW_AT_const_value)
                .map(|(owner, v)| (owner.unit, v)),
            parameter,
            label: false,
        }
    }

    /// Whether a block or inlined call is a scope (has code ranges), and whether they contain
    /// the pc.
    fn bounds(&self, entry: &Entry) -> Bounds {
        let has_pair = entry.attr_value(gimli::DW_AT_low_pc).is_some()
            && entry.attr_value(gimli::DW_AT_high_pc).is_some();
        if !has_pair && entry.attr_value(gimli::DW_AT_ranges).is_none() {
            return Bounds::None;
        }
        let dwarf = self.debug.dwarf_of(self.unit_index);
        let Ok(mut ranges) = crate::debuginfo::die_ranges(dwarf, self.unit, entry) else {
            return Bounds::Elsewhere;
        };
        while let Ok(Some(range)) = ranges.next() {
            if (range.begin..range.end).contains(&self.pc) {
                return Bounds::Contains;
            }
        }
        Bounds::Elsewhere
    }

    /// The ELF address a function or inlined call is entered at: `DW_AT_entry_pc`, else
    /// `DW_AT_low_pc`, else the start of its first range.
    fn entry_pc(&self, entry: &Entry) -> Option<u64> {
        let dwarf = self.debug.dwarf_of(self.unit_index);
        for at in [gimli::DW_AT_entry_pc, gimli::DW_AT_low_pc] {
            if let Some(value) = entry.attr_value(at) {
                if let Ok(Some(address)) = dwarf.attr_address(self.unit, value) {
                    return Some(address);
                }
            }
        }
        let mut ranges = crate::debuginfo::die_ranges(dwarf, self.unit, entry).ok()?;
        ranges.next().ok().flatten().map(|range| range.begin)
    }
}

/// An `extern` declaration inside a function (not a variable of its own).
fn is_declaration(entry: &Entry) -> bool {
    matches!(
        entry.attr_value(gimli::DW_AT_declaration),
        Some(AttributeValue::Flag(true))
    )
}
