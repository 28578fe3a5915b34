//! Starting the `--exec` program: fork, the child stops itself, we seize it, it execs.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::ptrace::Options;
use nix::unistd::AccessFlags;

use super::error::TracerError;
use super::ptrace_ops;
use super::tracees::{await_stop, Arrival, Collect};
use super::wait::{wait_for, WaitEvent};

/// `PATH` when the environment has none (as `execvp` does).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A forked child, seized and running towards its `exec`.
#[derive(Debug)]
pub(crate) struct SpawnedChild {
    /// Its pid (also its leader thread's tid).
    pub(crate) pid: i32,
    /// Read end of a close-on-exec pipe: EOF once the exec succeeded, else the child's errno.
    exec_status: File,
}

impl SpawnedChild {
    /// The errno of the child's failed exec, if it reported one. Call once the child has ended.
    pub(crate) fn exec_errno(&mut self) -> Option<i32> {
        let mut bytes = [0u8; 4];
        self.exec_status
            .read_exact(&mut bytes)
            .ok()
            .map(|()| i32::from_ne_bytes(bytes))
    }
}

/// Forks `program` with `args` (found in `PATH` like `execvp` does), stopped before its `exec`,
/// seizes it with `options` and lets it go on. The caller's thread becomes its tracer.
pub(crate) fn spawn_seized(
    program: &OsStr,
    args: &[OsString],
    options: Options,
) -> Result<SpawnedChild, TracerError> {
    let name = program.to_string_lossy().into_owned();
    let exec_error = |source| TracerError::Exec {
        program: name.clone(),
        source,
    };
    let path = resolve_program(program).map_err(exec_error)?;
    let nul_error = || {
        exec_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "contains a NUL byte",
        ))
    };
    let path = CString::new(path.into_os_string().into_encoded_bytes()).map_err(|_| nul_error())?;
    let argv = std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|arg| CString::new(arg.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| nul_error())?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|arg| arg.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());

    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| TracerError::os("creating the exec status pipe", e))?;
    // SAFETY: the child runs only `exec_in_child`, which makes async-signal-safe calls on data
    // prepared above (valid C strings, a NULL-terminated pointer array, an open descriptor) and
    // never returns; the parent goes on as usual.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; the pointers outlive the call since the child never returns.
        unsafe { exec_in_child(path.as_ptr(), argv_ptrs.as_ptr(), write_end.as_raw_fd()) }
    }
    if pid < 0 {
        return Err(TracerError::os(format!("fork for {name}"), Errno::last()));
    }
    drop(write_end);
    let child = SpawnedChild {
        pid,
        exec_status: File::from(read_end),
    };
    seize_stopped_child(pid, options).inspect_err(|_| kill_and_reap(pid))?;
    Ok(child)
}

/// Waits for the child's self-stop, seizes it and lets it run on to its exec.
fn seize_stopped_child(pid: i32, options: Options) -> Result<(), TracerError> {
    loop {
        match wait_for(pid, libc::WUNTRACED).map_err(|e| TracerError::os(format!("waitpid({pid})"), e))? {
            Some((_, WaitEvent::SignalStop(libc::SIGSTOP))) => break,
            Some((_, event)) if event.is_end() => {
                return Err(TracerError::os(
                    format!("child {pid} ended before it could be traced"),
                    Errno::ECHILD,
                ))
            }
            _ => {}
        }
    }
    ptrace_ops::seize(pid, options)
        .map_err(|e| TracerError::os(format!("PTRACE_SEIZE of child {pid}"), e))?;
    // Seizing a stopped process makes it report a ptrace-stop: collect it.
    match await_stop(pid, pid, Collect::Consume).map_err(|e| TracerError::os(format!("waitpid({pid})"), e))? {
        Arrival::Stopped { .. } => {}
        Arrival::Gone(_) => return Err(TracerError::os(format!("child {pid} vanished"), Errno::ESRCH)),
    }
    // End the job-control stop properly (a left-over stopped state would be reinstated when we
    // detach), then resume it; the SIGCONT it receives is passed through by the event loop.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT)
        .map_err(|e| TracerError::os(format!("SIGCONT to child {pid}"), e))?;
    ptrace_ops::cont(pid, 0).map_err(|e| TracerError::os(format!("PTRACE_CONT of child {pid}"), e))
}

/// Kills a child we failed to set up and collects it.
fn kill_and_reap(pid: i32) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    while let Ok(Some((_, event))) = wait_for(pid, libc::__WALL) {
        if event.is_end() {
            break;
        }
    }
}

/// The file `execvp` would run for `program`: itself when it contains a `/`, else the first
/// executable regular file of that name in `PATH`.
fn resolve_program(program: &OsStr) -> std::io::Result<PathBuf> {
    if program.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "empty program name",
        ));
    }
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&search)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            }
        })
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not found in PATH"))
}

/// Whether `path` is a regular file we may execute.
fn is_executable_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file()) && nix::unistd::access(path, AccessFlags::X_OK).is_ok()
}

/// The child's side, between `fork` and `exec`: unblock signals, restore `SIGPIPE`, stop until
/// the parent has seized us, exec; on failure send `errno` through the pipe and exit 127.
///
/// # Safety
/// `path` and the `argv` entries must be valid NUL-terminated strings, `argv` NULL-terminated,
/// and this must run in a freshly forked child: it only makes async-signal-safe calls.
unsafe fn exec_in_child(
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    status_fd: libc::c_int,
) -> ! {
    // SAFETY: this runs in the child just forked by spawn_seized (its only caller), where only
    // async-signal-safe calls are allowed: sigemptyset, sigprocmask, signal, raise, execv, write
    // and _exit are. `no_signals` is local; `path` and `argv` point to the CStrings and the
    // NULL-terminated pointer array spawn_seized built before the fork, which the child's copy of
    // its memory keeps (this function never returns); errno is read through the thread's own
    // __errno_location; `status_fd` is the pipe's write end, open in the child.
    unsafe {
        let mut no_signals: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut no_signals);
        libc::sigprocmask(libc::SIG_SETMASK, &no_signals, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGSTOP);
        libc::execv(path, argv);
        let errno = (*libc::__errno_location()).to_ne_bytes();
        libc::write(status_fd, errno.as_ptr().cast(), errno.len());
        libc::_exit(127)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_in_path_or_taken_as_paths() {
        let sh = resolve_program(OsStr::new("sh")).expect("sh is in PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"));
        assert_eq!(
            resolve_program(OsStr::new("./x")).ok(),
            Some(PathBuf::from("./x"))
        );
        let missing = resolve_program(OsStr::new("no-such-program-xyz")).expect_err("not in PATH");
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        assert!(resolve_program(OsStr::new("")).is_err());
    }
}
