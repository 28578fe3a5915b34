//! Reading live memory, through both methods, including partial reads.

use std::io::Write;
use std::os::fd::AsRawFd;

use super::fixture::own_pid;
use crate::memory::MemoryReader;
use crate::tracer::ProcessMemory;

const PAGE: usize = 4096;

/// A two-page read-only mapping of a one-page file: the second page cannot be read (it lies
/// beyond the end of the file), by the process itself or by anyone else.
struct HalfReadableMapping {
    addr: *mut libc::c_void,
    _file: std::fs::File,
}

impl HalfReadableMapping {
    fn new() -> Self {
        let mut file = tempfile::tempfile().expect("temporary file");
        let page: Vec<u8> = (0..PAGE).map(|i| (i % 251) as u8).collect();
        file.write_all(&page).expect("write a page");
        // SAFETY: a fresh private read-only mapping of an open file; no existing memory changes.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            addr,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Self { addr, _file: file }
    }

    fn start(&self) -> u64 {
        self.addr as u64
    }
}

impl Drop for HalfReadableMapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`, which nothing else refers to.
        unsafe { libc::munmap(self.addr, 2 * PAGE) };
    }
}

fn check_reader(memory: &ProcessMemory) {
    let value: u64 = 0x1122_3344_5566_7788;
    let addr = std::ptr::addr_of!(value) as u64;
    assert_eq!(memory.read_u64(addr), Some(value));

    let mapping = HalfReadableMapping::new();
    let mut buf = vec![0u8; 2 * PAGE];
    // Starting 100 bytes before the unreadable page: exactly those 100 bytes come back.
    let from = mapping.start() + (PAGE - 100) as u64;
    assert_eq!(memory.read_at(from, &mut buf[..200]), 100);
    assert_eq!(buf[0], ((PAGE - 100) % 251) as u8);
    assert_eq!(memory.read_at(mapping.start(), &mut buf), PAGE);
    assert_eq!(memory.read_at(mapping.start() + PAGE as u64, &mut buf[..8]), 0);
    assert_eq!(memory.read_u64(0), None);
    assert_eq!(memory.read_u64(u64::MAX - 3), None);
    assert_eq!(memory.read_at(addr, &mut []), 0);
}

#[test]
fn process_vm_readv_reads_and_stops_at_unreadable_memory() {
    check_reader(&ProcessMemory::new(own_pid()));
}

#[test]
fn proc_pid_mem_fallback_reads_and_stops_at_unreadable_memory() {
    check_reader(&ProcessMemory::proc_mem_only(own_pid()));
}

#[test]
fn a_vanished_process_reads_nothing() {
    let mut child = std::process::Command::new("true").spawn().expect("spawn true");
    let pid = child.id() as i32;
    child.wait().expect("reaped");
    for memory in [ProcessMemory::new(pid), ProcessMemory::proc_mem_only(pid)] {
        assert_eq!(memory.pid(), pid);
        assert_eq!(memory.read_u64(0x400000), None);
    }
}
