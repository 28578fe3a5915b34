//! The `ptrace` command line as a C function: what the installed `bin/ptrace` (a launcher linked
//! against `libptrace.so.0`) calls, so that the CLI and the native modules it loads run on the
//! one copy of the engine in that library.

use crate::module_abi::guard::ffi_guard;
use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStringExt;

/// Runs the `ptrace` command line: `argv[0]` is the program name, `argv[1..argc]` the options
/// and arguments `ptrace --help` lists. Returns the exit status `ptrace` exits with (`--help`,
/// `--version` and usage errors print and exit the process themselves). Call it once per
/// process, from its main thread, before other threads exist (it tunes malloc and installs
/// handlers of SIGINT, SIGTERM and SIGHUP). A NULL `argv` (or NULL entry before `argc`) is
/// taken as an empty command line (status 2, the usage printed).
///
/// # Safety
/// `argv` is NULL or holds `argc` pointers, each NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ptrace_cli_main(argc: c_int, argv: *const *const c_char) -> c_int {
    ffi_guard!(1, {
        let count = usize::try_from(argc).unwrap_or(0);
        let mut args: Vec<OsString> = Vec::with_capacity(count);
        for i in 0..count {
            if argv.is_null() {
                break;
            }
            // SAFETY: `argv` is not NULL (checked above) and `i < argc`: the header requires a
            // non-NULL `argv` to hold `argc` readable pointers, as main's does.
            let arg = unsafe { *argv.add(i) };
            if arg.is_null() {
                break;
            }
            // SAFETY: `arg` is one of those `argc` pointers and not NULL (checked above); the
            // header requires each to be NULL or a C string. Its bytes are copied at once.
            args.push(OsString::from_vec(
                unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec(),
            ));
        }
        if args.is_empty() {
            args.push(OsString::from("ptrace"));
        }
        c_int::from(crate::cli::main(args))
    })
}
