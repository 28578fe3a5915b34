//! Match objects from C (`pmodule_match_*`): the filters of event registration. A match is
//! owned by the caller (`pmodule_match_create` / `pmodule_match_free`); registration copies it.
//! Enumerations coming from C are integers and validated.

use super::context::pmodule_match_t;
use super::guard::{ffi_guard, text};
use super::live;
use crate::pmodule::{FaultScope, Match, MatchType, VariableKind};
use std::ffi::{c_char, c_int};

/// Criteria compare whole texts (object and file: base names).
pub const PMODULE_MATCH_EXACT: c_int = 0;
/// Criteria search substrings (object and file: the full path).
pub const PMODULE_MATCH_SUBSTR: c_int = 1;

/// A new match with no criterion (everything passes). The caller owns it and frees it with
/// `pmodule_match_free`. NULL only if allocation fails.
#[no_mangle]
pub extern "C" fn pmodule_match_create() -> *mut pmodule_match_t {
    ffi_guard!(std::ptr::null_mut(), {
        live::register(pmodule_match_t { filter: Match::new() }, live::PERMANENT)
    })
}

/// Frees a match. NULL and pointers that are not live matches are ignored.
///
/// # Safety
/// `m` is NULL or a pointer from `pmodule_match_create`.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_free(m: *mut pmodule_match_t) {
    ffi_guard!((), {
        live::free(m);
    })
}

/// Removes every criterion. False when `m` is NULL or not live.
///
/// # Safety
/// `m` is NULL or a pointer from `pmodule_match_create`.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_reset(m: *mut pmodule_match_t) -> bool {
    ffi_guard!(false, { live::with(m, |m| m.filter.reset()).is_some() })
}

/// Adds text criterion `add` with `text` and match type `mt`.
///
/// # Safety
/// `text` is NULL or a C string.
unsafe fn add_text(
    m: *mut pmodule_match_t,
    text_ptr: *const c_char,
    mt: c_int,
    add: fn(&mut Match, &str, MatchType),
) -> bool {
    // SAFETY: `text_ptr` is NULL or a C string (this function's precondition, which each caller
    // meets by passing its module's argument); `text` refuses NULL and libptrace's handle addresses
    // and copies the text.
    let Some(value) = (unsafe { text(text_ptr) }) else {
        return false;
    };
    let Some(mode) = MatchType::from_value(i64::from(mt)) else {
        return false;
    };
    live::with(m, |m| add(&mut m.filter, &value, mode)).is_some()
}

/// Adds an object criterion (`mt`: `PMODULE_MATCH_EXACT` or `PMODULE_MATCH_SUBSTR`). False
/// when an argument is NULL, not live, or `mt` is unknown.
///
/// # Safety
/// `m` is NULL or a live match; `object` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_object(
    m: *mut pmodule_match_t,
    object: *const c_char,
    mt: c_int,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `object` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `add_text` needs.
        unsafe { add_text(m, object, mt, Match::add_object) }
    })
}

/// Adds a file (compilation unit) criterion (as `pmodule_match_add_object`).
///
/// # Safety
/// `m` is NULL or a live match; `file` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_file(
    m: *mut pmodule_match_t,
    file: *const c_char,
    mt: c_int,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `file` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `add_text` needs.
        unsafe { add_text(m, file, mt, Match::add_file) }
    })
}

/// Adds a frame symbol criterion (as `pmodule_match_add_object`).
///
/// # Safety
/// `m` is NULL or a live match; `symbol` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_frame_symbol(
    m: *mut pmodule_match_t,
    symbol: *const c_char,
    mt: c_int,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `add_text` needs.
        unsafe { add_text(m, symbol, mt, Match::add_frame_symbol) }
    })
}

/// Adds a variable base type criterion (as `pmodule_match_add_object`).
///
/// # Safety
/// `m` is NULL or a live match; `base_type` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_variable_base_type(
    m: *mut pmodule_match_t,
    base_type: *const c_char,
    mt: c_int,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `base_type` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `add_text` needs.
        unsafe { add_text(m, base_type, mt, Match::add_variable_base_type) }
    })
}

/// Adds a variable name criterion (as `pmodule_match_add_object`).
///
/// # Safety
/// `m` is NULL or a live match; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_variable_name(
    m: *mut pmodule_match_t,
    name: *const c_char,
    mt: c_int,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `name` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `add_text` needs.
        unsafe { add_text(m, name, mt, Match::add_variable_name) }
    })
}

/// Adds a variable kind criterion (`kind`: a `PMODULE_VARIABLE_TYPE_*` value). False when `m`
/// is NULL or not live or `kind` is unknown.
///
/// # Safety
/// `m` is NULL or a live match.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_add_variable_ptrace_type(
    m: *mut pmodule_match_t,
    kind: c_int,
) -> bool {
    ffi_guard!(false, {
        let Some(kind) = VariableKind::from_value(i64::from(kind)) else {
            return false;
        };
        live::with(m, |m| m.filter.add_variable_kind(kind)).is_some()
    })
}

/// Selects faults: with `whole_thread` false, variables of faulting frames, the faulting frames
/// and the threads containing one; with true, everything in the faulting thread. False when `m`
/// is NULL or not live.
///
/// # Safety
/// `m` is NULL or a live match.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_set_fault(m: *mut pmodule_match_t, whole_thread: bool) -> bool {
    ffi_guard!(false, {
        let scope = if whole_thread {
            FaultScope::Thread
        } else {
            FaultScope::Frame
        };
        live::with(m, |m| m.filter.set_fault(scope)).is_some()
    })
}

/// Whether thread `thr` passes `m` (for filtered iteration). False when an argument is NULL or
/// stale.
///
/// # Safety
/// `m` NULL or a live match; `thr` NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_thread(
    m: *mut pmodule_match_t,
    thr: *mut super::context::ptrace_thread_t,
) -> bool {
    ffi_guard!(false, {
        let (Some(m), Some(t)) = (live::get(m), super::objects::thread_of(thr)) else {
            return false;
        };
        super::context::with_scene(|s| s.thread(t).is_ok_and(|t| m.filter.matches_thread(t))).unwrap_or(false)
    })
}

/// Whether frame `fr` passes `m`. False when an argument is NULL or stale, or for a created
/// frame not inserted.
///
/// # Safety
/// `m` NULL or a live match; `fr` NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_frame(
    m: *mut pmodule_match_t,
    fr: *mut super::context::ptrace_frame_t,
) -> bool {
    ffi_guard!(false, {
        let (Some(m), Some(f)) = (live::get(m), super::objects::frame_of(fr)) else {
            return false;
        };
        super::context::with_scene(|s| match s.resolve_frame(f) {
            Ok(crate::pmodule::FrameRef::Node { thread, frame }) => s
                .snapshot()
                .ok()
                .and_then(|snap| snap.threads.get(thread))
                .and_then(|t| t.frames.get(frame).map(|f| m.filter.matches_frame(t, f)))
                .unwrap_or(false),
            _ => false,
        })
        .unwrap_or(false)
    })
}

/// Whether variable `var` passes `m`. False when an argument is NULL or stale.
///
/// # Safety
/// `m` NULL or a live match; `var` NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_match_variable(
    m: *mut pmodule_match_t,
    var: *mut super::context::ptrace_variable_t,
) -> bool {
    ffi_guard!(false, {
        let (Some(m), Some(v)) = (live::get(m), super::objects::var_of(var)) else {
            return false;
        };
        super::context::with_scene(|s| s.var_matches(&v, &m.filter).unwrap_or(false)).unwrap_or(false)
    })
}
