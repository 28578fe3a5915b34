//! The tracer's error type.

use super::ending::TargetDeath;
use super::permission::permission_hint;

/// Why stopping, reading or resuming a process failed.
#[derive(Debug, thiserror::Error)]
pub enum TracerError {
    /// No process has this pid (it never existed or has already been reaped).
    #[error("no process with pid {pid}")]
    NoSuchProcess {
        /// The pid asked for.
        pid: i32,
    },
    /// The process exists but has no thread with this tid (`--thread`).
    #[error("process {pid} has no thread {tid}")]
    NoSuchThread {
        /// The process asked for.
        pid: i32,
        /// The thread asked for.
        tid: i32,
    },
    /// The kernel refused to let us trace the process.
    #[error("permission denied: not allowed to trace process {pid}: {hint}")]
    PermissionDenied {
        /// The process we tried to trace.
        pid: i32,
        /// What to do about it.
        hint: String,
    },
    /// The pid is a kernel thread: no user-space threads or memory to snapshot.
    #[error("process {pid} ({name}) is a kernel thread: it has no user-space threads or memory to snapshot")]
    KernelThread {
        /// The pid asked for.
        pid: i32,
        /// Its name.
        name: String,
    },
    /// A process cannot trace itself (the kernel refuses; use a second process).
    #[error("process {pid} is this process: a process cannot stop and trace itself")]
    SelfTrace {
        /// Our own pid.
        pid: i32,
    },
    /// The process (its leader thread) ended while it was being stopped or captured.
    #[error("process {pid} {death} while it was being stopped")]
    ProcessExited {
        /// The process that went away.
        pid: i32,
        /// How it ended, as far as known.
        death: TargetDeath,
    },
    /// The caller's [`AbortFlag`](crate::abort::AbortFlag) was set; every thread was resumed.
    #[error("aborted on request; every thread of the target was resumed")]
    Aborted,
    /// The `--exec` program could not be started.
    #[error("cannot run {program}: {source}")]
    Exec {
        /// The program as given.
        program: String,
        /// Why it could not run (not found, not executable, not a valid binary...).
        source: std::io::Error,
    },
    /// A `/proc` file of the target could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    ProcFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A system call failed where it should not have.
    #[error("{what}: {source}")]
    Os {
        /// What we were doing, naming the thread or process.
        what: String,
        /// The error the kernel returned.
        source: nix::Error,
    },
}

impl TracerError {
    /// An [`Os`](TracerError::Os) error for `what`.
    pub(crate) fn os(what: impl Into<String>, source: nix::Error) -> Self {
        Self::Os {
            what: what.into(),
            source,
        }
    }
}

impl TracerError {
    /// The error for a process we may not trace (or whose `/proc` files we may not read), with
    /// the hint of what to do.
    pub fn permission_denied(pid: i32) -> Self {
        TracerError::PermissionDenied {
            pid,
            hint: permission_hint(pid, pid),
        }
    }
}
