//! Layout facts from libthread_db's descriptors. glibc exports, for gdb's `libthread_db`, one
//! read-only symbol per structure field it may need (`_thread_db_<struct>_<field>`): three `u32`s,
//! `{size in bits, element count, byte offset}`; and per structure size `_thread_db_sizeof_<struct>`,
//! one `u32`. They are in libc.so.6's dynamic symbol table (libpthread.so.0's before glibc 2.34).

use super::elf::{data_at, dynamic_symbols_with_prefix};
use super::layout::LayoutFields;

/// The prefix of every descriptor symbol.
pub(crate) const PREFIX: &str = "_thread_db_";

/// The descriptor that says an object carries the ones needed.
pub(crate) const MARKER: &str = "_thread_db_link_map_l_tls_modid";

/// A field descriptor: `{bits, count, offset}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldDescriptor {
    bits: u32,
    offset: u32,
}

/// Reads the layout facts from the descriptors defined in the ELF image `bytes`. Missing or
/// malformed descriptors leave their facts `None`.
pub(crate) fn layout_from_thread_db(bytes: &[u8]) -> LayoutFields {
    let symbols = dynamic_symbols_with_prefix(bytes, PREFIX);
    let address = |name: &str| {
        symbols
            .iter()
            .find(|(symbol, _)| symbol.strip_prefix(PREFIX) == Some(name))
            .map(|(_, address)| *address)
    };
    // A pointer or size_t field: 64 bits, one element.
    let word_field = |name: &str| {
        let descriptor = field(bytes, address(name)?)?;
        (descriptor.bits == 64).then_some(u64::from(descriptor.offset))
    };
    let array_field = |name: &str| field(bytes, address(name)?).map(|d| u64::from(d.offset));
    let size = |name: &str| u32_at(bytes, address(name)?).map(u64::from);
    LayoutFields {
        l_tls_offset: word_field("link_map_l_tls_offset"),
        l_tls_modid: word_field("link_map_l_tls_modid"),
        list_in_rtld_global: word_field("rtld_global__dl_tls_dtv_slotinfo_list"),
        list_len: word_field("dtv_slotinfo_list_len"),
        list_next: word_field("dtv_slotinfo_list_next"),
        list_slotinfo: array_field("dtv_slotinfo_list_slotinfo"),
        entry_size: size("sizeof_dtv_slotinfo"),
        entry_gen: word_field("dtv_slotinfo_gen"),
        entry_map: word_field("dtv_slotinfo_map"),
    }
}

/// The field descriptor at ELF address `vaddr`.
fn field(bytes: &[u8], vaddr: u64) -> Option<FieldDescriptor> {
    Some(FieldDescriptor {
        bits: u32_at(bytes, vaddr)?,
        offset: u32_at(bytes, vaddr.checked_add(8)?)?,
    })
}

/// A little-endian `u32` of the file's contents at ELF address `vaddr`.
fn u32_at(bytes: &[u8], vaddr: u64) -> Option<u32> {
    let raw = data_at(bytes, vaddr, 4)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?))
}
