//! Reading the snapshot's objects from C: the backtrace, its threads, their frames, the
//! variables of frames, threads (TLS) and the process (globals), through counts and index
//! accessors. Every handle returned belongs to the callback running now (valid until it
//! returns); every string returned is owned by libptrace with the same lifetime. NULL or stale
//! handles give NULL, 0 or false.

use super::context::{self, ptrace_backtrace_t, ptrace_frame_t, ptrace_thread_t, ptrace_variable_t};
use super::guard::{ffi_guard, unusable};
use super::live;
use crate::pmodule::values::{pretty_type_name, scalar_value, value_kind};
use crate::pmodule::{FrameRef, ProcessState, ScalarValue, SigInfo, ThreadRef, VarOwner, VarPath, VarRef};
use std::ffi::{c_char, c_int, c_longlong, c_uint};

pub(crate) fn thread_of(t: *const ptrace_thread_t) -> Option<ThreadRef> {
    live::get(t).map(|h| h.thread)
}

pub(crate) fn frame_of(f: *const ptrace_frame_t) -> Option<FrameRef> {
    live::get(f).map(|h| h.frame)
}

pub(crate) fn var_of(v: *const ptrace_variable_t) -> Option<VarRef> {
    live::get(v).map(|h| h.var)
}

pub(crate) fn backtrace_live(b: *const ptrace_backtrace_t) -> bool {
    live::with(b, |_| ()).is_some()
}

/// Counts the variables of `owner`.
fn owner_count(owner: VarOwner) -> usize {
    context::with_scene(|s| s.owner_list(owner).map(|l| l.len()).unwrap_or(0)).unwrap_or(0)
}

/// A handle on variable `index` of `owner`, NULL when out of range.
fn owner_var(owner: VarOwner, index: usize) -> *mut ptrace_variable_t {
    let path = VarPath::top(owner, index);
    let exists = context::with_scene(|s| s.var(&VarRef::Node(path.clone())).is_ok()).unwrap_or(false);
    if exists {
        context::var_handle(VarRef::Node(path))
    } else {
        std::ptr::null_mut()
    }
}

// ---- backtrace -----------------------------------------------------------------------------

/// The backtrace of the snapshot being built (valid until the callback returns); NULL outside
/// a callback.
#[no_mangle]
pub extern "C" fn pmodule_backtrace_get() -> *mut ptrace_backtrace_t {
    ffi_guard!(std::ptr::null_mut(), { context::backtrace_handle() })
}

/// The process id, or -1 when `bt` is NULL or stale.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_pid(bt: *mut ptrace_backtrace_t) -> c_int {
    ffi_guard!(-1, {
        if !backtrace_live(bt) {
            return -1;
        }
        context::with_scene(|s| s.snapshot().map(|s| s.pid).unwrap_or(-1)).unwrap_or(-1)
    })
}

/// The program's name (owned by libptrace, valid until the callback returns); NULL on error.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_application_name(bt: *mut ptrace_backtrace_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        if !backtrace_live(bt) {
            return std::ptr::null();
        }
        let name = context::with_scene(|s| s.snapshot().ok().map(|s| s.application.clone())).flatten();
        context::scoped_str(name)
    })
}

/// The process state (a `PMODULE_PROCESS_STATE_*` value), or -1 on error.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_process_state(bt: *mut ptrace_backtrace_t) -> c_int {
    ffi_guard!(-1, {
        if !backtrace_live(bt) {
            return -1;
        }
        context::with_scene(|s| {
            s.snapshot()
                .map(|s| ProcessState::from_snapshot(&s.process_state).value() as c_int)
                .unwrap_or(-1)
        })
        .unwrap_or(-1)
    })
}

/// The number of threads (0 on error).
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_thread_count(bt: *mut ptrace_backtrace_t) -> usize {
    ffi_guard!(0, {
        if !backtrace_live(bt) {
            return 0;
        }
        context::with_scene(|s| s.snapshot().map(|s| s.threads.len()).unwrap_or(0)).unwrap_or(0)
    })
}

/// Thread `index` (0-based), valid until the callback returns; NULL when out of range or on
/// error.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_thread(
    bt: *mut ptrace_backtrace_t,
    index: usize,
) -> *mut ptrace_thread_t {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `bt` is passed on unchanged, and pmodule_backtrace_thread_count asks of it
        // what this function does (NULL or a pointer libptrace gave; it is only looked up).
        if index >= unsafe { pmodule_backtrace_thread_count(bt) } {
            return std::ptr::null_mut();
        }
        context::thread_handle(ThreadRef(index))
    })
}

