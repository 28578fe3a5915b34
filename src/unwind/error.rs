//! The unwinder's error type.

/// Why call-frame information could not be parsed, or why one unwinding step failed.
#[derive(Debug, thiserror::Error)]
pub enum UnwindError {
    /// The object file is not a 64-bit little-endian x86-64 ELF file, or its headers are corrupt.
    #[error("not a usable x86-64 ELF object: {0}")]
    Object(#[from] object::Error),

    /// The object is an ELF file for another machine than x86-64.
    #[error("unsupported architecture {0:?}: only x86-64 objects can be unwound")]
    UnsupportedArchitecture(object::Architecture),

    /// A CFI section (`.eh_frame`, `.eh_frame_hdr` or `.debug_frame`) is malformed.
    #[error("corrupt call-frame information in {section}: {source}")]
    CorruptCfi {
        /// The section being parsed.
        section: &'static str,
        /// What gimli found wrong.
        source: gimli::Error,
    },

    /// A compressed CFI section does not inflate.
    #[error("{section} is compressed: {source}")]
    Inflate {
        /// The section.
        section: &'static str,
        /// Why it does not inflate.
        source: crate::reader::InflateError,
    },

    /// The `.eh_frame_hdr` search table claims more entries than the section can hold.
    #[error(".eh_frame_hdr search table claims {count} entries but the section is only {section_len} bytes")]
    HeaderTableTooLarge {
        /// Entry count read from the header.
        count: u64,
        /// Length of the `.eh_frame_hdr` section in bytes.
        section_len: usize,
    },

    /// An `.eh_frame_hdr` table entry points before the start of `.eh_frame`.
    #[error(".eh_frame_hdr points to an FDE at {0:#x}, before the start of .eh_frame")]
    HeaderEntryOutsideEhFrame(u64),

    /// A CFI section lies outside the bytes of the file (truncated file).
    #[error("{section} at file offset {offset:#x} (+{size:#x}) lies outside the {file_len}-byte file")]
    SectionOutOfBounds {
        /// The section name.
        section: &'static str,
        /// The section's file offset.
        offset: u64,
        /// The section's size in the file.
        size: u64,
        /// The length of the file.
        file_len: usize,
    },

    /// Evaluating the CFI row for an address failed (bad instructions or expression).
    #[error("cannot evaluate call-frame information at {address:#x}: {source}")]
    Evaluation {
        /// The (ELF virtual) address being unwound.
        address: u64,
        /// What gimli found wrong.
        source: gimli::Error,
    },

    /// A DWARF expression of a CFA or register rule is malformed.
    #[error("cannot evaluate a DWARF expression in call-frame information: {0}")]
    Expression(#[source] gimli::Error),

    /// A DWARF expression in the CFI asked for something the unwinder cannot supply.
    #[error("unsupported DWARF expression in call-frame information: {0}")]
    UnsupportedExpression(&'static str),

    /// Reading target memory failed at this address.
    #[error("target memory at {0:#x} is unreadable")]
    MemoryUnreadable(u64),

    /// The CFI refers to a register whose value is not known in this frame.
    #[error("register {0} is needed but unknown in this frame")]
    RegisterUnknown(u16),

    /// An address computation (CFA + offset, ...) overflowed 64 bits.
    #[error("address arithmetic overflowed")]
    AddressOverflow,
}

impl UnwindError {
    /// Whether the error lies in the CFI itself (malformed tables or expressions) rather than in
    /// the frame's state (unreadable memory, unknown register): the frame pointer may then still
    /// unwind the frame.
    pub fn is_cfi_defect(&self) -> bool {
        matches!(
            self,
            UnwindError::CorruptCfi { .. }
                | UnwindError::Inflate { .. }
                | UnwindError::HeaderEntryOutsideEhFrame(_)
                | UnwindError::Evaluation { .. }
                | UnwindError::Expression(_)
                | UnwindError::UnsupportedExpression(_)
        )
    }
}
