//! The machine's register file as DWARF numbers it (x86-64 System V psABI).
//!
//! The unwinder recovers a [`RegisterSet`] per frame; the tracer fills the innermost one from
//! `PTRACE_GETREGS`; variable locations (later) read registers by DWARF number from it.

/// Number of DWARF registers tracked per frame: the 16 general-purpose registers and the return
/// address column (rip).
pub const REGISTER_COUNT: usize = 17;

/// DWARF register number of the stack pointer (rsp).
pub const SP: u16 = 7;
/// DWARF register number of the frame pointer (rbp).
pub const FP: u16 = 6;
/// DWARF register number of the return-address column (rip).
pub const RA: u16 = 16;

/// Names of the DWARF registers 0..=16, in DWARF order.
pub const REGISTER_NAMES: [&str; REGISTER_COUNT] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15", "rip",
];

/// DWARF register number of xmm0; xmm1..xmm15 follow (17..=32).
pub const XMM0: u16 = 17;

/// Offset of xmm0 in the FXSAVE area (the 512 bytes of `user_fpregs_struct`, a core's
/// `NT_FPREGSET`); each register takes 16 bytes.
const FXSAVE_XMM_OFFSET: usize = 160;

/// The SSE registers xmm0..xmm15 of a thread, where compiled code keeps floating-point values and
/// vectors. Caller-saved: known for the innermost frame only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorRegisters {
    xmm: [[u8; 16]; 16],
}

impl VectorRegisters {
    /// The xmm registers of an FXSAVE area (`NT_FPREGSET`, `PTRACE_GETFPREGS`); `None` when the
    /// area is shorter than one.
    pub fn from_fxsave(area: &[u8]) -> Option<Self> {
        let mut xmm = [[0u8; 16]; 16];
        for (index, register) in xmm.iter_mut().enumerate() {
            let at = FXSAVE_XMM_OFFSET + index * 16;
            register.copy_from_slice(area.get(at..at + 16)?);
        }
        Some(Self { xmm })
    }

    /// The 16 bytes of DWARF register `reg` when it is one of xmm0..xmm15.
    pub fn get(&self, reg: u16) -> Option<&[u8; 16]> {
        self.xmm.get(usize::from(reg.checked_sub(XMM0)?))
    }
}

/// Registers callee-saved by the psABI: an outer frame's value of any other register is unknown
/// unless the CFI says where it was saved.
pub const CALLEE_SAVED: [u16; 6] = [3, 6, 12, 13, 14, 15];

/// A register file indexed by DWARF register number; `None` where the value is not known (not
/// recovered by the unwinder, or clobbered by a call).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterSet {
    values: [Option<u64>; REGISTER_COUNT],
}

impl RegisterSet {
    /// An empty register file: every register unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of DWARF register `reg`, if known.
    pub fn get(&self, reg: u16) -> Option<u64> {
        self.values.get(usize::from(reg)).copied().flatten()
    }

    /// Sets DWARF register `reg` (ignored when `reg` is not tracked).
    pub fn set(&mut self, reg: u16, value: Option<u64>) {
        if let Some(slot) = self.values.get_mut(usize::from(reg)) {
            *slot = value;
        }
    }

    /// The program counter (rip), if known.
    pub fn pc(&self) -> Option<u64> {
        self.get(RA)
    }

    /// The stack pointer (rsp), if known.
    pub fn sp(&self) -> Option<u64> {
        self.get(SP)
    }

    /// Iterates over the known registers as `(name, value)`.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        REGISTER_NAMES
            .iter()
            .zip(self.values.iter())
            .filter_map(|(name, value)| value.map(|v| (*name, v)))
    }

    /// Builds the innermost frame's register file from the kernel's `user_regs_struct`.
    pub fn from_user_regs(regs: &libc::user_regs_struct) -> Self {
        let mut set = Self::new();
        let ordered = [
            regs.rax, regs.rdx, regs.rcx, regs.rbx, regs.rsi, regs.rdi, regs.rbp, regs.rsp, regs.r8, regs.r9,
            regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rip,
        ];
        for (reg, value) in ordered.into_iter().enumerate() {
            set.values[reg] = Some(value);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_regs_map_to_dwarf_numbers() {
        // SAFETY: user_regs_struct is plain old data; all-zero is a valid value.
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        regs.rip = 0x1000;
        regs.rsp = 0x7ff0;
        regs.rbx = 3;
        let set = RegisterSet::from_user_regs(&regs);
        assert_eq!(set.pc(), Some(0x1000));
        assert_eq!(set.sp(), Some(0x7ff0));
        assert_eq!(set.get(3), Some(3));
        assert_eq!(set.get(99), None);
        assert_eq!(set.named().count(), REGISTER_COUNT);
    }

    #[test]
    fn unknown_registers_stay_unknown() {
        let mut set = RegisterSet::new();
        set.set(FP, Some(8));
        set.set(FP, None);
        assert_eq!(set.get(FP), None);
        assert_eq!(set.named().count(), 0);
    }

    #[test]
    fn xmm_registers_come_from_their_fxsave_slots() {
        let area: Vec<u8> = (0..512u32).map(|i| (i % 251) as u8).collect();
        let vector = VectorRegisters::from_fxsave(&area).expect("a whole area");
        assert_eq!(vector.get(XMM0).map(|r| r[0]), Some(160));
        assert_eq!(
            vector.get(XMM0 + 15).map(|r| r[15]),
            Some(((160 + 15 * 16 + 15) % 251) as u8)
        );
        assert_eq!(vector.get(XMM0 + 16), None);
        assert_eq!(vector.get(3), None, "a general register is not a vector one");
        assert!(VectorRegisters::from_fxsave(&area[..400]).is_none());
    }
}