/// The number of global variables in the snapshot (0 on error).
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_global_count(bt: *mut ptrace_backtrace_t) -> usize {
    ffi_guard!(0, {
        if !backtrace_live(bt) {
            return 0;
        }
        owner_count(VarOwner::Global)
    })
}

/// Global variable `index` of the snapshot, valid until the callback returns; NULL when out of
/// range or on error.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_global(
    bt: *mut ptrace_backtrace_t,
    index: usize,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        if !backtrace_live(bt) {
            return std::ptr::null_mut();
        }
        owner_var(VarOwner::Global, index)
    })
}

// ---- thread --------------------------------------------------------------------------------

/// The thread id, or -1 on error.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_tid(thr: *mut ptrace_thread_t) -> c_int {
    ffi_guard!(-1, {
        let Some(t) = thread_of(thr) else { return -1 };
        context::with_scene(|s| s.thread(t).map(|t| t.tid).unwrap_or(-1)).unwrap_or(-1)
    })
}

/// Whether the thread faulted (false on error).
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_fault(thr: *mut ptrace_thread_t) -> bool {
    ffi_guard!(false, {
        let Some(t) = thread_of(thr) else { return false };
        context::with_scene(|s| s.thread(t).map(|t| t.fault).unwrap_or(false)).unwrap_or(false)
    })
}

/// The number of frames of the thread (0 on error).
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_frame_count(thr: *mut ptrace_thread_t) -> usize {
    ffi_guard!(0, {
        let Some(t) = thread_of(thr) else { return 0 };
        context::with_scene(|s| s.thread(t).map(|t| t.frames.len()).unwrap_or(0)).unwrap_or(0)
    })
}

/// Frame `index` of the thread (0 innermost), valid until the callback returns; NULL when out
/// of range or on error.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_frame(
    thr: *mut ptrace_thread_t,
    index: usize,
) -> *mut ptrace_frame_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(t) = thread_of(thr) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `thr` is passed on unchanged, and pmodule_thread_frame_count asks of it what
        // this function does (NULL or a pointer libptrace gave; it is only looked up).
        if index >= unsafe { pmodule_thread_frame_count(thr) } {
            return std::ptr::null_mut();
        }
        context::frame_handle(FrameRef::Node {
            thread: t.0,
            frame: index,
        })
    })
}

/// The number of thread-local variables of the thread (0 on error).
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_variable_count(thr: *mut ptrace_thread_t) -> usize {
    ffi_guard!(0, {
        let Some(t) = thread_of(thr) else { return 0 };
        owner_count(VarOwner::ThreadLocal { thread: t.0 })
    })
}

/// Thread-local variable `index` of the thread; NULL when out of range or on error.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_variable(
    thr: *mut ptrace_thread_t,
    index: usize,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(t) = thread_of(thr) else {
            return std::ptr::null_mut();
        };
        owner_var(VarOwner::ThreadLocal { thread: t.0 }, index)
    })
}

// ---- frame ---------------------------------------------------------------------------------

fn frame_text(
    f: *const ptrace_frame_t,
    pick: impl FnOnce(&crate::snapshot::Frame) -> Option<String>,
) -> *const c_char {
    let Some(frame) = frame_of(f) else {
        return std::ptr::null();
    };
    let text = context::with_scene(|s| s.frame(frame).ok().and_then(pick)).flatten();
    context::scoped_str(text)
}

/// The frame's function name (demangled), owned by libptrace until the callback returns; NULL
/// when unknown or on error.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_symbol(fr: *mut ptrace_frame_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), { frame_text(fr, |f| f.symbol.clone()) })
}

/// The frame's source path (as `pmodule_frame_symbol`).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_path(fr: *mut ptrace_frame_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), { frame_text(fr, |f| f.file.clone()) })
}

/// The frame's object file path (as `pmodule_frame_symbol`).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_object_file(fr: *mut ptrace_frame_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), { frame_text(fr, |f| f.object.clone()) })
}

/// The frame's source line, 0 when unknown or on error.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_line(fr: *mut ptrace_frame_t) -> c_uint {
    ffi_guard!(0, {
        let Some(frame) = frame_of(fr) else { return 0 };
        context::with_scene(|s| s.frame(frame).ok().and_then(|f| f.line))
            .flatten()
            .unwrap_or(0)
    })
}

/// The frame's instruction address, 0 on error.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_instruction(fr: *mut ptrace_frame_t) -> u64 {
    ffi_guard!(0, {
        let Some(frame) = frame_of(fr) else { return 0 };
        context::with_scene(|s| s.frame(frame).map(|f| f.pc.0).unwrap_or(0)).unwrap_or(0)
    })
}

