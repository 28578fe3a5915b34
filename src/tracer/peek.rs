//! A look at the threads of a running process without stopping it: where each thread blocked in
//! the kernel is (its stack pointer and pc, from `/proc/PID/task/TID/syscall`) and a copy of its
//! stack read while it may be running. Nothing here is consistent — the thread may move on while
//! it is read — so it only serves to guess, before the stop, what code the stop will meet.

use std::ops::Range;

use super::capture::{copy_memory, stack_range};
use super::memory::ProcessMemory;
use super::proc_files;
use crate::memory::MemorySnapshot;

/// One thread seen running: the pc and stack of a thread blocked in the kernel.
#[derive(Clone, Debug)]
pub struct PeekedThread {
    /// Its thread id.
    pub tid: i32,
    /// Where it is blocked (the instruction after the system call, or where it waits).
    pub pc: u64,
    /// Its stack from the stack pointer up, read while the thread may run.
    pub stack: MemorySnapshot,
}

/// Calls `visit` with each thread of `pid` blocked in the kernel (at most `max_threads` of them),
/// with its pc and at most `stack_limit` bytes of its stack, one at a time (one stack copy held
/// at once); returns how many were visited. Threads that are running, that vanish or that
/// cannot be read are left out: this is a guess, never an error.
pub fn peek_threads(
    pid: i32,
    stack_limit: usize,
    max_threads: usize,
    mut visit: impl FnMut(PeekedThread),
) -> usize {
    let Ok(tids) = proc_files::task_ids(pid) else {
        return 0;
    };
    let Ok(regions) = proc_files::writable_regions(pid) else {
        return 0;
    };
    let memory = ProcessMemory::new(pid);
    let mut visited = 0;
    for tid in tids {
        if visited >= max_threads {
            break;
        }
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")) else {
            continue;
        };
        let Some((sp, pc)) = blocked_at(&text) else {
            continue;
        };
        visit(PeekedThread {
            tid,
            pc,
            stack: copy_memory(&memory, peek_range(sp, &regions, stack_limit)),
        });
        visited += 1;
    }
    visited
}

/// The stack from `sp` up (no red zone: what lies below `sp` is not part of any frame).
fn peek_range(sp: u64, regions: &[Range<u64>], stack_limit: usize) -> Range<u64> {
    let range = stack_range(sp, regions, stack_limit);
    range.start.max(sp)..range.end
}

/// The stack pointer and pc of a `/proc/PID/task/TID/syscall` line: `NR ARG1 .. ARG6 SP PC` in a
/// system call, `-1 SP PC` blocked outside one, `running` otherwise (`None`).
pub(crate) fn blocked_at(text: &str) -> Option<(u64, u64)> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [.., sp, pc] = fields.as_slice() else {
        return None;
    };
    let in_call = fields.len() == 9;
    let blocked = fields.len() == 3 && fields.first() == Some(&"-1");
    if !in_call && !blocked {
        return None;
    }
    let hex = |field: &str| u64::from_str_radix(field.strip_prefix("0x")?, 16).ok();
    Some((hex(sp)?, hex(pc)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_lines_give_the_stack_pointer_and_pc() {
        let in_call = "202 0x55d0c2a2e0a8 0x80 0x0 0x0 0x0 0x0 0x7ffd1c5d7e10 0x7f4a1b2c3d4e\n";
        assert_eq!(blocked_at(in_call), Some((0x7ffd1c5d7e10, 0x7f4a1b2c3d4e)));
        assert_eq!(
            blocked_at("-1 0x7ffd00001000 0x401000\n"),
            Some((0x7ffd00001000, 0x401000))
        );
        assert_eq!(blocked_at("running\n"), None);
        assert_eq!(blocked_at(""), None);
        assert_eq!(blocked_at("202 0x1 0x2"), None);
        assert_eq!(blocked_at("-1 zz 0x401000"), None);
    }

    #[test]
    fn a_sleeping_child_is_seen_blocked_with_its_stack() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("start sleep");
        let pid = child.id() as i32;
        // Wait until it sleeps in the kernel (while it still execs, its memory changes under
        // the reads).
        let mut peeked = Vec::new();
        for _ in 0..300 {
            peeked.clear();
            peek_threads(pid, 64 * 1024, 16, |thread| peeked.push(thread));
            if peeked.first().is_some_and(|t| !t.stack.bytes.is_empty()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        let thread = peeked.first().expect("sleep is blocked in the kernel");
        assert_eq!(thread.tid, pid);
        assert_ne!(thread.pc, 0);
        assert!(!thread.stack.bytes.is_empty(), "its stack was read");
    }
}
