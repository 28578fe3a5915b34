//! Per-thread reads: where a module's TLS block is for one thread (x86-64, glibc, TLS variant II:
//! the thread pointer points to the TCB, static blocks lie below it).
//!
//! - Static TLS (the executable, libraries loaded at startup, dlopen'ed ones with static TLS):
//!   the block is at `tp - l_tls_offset` in every thread.
//! - Dynamic TLS: `tcbhead_t.dtv` (at `tp + 8`) points to the thread's DTV: `dtv[-1].counter` is
//!   its length, `dtv[0].counter` the generation it is up to date with, and
//!   `dtv[modid].pointer.val` the block (16-byte entries; `-1` = `TLS_DTV_UNALLOCATED`, `0` = never
//!   set). glibc updates a DTV lazily: after a dlclose/dlopen, an entry may still point to the
//!   block of the module that had the same id before. The entry is only trusted when the module
//!   id's generation in ld.so's slotinfo list is not newer than the DTV's (what libthread_db
//!   checks too), and the slot still belongs to the module's link_map.

use super::layout::SlotinfoLayout;
use crate::memory::MemoryReader;

/// Offset of `tcbhead_t.dtv` from the thread pointer.
const TCB_DTV: u64 = 8;
/// Size of a `dtv_t` entry.
const DTV_ENTRY_SIZE: u64 = 16;
/// `TLS_DTV_UNALLOCATED`: `(void *) -1l`.
const TLS_DTV_UNALLOCATED: u64 = u64::MAX;
/// `FORCED_DYNAMIC_TLS_OFFSET` on x86-64 (`NO_TLS_OFFSET` is 0): the module uses dynamic TLS.
const FORCED_DYNAMIC_TLS_OFFSET: u64 = u64::MAX;
/// At most this many slotinfo list chunks are followed.
const MAX_SLOTINFO_CHUNKS: usize = 1024;

/// The static TLS block for thread pointer `tp` and the module's `l_tls_offset`; `None` when the
/// module has no static offset (0: none, -1: dynamic TLS, negative: not a variant II offset).
pub(crate) fn static_block(tp: u64, l_tls_offset: u64) -> Option<u64> {
    let offset = i64::from_le_bytes(l_tls_offset.to_le_bytes());
    if l_tls_offset == FORCED_DYNAMIC_TLS_OFFSET || offset <= 0 {
        return None;
    }
    tp.checked_sub(l_tls_offset)
}

/// How to check that a DTV entry is not stale.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GenerationCheck {
    /// Address of `_rtld_global._dl_tls_dtv_slotinfo_list` (the pointer to the list's head).
    pub list_pointer: u64,
    /// The list's layout.
    pub layout: SlotinfoLayout,
}

/// The dynamic TLS block of module `modid` (whose link_map is at `link_map`) in the thread whose
/// thread pointer is `tp`; `None` when not allocated in that thread, stale, or unreadable.
pub(crate) fn dtv_block(
    memory: &dyn MemoryReader,
    tp: u64,
    modid: u64,
    link_map: u64,
    check: Option<&GenerationCheck>,
) -> Option<u64> {
    let dtv = memory.read_u64(tp.checked_add(TCB_DTV)?)?;
    if dtv == 0 || modid == 0 {
        return None;
    }
    let length = memory.read_u64(dtv.checked_sub(DTV_ENTRY_SIZE)?)?;
    if modid > length {
        return None;
    }
    if let Some(check) = check {
        let thread_generation = memory.read_u64(dtv)?;
        let module_generation = slot_generation(memory, check, modid, link_map)?;
        if module_generation > thread_generation {
            return None;
        }
    }
    let entry = dtv.checked_add(modid.checked_mul(DTV_ENTRY_SIZE)?)?;
    let block = memory.read_u64(entry)?;
    (block != 0 && block != TLS_DTV_UNALLOCATED).then_some(block)
}