/// The thread of the frame (NULL for a created frame not inserted, or on error).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_thread(fr: *mut ptrace_frame_t) -> *mut ptrace_thread_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(frame) = frame_of(fr) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.frame_thread(frame).ok().flatten()).flatten() {
            Some(t) => context::thread_handle(t),
            None => std::ptr::null_mut(),
        }
    })
}

/// The number of variables of the frame (top level; 0 on error).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_variable_count(fr: *mut ptrace_frame_t) -> usize {
    ffi_guard!(0, {
        let Some(frame) = frame_of(fr) else { return 0 };
        context::with_scene(|s| s.frame(frame).map(|f| f.variables.len()).unwrap_or(0)).unwrap_or(0)
    })
}

/// Variable `index` of the frame; NULL when out of range or on error.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_variable(
    fr: *mut ptrace_frame_t,
    index: usize,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(frame) = frame_of(fr) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.frame_owner(frame).ok()).flatten() {
            Some(owner) => owner_var(owner, index),
            None => std::ptr::null_mut(),
        }
    })
}

/// The number of parameters of the frame (0 on error).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_parameter_count(fr: *mut ptrace_frame_t) -> usize {
    ffi_guard!(0, {
        let Some(frame) = frame_of(fr) else { return 0 };
        context::with_scene(|s| s.frame_parameters(frame).map(|p| p.len()).unwrap_or(0)).unwrap_or(0)
    })
}

/// Parameter `index` (0-based) of the frame; NULL when out of range or on error.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_parameter(
    fr: *mut ptrace_frame_t,
    index: usize,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(frame) = frame_of(fr) else {
            return std::ptr::null_mut();
        };
        let found = context::with_scene(|s| {
            s.frame_parameters(frame)
                .ok()
                .and_then(|p| p.into_iter().nth(index).map(|(v, _)| v))
        })
        .flatten();
        match found {
            Some(v) => context::var_handle(v),
            None => std::ptr::null_mut(),
        }
    })
}

/// The signal of a faulting frame.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pmodule_siginfo_t {
    /// Signal number.
    pub num: c_int,
    /// `si_code`.
    pub code: c_int,
    /// Whether `address` is meaningful.
    pub address_populated: bool,
    /// The faulting address.
    pub address: u64,
    /// Whether a process sent it (`kill`) rather than the kernel.
    pub sent_by_kill: bool,
    /// The reason as text; owned by libptrace until the callback returns.
    pub reason: *const c_char,
    /// `SIGSEGV (11): ..., code 1, address 0x10`; owned by libptrace until the callback returns.
    pub text: *const c_char,
}

/// Fills `*out` with the signal of the frame: true for the faulting frame of a thread with a
/// signal, false otherwise (or when an argument is NULL or stale).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_siginfo(fr: *mut ptrace_frame_t, out: *mut pmodule_siginfo_t) -> bool {
    ffi_guard!(false, {
        let Some(frame) = frame_of(fr) else { return false };
        if unusable(out) {
            return false;
        }
        let info = context::with_scene(|s| {
            let f = s.frame(frame).ok()?;
            if !f.fault {
                return None;
            }
            SigInfo::from_fault(s.snapshot().ok()?.fault.as_ref()?)
        })
        .flatten();
        let Some(info) = info else { return false };
        // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
        // module's `pmodule_siginfo_t`, writable as pmodule.h requires.
        unsafe {
            *out = pmodule_siginfo_t {
                num: info.num,
                code: info.code,
                address_populated: info.address.is_some(),
                address: info.address.unwrap_or(0),
                sent_by_kill: info.sent_by_kill(),
                reason: context::scoped_str(Some(info.reason.clone())),
                text: context::scoped_str(Some(info.to_string())),
            };
        }
        true
    })
}

// ---- variable ------------------------------------------------------------------------------

fn var_field<R>(
    v: *const ptrace_variable_t,
    error: R,
    pick: impl FnOnce(&crate::snapshot::Variable) -> R,
) -> R {
    let Some(var) = var_of(v) else { return error };
    match context::with_scene(|s| s.var(&var).ok().map(pick)).flatten() {
        Some(r) => r,
        None => error,
    }
}

/// The variable's name (owned by libptrace until the callback returns); NULL on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_name(var: *mut ptrace_variable_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        context::scoped_str(var_field(var, None, |v| Some(v.name.to_string())))
    })
}

