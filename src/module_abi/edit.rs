//! Changing the snapshot from C: annotations (string forms; the header's `static inline`
//! wrappers add printf-style formatting), attributes, classifiers and tags, logging and module
//! options, variable setters, and synthesized variables.

use super::btvar::{bt_name_field, bt_of, bt_variable_t};
use super::context::{
    self, pmodule_t, ptrace_backtrace_t, ptrace_frame_t, ptrace_thread_t, ptrace_variable_t,
};
use super::events::module_of;
use super::guard::{ffi_guard, text};
use super::live;
use super::objects::{backtrace_live, frame_of, thread_of, var_of};
use crate::pmodule::dispatch::dispatch;
use crate::pmodule::{AnnotationKind, Event, EventArgs, LogLevel, Target, VarValue};
use crate::snapshot::AttributeValue;
use std::ffi::{c_char, c_int, c_longlong, c_ulonglong, CString};

/// Annotates `target` with `text` at `level`; a refused annotation is logged.
///
/// # Safety
/// `text_ptr` is NULL or a C string.
unsafe fn annotate(target: Option<Target>, level: c_int, text_ptr: *const c_char) -> bool {
    // SAFETY: `text_ptr` is NULL or a C string (this function's precondition, which each caller
    // meets by passing its module's argument); `text` refuses NULL and libptrace's handle addresses
    // and copies the text.
    let (Some(target), Some(text)) = (target, unsafe { text(text_ptr) }) else {
        return false;
    };
    let Some(kind) = AnnotationKind::from_value(i64::from(level)) else {
        return false;
    };
    let Some(ctx) = context::current() else {
        return false;
    };
    match ctx.engine.with_scene(|s| s.annotate(&target, kind, &text)) {
        Ok(()) => true,
        Err(e) => {
            let id = ctx.engine.module_id(ctx.module);
            ctx.engine.log(&id, LogLevel::Error, &format!("annotate: {e}"));
            false
        }
    }
}

/// Annotates the snapshot with `text` at `level` (`PMODULE_ANNOTATION_*`; json text must be
/// `{"json": {...}}`). False when an argument is NULL or stale, the level is unknown, or the
/// annotation is refused (the reason is logged). `text` stays the caller's.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `text` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_annotate_str(
    bt: *mut ptrace_backtrace_t,
    level: c_int,
    text: *const c_char,
) -> bool {
    ffi_guard!(false, {
        let target = backtrace_live(bt).then_some(Target::Backtrace);
        // SAFETY: `text` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `annotate` needs.
        unsafe { annotate(target, level, text) }
    })
}

/// Annotates a thread (as `pmodule_backtrace_annotate_str`).
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave; `text` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_annotate_str(
    thr: *mut ptrace_thread_t,
    level: c_int,
    text: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `text` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `annotate` needs.
        unsafe { annotate(thread_of(thr).map(Target::Thread), level, text) }
    })
}

/// Annotates a frame (as `pmodule_backtrace_annotate_str`).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `text` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_annotate_str(
    fr: *mut ptrace_frame_t,
    level: c_int,
    text: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `text` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `annotate` needs.
        unsafe { annotate(frame_of(fr).map(Target::Frame), level, text) }
    })
}

/// Annotates a variable (as `pmodule_backtrace_annotate_str`).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `text` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_annotate_str(
    var: *mut ptrace_variable_t,
    level: c_int,
    text: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `text` is the module's argument, NULL or a C string as pmodule.h requires:
        // what `annotate` needs.
        unsafe { annotate(var_of(var).map(Target::Variable), level, text) }
    })
}

fn edit_snapshot(bt: *const ptrace_backtrace_t, f: impl FnOnce(&mut crate::pmodule::Scene) -> bool) -> bool {
    backtrace_live(bt) && context::with_scene(f).unwrap_or(false)
}

/// Sets attribute `key` to the integer `value`. False when an argument is NULL or stale.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `key` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_add_kv_int(
    bt: *mut ptrace_backtrace_t,
    key: *const c_char,
    value: c_longlong,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `key` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let Some(key) = (unsafe { text(key) }) else {
            return false;
        };
        edit_snapshot(bt, |s| s.add_attribute(&key, AttributeValue::Int(value)).is_ok())
    })
}

/// Sets attribute `key` to the string `value` (copied). False when an argument is NULL or stale.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; the strings NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_add_kv_string(
    bt: *mut ptrace_backtrace_t,
    key: *const c_char,
    value: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `key` and `value` are the module's arguments, NULL or C strings as pmodule.h
        // requires; `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some(key), Some(value)) = (unsafe { text(key) }, unsafe { text(value) }) else {
            return false;
        };
        edit_snapshot(bt, |s| s.add_attribute(&key, AttributeValue::Text(value)).is_ok())
    })
}

/// Adds a classifier (once). False when an argument is NULL or stale.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `classifier` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_add_classifier(
    bt: *mut ptrace_backtrace_t,
    classifier: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `classifier` is the module's argument, NULL or a C string as pmodule.h
        // requires; `text` refuses NULL and libptrace's handle addresses and copies the text.
        let Some(c) = (unsafe { text(classifier) }) else {
            return false;
        };
        edit_snapshot(bt, |s| s.add_classifier(&c).is_ok())
    })
}

