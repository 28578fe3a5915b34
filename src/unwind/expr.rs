//! Evaluating the DWARF expressions of CFA and register rules (`DW_CFA_def_cfa_expression`,
//! `DW_CFA_expression`, `DW_CFA_val_expression`) against one frame's registers and memory.

use gimli::{
    Encoding, Evaluation, EvaluationResult, EvaluationStorage, Location, Piece, UnwindExpression,
    UnwindSection, Value,
};

use super::error::UnwindError;
use crate::arch::RegisterSet;
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;

/// Upper bound on operations per expression: a corrupt expression that loops stops here.
const MAX_EXPRESSION_STEPS: u32 = 1000;

/// Fixed-size evaluation storage: evaluating CFI expressions allocates nothing (a deeper stack
/// than 64 values is an error, which CFI expressions never need).
struct InlineStorage;

impl EvaluationStorage<DwarfReader> for InlineStorage {
    type Stack = [Value; 64];
    type ExpressionStack = [(DwarfReader, DwarfReader); 4];
    type Result = [Piece<DwarfReader>; 1];
}

/// Evaluates `expression` (stored in `section`) for the frame whose registers are `regs`.
///
/// With `cfa` given (register rules), the CFA is pushed before evaluation as the DWARF standard
/// says and answers `DW_OP_call_frame_cfa`; without it (the CFA rule itself) the stack starts
/// empty. `bias` relocates `DW_OP_addr` operands. Returns the value left on top of the stack
/// (an address for `DW_CFA_expression`, the value itself for `DW_CFA_val_expression`).
pub(crate) fn evaluate<S: UnwindSection<DwarfReader>>(
    expression: &UnwindExpression<usize>,
    section: &S,
    encoding: Encoding,
    bias: u64,
    regs: &RegisterSet,
    memory: &dyn MemoryReader,
    cfa: Option<u64>,
) -> Result<u64, UnwindError> {
    let gimli_error = UnwindError::Expression;
    let bytecode = expression.get(section).map_err(gimli_error)?;
    let mut evaluation = Evaluation::<DwarfReader, InlineStorage>::new_in(bytecode.0, encoding);
    evaluation.set_max_iterations(MAX_EXPRESSION_STEPS);
    if let Some(cfa) = cfa {
        evaluation.set_initial_value(cfa);
    }
    let mut state = evaluation.evaluate().map_err(gimli_error)?;
    loop {
        state = match state {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresRegister { register, .. } => {
                let value = regs
                    .get(register.0)
                    .ok_or(UnwindError::RegisterUnknown(register.0))?;
                evaluation.resume_with_register(Value::Generic(value))
            }
            EvaluationResult::RequiresMemory {
                address,
                size,
                space: None,
                ..
            } => {
                let value = read_sized(memory, address, size)?;
                evaluation.resume_with_memory(Value::Generic(value))
            }
            EvaluationResult::RequiresMemory { space: Some(_), .. } => {
                return Err(UnwindError::UnsupportedExpression(
                    "address spaces (DW_OP_xderef)",
                ));
            }
            EvaluationResult::RequiresCallFrameCfa => match cfa {
                Some(cfa) => evaluation.resume_with_call_frame_cfa(cfa),
                None => {
                    return Err(UnwindError::UnsupportedExpression(
                        "DW_OP_call_frame_cfa in the rule that defines the CFA",
                    ))
                }
            },
            EvaluationResult::RequiresRelocatedAddress(address) => {
                evaluation.resume_with_relocated_address(address.wrapping_add(bias))
            }
            EvaluationResult::RequiresTls(_) => {
                return Err(UnwindError::UnsupportedExpression("thread-local storage"))
            }
            _ => {
                return Err(UnwindError::UnsupportedExpression(
                    "operations that need debugging information entries",
                ))
            }
        }
        .map_err(gimli_error)?;
    }
    let top = evaluation.as_result().first().map(|piece| piece.location.clone());
    match top {
        Some(Location::Address { address }) => Ok(address),
        Some(Location::Value { value }) => value.to_u64(u64::MAX).map_err(gimli_error),
        Some(Location::Register { register }) => regs
            .get(register.0)
            .ok_or(UnwindError::RegisterUnknown(register.0)),
        _ => Err(UnwindError::UnsupportedExpression(
            "a result that is not a single value",
        )),
    }
}

/// Reads a little-endian value of `size` bytes (at most 8) at `address`.
fn read_sized(memory: &dyn MemoryReader, address: u64, size: u8) -> Result<u64, UnwindError> {
    let mut bytes = [0u8; 8];
    let len = usize::from(size).min(bytes.len());
    if memory.read_at(address, &mut bytes[..len]) != len {
        return Err(UnwindError::MemoryUnreadable(address));
    }
    Ok(u64::from_le_bytes(bytes))
}