/// The variable's type as Lua's `var:type_name()` writes it: C's text with aggregates written
/// `struct(name)` (`struct(crash) *`; the snapshot's `type` keeps C's text). As
/// `pmodule_variable_name`.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_type_name(var: *mut ptrace_variable_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        context::scoped_str(var_field(var, None, |v| Some(pretty_type_name(&v.type_name))))
    })
}

/// The variable's base type (`crash` for `struct crash *`; as `pmodule_variable_name`).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_base_type(var: *mut ptrace_variable_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        context::scoped_str(var_field(var, None, |v| Some(v.base_type.to_string())))
    })
}

/// The variable's symbol (string contents, enum label, function or pointee symbol; as
/// `pmodule_variable_name`), NULL when none.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_symbol(var: *mut ptrace_variable_t) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        context::scoped_str(var_field(var, None, |v| v.symbol.clone()))
    })
}

/// The kind of the variable's value (a `PMODULE_VARIABLE_TYPE_*` value), as Lua's
/// `var:type()`: a scalar whose value is not known (optimized out, unreadable, skipped) is
/// `PMODULE_VARIABLE_TYPE_BOTTOM` (its C type stays in `pmodule_variable_type_name`). -1 on
/// error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_type(var: *mut ptrace_variable_t) -> c_int {
    ffi_guard!(-1, { var_field(var, -1, |v| value_kind(v).value() as c_int) })
}

/// The variable's address in the target, 0 when it has none or on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_address(var: *mut ptrace_variable_t) -> u64 {
    ffi_guard!(0, { var_field(var, 0, |v| v.address.map_or(0, |a| a.0)) })
}

/// Stores the variable's integer value (ll, ull, enum, reference, fn; ull and addresses wrap to
/// 64 bits) in `*out`: false when it has none or on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_value_ll(
    var: *mut ptrace_variable_t,
    out: *mut c_longlong,
) -> bool {
    ffi_guard!(false, {
        if unusable(out) {
            return false;
        }
        match var_field(var, ScalarValue::None, scalar_value) {
            ScalarValue::Int(i) => {
                // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
                // module's `long long`, writable as pmodule.h requires.
                unsafe { *out = i };
                true
            }
            _ => false,
        }
    })
}

/// Stores the variable's floating point value (flt, dbl, ldbl) in `*out`: false when it has
/// none or on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_value_dbl(var: *mut ptrace_variable_t, out: *mut f64) -> bool {
    ffi_guard!(false, {
        if unusable(out) {
            return false;
        }
        match var_field(var, ScalarValue::None, scalar_value) {
            ScalarValue::Float(x) => {
                // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
                // module's `double`, writable as pmodule.h requires.
                unsafe { *out = x };
                true
            }
            _ => false,
        }
    })
}

/// The number of children (members, elements) of the variable (0 on error).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_child_count(var: *mut ptrace_variable_t) -> usize {
    ffi_guard!(0, { var_field(var, 0, |v| v.children.len()) })
}

/// Child `index` of the variable; NULL when out of range, for a created variable, or on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_child(
    var: *mut ptrace_variable_t,
    index: usize,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(v) = var_of(var) else {
            return std::ptr::null_mut();
        };
        let child = context::with_scene(|s| match s.resolve_var(&v) {
            Ok(VarRef::Node(path)) => {
                let child = VarRef::Node(path.child(index));
                s.var(&child).is_ok().then_some(child)
            }
            _ => None,
        })
        .flatten();
        match child {
            Some(c) => context::var_handle(c),
            None => std::ptr::null_mut(),
        }
    })
}

/// The frame the variable is in (NULL for globals, thread-locals, detached variables and on
/// error).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_frame(var: *mut ptrace_variable_t) -> *mut ptrace_frame_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(v) = var_of(var) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.var_frame(&v).ok().flatten()).flatten() {
            Some(f) => context::frame_handle(f),
            None => std::ptr::null_mut(),
        }
    })
}

/// The variable's depth: 0 for a top-level variable, 1 for its members, ...; -1 on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_depth(var: *mut ptrace_variable_t) -> c_int {
    ffi_guard!(-1, {
        let Some(mut v) = var_of(var) else { return -1 };
        context::with_scene(|s| {
            let mut depth: c_int = 0;
            loop {
                match s.resolve_var(&v) {
                    Ok(VarRef::Node(path)) => return depth + path.indices.len() as c_int - 1,
                    Ok(VarRef::Temp(_)) => match s.var_owner(&v) {
                        Ok(Some(owner)) => {
                            depth += 1;
                            v = owner;
                        }
                        Ok(None) => return depth,
                        Err(_) => return -1,
                    },
                    Err(_) => return -1,
                }
            }
        })
        .unwrap_or(-1)
    })
}
