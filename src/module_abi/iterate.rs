//! Filtered iteration of globals and thread-local variables from C, as Lua's
//! `for var, object, cu in bt:variables(), filter do` and `thr:variables()`:
//!
//! ```c
//! pmodule_variable_filter_t f = { "crash", "invalid_write.c", NULL };   // object, cu, name
//! pmodule_variable_iterator_t *it = pmodule_backtrace_variables(bt, &f);
//! const char *object, *cu;
//! ptrace_variable_t *var;
//! while ((var = pmodule_variable_iterator_next(it, &object, &cu)) != NULL)
//!     ...;
//! pmodule_variable_iterator_free(it);   // optional: freed when the callback returns
//! ```
//!
//! The variables come from the debug information (not only those in the snapshot), with their
//! values read; like Lua's they are temporary (not in the snapshot, cannot be inserted).

use super::context::{self, ptrace_backtrace_t, ptrace_thread_t, ptrace_variable_t};
use super::guard::{ffi_guard, text, unusable};
use super::live;
use super::objects::{backtrace_live, thread_of};
use crate::pmodule::{GlobalEntry, GlobalFilter, LogLevel};
use std::ffi::c_char;

/// Filters of `pmodule_backtrace_variables` and `pmodule_thread_variables` (Lua's filter table
/// `{object =, cu =, name =}`); a NULL field does not filter.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pmodule_variable_filter_t {
    /// A substring of the defining object's path.
    pub object: *const c_char,
    /// A substring of the defining compilation unit's name.
    pub cu: *const c_char,
    /// The variable's exact name.
    pub name: *const c_char,
}

/// An iteration over globals or thread-local variables (opaque). Owned by libptrace: valid until
/// `pmodule_variable_iterator_free` or the end of the callback that made it.
#[allow(non_camel_case_types)]
pub struct pmodule_variable_iterator_t {
    entries: Vec<GlobalEntry>,
    next: usize,
}

/// Which variables to enumerate.
enum Scope {
    Globals,
    ThreadLocals(i32),
}

/// The filter `filter` describes (NULL: none).
///
/// # Safety
/// `filter` is NULL or a readable filter whose fields are NULL or C strings.
unsafe fn filter_of(filter: *const pmodule_variable_filter_t) -> GlobalFilter {
    if unusable(filter) {
        return GlobalFilter::default();
    }
    // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `filter` is the
    // module's struct, readable with fields NULL or C strings by this function's precondition
    // (which each caller meets by passing its module's argument); it is only read, and `text`
    // copies each string.
    unsafe {
        let f = &*filter;
        GlobalFilter {
            object: text(f.object),
            cu: text(f.cu),
            name: text(f.name),
        }
    }
}

fn iterator(scope: Scope, filter: GlobalFilter, function: &str) -> *mut pmodule_variable_iterator_t {
    let Some(ctx) = context::current() else {
        return std::ptr::null_mut();
    };
    let entries = match ctx.engine.typed_memory() {
        Some(typed) => match scope {
            Scope::Globals => typed.globals(&filter),
            Scope::ThreadLocals(tid) => typed.thread_locals(tid, &filter),
        },
        None => {
            let id = ctx.engine.module_id(ctx.module);
            ctx.engine.log(
                &id,
                LogLevel::Warning,
                &format!("{function}: no typed memory (no debug information): nothing to iterate"),
            );
            Vec::new()
        }
    };
    context::scoped(pmodule_variable_iterator_t { entries, next: 0 })
}

/// An iteration over the process's global variables (file-static ones included) that pass
/// `filter` (NULL: all), as Lua's `bt:variables()`. Owned by libptrace (see
/// `pmodule_variable_iterator_t`); without debug information it is empty (a warning is logged).
/// NULL outside a callback, when `bt` is NULL or stale, or `filter` is a libptrace handle.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `filter` NULL or readable, its fields NULL or C
/// strings (copied).
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_variables(
    bt: *mut ptrace_backtrace_t,
    filter: *const pmodule_variable_filter_t,
) -> *mut pmodule_variable_iterator_t {
    ffi_guard!(std::ptr::null_mut(), {
        if !backtrace_live(bt) || (!filter.is_null() && unusable(filter)) {
            return std::ptr::null_mut();
        }
        // SAFETY: `filter` is the module's argument, NULL or a readable filter whose fields are
        // NULL or C strings as pmodule.h requires: what `filter_of` needs.
        let filter = unsafe { filter_of(filter) };
        iterator(Scope::Globals, filter, "pmodule_backtrace_variables")
    })
}

/// An iteration over the thread-local variables of `thr` that pass `filter` (NULL: all),
/// located in that thread, as Lua's `thr:variables()`. As `pmodule_backtrace_variables`.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave; `filter` as for `pmodule_backtrace_variables`.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_variables(
    thr: *mut ptrace_thread_t,
    filter: *const pmodule_variable_filter_t,
) -> *mut pmodule_variable_iterator_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(t) = thread_of(thr).filter(|_| filter.is_null() || !unusable(filter)) else {
            return std::ptr::null_mut();
        };
        let Some(Ok(tid)) = context::with_scene(|s| s.thread(t).map(|t| t.tid)) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `filter` is the module's argument, NULL or a readable filter whose fields are
        // NULL or C strings as pmodule.h requires: what `filter_of` needs.
        let filter = unsafe { filter_of(filter) };
        iterator(Scope::ThreadLocals(tid), filter, "pmodule_thread_variables")
    })
}

/// The next variable of the iteration, with its value read (a temporary variable: valid until
/// the callback returns, not in the snapshot); NULL at the end, or when `it` is NULL, stale or
/// freed. When non-NULL, `*object` and `*cu` receive the defining object's path and compilation
/// unit (owned by libptrace until the callback returns; they work as the filters of
/// `pmodule_bt_query`); NULL `object` or `cu` is allowed.
///
/// # Safety
/// `it` is NULL or a pointer libptrace gave; `object` and `cu` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_iterator_next(
    it: *mut pmodule_variable_iterator_t,
    object: *mut *const c_char,
    cu: *mut *const c_char,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(entry) = live::with(it, |it| {
            let entry = it.entries.get(it.next).cloned();
            if entry.is_some() {
                it.next += 1;
            }
            entry
        })
        .flatten() else {
            return std::ptr::null_mut();
        };
        let Some(typed) = context::engine().and_then(|e| e.typed_memory()) else {
            return std::ptr::null_mut();
        };
        let value = typed.value(&entry.var);
        let Some(var) = context::with_scene(|s| s.detached_variable(value)) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `object` and `cu` are the module's `const char *` slots, each written only
        // when `unusable` says it is neither NULL nor a libptrace address, hence the module's
        // memory, writable as pmodule.h requires.
        unsafe {
            if !unusable(object) {
                *object = context::scoped_str(Some(entry.object));
            }
            if !unusable(cu) {
                *cu = context::scoped_str(Some(entry.cu));
            }
        }
        context::var_handle(var)
    })
}

/// Frees an iteration early (optional: it is freed when the callback returns). NULL, stale
/// or already freed `it` is ignored.
///
/// # Safety
/// `it` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_iterator_free(it: *mut pmodule_variable_iterator_t) {
    ffi_guard!((), {
        live::free(it);
    })
}
