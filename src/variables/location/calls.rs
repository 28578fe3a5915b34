//! The calls a function makes, from its call-site DIEs (`DW_TAG_call_site`, or GNU
//! `DW_TAG_GNU_call_site`, read by [`CallSiteAttributes`]), read once per function and cached:
//! where each returns to, what it calls, whether it is a tail call, and the value expressions of
//! its register parameters. Entry values are resolved through them.

use std::sync::Arc;

use gimli::{AttributeValue, Expression};

use super::LocationPlan;
use crate::debuginfo::CallSiteAttributes;
use crate::reader::DwarfReader;
use crate::variables::index::{DieRef, Entry, ObjectDebug, Unit};

/// One call (or tail-call jump) a function makes, as its call-site DIE describes it.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// Its DIE.
    pub die: DieRef,
    /// The ELF address the call returns to (for a tail call: the address after the jump).
    pub return_pc: Option<u64>,
    /// A tail call (`DW_AT_call_tail_call` / `DW_AT_GNU_tail_call`).
    pub tail: bool,
    /// `DW_AT_call_origin` (GNU: `DW_AT_abstract_origin`): the function called.
    pub origin: Option<DieRef>,
    /// The origin when it is a function definition with code (not a declaration).
    pub origin_definition: Option<DieRef>,
    /// `DW_AT_call_target` (GNU: `DW_AT_GNU_call_site_target`): where an indirect call goes.
    pub target: Option<AttributeValue<DwarfReader>>,
    /// The parameters passed in registers: DWARF register and value expression (planned once).
    pub params: Vec<(u16, LocationPlan)>,
}

/// How deep a function's blocks are searched for call sites.
const MAX_BLOCK_DEPTH: isize = 64;

/// The call sites of `function` (a subprogram DIE), read from its subtree.
pub(crate) fn read_calls(debug: &ObjectDebug, function: DieRef) -> Vec<Call> {
    let mut sites: Vec<Call> = Vec::new();
    let Some(unit) = debug.unit(function.unit) else {
        return sites;
    };
    let dwarf = debug.dwarf_of(function.unit);
    let Ok(mut cursor) = unit.entries_at_offset(function.offset) else {
        return sites;
    };
    if !matches!(cursor.next_dfs(), Ok(Some(_))) {
        return sites;
    }
    // The depth of the call site the parameters being read belong to.
    let mut site_depth: Option<isize> = None;
    while let Ok(Some(entry)) = cursor.next_dfs() {
        let depth = entry.depth();
        if depth <= 0 {
            break;
        }
        if depth > MAX_BLOCK_DEPTH {
            continue;
        }
        let tag = entry.tag();
        if tag == gimli::DW_TAG_call_site || tag == gimli::DW_TAG_GNU_call_site {
            let attributes = CallSiteAttributes::read(gimli::UnitRef::new(dwarf, &unit), entry);
            let die = DieRef {
                unit: function.unit,
                offset: entry.offset(),
            };
            let origin = attributes
                .origin
                .and_then(|value| debug.reference(function.unit, value));
            sites.push(Call {
                die,
                return_pc: attributes.return_pc,
                tail: attributes.tail_call,
                origin,
                origin_definition: origin.filter(|o| has_code(debug, *o)),
                target: attributes.target,
                params: Vec::new(),
            });
            site_depth = Some(depth);
            continue;
        }
        let is_parameter =
            tag == gimli::DW_TAG_call_site_parameter || tag == gimli::DW_TAG_GNU_call_site_parameter;
        if !is_parameter || site_depth != Some(depth - 1) {
            if depth <= site_depth.unwrap_or(0) {
                site_depth = None;
            }
            continue;
        }
        if let (Some(site), Some((register, value))) = (sites.last_mut(), register_parameter(&unit, entry)) {
            let plan = LocationPlan::new(debug, function.unit, value.clone())
                .unwrap_or(LocationPlan::General(value, function.unit));
            site.params.push((register, plan));
        }
    }
    sites
}

/// Whether DIE `die` is a function with code (not a declaration or an abstract instance).
fn has_code(debug: &ObjectDebug, die: DieRef) -> bool {
    debug
        .entry(die)
        .is_some_and(|(_, e)| e.has_attr(gimli::DW_AT_low_pc) || e.has_attr(gimli::DW_AT_ranges))
}

/// A call-site parameter passed in a register (`DW_AT_location` = `DW_OP_regN`) with its value
/// expression.
fn register_parameter(unit: &Unit, entry: &Entry) -> Option<(u16, Expression<DwarfReader>)> {
    let location = expression(entry.attr_value(gimli::DW_AT_location)?)?;
    let mut operations = location.operations(unit.encoding());
    let register = match (operations.next(), operations.next()) {
        (Ok(Some(gimli::Operation::Register { register })), Ok(None)) => register.0,
        _ => return None,
    };
    let value = entry
        .attr_value(gimli::DW_AT_call_value)
        .or_else(|| entry.attr_value(gimli::DW_AT_GNU_call_site_value))?;
    Some((register, expression(value)?))
}

fn expression(value: AttributeValue<DwarfReader>) -> Option<Expression<DwarfReader>> {
    match value {
        AttributeValue::Exprloc(e) => Some(e),
        AttributeValue::Block(b) => Some(Expression(b)),
        _ => None,
    }
}

impl Call {
    /// The value expression of the parameter passed in DWARF register `register`.
    pub fn value_of(&self, register: u16) -> Option<&LocationPlan> {
        self.params.iter().find(|(r, _)| *r == register).map(|(_, e)| e)
    }
}

/// The call sites of `function`, from the object's cache.
pub(crate) fn calls_of(debug: &ObjectDebug, function: DieRef) -> Arc<Vec<Call>> {
    debug
        .locations()
        .calls
        .get_or_compute(function, || Arc::new(read_calls(debug, function)))
}
