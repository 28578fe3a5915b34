//! What is in scope at a pc: the function DIE, the inlined calls containing the pc (innermost
//! first, as `LoadedObject::symbolize` lists frames), and for each level its parameters and the
//! locals of the lexical blocks containing the pc, in declaration order.

use std::collections::HashSet;

use gimli::AttributeValue;

use super::image::Missing;
use super::location::expression_at;
use super::object::ObjectDebug;
use super::units::{DieRef, Entry, Unit};
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
    /// The location expression that applies at the scope's pc (picked from a location list), or
    /// why there is none; set when `location` is.
    pub expression: Option<Result<gimli::Expression<DwarfReader>, Missing>>,
    /// Its `DW_AT_const_value` (concrete or inherited) with the unit of the DIE holding it.
    pub const_value: Option<(usize, AttributeValue<DwarfReader>)>,
    /// A formal parameter.
    pub parameter: bool,
}

/// One level of a frame: the function itself or an inlined call.
#[derive(Clone, Debug)]
pub(crate) struct ScopeLevel {
    /// Parameters first, then the locals in scope.
    pub variables: Vec<ScopedVariable>,
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
    let mut levels = vec![ScopeLevel {
        variables: Vec::new(),
    }];
    // Only an abstract origin (an abstract instance) has variables the concrete function may
    // lack; a specification (a member function's declaration in its class) lists the parameter
    // types alone.
    let origin = debug.attr_ref(function.unit, root.entry(), gimli::DW_AT_abstract_origin);
    let mut walker = Walker {
        debug,
        unit: &unit,
        unit_index: function.unit,
        pc,
        levels: &mut levels,
    };
    let seen = walker.concrete_origins(function);
    walker.walk(root, 0, origin, true, 0, &seen);
    levels.reverse();
    // Location lists are resolved for this pc once, here, not per thread.
    for variable in levels.iter_mut().flat_map(|l| l.variables.iter_mut()) {
        variable.expression = variable
            .location
            .clone()
            .map(|location| expression_at(debug, variable.die.unit, location, Some(pc)));
    }
    levels
}

struct Walker<'a> {
    debug: &'a ObjectDebug,
    unit: &'a Unit,
    unit_index: usize,
    pc: u64,
    levels: &'a mut Vec<ScopeLevel>,
}

impl Walker<'_> {
    /// Collects the children of `node` (a function, inlined call or block) into level `level`;
    /// `origin` is its abstract origin, whose variables missing from the concrete tree are added
    /// as optimized out.
    fn walk(
        &mut self,
        node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
        level: usize,
        origin: Option<DieRef>,
        takes_parameters: bool,
        depth: usize,
        seen: &HashSet<DieRef>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let mut children = node.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            let die = DieRef {
                unit: self.unit_index,
                offset: entry.offset(),
            };
            match entry.tag() {
                gimli::DW_TAG_formal_parameter if takes_parameters => {
                    let variable = self.variable(die, entry, true);
                    self.push(level, variable);
                }
                gimli::DW_TAG_variable => {
                    if is_declaration(entry) {
                        continue;
                    }
                    let variable = self.variable(die, entry, false);
                    self.push(level, variable);
                }
                gimli::DW_TAG_lexical_block if self.contains_pc(entry) => {
                    let origin = self
                        .debug
                        .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin);
                    self.walk(child, level, origin, false, depth + 1, seen);
                }
                gimli::DW_TAG_inlined_subroutine if self.contains_pc(entry) => {
                    let origin = self
                        .debug
                        .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin);
                    self.levels.push(ScopeLevel {
                        variables: Vec::new(),
                    });
                    let inner = self.levels.len() - 1;
                    let inner_seen = self.concrete_origins(die);
                    self.walk(child, inner, origin, true, depth + 1, &inner_seen);
                }
                _ => {}
            }
        }
        if let Some(origin) = origin {
            self.add_abstract_only(origin, seen, level, takes_parameters);
        }
    }

    /// The abstract DIEs that the concrete subtree of `root` (a function or inlined call) stands
    /// for, wherever they are in it: those are not missing, even when their concrete DIE sits in a
    /// block the abstract tree does not have.
    fn concrete_origins(&self, root: DieRef) -> HashSet<DieRef> {
        let mut seen = HashSet::new();
        let Ok(mut cursor) = self.unit.entries_at_offset(root.offset) else {
            return seen;
        };
        if !matches!(cursor.next_dfs(), Ok(Some(_))) {
            return seen;
        }
        while let Ok(Some(entry)) = cursor.next_dfs() {
            if entry.depth() <= 0 {
                break;
            }
            if let Some(origin) = self
                .debug
                .attr_ref(self.unit_index, entry, gimli::DW_AT_abstract_origin)
            {
                seen.insert(origin);
            }
        }
        seen
    }

    /// Adds the parameters and variables of abstract DIE `origin` that no concrete DIE stands
    /// for (they were optimized away entirely).
    fn add_abstract_only(
        &mut self,
        origin: DieRef,
        seen: &HashSet<DieRef>,
        level: usize,
        takes_parameters: bool,
    ) {
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
            let parameter = match entry.tag() {
                gimli::DW_TAG_formal_parameter if takes_parameters => true,
                gimli::DW_TAG_variable if !is_declaration(entry) => false,
                _ => continue,
            };
            if seen.contains(&die) {
                continue;
            }
            let mut variable = self.variable(die, entry, parameter);
            variable.location = None;
            self.push(level, variable);
        }
    }

    /// Adds a variable to a level: parameters stay ahead of locals.
    fn push(&mut self, level: usize, variable: ScopedVariable) {
        let Some(target) = self.levels.get_mut(level) else {
            return;
        };
        if variable.parameter {
            let at = target.variables.iter().take_while(|v| v.parameter).count();
            target.variables.insert(at, variable);
        } else {
            target.variables.push(variable);
        }
    }

    fn variable(&self, die: DieRef, entry: &Entry, parameter: bool) -> ScopedVariable {
        ScopedVariable {
            name: self.debug.name_of(die, entry),
            die,
            ty: self.debug.type_of(die, entry),
            location: entry.attr_value(gimli::DW_AT_location),
            expression: None,
            const_value: self
                .debug
                .inherited_attr(die, entry, gimli::DW_AT_const_value)
                .map(|(owner, v)| (owner.unit, v)),
            parameter,
        }
    }

    /// Whether the DIE's code ranges contain the pc.
    fn contains_pc(&self, entry: &Entry) -> bool {
        let dwarf = self.debug.dwarf_of(self.unit_index);
        let Ok(mut ranges) = crate::debuginfo::die_ranges(dwarf, self.unit, entry) else {
            return false;
        };
        while let Ok(Some(range)) = ranges.next() {
            if (range.begin..range.end).contains(&self.pc) {
                return true;
            }
        }
        false
    }
}

/// An `extern` declaration inside a function (not a variable of its own).
fn is_declaration(entry: &Entry) -> bool {
    matches!(
        entry.attr_value(gimli::DW_AT_declaration),
        Some(AttributeValue::Flag(true))
    )
}