/// The generation recorded in ld.so's slotinfo list for `modid`; `None` when unreadable, out of
/// the list, or when the slot now belongs to another link_map than `link_map`.
fn slot_generation(
    memory: &dyn MemoryReader,
    check: &GenerationCheck,
    modid: u64,
    link_map: u64,
) -> Option<u64> {
    let layout = &check.layout;
    let mut chunk = memory.read_u64(check.list_pointer)?;
    let mut index = modid;
    for _ in 0..MAX_SLOTINFO_CHUNKS {
        if chunk == 0 {
            return None;
        }
        let len = memory.read_u64(chunk.checked_add(layout.list_len)?)?;
        if index < len {
            let slot = chunk
                .checked_add(layout.list_slotinfo)?
                .checked_add(index.checked_mul(layout.entry_size)?)?;
            let map = memory.read_u64(slot.checked_add(layout.entry_map)?)?;
            if map != link_map {
                return None;
            }
            return memory.read_u64(slot.checked_add(layout.entry_gen)?);
        }
        index -= len;
        chunk = memory.read_u64(chunk.checked_add(layout.list_next)?)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemorySnapshot;

    const LAYOUT: SlotinfoLayout = SlotinfoLayout {
        list_in_rtld_global: 0,
        list_len: 0,
        list_next: 8,
        list_slotinfo: 16,
        entry_size: 16,
        entry_gen: 0,
        entry_map: 8,
    };

    /// Words at 0x1000...: a TCB at tp = 0x1000 (dtv pointer at +8), a DTV at 0x1100 (length at
    /// 0x10f0, generation at 0x1100), a two-chunk slotinfo list at 0x1400 / 0x1500 whose head
    /// pointer is at 0x13f8.
    struct Fake(Vec<u64>);

    impl Fake {
        fn new() -> Self {
            let mut fake = Fake(vec![0; 0x100]);
            fake.put(0x1008, 0x1100); // tcb.dtv
            fake.put(0x10f0, 4); // dtv length
            fake.put(0x1100, 7); // dtv generation
            fake.put(0x1100 + 16, 0xaaa0); // modid 1
            fake.put(0x1100 + 32, TLS_DTV_UNALLOCATED); // modid 2
            fake.put(0x1100 + 48, 0xccc0); // modid 3
            fake.put(0x1100 + 64, 0xddd0); // modid 4
            fake.put(0x1100 + 80, 0xeee0); // modid 5: beyond the length
            fake.put(0x13f8, 0x1400);
            fake.put(0x1400, 3); // chunk 1: slots 0..3
            fake.put(0x1408, 0x1500);
            for (slot, gen, map) in [(1u64, 0u64, 0x111u64), (2, 0, 0x222)] {
                fake.put(0x1410 + 16 * slot, gen);
                fake.put(0x1418 + 16 * slot, map);
            }
            fake.put(0x1500, 2); // chunk 2: slots 3..5
            fake.put(0x1510, 9); // slot 3: generation 9 (newer than the thread's DTV)
            fake.put(0x1518, 0x333);
            fake.put(0x1520, 7); // slot 4
            fake.put(0x1528, 0x444);
            fake
        }

        fn put(&mut self, address: u64, value: u64) {
            self.0[((address - 0x1000) / 8) as usize] = value;
        }

        fn memory(&self) -> MemorySnapshot {
            MemorySnapshot {
                base: 0x1000,
                bytes: self.0.iter().flat_map(|w| w.to_le_bytes()).collect(),
            }
        }
    }

    #[test]
    fn static_offsets() {
        assert_eq!(static_block(0x7000, 0x100), Some(0x6f00));
        assert_eq!(static_block(0x7000, 0), None);
        assert_eq!(static_block(0x7000, FORCED_DYNAMIC_TLS_OFFSET), None);
        assert_eq!(static_block(0x7000, (-16i64) as u64), None);
        assert_eq!(static_block(0x10, 0x100), None);
    }

    #[test]
    fn dtv_entries_without_generation_check() {
        let mem = Fake::new().memory();
        assert_eq!(dtv_block(&mem, 0x1000, 1, 0x111, None), Some(0xaaa0));
        assert_eq!(dtv_block(&mem, 0x1000, 2, 0x222, None), None, "unallocated");
        assert_eq!(dtv_block(&mem, 0x1000, 5, 0x555, None), None, "beyond the DTV");
        assert_eq!(dtv_block(&mem, 0x1000, 0, 0, None), None);
        assert_eq!(dtv_block(&mem, 0x9000, 1, 0x111, None), None, "unreadable TCB");
        let mut no_dtv = Fake::new();
        no_dtv.put(0x1008, 0);
        assert_eq!(dtv_block(&no_dtv.memory(), 0x1000, 1, 0x111, None), None);
    }

    #[test]
    fn stale_or_foreign_slots_are_refused() {
        let mem = Fake::new().memory();
        let check = GenerationCheck {
            list_pointer: 0x13f8,
            layout: LAYOUT,
        };
        assert_eq!(dtv_block(&mem, 0x1000, 1, 0x111, Some(&check)), Some(0xaaa0));
        assert_eq!(
            dtv_block(&mem, 0x1000, 3, 0x333, Some(&check)),
            None,
            "generation 9 > 7"
        );
        assert_eq!(dtv_block(&mem, 0x1000, 3, 0x333, None), Some(0xccc0));
        assert_eq!(
            dtv_block(&mem, 0x1000, 4, 0x444, Some(&check)),
            Some(0xddd0),
            "second chunk"
        );
        assert_eq!(
            dtv_block(&mem, 0x1000, 4, 0x999, Some(&check)),
            None,
            "slot of another map"
        );
        let mut cut = Fake::new();
        cut.put(0x1408, 0);
        assert_eq!(dtv_block(&cut.memory(), 0x1000, 4, 0x444, Some(&check)), None);
    }
}
