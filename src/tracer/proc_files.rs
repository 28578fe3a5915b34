//! What `/proc` says about the target: its threads, their states, its writable mappings and its
//! signal dispositions. Every read may fail (the process can exit at any moment).

use std::ops::Range;

/// The thread ids in `/proc/PID/task`, in directory order with the leader (`pid`) first when
/// present. Fails when the directory cannot be read (no such process).
pub(crate) fn task_ids(pid: i32) -> std::io::Result<Vec<i32>> {
    let mut tids = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        if let Some(tid) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        {
            tids.push(tid);
        }
    }
    if let Some(leader) = tids.iter().position(|&tid| tid == pid) {
        tids[..=leader].rotate_right(1);
    }
    Ok(tids)
}

/// Whether `/proc/PID` exists.
pub(crate) fn process_exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `id` is this process or one of its threads (which the kernel will not let us trace).
pub(crate) fn is_own_thread(id: i32) -> bool {
    std::path::Path::new(&format!("/proc/self/task/{id}")).exists()
}

/// Whether `tid` of `pid` is a thread of that process (`/proc/PID/task/TID` exists).
pub(crate) fn thread_exists(pid: i32, tid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists()
}

/// Whether thread `tid` of `pid` is gone or a zombie (`Z`/`X` in its `stat`), i.e. exited but
/// not yet reaped: the kernel refuses to seize such a thread with `EPERM`.
pub(crate) fn thread_is_dead(pid: i32, tid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) {
        Ok(stat) => matches!(state_from_stat(&stat), Some('Z' | 'X' | 'x') | None),
        Err(_) => true,
    }
}

/// How `pid` ended, while it is a zombie: the wait status its `stat` keeps as its last field
/// (`exit_code`).
pub(crate) fn zombie_status(pid: i32) -> Option<super::wait::WaitEvent> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    if !matches!(state_from_stat(&stat), Some('Z' | 'X')) {
        return None;
    }
    let status = stat.split_whitespace().last()?.parse::<i32>().ok()?;
    Some(super::wait::WaitEvent::decode(status)).filter(|event| event.is_end())
}

/// The state letter of a `stat` line: the first field after the `(comm)`, which may itself
/// contain spaces and parentheses.
fn state_from_stat(stat: &str) -> Option<char> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().next()?.chars().next()
}

/// The thread tracing thread `tid` of `pid`, if any (`TracerPid` in its `status`: a tracer is
/// a thread, not a process).
pub(crate) fn tracer_of(pid: i32, tid: i32) -> Option<i32> {
    let tracer = status_field(&format!("/proc/{pid}/task/{tid}/status"), "TracerPid:")?
        .parse::<i32>()
        .ok()?;
    (tracer != 0).then_some(tracer)
}

/// `name (process P)` or `name (process P, thread T)` for task `tid`, as far as `/proc` tells.
pub(crate) fn describe_task(tid: i32) -> String {
    let status = format!("/proc/{tid}/status");
    let name = status_field(&status, "Name:").unwrap_or_else(|| "?".to_string());
    match status_field(&status, "Tgid:").and_then(|t| t.parse::<i32>().ok()) {
        Some(process) if process != tid => format!("{name} (process {process}, thread {tid})"),
        Some(_) => format!("{name} (process {tid})"),
        None => format!("task {tid}"),
    }
}

/// The value of the first line of `path` that starts with `field` (`Name:`, `TracerPid:`...).
fn status_field(path: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .map(|value| value.trim().to_string())
}

/// Whether `pid` is a kernel thread (`PF_KTHREAD` in the flags of its `stat`).
pub(crate) fn is_kernel_thread(pid: i32) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // After the `(comm)`: state ppid pgrp session tty_nr tpgid flags.
    let Some(after_comm) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
        return false;
    };
    after_comm
        .split_whitespace()
        .nth(6)
        .and_then(|flags| flags.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// The name of process `pid` (`comm`), or `?`.
pub(crate) fn process_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| name.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The real user id of `pid` (`Uid:` in its `status`).
pub(crate) fn uid_of(pid: i32) -> Option<u32> {
    status_field(&format!("/proc/{pid}/status"), "Uid:")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether this process has `CAP_SYS_PTRACE` in its effective set.
pub(crate) fn has_cap_sys_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    status_field("/proc/self/status", "CapEff:")
        .and_then(|caps| u64::from_str_radix(&caps, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

/// The Yama LSM's `ptrace_scope`, when Yama is there.
pub(crate) fn yama_ptrace_scope() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Signal masks of `pid` (shared by all its threads): `(caught, ignored)`, bit `n - 1` for
/// signal `n`.
pub(crate) fn signal_dispositions(pid: i32) -> Option<(u64, u64)> {
    let status = procfs::process::Process::new(pid).ok()?.status().ok()?;
    Some((status.sigcgt, status.sigign))
}

/// The readable and writable mappings of `pid` (where stacks live), from `/proc/PID/maps`.
pub(crate) fn writable_regions(pid: i32) -> procfs::ProcResult<Vec<Range<u64>>> {
    use procfs::process::MMPermissions;
    let maps = procfs::process::Process::new(pid)?.maps()?;
    Ok(maps
        .iter()
        .filter(|map| map.perms.contains(MMPermissions::READ | MMPermissions::WRITE))
        .map(|map| map.address.0..map.address.1)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_read_after_the_last_parenthesis() {
        assert_eq!(state_from_stat("12 (a) b) c) t 1 2"), Some('t'));
        assert_eq!(state_from_stat("12 (sleep) S 1"), Some('S'));
        assert_eq!(state_from_stat("12 (sleep"), None);
        assert_eq!(state_from_stat("12 (x)"), None);
    }

    #[test]
    fn own_process_is_listed_leader_first() {
        let pid = std::process::id() as i32;
        let handle = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        let tids = task_ids(pid).expect("own /proc/self/task is readable");
        handle.join().expect("sleeping thread does not panic");
        assert_eq!(tids.first(), Some(&pid));
        assert!(tids.len() >= 2, "a spawned thread is listed: {tids:?}");
        assert!(process_exists(pid));
        assert!(thread_exists(pid, pid));
        assert!(!thread_is_dead(pid, pid));
        assert!(task_ids(i32::MAX).is_err());
        assert!(thread_is_dead(pid, i32::MAX));
        assert!(is_own_thread(pid) && is_own_thread(nix::unistd::gettid().as_raw()));
        assert!(!is_own_thread(1));
    }

    #[test]
    fn kernel_threads_and_tasks_are_told_apart() {
        // kthreadd is pid 2 wherever the kernel's threads are visible; this process is not one.
        assert!(!is_kernel_thread(std::process::id() as i32));
        if process_name(2) == "kthreadd" {
            assert!(is_kernel_thread(2));
        }
        assert!(!is_kernel_thread(i32::MAX));
        let me = std::process::id() as i32;
        assert_eq!(describe_task(me), format!("{} (process {me})", process_name(me)));
        let tid = nix::unistd::gettid().as_raw();
        if tid != me {
            assert!(describe_task(tid).contains(&format!("(process {me}, thread {tid})")));
        }
        assert_eq!(tracer_of(me, me), None);
        // SAFETY: getuid cannot fail and touches no memory.
        assert_eq!(uid_of(me), Some(unsafe { libc::getuid() }));
    }

    #[test]
    fn own_stack_is_in_a_writable_region() {
        let local = 0u64;
        let addr = std::ptr::addr_of!(local) as u64;
        let regions = writable_regions(std::process::id() as i32).expect("own maps are readable");
        assert!(regions.iter().any(|r| r.contains(&addr)));
    }
}
