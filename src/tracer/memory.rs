//! Reading a live process's memory.

use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use crate::memory::MemoryReader;

/// Live memory of a process: `process_vm_readv`, falling back to `/proc/PID/mem` (`pread`) when
/// `process_vm_readv` fails (e.g. `EPERM`/`ENOSYS`); partial reads return the bytes read.
///
/// Reads need no ptrace stop, but only a stopped process gives a consistent picture. Both methods
/// need the permission to trace the process. Safe to share between threads.
#[derive(Debug)]
pub struct ProcessMemory {
    pid: i32,
    /// Set once `process_vm_readv` failed in a way that will not change (EPERM, ENOSYS).
    vm_readv_unusable: AtomicBool,
    /// `/proc/PID/mem`, opened on first use; `None` when it could not be opened.
    proc_mem: OnceLock<Option<File>>,
}

impl ProcessMemory {
    /// Memory of process `pid` (nothing is opened yet).
    pub fn new(pid: i32) -> Self {
        Self {
            pid,
            vm_readv_unusable: AtomicBool::new(false),
            proc_mem: OnceLock::new(),
        }
    }

    /// Memory of `pid` read through `/proc/PID/mem` only (tests of the fallback).
    #[cfg(test)]
    pub(crate) fn proc_mem_only(pid: i32) -> Self {
        let memory = Self::new(pid);
        memory.vm_readv_unusable.store(true, Ordering::Relaxed);
        memory
    }

    /// The process read.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// One `process_vm_readv` of `buf.len()` bytes at `addr`; `Ok(n)` with `n` possibly short.
    fn read_vm(&self, addr: u64, buf: &mut [u8]) -> nix::Result<usize> {
        let base = usize::try_from(addr).map_err(|_| Errno::EFAULT)?;
        let remote = [RemoteIoVec { base, len: buf.len() }];
        process_vm_readv(Pid::from_raw(self.pid), &mut [IoSliceMut::new(buf)], &remote)
    }

    /// `pread`s from `/proc/PID/mem` until `buf` is full or memory stops being readable.
    fn read_proc_mem(&self, addr: u64, buf: &mut [u8]) -> usize {
        let file = self
            .proc_mem
            .get_or_init(|| File::open(format!("/proc/{}/mem", self.pid)).ok());
        let Some(file) = file else { return 0 };
        let mut done = 0;
        while done < buf.len() {
            let Some(offset) = addr.checked_add(done as u64) else {
                break;
            };
            let Some(rest) = buf.get_mut(done..) else {
                break;
            };
            match file.read_at(rest, offset) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        done
    }
}

impl MemoryReader for ProcessMemory {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        if buf.is_empty() {
            return 0;
        }
        if !self.vm_readv_unusable.load(Ordering::Relaxed) {
            match self.read_vm(addr, buf) {
                Ok(n) => return n,
                // Nothing readable at `addr`, or the process is gone: /proc/PID/mem would say
                // the same (or, with its forced access, read pages the process itself cannot).
                Err(Errno::EFAULT | Errno::ESRCH | Errno::EINVAL) => return 0,
                Err(Errno::EPERM | Errno::ENOSYS) => {
                    self.vm_readv_unusable.store(true, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
        self.read_proc_mem(addr, buf)
    }
}
