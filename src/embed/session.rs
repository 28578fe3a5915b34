//! Sessions for C programs (`ptrace_session_*`): a C program creates a session, sets its options
//! by the CLI's names, loads modules, snapshots a pid, a program it runs (`--exec`) or a core,
//! gets the snapshot as JSON text or writes it to a file, and frees what it got. Every function
//! catches panics (none crosses into C) and checks its pointers (NULL gives an error result,
//! never a crash).

use crate::abort::AbortFlag;
use crate::module_abi::guard::text;
use crate::session::named::set_named_option;
use crate::session::{ExecResult, Session, SessionError, SessionOptions};
use crate::snapshot::{self, Snapshot};
use crate::tracer::ChildEnd;
use std::ffi::{c_char, c_int, CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A snapshot session (opaque). Create with `ptrace_session_create`, set options with
/// `ptrace_session_set_option`, free with `ptrace_session_free`.
#[allow(non_camel_case_types)]
pub struct ptrace_session_t {
    /// The options set so far.
    options: Mutex<SessionOptions>,
    /// The session built from them (modules loaded), rebuilt after an option changes.
    built: Mutex<Option<Arc<Session>>>,
    /// Shared by every session built, so `ptrace_session_abort` reaches the one running.
    abort: AbortFlag,
    last_error: Mutex<CString>,
}

impl ptrace_session_t {
    fn set_error(&self, message: &str) {
        let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = text;
        }
    }

    /// The session of the current options, built (and its modules loaded) on first use.
    fn session(&self) -> Arc<Session> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = built.as_ref() {
            return session.clone();
        }
        let options = self.options.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let session = Arc::new(Session::with_abort_flag(options, self.abort.clone()));
        *built = Some(session.clone());
        session
    }

    /// Runs `work` with panics caught (none may cross into C); an error or a panic becomes the
    /// return code, its reason recorded for `ptrace_session_last_error`.
    fn guarded<T>(&self, work: impl FnOnce() -> Result<T, String>) -> Result<T, c_int> {
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => {
                self.set_error(&message);
                Err(PTRACE_EFAILED)
            }
            Err(_) => {
                self.set_error("internal error: libptrace panicked; the target was resumed");
                Err(PTRACE_EINTERNAL)
            }
        }
    }
}

/// The JSON text of `snap` as a string the C caller frees with `ptrace_string_free`.
fn json_string(snap: &Snapshot) -> Result<*mut c_char, String> {
    CString::new(snapshot::output::to_json(snap))
        .map(CString::into_raw)
        .map_err(|_| "the snapshot text contains a NUL byte".to_string())
}

fn describe(error: SessionError) -> String {
    error.to_string()
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
            options: Mutex::new(SessionOptions::default()),
            built: Mutex::new(None),
            abort: AbortFlag::new(),
            last_error: Mutex::new(CString::default()),
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
    match session.guarded(|| {
        let snap = session.session().snapshot_pid(pid).map_err(describe)?;
        json_string(&snap)
    }) {
        Ok(text) => {
            *json_out = text;
            PTRACE_OK
        }
        Err(code) => code,
    }
}

/// Reads the core file at `core_path` (of a process that ran the executable `exe_path`; NULL:
/// the executable the core names) and stores the snapshot's JSON text in `*json_out`, as
/// `ptrace_session_snapshot_pid` does for a live process (`process_state` is "core"; the modules
/// get every event). Nothing is stopped. Returns `PTRACE_OK`, `PTRACE_EINVAL` for a NULL
/// `session`, `core_path` or `json_out`, or `PTRACE_EFAILED` with `*json_out` NULL and the
/// reason in `ptrace_session_last_error` (no such file, not a core, a core of another
/// architecture, an executable that is not the core's).
///
/// # Safety
/// `session` is NULL or a live session; `core_path` and `exe_path` are NULL or NUL-terminated
/// strings; `json_out` is NULL or points to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_snapshot_core(
    session: *mut ptrace_session_t,
    core_path: *const c_char,
    exe_path: *const c_char,
    json_out: *mut *mut c_char,
) -> c_int {
    if session.is_null() || core_path.is_null() || json_out.is_null() {
        return PTRACE_EINVAL;
    }
    // SAFETY: checked non-NULL; the caller guarantees a live session, valid strings (exe_path
    // may be NULL, checked below) and writable storage.
    let (session, core, json_out) =
        unsafe { (&*session, std::ffi::CStr::from_ptr(core_path), &mut *json_out) };
    // SAFETY: the caller guarantees exe_path is NULL or a NUL-terminated string.
    let exe = (!exe_path.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(exe_path) });
    let core = PathBuf::from(std::ffi::OsStr::from_bytes(core.to_bytes()));
    let exe = exe.map(|e| PathBuf::from(std::ffi::OsStr::from_bytes(e.to_bytes())));
    *json_out = std::ptr::null_mut();
    match session.guarded(|| {
        let snap = session
            .session()
            .snapshot_core(&core, exe.as_deref())
            .map_err(describe)?;
        json_string(&snap)
    }) {
        Ok(text) => {
            *json_out = text;
            PTRACE_OK
        }
        Err(code) => code,
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
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*session).abort.abort() }));
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

