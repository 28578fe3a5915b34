//! The C ABI: the only `#[no_mangle]` code of the crate. `build.rs` turns this module into
//! `include/pmodule.h` with cbindgen.
//!
//! For now it holds the embedding entry points: a C program creates a session, snapshots a pid,
//! gets the snapshot as JSON text and frees what it got. Every function catches panics (none
//! crosses into C) and checks its pointers (NULL gives an error result, never a crash).

use crate::session::{Session, SessionOptions};
use crate::snapshot;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A snapshot session (opaque). Create with `ptrace_session_create`, free with
/// `ptrace_session_free`.
#[allow(non_camel_case_types)]
pub struct ptrace_session_t {
    session: Session,
    last_error: std::sync::Mutex<CString>,
}

impl ptrace_session_t {
    fn set_error(&self, message: &str) {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = text;
        }
    }
}

/// Success.
pub const PTRACE_OK: c_int = 0;
/// An argument was NULL or invalid.
pub const PTRACE_EINVAL: c_int = 1;
/// The snapshot failed; `ptrace_session_last_error` says why.
pub const PTRACE_EFAILED: c_int = 2;
/// A bug inside libptrace (a caught panic); the target was resumed.
pub const PTRACE_EINTERNAL: c_int = 3;

/// Creates a session with default options. Returns NULL only if allocation fails. The caller
/// owns the result and frees it with `ptrace_session_free`.
#[no_mangle]
pub extern "C" fn ptrace_session_create() -> *mut ptrace_session_t {
    catch_unwind(|| {
        Box::into_raw(Box::new(ptrace_session_t {
            session: Session::new(SessionOptions::default()),
            last_error: std::sync::Mutex::new(CString::default()),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees a session. NULL is ignored.
///
/// # Safety
/// `session` is NULL or a pointer returned by `ptrace_session_create` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_free(session: *mut ptrace_session_t) {
    if session.is_null() {
        return;
    }
    // SAFETY: the caller passes a pointer from ptrace_session_create, freed only once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(session) })));
}

/// Stops process `pid`, captures it, resumes it and stores the snapshot's JSON text in `*json_out`
/// (NUL-terminated; the caller owns it and frees it with `ptrace_string_free`). Returns
/// `PTRACE_OK`, or an error code with `*json_out` set to NULL and the reason in
/// `ptrace_session_last_error`. NULL `session` or `json_out` gives `PTRACE_EINVAL`.
///
/// # Safety
/// `session` is NULL or a live session; `json_out` is NULL or points to writable storage for a
/// pointer. Only `ptrace_session_abort` may be called on the session from another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_snapshot_pid(
    session: *mut ptrace_session_t,
    pid: c_int,
    json_out: *mut *mut c_char,
) -> c_int {
    if session.is_null() || json_out.is_null() {
        return PTRACE_EINVAL;
    }
    // SAFETY: checked non-NULL; the caller guarantees both point to live storage. The session is
    // only shared (abort may be called from another thread), never borrowed mutably.
    let (session, json_out) = unsafe { (&*session, &mut *json_out) };
    *json_out = std::ptr::null_mut();
    let result = catch_unwind(AssertUnwindSafe(|| session.session.snapshot_pid(pid)));
    match result {
        Ok(Ok(snap)) => match CString::new(snapshot::output::to_json(&snap)) {
            Ok(text) => {
                *json_out = text.into_raw();
                PTRACE_OK
            }
            Err(_) => {
                session.set_error("the snapshot text contains a NUL byte");
                PTRACE_EFAILED
            }
        },
        Ok(Err(error)) => {
            session.set_error(&error.to_string());
            PTRACE_EFAILED
        }
        Err(_) => {
            session.set_error("internal error: libptrace panicked; the target was resumed");
            PTRACE_EINTERNAL
        }
    }
}

/// The last error of `session` as a NUL-terminated string owned by the session (valid until the
/// next call on it or its free); "" when none; NULL when `session` is NULL.
///
/// # Safety
/// `session` is NULL or a live session.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_last_error(session: *const ptrace_session_t) -> *const c_char {
    if session.is_null() {
        return std::ptr::null();
    }
    // SAFETY: checked non-NULL; the caller guarantees it is live. The pointer stays valid until
    // the slot is replaced by the next failing call, as documented.
    match unsafe { (*session).last_error.lock() } {
        Ok(slot) => slot.as_ptr(),
        Err(_) => std::ptr::null(),
    }
}

/// Asks a snapshot in progress on `session` (in another thread) to stop: the target is detached
/// and resumed, and the call returns an error. Safe to call from a signal handler's thread.
/// NULL is ignored.
///
/// # Safety
/// `session` is NULL or a live session.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_abort(session: *const ptrace_session_t) {
    if session.is_null() {
        return;
    }
    // SAFETY: checked non-NULL; the caller guarantees it is live. Only an atomic flag is touched.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*session).session.abort_flag().abort()
    }));
}

/// Frees a string returned by libptrace (e.g. by `ptrace_session_snapshot_pid`). NULL is ignored.
///
/// # Safety
/// `text` is NULL or a string returned by libptrace, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ptrace_string_free(text: *mut c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: the string came from CString::into_raw in this library and is freed once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { CString::from_raw(text) })));
}
