//! What `/proc` says about a process and its threads: executable, names and scheduler states,
//! read before the process is stopped (once stopped, every thread would read "tracing stop").

use procfs::process::Process;
use std::collections::HashMap;

/// Facts about a process read from `/proc/PID`.
#[derive(Clone, Debug, Default)]
pub struct ProcessInfo {
    /// Absolute path of the executable (`/proc/PID/exe`), or the comm name when unreadable.
    pub executable: String,
    /// The process's name (`comm`).
    pub name: String,
    /// Scheduler state as a word (`sleeping`, `running`, ...).
    pub state: String,
    /// Per-thread name and state, by tid.
    pub threads: HashMap<i32, ThreadInfo>,
    /// Its ids from ptrace's pid namespace inward (`NSpid` of `/proc/PID/status`), when it is
    /// in a pid namespace nested in ptrace's.
    pub nspid: Option<Vec<i32>>,
}

/// Facts about one thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadInfo {
    /// `/proc/PID/task/TID/comm`.
    pub name: String,
    /// Scheduler state as a word.
    pub state: String,
    /// Its ids from ptrace's pid namespace inward, when the process is in a nested one.
    pub nspid: Option<Vec<i32>>,
}

/// Why `/proc/PID` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcInfoError {
    /// There is no such process.
    #[error("no process with pid {0}")]
    NoSuchProcess(i32),
    /// `/proc/PID` exists but cannot be read.
    #[error("cannot read /proc/{pid}: {message}")]
    Unreadable {
        /// The pid.
        pid: i32,
        /// What failed.
        message: String,
    },
}

/// The word for a `/proc/PID/stat` state letter, as the pmodule API (README "Modules") names process states.
pub fn state_name(letter: char) -> &'static str {
    match letter {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk",
        'T' => "stopped",
        't' => "traced",
        'Z' => "zombie",
        'X' | 'x' => "dead",
        'I' => "idle",
        'W' | 'P' => "blocked",
        _ => "unknown",
    }
}

/// Reads what the snapshot needs from `/proc/PID` (cheap: a few small files per thread).
pub fn read_process(pid: i32) -> Result<ProcessInfo, ProcInfoError> {
    if pid <= 0 {
        return Err(ProcInfoError::NoSuchProcess(pid));
    }
    let process = Process::new(pid).map_err(|e| match e {
        procfs::ProcError::NotFound(_) => ProcInfoError::NoSuchProcess(pid),
        other => ProcInfoError::Unreadable {
            pid,
            message: other.to_string(),
        },
    })?;
    let stat = process.stat().map_err(|e| match e {
        procfs::ProcError::NotFound(_) => ProcInfoError::NoSuchProcess(pid),
        other => ProcInfoError::Unreadable {
            pid,
            message: other.to_string(),
        },
    })?;
    let executable = process
        .exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| stat.comm.clone());
    // The ids in nested pid namespaces: read for every thread only when the process has some.
    let nspid = process.status().ok().and_then(|status| nested(status.nspid));
    let mut threads = HashMap::new();
    if let Ok(tasks) = process.tasks() {
        for task in tasks.flatten() {
            if let Ok(task_stat) = task.stat() {
                let nspid = if nspid.is_some() {
                    task.status().ok().and_then(|status| nested(status.nspid))
                } else {
                    None
                };
                threads.insert(
                    task.tid,
                    ThreadInfo {
                        name: task_stat.comm.clone(),
                        state: state_name(task_stat.state).to_string(),
                        nspid,
                    },
                );
            }
        }
    }
    Ok(ProcessInfo {
        executable,
        name: stat.comm.clone(),
        state: state_name(stat.state).to_string(),
        threads,
        nspid,
    })
}

/// An `NSpid` list when it names more than one namespace (the process is in a nested one).
fn nested(nspid: Option<Vec<i32>>) -> Option<Vec<i32>> {
    nspid.filter(|ids| ids.len() > 1)
}

/// Name and state of one thread, read now (for threads that appeared after [`read_process`]).
pub fn read_thread(pid: i32, tid: i32) -> Option<ThreadInfo> {
    let task = Process::new(pid).ok()?.task_from_tid(tid).ok()?;
    let stat = task.stat().ok()?;
    Some(ThreadInfo {
        name: stat.comm,
        state: state_name(stat.state).to_string(),
        nspid: task.status().ok().and_then(|status| nested(status.nspid)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_process() {
        let info = read_process(std::process::id() as i32).expect("own /proc entry");
        assert!(info.executable.starts_with('/'));
        assert!(info.threads.contains_key(&(std::process::id() as i32)));
        assert_ne!(info.state, "unknown");
    }

    #[test]
    fn a_missing_process_is_named() {
        assert!(matches!(read_process(-5), Err(ProcInfoError::NoSuchProcess(-5))));
        assert!(matches!(
            read_process(i32::MAX),
            Err(ProcInfoError::NoSuchProcess(_))
        ));
    }
}
