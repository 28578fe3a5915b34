//! The embedding API called from Rust: options set by their CLI names, and NULL or invalid
//! arguments giving error codes rather than crashes.

use super::session::*;
use std::ffi::CString;

#[test]
fn session_options_by_cli_name_and_null_arguments() {
    let s = ptrace_session_create();
    let name = CString::new("depth").unwrap();
    let good = CString::new("4").unwrap();
    let bad = CString::new("four").unwrap();
    // SAFETY: a live session and NUL-terminated strings (or NULL, which the API refuses).
    unsafe {
        assert_eq!(
            ptrace_session_set_option(s, name.as_ptr(), good.as_ptr()),
            PTRACE_OK
        );
        assert_eq!(
            ptrace_session_set_option(s, name.as_ptr(), bad.as_ptr()),
            PTRACE_EFAILED
        );
        let why = std::ffi::CStr::from_ptr(ptrace_session_last_error(s)).to_string_lossy();
        assert!(why.contains("--depth"), "{why}");
        assert_eq!(
            ptrace_session_set_option(s, std::ptr::null(), good.as_ptr()),
            PTRACE_EINVAL
        );
        assert_eq!(
            ptrace_session_set_option(std::ptr::null_mut(), name.as_ptr(), good.as_ptr()),
            PTRACE_EINVAL
        );
        let mut count = 7usize;
        assert_eq!(ptrace_session_load_modules(s, &mut count), PTRACE_OK);
        assert_eq!(count, 0);
        let mut json = std::ptr::null_mut();
        assert_eq!(
            ptrace_session_run_and_catch(s, std::ptr::null(), &mut json, std::ptr::null_mut()),
            PTRACE_EINVAL
        );
        let argv = [std::ptr::null()];
        assert_eq!(
            ptrace_session_run_and_catch(s, argv.as_ptr(), &mut json, std::ptr::null_mut()),
            PTRACE_EINVAL
        );
        assert_eq!(
            ptrace_session_snapshot_pid_to_file(s, 1, std::ptr::null(), std::ptr::null_mut()),
            PTRACE_EINVAL
        );
        let program = CString::new("/bin/true").unwrap();
        let argv = [program.as_ptr(), std::ptr::null()];
        let mut status = -1;
        assert_eq!(
            ptrace_session_run_and_catch(s, argv.as_ptr(), &mut json, &mut status),
            PTRACE_OK
        );
        assert!(json.is_null());
        assert_eq!(status, 0);
        assert_eq!(
            ptrace_session_snapshot_core(s, std::ptr::null(), std::ptr::null(), &mut json),
            PTRACE_EINVAL
        );
        // Not a core: an error naming the file, no JSON.
        assert_eq!(
            ptrace_session_snapshot_core(s, program.as_ptr(), std::ptr::null(), &mut json),
            PTRACE_EFAILED
        );
        assert!(json.is_null());
        let why = std::ffi::CStr::from_ptr(ptrace_session_last_error(s)).to_string_lossy();
        assert!(
            why.starts_with("/bin/true: an ELF file but not a core dump"),
            "{why}"
        );
        ptrace_session_free(s);
    }
}