/// Adds a tag (once). False when an argument is NULL or stale.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `tag` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_add_tag(bt: *mut ptrace_backtrace_t, tag: *const c_char) -> bool {
    ffi_guard!(false, {
        // SAFETY: `tag` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let Some(t) = (unsafe { text(tag) }) else {
            return false;
        };
        edit_snapshot(bt, |s| s.add_tag(&t).is_ok())
    })
}

/// Logs `text` at `level` (`PMODULE_LOG_*`) as module `pm`. False when an argument is NULL or
/// not live or the level is unknown.
///
/// # Safety
/// `pm` is NULL or the module handle; `text` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_log_str(pm: *mut pmodule_t, level: c_int, text: *const c_char) -> bool {
    ffi_guard!(false, {
        // SAFETY: `text` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some((engine, key)), Some(text)) = (module_of(pm), unsafe { super::guard::text(text) }) else {
            return false;
        };
        let Some(level) = LogLevel::from_value(i64::from(level)) else {
            return false;
        };
        engine.log(&engine.module_id(key), level, &text);
        true
    })
}

/// The value of option `key` given with `--module=<id>:key,value`, or NULL when not given (or
/// an argument is NULL or not live). The string is owned by the module handle and stays valid
/// as long as the module is loaded.
///
/// # Safety
/// `pm` is NULL or the module handle; `key` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_config_option(pm: *mut pmodule_t, key: *const c_char) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        // SAFETY: `key` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some((engine, module)), Some(key)) = (module_of(pm), unsafe { text(key) }) else {
            return std::ptr::null();
        };
        let Some(value) = engine.config_option(module, &key) else {
            return std::ptr::null();
        };
        let c = CString::new(value.replace('\0', " ")).unwrap_or_default();
        live::with(pm, |p| {
            let slot = p.interned.entry(key).or_default();
            if *slot != c {
                // The old string is kept alive: a pointer to it may still be in use.
                let old = std::mem::replace(slot, c);
                std::mem::forget(old);
            }
            slot.as_ptr()
        })
        .unwrap_or(std::ptr::null())
    })
}

fn set_value(var: *const ptrace_variable_t, value: VarValue) -> bool {
    let Some(v) = var_of(var) else { return false };
    context::with_scene(|s| s.set_var_value(&v, value).is_ok()).unwrap_or(false)
}

/// Sets the variable to the string `malloced` and TAKES OWNERSHIP of it: libptrace copies the
/// text and frees it with `free`, also on failure. NULL `malloced` is ignored (false).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `malloced` NULL or a string from `malloc`.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_string(
    var: *mut ptrace_variable_t,
    malloced: *mut c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `malloced` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text before it is
        // freed below.
        let copied = unsafe { text(malloced) };
        if !malloced.is_null() {
            // SAFETY: pmodule.h hands libptrace the ownership of `malloced`, a string from
            // `malloc`; it is freed once, here, after its text was copied, and not used after.
            unsafe { libc::free(malloced as *mut libc::c_void) };
        }
        match copied {
            Some(s) => set_value(var, VarValue::String(s, None)),
            None => false,
        }
    })
}

/// Sets the variable to the signed integer `value` (kind ll). False on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_ll(var: *mut ptrace_variable_t, value: c_longlong) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Ll(value)) })
}

/// Sets the variable to the unsigned integer `value` (kind ull). False on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_ull(var: *mut ptrace_variable_t, value: c_ulonglong) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Ull(value)) })
}

/// Sets the variable to the floating point `value` (kind dbl). False on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_dbl(var: *mut ptrace_variable_t, value: f64) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Dbl(value)) })
}

/// Sets the variable to a reference to `address`, with `symbol` (copied; NULL for none).
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave; `symbol` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_ref(
    var: *mut ptrace_variable_t,
    address: u64,
    symbol: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let symbol = unsafe { text(symbol) };
        set_value(var, VarValue::Ref(address, symbol))
    })
}

/// Marks the variable a struct (its children are its members). False on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_struct(var: *mut ptrace_variable_t) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Struct) })
}

/// Marks the variable an array (its children are its elements). False on error.
///
/// # Safety
/// `var` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_set_array(var: *mut ptrace_variable_t) -> bool {
    ffi_guard!(false, { set_value(var, VarValue::Array) })
}

