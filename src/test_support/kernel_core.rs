//! Cores the kernel writes, for tests: a program run with RLIMIT_CORE raised (and, if asked,
//! without address randomisation) until it dumps core in a given folder.
//!
//! Self-contained (std and libc only) so that both the crate's unit tests (`src/core/tests.rs`,
//! through `test_support`) and the integration tests (`tests/cli_core.rs`, through
//! `#[path = "../src/test_support/kernel_core.rs"]`) compile this one copy.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `personality(2)`'s flag that turns address space randomisation off for the new program.
pub const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;

/// Adds to `command` a `pre_exec` that raises RLIMIT_CORE (with `core_limit`) and, with
/// `no_aslr`, turns address randomisation off (both inherited by the programs it runs).
pub fn prepare_child(command: &mut Command, core_limit: bool, no_aslr: bool) {
    // SAFETY: setrlimit and personality are async-signal-safe system calls; nothing else runs
    // between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if core_limit {
                let limit = libc::rlimit {
                    rlim_cur: libc::RLIM_INFINITY,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_CORE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if no_aslr {
                let current = libc::personality(0xffff_ffff);
                if current == -1 || libc::personality(current as libc::c_ulong | ADDR_NO_RANDOMIZE) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The core the kernel writes for `program args` run in `dir` with RLIMIT_CORE raised (and
/// without address randomisation with `no_aslr`), or why there is none.
pub fn kernel_core(program: &Path, args: &[&str], dir: &Path, no_aslr: bool) -> Result<PathBuf, String> {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").map_err(|e| e.to_string())?;
    let pattern = pattern.trim();
    if pattern.is_empty() || pattern.starts_with('|') || pattern.contains('/') {
        return Err(format!(
            "core_pattern is {pattern:?}: cores do not go to a file in the cwd"
        ));
    }
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    prepare_child(&mut command, true, no_aslr);
    let status = command.status().map_err(|e| e.to_string())?;
    use std::os::unix::process::ExitStatusExt as _;
    if !status.core_dumped() {
        return Err(format!(
            "the program ended with {status:?} and no core (core_pattern {pattern:?})"
        ));
    }
    std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_file())
        .ok_or_else(|| format!("the kernel dumped core but no file is in the cwd (core_pattern {pattern:?})"))
}