/// Sets option `name` of `session` to `value`, with the names and meanings of the `ptrace`
/// CLI's long options (the leading `--` is optional): `application`, `thread`, `fault-thread`,
/// `kv` (`key:value[,key:value...]`), `classifier`, `max-frames`, `depth`, `global`,
/// `no-variables`, `all-registers`, `module-path`, `module-load`, `module` (`id:key,value[,...]`),
/// `sandbox-whitelist`, `lua-instruction-budget`, `lua-memory-limit`,
/// `allow-insecure-modules`, `max-stop-ms`, `no-debuginfod`, `debuginfod-timeout`, and the crash
/// backends `ptrace_session_snapshot_pid_to_file` sends the snapshot to once written:
/// `sentry-dsn`, `sentry-level`, `backtrace-url`, `submit-timeout`, `release`, `environment`,
/// `server-name`. Repeatable options add a value per call; flags take
/// "true"/"false"/"1"/"0" ("" is true). Modules are (re)loaded by the next
/// `ptrace_session_load_modules` or snapshot. Returns `PTRACE_OK`, `PTRACE_EINVAL` for a NULL
/// argument, or `PTRACE_EFAILED` for an unknown name or a bad value (the reason in
/// `ptrace_session_last_error`). The strings are copied.
///
/// # Safety
/// `session` is NULL or a live session not in use by another thread; `name` and `value` are
/// NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_set_option(
    session: *mut ptrace_session_t,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    if session.is_null() {
        return PTRACE_EINVAL;
    }
    // SAFETY: checked non-NULL; the caller guarantees a live session and valid strings.
    let (session, name, value) = unsafe { (&*session, text(name), text(value)) };
    let (Some(name), Some(value)) = (name, value) else {
        return PTRACE_EINVAL;
    };
    match session.guarded(|| {
        let mut options = session.options.lock().unwrap_or_else(|e| e.into_inner());
        set_named_option(&mut options, &name, &value)?;
        *session.built.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }) {
        Ok(()) => PTRACE_OK,
        Err(code) => code,
    }
}

/// Loads the modules named by the options `module-path` and `module-load` now (otherwise the
/// first snapshot does). A module that fails to load is reported on stderr (one line naming the
/// file and the reason) and skipped. Stores the number of modules loaded in `*count_out` when
/// `count_out` is not NULL. Returns `PTRACE_OK`, `PTRACE_EINVAL` for a NULL session.
///
/// # Safety
/// `session` is NULL or a live session not in use by another thread; `count_out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_load_modules(
    session: *mut ptrace_session_t,
    count_out: *mut usize,
) -> c_int {
    if session.is_null() {
        return PTRACE_EINVAL;
    }
    // SAFETY: checked non-NULL; the caller guarantees a live session.
    let session = unsafe { &*session };
    match session.guarded(|| {
        Ok(session
            .session()
            .module_host()
            .map_or(0, |h| h.module_ids().len()))
    }) {
        Ok(count) => {
            if !count_out.is_null() {
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { *count_out = count };
            }
            PTRACE_OK
        }
        Err(code) => code,
    }
}

