//! The glibc offsets from both sources agree with each other and with gdb's `ptype /o`.

use std::process::Command;

use crate::debuginfo::{read_maps, ProcessObjects};
use crate::memory::MemorySnapshot;
use crate::tls::layout_dwarf::layout_from_dwarf;
use crate::tls::layout_thread_db::layout_from_thread_db;
use crate::tls::{TlsError, TlsResolver};
use crate::tracer::ProcessMemory;

/// This test process's own objects.
fn own_objects() -> ProcessObjects {
    let pid = std::process::id() as i32;
    ProcessObjects::load(&read_maps(pid).unwrap(), &ProcessMemory::new(pid)).unwrap()
}

/// gdb's offset of `member` in `struct link_map` as the debug file `path` describes it.
fn gdb_offset(path: &str, member: &str) -> u64 {
    let output = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "ptype /o struct link_map", path])
        .output()
        .expect("gdb runs");
    let text = String::from_utf8_lossy(&output.stdout);
    // "/*   1152      |       8 */    size_t l_tls_modid;"
    text.lines()
        .find(|line| line.trim_end().ends_with(&format!(" {member};")))
        .and_then(|line| line.trim_start().strip_prefix("/*"))
        .and_then(|rest| rest.split('|').next())
        .and_then(|offset| offset.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {member} in gdb's output: {text}"))
}

#[test]
fn dwarf_and_thread_db_descriptors_agree_with_gdb() {
    let objects = own_objects();
    let ld_so = objects
        .objects()
        .iter()
        .find(|o| o.path.contains("ld-linux-x86-64"))
        .expect("ld.so is mapped");
    let debug = ld_so
        .debug
        .as_ref()
        .expect("libc6-dbg provides ld.so's debug file");
    let from_dwarf = layout_from_dwarf(debug);
    assert!(from_dwarf.is_complete(), "{from_dwarf:?}");

    let libc = objects
        .objects()
        .iter()
        .find(|o| o.path.ends_with("/libc.so.6"))
        .expect("libc is mapped");
    let from_descriptors = layout_from_thread_db(libc.elf.as_ref().unwrap());
    assert!(from_descriptors.is_complete(), "{from_descriptors:?}");
    assert_eq!(from_dwarf, from_descriptors);

    let debug_path = ld_so.debug_file.as_deref().unwrap();
    assert_eq!(
        from_dwarf.l_tls_modid,
        Some(gdb_offset(debug_path, "l_tls_modid"))
    );
    assert_eq!(
        from_dwarf.l_tls_offset,
        Some(gdb_offset(debug_path, "l_tls_offset"))
    );

    // The resolver over this very process takes the DWARF.
    let resolver = TlsResolver::new(&objects, &ProcessMemory::new(std::process::id() as i32)).unwrap();
    let layout = resolver.layout().unwrap();
    assert!(layout.source.starts_with("DWARF of "), "{}", layout.source);
    assert_eq!(Some(layout.l_tls_modid), from_dwarf.l_tls_modid);
}

#[test]
fn non_elf_or_empty_images_give_no_facts() {
    let junk = crate::reader::SharedBytes::from_vec(b"not an ELF file".to_vec());
    assert!(!layout_from_dwarf(&junk).has_link_map_fields());
    assert!(!layout_from_thread_db(&junk).has_link_map_fields());
    // The test binary itself has DWARF but no glibc structures.
    let own = crate::reader::SharedBytes::map_file(&std::env::current_exe().unwrap()).unwrap();
    assert!(!layout_from_dwarf(&own).has_link_map_fields());
}

#[test]
fn unreadable_memory_is_an_error() {
    let objects = own_objects();
    let nothing = MemorySnapshot::default();
    assert!(matches!(
        TlsResolver::new(&objects, &nothing),
        Err(TlsError::NoRendezvous)
    ));
    // No objects, nothing to resolve, nothing read.
    let empty = TlsResolver::new(&ProcessObjects::default(), &nothing).unwrap();
    assert!(empty.layout().is_none());
}

#[test]
fn without_ld_so_the_descriptors_are_used() {
    let objects = own_objects();
    let layout = crate::tls::find_layout(&objects, None).expect("libc's descriptors");
    assert!(
        layout.source.starts_with("libthread_db descriptors of "),
        "{}",
        layout.source
    );
    assert!(layout.source.ends_with("/libc.so.6"), "{}", layout.source);
    assert!(layout.slotinfo.is_some());
    let with_dwarf = TlsResolver::new(&objects, &ProcessMemory::new(std::process::id() as i32)).unwrap();
    assert_eq!(
        Some(&layout.l_tls_modid),
        with_dwarf.layout().map(|l| &l.l_tls_modid)
    );
    assert_eq!(
        Some(&layout.l_tls_offset),
        with_dwarf.layout().map(|l| &l.l_tls_offset)
    );
}
