//! A sorted index of the FDEs of one CFI section, built once at parse time, for sections that
//! come without an `.eh_frame_hdr` search table (`.debug_frame`, or `.eh_frame` alone).

use gimli::{BaseAddresses, CieOrFde, UnwindSection};

use crate::reader::DwarfReader;

/// The address range one FDE covers and where the FDE is in its section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FdeSpan {
    /// First address covered.
    start: u64,
    /// One past the last address covered.
    end: u64,
    /// Offset of the FDE from the start of its section.
    offset: usize,
}

/// FDE address ranges sorted by start address, for a binary search.
#[derive(Clone, Debug, Default)]
pub(crate) struct FdeIndex {
    spans: Vec<FdeSpan>,
}

impl FdeIndex {
    /// Reads every FDE of `section` (parsing its CIE) and sorts them by address. Empty FDEs are
    /// skipped; any malformed entry is an error.
    pub fn build<S>(section: &S, bases: &BaseAddresses) -> gimli::Result<Self>
    where
        S: UnwindSection<DwarfReader>,
    {
        let mut spans = Vec::new();
        let mut entries = section.entries(bases);
        while let Some(entry) = entries.next()? {
            let CieOrFde::Fde(partial) = entry else {
                continue;
            };
            let offset = partial.offset();
            let fde = partial.parse(S::cie_from_offset)?;
            let start = fde.initial_address();
            let end = start.saturating_add(fde.len());
            if end > start {
                spans.push(FdeSpan { start, end, offset });
            }
        }
        spans.sort_unstable_by_key(|span| (span.start, span.end));
        Ok(Self { spans })
    }

    /// The section offset of the FDE covering `address`, if any.
    pub fn find(&self, address: u64) -> Option<usize> {
        let after = self.spans.partition_point(|span| span.start <= address);
        let candidate = self.spans.get(after.checked_sub(1)?)?;
        (address < candidate.end).then_some(candidate.offset)
    }

    /// Number of FDEs indexed.
    pub fn len(&self) -> usize {
        self.spans.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(spans: &[(u64, u64, usize)]) -> FdeIndex {
        FdeIndex {
            spans: spans
                .iter()
                .map(|&(start, end, offset)| FdeSpan { start, end, offset })
                .collect(),
        }
    }

    #[test]
    fn finds_the_covering_span_and_misses_gaps() {
        let idx = index(&[(0x100, 0x180, 1), (0x200, 0x210, 2), (0x210, 0x300, 3)]);
        assert_eq!(idx.find(0x0ff), None);
        assert_eq!(idx.find(0x100), Some(1));
        assert_eq!(idx.find(0x17f), Some(1));
        assert_eq!(idx.find(0x180), None);
        assert_eq!(idx.find(0x20f), Some(2));
        assert_eq!(idx.find(0x210), Some(3));
        assert_eq!(idx.find(0x300), None);
        assert_eq!(idx.find(u64::MAX), None);
        assert_eq!(FdeIndex::default().find(0x100), None);
    }
}
