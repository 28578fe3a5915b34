//! The locations of the variables in scope at a pc ([`scopes_at`](crate::variables::index::scopes_at)),
//! resolved for that pc once, not per thread.

use super::{expression_at, Missing};
use crate::reader::DwarfReader;
use crate::variables::index::{ObjectDebug, ScopeLevel};

/// Where a variable in scope is at the scope's pc.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopedLocation {
    /// The location expression that applies at the pc (picked from a location list), or why
    /// there is none; `None` for a variable without `DW_AT_location`.
    pub expression: Option<Result<gimli::Expression<DwarfReader>, Missing>>,
    /// For a parameter of the function itself (not of an inlined call): the DWARF register its
    /// location is at the function's entry, when that location is a register alone
    /// (`DW_OP_regN`): the caller's call site may give its entry value.
    pub entry_register: Option<u16>,
}

/// The locations of the variables of `levels` (innermost first, the function itself last, of
/// the function whose unit is `unit`) at ELF address `pc`, level by level; the function's own
/// parameters' also at its entry, for their entry values (gdb reads an inlined call's parameters
/// at entry through the outer function's caller: no value of theirs).
pub(crate) fn scope_locations(
    debug: &ObjectDebug,
    unit: usize,
    levels: &[ScopeLevel],
    pc: u64,
) -> Vec<Vec<ScopedLocation>> {
    let encoding = debug.unit(unit).map(|parsed| parsed.encoding());
    let function_level = levels.len().saturating_sub(1);
    levels
        .iter()
        .enumerate()
        .map(|(index, level)| {
            level
                .variables
                .iter()
                .map(|variable| ScopedLocation {
                    expression: variable
                        .location
                        .clone()
                        .map(|location| expression_at(debug, variable.die.unit, location, Some(pc))),
                    entry_register: match (&variable.location, level.entry_pc, encoding) {
                        (Some(location), Some(entry), Some(encoding))
                            if variable.parameter && index == function_level =>
                        {
                            expression_at(debug, variable.die.unit, location.clone(), Some(entry))
                                .ok()
                                .and_then(|expression| lone_register(expression, encoding))
                        }
                        _ => None,
                    },
                })
                .collect()
        })
        .collect()
}

/// The register of a location expression that is `DW_OP_regN` / `DW_OP_regx` alone.
fn lone_register(expression: gimli::Expression<DwarfReader>, encoding: gimli::Encoding) -> Option<u16> {
    let mut operations = expression.operations(encoding);
    match (operations.next(), operations.next()) {
        (Ok(Some(gimli::Operation::Register { register })), Ok(None)) => Some(register.0),
        _ => None,
    }
}
