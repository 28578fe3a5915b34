//! Variables from C beyond `objects` and `edit`: the rest of Lua's variable methods (`set_enum`,
//! `set_function`, `set_cdbl`, `owner`, `thread`, `backtrace`, `fprm_offset`, `resolved`,
//! `is_string`, complex values) and the variable state of §3 (`pmodule_variable_state`,
//! `pmodule_variable_state_set` with `PTRACE_VARIABLE_S_SKIP`).

use super::context::{self, ptrace_backtrace_t, ptrace_thread_t, ptrace_variable_t};
use super::guard::{ffi_guard, text, unusable};
use super::objects::var_of;
use crate::pmodule::values::{is_string, scalar_value};
use crate::pmodule::{ScalarValue, VarValue};
use crate::snapshot::VariableState;
use std::ffi::{c_char, c_int, c_longlong, c_uint};

/// Variable state: read completely (no flag set).
pub const PTRACE_VARIABLE_S_OK: c_uint = 0;
/// Variable state flag: optimized out (the snapshot's `optimized_out`).
pub const PTRACE_VARIABLE_S_OPTIMIZED_OUT: c_uint = 1;
/// Variable state flag: its memory could not be read (`unreadable`).
pub const PTRACE_VARIABLE_S_UNREADABLE: c_uint = 2;
/// Variable state flag: read in part, a limit was reached (`truncated`).
pub const PTRACE_VARIABLE_S_TRUNCATED: c_uint = 4;
/// Variable state flag: skipped. The module stands for the variable's members itself (it gives
/// the variable a string, or synthesizes variables beside or under it): the members and
/// elements extracted for it are left out of the snapshot, while the variable stays, with the
/// value the module gave it, and so do the variables modules synthesized under it. The members
/// stay readable until the snapshot is complete; they are dropped before `postattach`.
pub const PTRACE_VARIABLE_S_SKIP: c_uint = 8;
/// The states a flag names (at most one may be set), with their flags.
const WORD_FLAGS: [(VariableState, c_uint); 3] = [
    (VariableState::OptimizedOut, PTRACE_VARIABLE_S_OPTIMIZED_OUT),
    (VariableState::Unreadable, PTRACE_VARIABLE_S_UNREADABLE),
    (VariableState::Truncated, PTRACE_VARIABLE_S_TRUNCATED),
];
/// The value `pmodule_variable_state` returns on error.
pub const PTRACE_VARIABLE_S_ERROR: c_uint = 0xffff_ffff;

fn set_value(var: *const ptrace_variable_t, value: VarValue) -> bool {
    let Some(v) = var_of(var) else { return false };
    context::with_scene(|s| s.set_var_value(&v, value).is_ok()).unwrap_or(false)
}

/// The variable's state: `PTRACE_VARIABLE_S_OK` or one of `PTRACE_VARIABLE_S_OPTIMIZED_OUT`,
/// `_UNREADABLE`, `_TRUNCATED`, plus `PTRACE_VARIABLE_S_SKIP` when skipped.
/// `PTRACE_VARIABLE_S_ERROR` when `var` is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_state(var: *mut ptrace_variable_t) -> c_uint {
    ffi_guard!(PTRACE_VARIABLE_S_ERROR, {
        let Some(v) = var_of(var) else {
            return PTRACE_VARIABLE_S_ERROR;
        };
        let Some(Ok(state)) = context::with_scene(|s| s.var_state(&v)) else {
            return PTRACE_VARIABLE_S_ERROR;
        };
        let word = WORD_FLAGS
            .iter()
            .find(|(w, _)| *w == state.word)
            .map_or(PTRACE_VARIABLE_S_OK, |(_, f)| *f);
        word | if state.skip { PTRACE_VARIABLE_S_SKIP } else { 0 }
    })
}

/// Sets the variable's state to `flags` (see `pmodule_variable_state`): the snapshot's `state`
/// follows, and with `PTRACE_VARIABLE_S_SKIP` the variable's extracted members are left out of
/// the snapshot (clearing it keeps them). False when `var` is NULL or stale, or `flags` has unknown
/// bits or more than one of OPTIMIZED_OUT, UNREADABLE, TRUNCATED.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_state_set(var: *mut ptrace_variable_t, flags: c_uint) -> bool {
    ffi_guard!(false, {
        let Some(v) = var_of(var) else { return false };
        let known = WORD_FLAGS.iter().fold(PTRACE_VARIABLE_S_SKIP, |a, (_, f)| a | f);
        let words: Vec<VariableState> = WORD_FLAGS
            .iter()
            .filter(|(_, f)| flags & f != 0)
            .map(|(w, _)| *w)
            .collect();
        if flags & !known != 0 || words.len() > 1 {
            return false;
        }
        let word = words.first().copied().unwrap_or(VariableState::Ok);
        let skip = flags & PTRACE_VARIABLE_S_SKIP != 0;
        context::with_scene(|s| s.set_var_state(&v, word, skip).is_ok()).unwrap_or(false)
    })
}