/// Snapshots process `pid` like `ptrace_session_snapshot_pid` and writes the JSON to `path`;
/// when `path` is a directory, into it as `<application>.<pid>.<unix-time>.json` (the CLI's
/// name). Then, when the options name crash backends (`sentry-dsn`, `backtrace-url`), sends it
/// to them: a failed submission is `PTRACE_EFAILED` with the reason, the file kept. When `path_out` is not NULL, `*path_out` gets the path written (the caller frees it
/// with `ptrace_string_free`), or NULL on error. NULL `session` or `path` gives
/// `PTRACE_EINVAL`.
///
/// # Safety
/// As `ptrace_session_snapshot_pid`; `path` is NULL or a NUL-terminated string; `path_out` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_snapshot_pid_to_file(
    session: *mut ptrace_session_t,
    pid: c_int,
    path: *const c_char,
    path_out: *mut *mut c_char,
) -> c_int {
    if session.is_null() || path.is_null() {
        return PTRACE_EINVAL;
    }
    if !path_out.is_null() {
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *path_out = std::ptr::null_mut() };
    }
    // SAFETY: checked non-NULL; the caller guarantees a live session and a valid string.
    let (session, path) = unsafe { (&*session, std::ffi::CStr::from_ptr(path)) };
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(path.to_bytes()));
    match session.guarded(|| {
        let snap = session.session().snapshot_pid(pid).map_err(describe)?;
        let target = if path.is_dir() {
            path.join(snapshot::output::default_file_name(&snap))
        } else {
            path.clone()
        };
        write(&snap, &target)?;
        // Once written, the target running again: the backends the options name.
        let built = session.session();
        for result in crate::backends::submit_all(&snap, &built.options().backends) {
            result.map_err(|e| format!("{e} (the snapshot was written to {})", target.display()))?;
        }
        CString::new(target.as_os_str().as_bytes()).map_err(|_| "the path contains a NUL byte".to_string())
    }) {
        Ok(written) => {
            if !path_out.is_null() {
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { *path_out = written.into_raw() };
            }
            PTRACE_OK
        }
        Err(code) => code,
    }
}

fn write(snap: &Snapshot, path: &Path) -> Result<(), String> {
    // The error names the path and the reason.
    snapshot::output::write_file(snap, path).map_err(|e| e.to_string())
}

/// Runs the program `argv[0]` with arguments `argv[1..]` (`argv` ends with a NULL pointer)
/// traced until it exits or a thread gets a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
/// SIGABRT, SIGTRAP, SIGSYS), like `ptrace --exec`. On a fatal signal the program is
/// snapshotted, then the signal takes its course: `*json_out` gets the snapshot's JSON (free it
/// with `ptrace_string_free`). When it ended without one, `*json_out` is NULL. Either way
/// `*exit_status` (when not NULL) gets how it ended as a shell reports it: the exit code, or
/// 128 + the signal. Returns `PTRACE_OK`, `PTRACE_EINVAL` for a NULL `session`, `argv`,
/// `argv[0]` or `json_out`, or `PTRACE_EFAILED` when the program could not be run (reason in
/// `ptrace_session_last_error`).
///
/// # Safety
/// `session` is NULL or a live session; `argv` is NULL or a NULL-terminated array of
/// NUL-terminated strings; `json_out` and `exit_status` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ptrace_session_run_and_catch(
    session: *mut ptrace_session_t,
    argv: *const *const c_char,
    json_out: *mut *mut c_char,
    exit_status: *mut c_int,
) -> c_int {
    if session.is_null() || argv.is_null() || json_out.is_null() {
        return PTRACE_EINVAL;
    }
    // SAFETY: checked non-NULL; the caller guarantees live storage.
    let (session, json_out) = unsafe { (&*session, &mut *json_out) };
    *json_out = std::ptr::null_mut();
    let mut args: Vec<OsString> = Vec::new();
    for i in 0.. {
        // SAFETY: the caller guarantees a NULL-terminated array; we stop at the NULL.
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            break;
        }
        // SAFETY: a non-NULL element: a NUL-terminated string by the caller's guarantee.
        let bytes = unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes();
        args.push(std::ffi::OsStr::from_bytes(bytes).to_os_string());
    }
    let Some((program, rest)) = args.split_first() else {
        return PTRACE_EINVAL;
    };
    match session.guarded(
        || match session.session().run_and_catch(program, rest).map_err(describe)? {
            ExecResult::Crashed { snapshot, end } => Ok((json_string(&snapshot)?, end)),
            ExecResult::Ended(end) => Ok((std::ptr::null_mut(), end)),
        },
    ) {
        Ok((text, end)) => {
            *json_out = text;
            if !exit_status.is_null() {
                let status = match end {
                    ChildEnd::Exited(code) => code,
                    ChildEnd::Signaled(signal) => 128 + signal,
                };
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { *exit_status = status };
            }
            PTRACE_OK
        }
        Err(code) => code,
    }
}
