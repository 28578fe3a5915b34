//! One unwinding step with CFI: evaluate the CFA and register rules of a CFI row against the
//! frame's registers and memory, giving the caller's register file.

use gimli::{
    CfaRule, Encoding, FrameDescriptionEntry, Register, RegisterRule, UnwindSection, UnwindTableRow,
};

use super::error::UnwindError;
use super::expr;
use crate::arch::{RegisterSet, CALLEE_SAVED, RA, REGISTER_COUNT, SP};
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;

/// The result of unwinding one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FrameStep {
    /// The frame's canonical frame address.
    pub cfa: u64,
    /// The caller's registers; its pc (rip) is `None` at the outermost frame.
    pub caller: RegisterSet,
    /// The unwound frame is a signal trampoline (CIE augmentation `S`).
    pub signal_frame: bool,
    /// The step was made with the frame-pointer heuristic, not CFI.
    pub by_frame_pointer: bool,
}

/// What evaluating a row's rules needs besides the row.
pub(crate) struct RowEnvironment<'a, S> {
    /// The section holding the FDE (expressions are read from it).
    pub section: &'a S,
    /// The CIE's encoding (address size, format) for expressions.
    pub encoding: Encoding,
    /// The object's load bias, to relocate `DW_OP_addr`.
    pub bias: u64,
    /// The registers of the frame being unwound.
    pub regs: &'a RegisterSet,
    /// Target memory.
    pub memory: &'a dyn MemoryReader,
}

impl<S: UnwindSection<DwarfReader>> RowEnvironment<'_, S> {
    /// The value of register `reg` in this frame, or an error when unknown.
    fn register(&self, reg: Register) -> Result<u64, UnwindError> {
        self.regs.get(reg.0).ok_or(UnwindError::RegisterUnknown(reg.0))
    }

    /// Reads the 8-byte value saved at `address`.
    fn read_saved(&self, address: u64) -> Result<u64, UnwindError> {
        self.memory
            .read_u64(address)
            .ok_or(UnwindError::MemoryUnreadable(address))
    }

    /// The canonical frame address given by `rule`.
    fn cfa(&self, rule: &CfaRule<usize>) -> Result<u64, UnwindError> {
        match rule {
            CfaRule::RegisterAndOffset { register, offset } => self
                .register(*register)?
                .checked_add_signed(*offset)
                .ok_or(UnwindError::AddressOverflow),
            CfaRule::Expression(expression) => expr::evaluate(
                expression,
                self.section,
                self.encoding,
                self.bias,
                self.regs,
                self.memory,
                None,
            ),
        }
    }

    /// The caller's value of register `reg` under `rule` (`None` = no rule in the row):
    /// `Ok(None)` when the value is not recoverable.
    fn caller_value(
        &self,
        reg: u16,
        rule: Option<RegisterRule<usize>>,
        cfa: u64,
    ) -> Result<Option<u64>, UnwindError> {
        let offset_from_cfa =
            |offset: i64| cfa.checked_add_signed(offset).ok_or(UnwindError::AddressOverflow);
        let evaluate = |expression| {
            expr::evaluate(
                expression,
                self.section,
                self.encoding,
                self.bias,
                self.regs,
                self.memory,
                Some(cfa),
            )
        };
        let value = match rule {
            None if reg == SP => Some(cfa),
            None if CALLEE_SAVED.contains(&reg) => self.regs.get(reg),
            None | Some(RegisterRule::Undefined) | Some(RegisterRule::Architectural) => None,
            Some(RegisterRule::SameValue) => self.regs.get(reg),
            Some(RegisterRule::Offset(offset)) => Some(self.read_saved(offset_from_cfa(offset)?)?),
            Some(RegisterRule::ValOffset(offset)) => Some(offset_from_cfa(offset)?),
            Some(RegisterRule::Register(other)) => self.regs.get(other.0),
            Some(RegisterRule::Expression(expression)) => Some(self.read_saved(evaluate(&expression)?)?),
            Some(RegisterRule::ValExpression(expression)) => Some(evaluate(&expression)?),
            Some(RegisterRule::Constant(value)) => Some(value),
        };
        Ok(value)
    }
}

/// Applies the CFI `row` found in `fde` to the frame described by `env`.
///
/// The CFA and the return address must be computable (an undefined return address is fine: it
/// marks the outermost frame); a register whose saved value cannot be read becomes unknown.
pub(crate) fn apply_row<S: UnwindSection<DwarfReader>>(
    row: &UnwindTableRow<usize>,
    fde: &FrameDescriptionEntry<DwarfReader>,
    env: &RowEnvironment<'_, S>,
) -> Result<FrameStep, UnwindError> {
    let cfa = env.cfa(row.cfa())?;
    let return_column = fde.cie().return_address_register();
    let mut caller = RegisterSet::new();
    for reg in (0..REGISTER_COUNT as u16).filter(|&reg| reg != RA) {
        let value = env
            .caller_value(reg, row.register(Register(reg)), cfa)
            .unwrap_or(None);
        caller.set(reg, value);
    }
    let return_address = env.caller_value(RA, row.register(return_column), cfa)?;
    caller.set(RA, return_address);
    Ok(FrameStep {
        cfa,
        caller,
        signal_frame: fde.is_signal_trampoline(),
        by_frame_pointer: false,
    })
}
