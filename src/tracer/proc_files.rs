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

/// The state letter of a `stat` line: the first field after the `(comm)`, which may itself
/// contain spaces and parentheses.
fn state_from_stat(stat: &str) -> Option<char> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().next()?.chars().next()
}

/// The pid of the process tracing `pid`, if any (`TracerPid` in `/proc/PID/status`).
pub(crate) fn tracer_pid(pid: i32) -> Option<i32> {
    let status = procfs::process::Process::new(pid).ok()?.status().ok()?;
    (status.tracerpid != 0).then_some(status.tracerpid)
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
    fn own_stack_is_in_a_writable_region() {
        let local = 0u64;
        let addr = std::ptr::addr_of!(local) as u64;
        let regions = writable_regions(std::process::id() as i32).expect("own maps are readable");
        assert!(regions.iter().any(|r| r.contains(&addr)));
    }
}