/// A new variable of type `type` named `name` at `addr` (0: none); `offset` is its array index
/// (-1 when not an element; an element with an empty name is named `[offset]`); `owner` (NULL:
/// none) is the variable it belongs to. It has no value yet: set one, then insert it with
/// `pmodule_frame_add_variable`. Valid until the callback returns; NULL outside a callback, or
/// when `type`/`name` is NULL or `owner` is stale.
///
/// # Safety
/// The strings are NULL or C strings; `owner` NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_create(
    r#type: *const c_char,
    name: *const c_char,
    addr: c_ulonglong,
    offset: c_int,
    owner: *mut ptrace_variable_t,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `type` and `name` are the module's arguments, NULL or C strings as pmodule.h
        // requires; `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some(type_name), Some(name)) = (unsafe { text(r#type) }, unsafe { text(name) }) else {
            return std::ptr::null_mut();
        };
        let owner = if owner.is_null() {
            None
        } else {
            match var_of(owner) {
                Some(o) => Some(o),
                None => return std::ptr::null_mut(),
            }
        };
        let created = context::with_scene(|s| {
            s.create_variable(&type_name, &name, addr, i64::from(offset), owner)
                .ok()
        })
        .flatten();
        match created {
            Some(v) => context::var_handle(v),
            None => std::ptr::null_mut(),
        }
    })
}

/// A new unnamed variable belonging to `owner` (element `offset`, -1 when not an element), of
/// `owner`'s base type. `depth` is accepted for compatibility (the depth follows from `owner`).
/// NULL on error (as `pmodule_variable_create`).
///
/// # Safety
/// `owner` NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_ptrace_variable_create(
    owner: *mut ptrace_variable_t,
    depth: c_int,
    offset: c_int,
) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        let _ = depth;
        let Some(o) = var_of(owner) else {
            return std::ptr::null_mut();
        };
        let created = context::with_scene(|s| {
            let base = s.var(&o).ok()?.base_type.clone();
            s.create_variable(&base, "", 0, i64::from(offset), Some(o)).ok()
        })
        .flatten();
        match created {
            Some(v) => context::var_handle(v),
            None => std::ptr::null_mut(),
        }
    })
}

/// Inserts created variable `var` into frame `fr` (under its owner when the owner is in that
/// frame), last (`insert_after` true) or first. After this `var` designates the inserted
/// variable. False on error: NULL or stale arguments, a variable already in the snapshot or
/// from `pmodule_variable_from_bt` (the reason is logged).
///
/// # Safety
/// `fr` and `var` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_add_variable(
    fr: *mut ptrace_frame_t,
    var: *mut ptrace_variable_t,
    insert_after: bool,
) -> bool {
    ffi_guard!(false, {
        let (Some(frame), Some(v), Some(ctx)) = (frame_of(fr), var_of(var), context::current()) else {
            return false;
        };
        match ctx
            .engine
            .with_scene(|s| s.frame_add_variable(frame, &v, insert_after))
        {
            Ok(placed) => {
                live::with(var, |h| h.var = placed);
                true
            }
            Err(e) => {
                let id = ctx.engine.module_id(ctx.module);
                ctx.engine
                    .log(&id, LogLevel::Error, &format!("pmodule_frame_add_variable: {e}"));
                false
            }
        }
    })
}

/// Runs the variable event for `var` (typically a synthesized variable just inserted), with
/// `bt` as its bt variable (NULL: none): every module's matching variable callbacks run, this
/// one's included. NULL or stale `var` is ignored.
///
/// # Safety
/// `var` NULL or a pointer libptrace gave; `bt` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_dispatch(var: *mut ptrace_variable_t, bt: *mut bt_variable_t) {
    ffi_guard!((), {
        let (Some(v), Some(ctx)) = (var_of(var), context::current()) else {
            return;
        };
        // SAFETY: `bt` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let bt = unsafe { bt_of(bt) };
        dispatch(&ctx.engine, Event::Variable, EventArgs::Variable { var: v, bt });
    })
}

/// Fills pmodule variable `var` from bt variable `bt`: kind, value, symbol, state and (with
/// `recurse`) members and elements. `var` takes the name `bt`'s `name` field holds at the call,
/// so a module names a synthesized variable by setting that field on a `bt_variable_t` it
/// filled (`bt.name = "first"`); a NULL or empty `name` keeps `var`'s own. `var`'s type and a
/// skip set on it are kept. False on error.
///
/// # Safety
/// `var` NULL or a pointer libptrace gave; `bt` NULL or readable, its `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_value(
    var: *mut ptrace_variable_t,
    bt: *mut bt_variable_t,
    recurse: bool,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `bt` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let (Some(v), Some(bt_var)) = (var_of(var), unsafe { bt_of(bt) }) else {
            return false;
        };
        let Some(typed) = context::engine().and_then(|e| e.typed_memory()) else {
            return false;
        };
        // SAFETY: `bt` as above, and pmodule.h requires its `name` to be NULL or a C string:
        // what `bt_name_field` needs.
        let name = unsafe { bt_name_field(bt) }.filter(|n| !n.is_empty());
        let read = typed.value(&bt_var);
        context::with_scene(|s| match s.var_mut(&v) {
            Ok(target) => {
                if let Some(name) = name {
                    target.name = name.into();
                }
                target.kind = read.kind;
                target.value = read.value;
                target.symbol = read.symbol;
                target.state = read.state;
                if target.address.is_none() {
                    target.address = read.address;
                }
                if recurse {
                    target.children = read.children;
                }
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false)
    })
}
