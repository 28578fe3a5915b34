//! [`ObjectCfi`]: the call-frame information of one object file, parsed and indexed before the
//! target is stopped, so that finding the FDE for an address is a binary search.

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, RwLock};

use gimli::{
    BaseAddresses, DebugFrame, EhFrame, FrameDescriptionEntry, ParsedEhFrameHdr, Reader, UnwindContext,
    UnwindSection, UnwindTableRow,
};

use super::error::UnwindError;
use super::fde_index::FdeIndex;
use super::sections::{self, LocatedSection, ADDRESS_SIZE};
use super::step::{self, FrameStep};
use crate::arch::RegisterSet;
use crate::memory::MemoryReader;
use crate::reader::{DwarfReader, SharedBytes};

/// The call-frame information of one object file, parsed and indexed.
///
/// Addresses are ELF virtual addresses of the object: the caller subtracts the load bias.
#[derive(Debug, Default)]
pub struct ObjectCfi {
    /// `.eh_frame`, searched first.
    eh_frame: Option<CfiSection<EhFrame<DwarfReader>>>,
    /// `.debug_frame` of the object, or of its separate debug file; searched when `.eh_frame`
    /// has no FDE for the address.
    debug_frame: Option<CfiSection<DebugFrame<DwarfReader>>>,
}

impl ObjectCfi {
    /// Parses and indexes the CFI of the object whose bytes are `elf`.
    ///
    /// `.eh_frame` is found by section header (or through `PT_GNU_EH_FRAME` when section headers
    /// are stripped) and searched through `.eh_frame_hdr` when present. `.debug_frame` comes from
    /// `elf`, or from the separate debug file `debug` when `elf` has none. An object without any
    /// CFI parses to an empty `ObjectCfi`; malformed CFI, or a file that is not an x86-64 ELF
    /// object, is an error.
    pub fn parse(elf: &SharedBytes, debug: Option<&SharedBytes>) -> Result<Self, UnwindError> {
        let file = sections::parse_elf(elf)?;
        let mut located = sections::locate_object_sections(&file, elf)?;
        if located.debug_frame.is_none() {
            if let Some(debug) = debug {
                let debug_file = sections::parse_elf(debug)?;
                located.debug_frame = sections::locate_debug_frame(&debug_file, debug)?;
            }
        }

        let mut bases = BaseAddresses::default();
        if let Some(text) = located.text_address {
            bases = bases.set_text(text);
        }
        if let Some(got) = located.got_address {
            bases = bases.set_got(got);
        }

        let eh_frame = match &located.eh_frame {
            Some(eh_frame) => CfiSection::eh_frame(eh_frame, located.eh_frame_hdr.as_ref(), bases.clone())?,
            None => None,
        };
        let debug_frame = match &located.debug_frame {
            Some(debug_frame) => CfiSection::debug_frame(debug_frame, bases)?,
            None => None,
        };
        Ok(Self {
            eh_frame,
            debug_frame,
        })
    }

    /// Whether the object has no CFI at all (every lookup misses).
    pub fn is_empty(&self) -> bool {
        self.eh_frame.is_none() && self.debug_frame.is_none()
    }

    /// Unwinds one frame whose pc maps to the ELF virtual address `address` (already adjusted
    /// for a return address): `Ok(None)` when no FDE covers `address`. `bias` relocates
    /// `DW_OP_addr` operands in CFI expressions.
    pub(crate) fn unwind_frame(
        &self,
        scratch: &mut UnwindScratch,
        address: u64,
        bias: u64,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
    ) -> Result<Option<FrameStep>, UnwindError> {
        if let Some(eh_frame) = &self.eh_frame {
            if let Some(step) = eh_frame.unwind_frame(scratch, address, bias, regs, memory)? {
                return Ok(Some(step));
            }
        }
        match &self.debug_frame {
            Some(debug_frame) => debug_frame.unwind_frame(scratch, address, bias, regs, memory),
            None => Ok(None),
        }
    }
}

/// What one unwinding thread keeps between frames and stacks: gimli's unwind context, and the
/// rows it already looked up (by section and address). The shared row cache of a section takes a
/// lock and a reference count per lookup; two threads unwinding at once contend on them, so each
/// looks a row up there once and then in its own scratch.
#[derive(Default)]
pub struct UnwindScratch {
    pub(crate) ctx: UnwindContext<usize>,
    rows: HashMap<(usize, u64), Option<Arc<FoundRow>>>,
}

impl UnwindScratch {
    /// A scratch reusing the unwind context `ctx`.
    pub(crate) fn with_context(ctx: UnwindContext<usize>) -> Self {
        Self {
            ctx,
            rows: HashMap::default(),
        }
    }
}

