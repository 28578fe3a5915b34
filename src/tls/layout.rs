//! The glibc-private offsets the resolver needs: where `l_tls_offset` and `l_tls_modid` sit in
//! glibc's internal `struct link_map` (not ABI: it changes between glibc versions and builds),
//! and, for the generation check, the layout of ld.so's DTV slotinfo list.
//!
//! Two sources, tried in this order, the second filling what the first lacks:
//! 1. the DWARF of ld.so (its separate debug file, e.g. from libc6-dbg): the members of
//!    `struct link_map`, `struct rtld_global`, `struct dtv_slotinfo_list`, `struct dtv_slotinfo`;
//! 2. libthread_db's field descriptors, which glibc exports for gdb's `libthread_db` in the
//!    dynamic symbol table of libc.so.6 (libpthread.so.0 before glibc 2.34):
//!    `_thread_db_link_map_l_tls_modid` and friends, each `{bits, count, offset}` as three
//!    `u32`s in `.rodata`. They are present even without any debug package.
//!
//! There is no table of offsets per glibc version: the descriptors make one unnecessary for every
//! glibc that ships them, and offsets that could not be checked on a real system would be guesses.

/// Where glibc keeps the DTV slotinfo list and how it is laid out: enough to read the generation
/// at which a module id was last (re)assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotinfoLayout {
    /// Offset of `_dl_tls_dtv_slotinfo_list` (a pointer) in `struct rtld_global`.
    pub list_in_rtld_global: u64,
    /// Offset of `len` in `struct dtv_slotinfo_list`.
    pub list_len: u64,
    /// Offset of `next` in `struct dtv_slotinfo_list`.
    pub list_next: u64,
    /// Offset of the `slotinfo[]` array in `struct dtv_slotinfo_list`.
    pub list_slotinfo: u64,
    /// `sizeof (struct dtv_slotinfo)`.
    pub entry_size: u64,
    /// Offset of `gen` in `struct dtv_slotinfo`.
    pub entry_gen: u64,
    /// Offset of `map` in `struct dtv_slotinfo`.
    pub entry_map: u64,
}

/// The glibc-private layout facts the resolver uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlibcTlsLayout {
    /// Offset of `l_tls_offset` (`ptrdiff_t`) in `struct link_map`.
    pub l_tls_offset: u64,
    /// Offset of `l_tls_modid` (`size_t`) in `struct link_map`.
    pub l_tls_modid: u64,
    /// The slotinfo list layout, when known (else DTV entries are used without the check that
    /// they are not stale).
    pub slotinfo: Option<SlotinfoLayout>,
    /// Where the offsets came from, e.g. `"DWARF of /usr/lib/debug/.build-id/7e/....debug"`.
    pub source: String,
}

/// The layout facts as one source knows them; every one may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LayoutFields {
    pub l_tls_offset: Option<u64>,
    pub l_tls_modid: Option<u64>,
    pub list_in_rtld_global: Option<u64>,
    pub list_len: Option<u64>,
    pub list_next: Option<u64>,
    pub list_slotinfo: Option<u64>,
    pub entry_size: Option<u64>,
    pub entry_gen: Option<u64>,
    pub entry_map: Option<u64>,
}

impl LayoutFields {
    /// Whether the two offsets that are needed at all are known.
    pub fn has_link_map_fields(&self) -> bool {
        self.l_tls_offset.is_some() && self.l_tls_modid.is_some()
    }

    /// Whether every fact is known.
    pub fn is_complete(&self) -> bool {
        self.has_link_map_fields() && self.slotinfo().is_some()
    }

    /// The slotinfo layout, if all of it is known.
    pub fn slotinfo(&self) -> Option<SlotinfoLayout> {
        Some(SlotinfoLayout {
            list_in_rtld_global: self.list_in_rtld_global?,
            list_len: self.list_len?,
            list_next: self.list_next?,
            list_slotinfo: self.list_slotinfo?,
            entry_size: self.entry_size.filter(|&size| size > 0)?,
            entry_gen: self.entry_gen?,
            entry_map: self.entry_map?,
        })
    }

    /// Fills the facts missing here from `other`. The link_map pair and the slotinfo group are
    /// each taken whole from one source, never mixed.
    pub fn fill_from(&mut self, other: &LayoutFields) {
        if !self.has_link_map_fields() && other.has_link_map_fields() {
            self.l_tls_offset = other.l_tls_offset;
            self.l_tls_modid = other.l_tls_modid;
        }
        if self.slotinfo().is_none() && other.slotinfo().is_some() {
            self.list_in_rtld_global = other.list_in_rtld_global;
            self.list_len = other.list_len;
            self.list_next = other.list_next;
            self.list_slotinfo = other.list_slotinfo;
            self.entry_size = other.entry_size;
            self.entry_gen = other.entry_gen;
            self.entry_map = other.entry_map;
        }
    }

    /// The usable layout, or `None` without the link_map offsets.
    pub fn into_layout(self, source: String) -> Option<GlibcTlsLayout> {
        Some(GlibcTlsLayout {
            l_tls_offset: self.l_tls_offset?,
            l_tls_modid: self.l_tls_modid?,
            slotinfo: self.slotinfo(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(base: u64) -> LayoutFields {
        LayoutFields {
            l_tls_offset: Some(base),
            l_tls_modid: Some(base + 8),
            list_in_rtld_global: Some(base + 16),
            list_len: Some(0),
            list_next: Some(8),
            list_slotinfo: Some(16),
            entry_size: Some(16),
            entry_gen: Some(0),
            entry_map: Some(8),
        }
    }

    #[test]
    fn groups_are_filled_whole() {
        let mut partial = LayoutFields {
            l_tls_offset: Some(1),
            list_len: Some(99),
            ..Default::default()
        };
        assert!(!partial.has_link_map_fields());
        partial.fill_from(&full(100));
        assert_eq!(partial, full(100));

        let mut dwarf = full(100);
        dwarf.entry_size = None;
        dwarf.fill_from(&full(200));
        assert_eq!(dwarf.l_tls_offset, Some(100), "known pair kept");
        assert_eq!(dwarf.slotinfo(), full(200).slotinfo());
        assert!(dwarf.is_complete());
    }

    #[test]
    fn a_layout_needs_the_link_map_offsets() {
        assert_eq!(LayoutFields::default().into_layout("x".into()), None);
        let mut fields = full(8);
        fields.entry_size = Some(0);
        let layout = fields.into_layout("test".into()).unwrap();
        assert_eq!((layout.l_tls_offset, layout.l_tls_modid), (8, 16));
        assert_eq!(layout.slotinfo, None, "a zero entry size is unusable");
    }
}