/// Sets the variable to enum value `value`, with label `symbol` (copied; NULL for none). False
/// when `var` is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `symbol` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_enum(
    var: *mut ptrace_variable_t,
    value: c_longlong,
    symbol: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let symbol = unsafe { text(symbol) };
        set_value(var, VarValue::Enum(value, symbol))
    })
}

/// Marks the variable a function, named `symbol` (copied; NULL for none). False when `var` is
/// NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `symbol` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_function(
    var: *mut ptrace_variable_t,
    symbol: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let symbol = unsafe { text(symbol) };
        set_value(var, VarValue::Function(symbol))
    })
}

/// Sets the variable to the complex double `real + imaginary * i` (kind cdbl). False when `var`
/// is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_cdbl(
    var: *mut ptrace_variable_t,
    real: f64,
    imaginary: f64,
) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Cdbl(real, imaginary)) })
}

/// Stores the variable's complex value (cflt, cdbl, cldbl) in `*real` and `*imaginary`: false
/// when it has none, or an argument is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `real` and `imaginary` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_value_cdbl(
    var: *mut ptrace_variable_t,
    real: *mut f64,
    imaginary: *mut f64,
) -> bool {
    ffi_guard!(false, {
        if unusable(real) || unusable(imaginary) {
            return false;
        }
        let Some(v) = var_of(var) else { return false };
        match context::with_scene(|s| s.var(&v).map(scalar_value).ok()).flatten() {
            Some(ScalarValue::Complex(re, im)) => {
                // SAFETY: `unusable` refused NULL and libptrace's own addresses for both, so
                // they are the module's `double`s, writable as pmodule.h requires.
                unsafe {
                    *real = re;
                    *imaginary = im;
                }
                true
            }
            _ => false,
        }
    })
}

/// The variable `var` is a member or element of (or the owner it was created with), valid
/// until the callback returns; NULL for a top-level variable, or when `var` is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_owner(var: *mut ptrace_variable_t) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(v) = var_of(var) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.var_owner(&v).ok().flatten()).flatten() {
            Some(o) => context::var_handle(o),
            None => std::ptr::null_mut(),
        }
    })
}

/// The thread the variable is in (frame variables and thread-locals), valid until the callback
/// returns; NULL for globals and detached variables, or when `var` is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_thread(var: *mut ptrace_variable_t) -> *mut ptrace_thread_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(v) = var_of(var) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.var_thread(&v).ok().flatten()).flatten() {
            Some(t) => context::thread_handle(t),
            None => std::ptr::null_mut(),
        }
    })
}

/// The backtrace (valid until the callback returns); NULL when `var` is NULL or stale.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_backtrace(var: *mut ptrace_variable_t) -> *mut ptrace_backtrace_t {
    ffi_guard!(std::ptr::null_mut(), {
        match var_of(var) {
            Some(_) => context::backtrace_handle(),
            None => std::ptr::null_mut(),
        }
    })
}

/// The variable's 0-based index among its frame's parameters, -1 when it is not a parameter or
/// on error (NULL or stale `var`).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_fprm_offset(var: *mut ptrace_variable_t) -> c_int {
    ffi_guard!(-1, {
        let Some(v) = var_of(var) else { return -1 };
        context::with_scene(|s| s.fprm_offset(&v).ok())
            .flatten()
            .and_then(|o| c_int::try_from(o).ok())
            .unwrap_or(-1)
    })
}

/// Whether the variable's value was read (state ok or truncated); false on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_resolved(var: *mut ptrace_variable_t) -> bool {
    ffi_guard!(false, {
        let Some(v) = var_of(var) else { return false };
        context::with_scene(|s| s.var_state(&v).is_ok_and(|st| st.word.has_value())).unwrap_or(false)
    })
}

/// Whether the variable holds text (a string, or a character pointer whose text was read: see
/// `pmodule_variable_symbol`); false on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_is_string(var: *mut ptrace_variable_t) -> bool {
    ffi_guard!(false, {
        let Some(v) = var_of(var) else { return false };
        context::with_scene(|s| s.var(&v).map(is_string).unwrap_or(false)).unwrap_or(false)
    })
}