impl std::fmt::Debug for UnwindScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnwindScratch")
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// How the FDE covering an address is found in one section.
#[derive(Debug)]
enum FdeSearch {
    /// Binary search in the `.eh_frame_hdr` table (already in the file, nothing built).
    HeaderTable {
        /// The parsed header, holding the table.
        header: ParsedEhFrameHdr<DwarfReader>,
        /// ELF virtual address of `.eh_frame`, to turn table entries into section offsets.
        eh_frame_address: u64,
    },
    /// Binary search in an index built at parse time.
    Index(FdeIndex),
}

/// One CFI section (`.eh_frame` or `.debug_frame`) with what is needed to search and read it.
#[derive(Debug)]
struct CfiSection<S> {
    /// Section name, for error messages.
    name: &'static str,
    /// The gimli view of the section.
    section: S,
    /// Base addresses for relative pointer encodings.
    bases: BaseAddresses,
    /// How FDEs are found.
    search: FdeSearch,
    /// The FDE and unwind row found for each address already unwound (`None`: no FDE covers
    /// it): the threads of a process stop at the same pcs.
    rows: RwLock<HashMap<u64, Option<Arc<FoundRow>>>>,
}

/// The unwind row of an address, with the FDE it comes from.
type FoundRow = (UnwindTableRow<usize>, FrameDescriptionEntry<DwarfReader>);

impl CfiSection<EhFrame<DwarfReader>> {
    /// Prepares `.eh_frame` for lookups: through `.eh_frame_hdr`'s table when it has a usable
    /// one, else through an index of every FDE. `None` when the section holds no FDE.
    fn eh_frame(
        eh_frame: &LocatedSection,
        header: Option<&LocatedSection>,
        bases: BaseAddresses,
    ) -> Result<Option<Self>, UnwindError> {
        let mut section = EhFrame::from(eh_frame.reader.clone());
        section.set_address_size(ADDRESS_SIZE);
        let mut bases = bases.set_eh_frame(eh_frame.address);
        if let Some(header) = header {
            bases = bases.set_eh_frame_hdr(header.address);
        }
        let table = match header {
            Some(header) => header_table(header, &bases, eh_frame.address)?,
            None => None,
        };
        let search = match table {
            Some(table) => table,
            None => FdeSearch::Index(build_index(&section, &bases, ".eh_frame")?),
        };
        Ok(Self {
            name: ".eh_frame",
            section,
            bases,
            search,
            rows: RwLock::new(HashMap::default()),
        }
        .non_empty())
    }
}

impl CfiSection<DebugFrame<DwarfReader>> {
    /// Prepares `.debug_frame` for lookups through an index of every FDE. `None` when the
    /// section holds no FDE.
    fn debug_frame(debug_frame: &LocatedSection, bases: BaseAddresses) -> Result<Option<Self>, UnwindError> {
        let mut section = DebugFrame::from(debug_frame.reader.clone());
        section.set_address_size(ADDRESS_SIZE);
        let index = build_index(&section, &bases, ".debug_frame")?;
        Ok(Self {
            name: ".debug_frame",
            section,
            bases,
            search: FdeSearch::Index(index),
            rows: RwLock::new(HashMap::default()),
        }
        .non_empty())
    }
}

impl<S: UnwindSection<DwarfReader>> CfiSection<S> {
    /// `None` when an index was built and found no FDE.
    fn non_empty(self) -> Option<Self> {
        match &self.search {
            FdeSearch::Index(index) if index.len() == 0 => None,
            _ => Some(self),
        }
    }

    /// An error saying this section is malformed.
    fn corrupt(&self, source: gimli::Error) -> UnwindError {
        UnwindError::CorruptCfi {
            section: self.name,
            source,
        }
    }

    /// The FDE covering `address`, if any.
    fn find_fde(&self, address: u64) -> Result<Option<FrameDescriptionEntry<DwarfReader>>, UnwindError> {
        let offset = match &self.search {
            FdeSearch::Index(index) => match index.find(address) {
                Some(offset) => offset,
                None => return Ok(None),
            },
            FdeSearch::HeaderTable {
                header,
                eh_frame_address,
            } => {
                let Some(table) = header.table() else {
                    return Ok(None);
                };
                let pointer = table.lookup(address, &self.bases).map_err(|e| self.corrupt(e))?;
                let fde_address = pointer.direct().map_err(|e| self.corrupt(e))?;
                fde_address
                    .checked_sub(*eh_frame_address)
                    .and_then(|offset| usize::try_from(offset).ok())
                    .ok_or(UnwindError::HeaderEntryOutsideEhFrame(fde_address))?
            }
        };
        let fde = self
            .section
            .fde_from_offset(&self.bases, S::Offset::from(offset), S::cie_from_offset)
            .map_err(|e| self.corrupt(e))?;
        Ok(fde.contains(address).then_some(fde))
    }

    /// Unwinds one frame at `address` with this section's CFI; `Ok(None)` when no FDE covers it.
    fn unwind_frame(
        &self,
        scratch: &mut UnwindScratch,
        address: u64,
        bias: u64,
        regs: &RegisterSet,
        memory: &dyn MemoryReader,
    ) -> Result<Option<FrameStep>, UnwindError> {
        // The scratch lives shorter than the unwinder: this section's address identifies it.
        let key = (self as *const Self as usize, address);
        if !scratch.rows.contains_key(&key) {
            let found = self.row_at(&mut scratch.ctx, address)?;
            scratch.rows.insert(key, found);
        }
        let Some(Some(found)) = scratch.rows.get(&key) else {
            return Ok(None);
        };
        let (row, fde) = &**found;
        let env = step::RowEnvironment {
            section: &self.section,
            encoding: fde.cie().encoding(),
            bias,
            regs,
            memory,
        };
        step::apply_row(row, fde, &env).map(Some)
    }

    /// The FDE and unwind row for `address` (cached; errors are not).
    fn row_at(
        &self,
        ctx: &mut UnwindContext<usize>,
        address: u64,
    ) -> Result<Option<Arc<FoundRow>>, UnwindError> {
        if let Some(found) = self.rows.read().unwrap_or_else(|p| p.into_inner()).get(&address) {
            return Ok(found.clone());
        }
        let found = match self.find_fde(address)? {
            None => None,
            Some(fde) => {
                let row = fde
                    .unwind_info_for_address(&self.section, &self.bases, ctx, address)
                    .map_err(|source| UnwindError::Evaluation { address, source })?
                    .clone();
                Some(Arc::new((row, fde)))
            }
        };
        self.rows
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address, found.clone());
        Ok(found)
    }
}

/// Indexes every FDE of `section`.
fn build_index<S: UnwindSection<DwarfReader>>(
    section: &S,
    bases: &BaseAddresses,
    name: &'static str,
) -> Result<FdeIndex, UnwindError> {
    FdeIndex::build(section, bases).map_err(|source| UnwindError::CorruptCfi {
        section: name,
        source,
    })
}

/// The `.eh_frame_hdr` search table, validated so that every lookup stays inside the section;
/// `None` when the header has no table or one in an encoding that cannot be binary-searched.
fn header_table(
    header: &LocatedSection,
    bases: &BaseAddresses,
    eh_frame_address: u64,
) -> Result<Option<FdeSearch>, UnwindError> {
    let corrupt = |source| UnwindError::CorruptCfi {
        section: ".eh_frame_hdr",
        source,
    };
    let parsed = gimli::EhFrameHdr::from(header.reader.clone())
        .parse(bases, ADDRESS_SIZE)
        .map_err(corrupt)?;
    let Some(table) = parsed.table() else {
        return Ok(None);
    };
    // Byte 3 of the header is the table's pointer encoding; its low nibble the value format.
    let mut raw = header.reader.clone();
    raw.skip(3).map_err(corrupt)?;
    let table_encoding = gimli::DwEhPe(raw.read_u8().map_err(corrupt)?);
    let entry_size: u64 = match table_encoding.format() {
        gimli::DW_EH_PE_udata2 | gimli::DW_EH_PE_sdata2 => 4,
        gimli::DW_EH_PE_udata4 | gimli::DW_EH_PE_sdata4 => 8,
        gimli::DW_EH_PE_udata8 | gimli::DW_EH_PE_sdata8 => 16,
        _ => return Ok(None),
    };
    let section_len = header.reader.len();
    let count = table.iter(bases).size_hint().0;
    let fits = u64::try_from(count)
        .ok()
        .and_then(|count| count.checked_mul(entry_size))
        .is_some_and(|size| size <= section_len as u64);
    if !fits {
        return Err(UnwindError::HeaderTableTooLarge {
            count: count as u64,
            section_len,
        });
    }
    // The last entry must decode: this catches a table cut short by the end of the section.
    if let Some(last) = count.checked_sub(1) {
        table.iter(bases).nth(last).map_err(corrupt)?;
    }
    Ok(Some(FdeSearch::HeaderTable {
        header: parsed,
        eh_frame_address,
    }))
}
