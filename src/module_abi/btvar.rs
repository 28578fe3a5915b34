//! bt variables in C: `bt_variable_t` (a complete struct modules may declare on the stack),
//! `struct bt_type`, `bt_error_t`, and the navigation functions of `pmodule-api.md` §3, over the
//! engine's typed memory with the navigation rules of `pmodule::typed`.
//!
//! A `bt_variable_t` filled by libptrace points (field `_private`) to a slot in the current
//! callback's scope: it is valid until the callback returns or `bt_variable_deinit`, whichever
//! comes first. A struct whose slot is gone (or that was never filled) is an error argument,
//! never a crash.

use super::context::{self, ptrace_variable_t};
use super::guard::{copy_to_buffer, ffi_guard, malloc_string, text, unusable};
use super::live;
use crate::pmodule::values::{base_type_of, pretty_type_name, scalar_value};
use crate::pmodule::{typed, BtError, BtVar, ScalarValue, TypedMemory, VariableKind};
use std::ffi::{c_char, c_int, c_longlong, c_ulonglong, c_void, CString};
use std::sync::Arc;

/// The DWARF of the target (opaque): the `dwarf` field of bt variables, for
/// `pmodule_cpp_get_bt_type_from_name`.
#[allow(non_camel_case_types)]
pub struct bt_dwarf_t {
    _private: u8,
}

/// A type of the target.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bt_type {
    /// The type as C writes it (`struct crash *`); owned by libptrace.
    pub name: *const c_char,
    /// Non-NULL when the type comes from DWARF (an opaque token; do not dereference).
    pub die: *const c_void,
    /// libptrace's own data; do not touch.
    pub _private: *mut c_void,
}

/// A bt variable: a typed view of target memory. Declare one on the stack and let libptrace
/// fill it (`bt_variable_deref`, ...), or use the ones libptrace returns. Release with
/// `bt_variable_deinit` (optional: everything is released when the callback returns).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bt_variable_t {
    /// The variable's (or member's) name; owned by libptrace.
    pub name: *const c_char,
    /// Its type; owned by libptrace.
    pub r#type: *mut bt_type,
    /// The DWARF it was read with (opaque).
    pub dwarf: *mut bt_dwarf_t,
    /// libptrace's own data; do not touch.
    pub _private: *mut c_void,
}

/// Why a bt variable operation failed.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct bt_error_t {
    /// `BT_ERROR_NONE` (0) or `BT_ERROR_FAILED`.
    pub code: c_int,
    /// The reason, NUL-terminated (empty when none).
    pub message: [c_char; 256],
}

/// No error.
pub const BT_ERROR_NONE: c_int = 0;
/// The operation failed; `message` says why.
pub const BT_ERROR_FAILED: c_int = 1;
/// `bt_type_pp` language: C.
pub const BT_TYPE_LANG_C: c_int = 0;

/// The Rust side of a filled `bt_variable_t` (its `_private` is this object's token).
struct BtSlot {
    var: BtVar,
    _name: CString,
}

/// The Rust side of a returned `struct bt_type` (the C struct is in a slot of [`live`]).
struct TypeData {
    name: CString,
    info: TypeInfo,
}

/// What libptrace knows of a `struct bt_type` it returned.
#[derive(Clone)]
struct TypeInfo {
    /// The type as C writes it.
    type_name: String,
    /// A pointer whose pointee is this type (for `bt_variable_type_deref_at`).
    pointer: Option<BtVar>,
    /// The bt variable whose type (or, with `base`, base type) this is: its debug information
    /// gives the `bt_type_pp` text. `None` for a type known by name only.
    origin: Option<BtVar>,
    /// The base type of `origin`'s type rather than the type itself.
    base: bool,
    /// It comes from DWARF (the C struct's `die` is non-NULL).
    from_dwarf: bool,
}

impl TypeInfo {
    /// The type's `bt_type_pp` text: from the debug information of the variable it was taken
    /// from, else its C text with the aggregate keywords tagged.
    fn pp(&self) -> String {
        let texts = self
            .origin
            .as_ref()
            .and_then(|var| typed_memory()?.type_texts(var));
        match texts {
            Some(t) if self.base => t.base_pp,
            Some(t) => t.pp,
            None => pretty_type_name(&self.type_name),
        }
    }
}

static DWARF_TOKEN: u8 = 0;

fn dwarf_token() -> *mut bt_dwarf_t {
    &DWARF_TOKEN as *const u8 as *mut bt_dwarf_t
}

fn cstring(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

fn new_type(info: TypeInfo) -> *mut bt_type {
    let Some(ctx) = context::current() else {
        return std::ptr::null_mut();
    };
    let from_dwarf = info.from_dwarf;
    let data = TypeData {
        name: cstring(&info.type_name),
        info,
    };
    // The CString's buffer does not move when the data moves into the table.
    let visible = bt_type {
        name: data.name.as_ptr(),
        die: if from_dwarf {
            &DWARF_TOKEN as *const u8 as *const c_void
        } else {
            std::ptr::null()
        },
        _private: std::ptr::null_mut(),
    };
    live::register_slot(visible, data, ctx.scope)
}

/// The type of bt variable `var` (`pointer`: `var` itself when it is a pointer, so the base
/// type can be dereferenced at addresses).
fn type_of(var: &BtVar, pointer: Option<BtVar>) -> *mut bt_type {
    new_type(TypeInfo {
        type_name: var.type_name.clone(),
        pointer,
        origin: Some(var.clone()),
        base: false,
        from_dwarf: true,
    })
}

/// What libptrace knows of a `struct bt_type *` it returned (None: NULL or not live).
fn type_slot(ty: *const bt_type) -> Option<TypeInfo> {
    live::with_slot(ty, |_: &mut bt_type, d: &mut TypeData| d.info.clone())
}

/// Whether libptrace may write a `bt_variable_t` at `out`: not NULL, and when in libptrace's
/// own slot range, a live bt variable slot (a stale one is inaccessible memory).
fn writable(out: *const bt_variable_t) -> bool {
    !out.is_null()
        && !live::in_token_space(out)
        && (!live::in_slot_space(out)
            || live::with_slot(out, |_: &mut bt_variable_t, _: &mut ()| ()).is_some())
}

/// Fills `out` with `var` (a new slot in the current scope). False outside a callback or when
/// `out` is not writable (see [`writable`]).
///
/// # Safety
/// `out` is NULL, libptrace's, or writable.
unsafe fn fill(out: *mut bt_variable_t, var: BtVar, typed: &dyn TypedMemory) -> bool {
    if !writable(out) {
        return false;
    }
    let name = cstring(&var.name);
    let name_ptr = name.as_ptr();
    let pointer = (typed.kind(&var) == VariableKind::Reference).then(|| var.clone());
    // The type of a pointer keeps the pointer, so its base can be dereferenced at addresses.
    let ty = type_of(&var, pointer);
    let slot = context::scoped(BtSlot { var, _name: name });
    if slot.is_null() {
        return false;
    }
    // SAFETY: `out` is writable (checked above, or the caller's); the name buffer lives in the
    // slot.
    unsafe {
        *out = bt_variable_t {
            name: name_ptr,
            r#type: ty,
            dwarf: dwarf_token(),
            _private: slot as *mut c_void,
        };
    }
    true
}

/// A new `bt_variable_t` for `var` in the current scope (what callbacks and
/// `bt_variable_member_value_get` return); NULL outside a callback or without typed memory.
pub(crate) fn new_bt_variable(var: BtVar) -> *mut bt_variable_t {
    let (Some(typed), Some(ctx)) = (typed_memory(), context::current()) else {
        return std::ptr::null_mut();
    };
    let empty = bt_variable_t {
        name: std::ptr::null(),
        r#type: std::ptr::null_mut(),
        dwarf: std::ptr::null_mut(),
        _private: std::ptr::null_mut(),
    };
    let out = live::register_slot(empty, (), ctx.scope);
    // SAFETY: `out` is NULL or the live slot just registered.
    if unsafe { fill(out, var, typed.as_ref()) } {
        out
    } else {
        std::ptr::null_mut()
    }
}

fn typed_memory() -> Option<Arc<dyn TypedMemory>> {
    context::engine()?.typed_memory()
}

/// The bt variable a `bt_variable_t *` holds: None for NULL, never filled or released.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
pub(crate) unsafe fn bt_of(var: *const bt_variable_t) -> Option<BtVar> {
    if var.is_null() {
        return None;
    }
    let private = if live::in_token_space(var) {
        return None;
    } else if live::in_slot_space(var) {
        // libptrace's own slot: read only while live.
        live::with_slot(var, |v: &mut bt_variable_t, _: &mut ()| v._private)?
    } else {
        // SAFETY: the caller guarantees a readable struct; its `_private` is only looked up in
        // the table, never dereferenced directly.
        unsafe { (*var)._private }
    } as *const BtSlot;
    live::with(private, |s| s.var.clone())
}

/// The text of the `name` field of a filled `bt_variable_t`, as the struct holds it now (a
/// module may have pointed it at its own string): None for NULL, a struct never filled or
/// released, or a NULL name.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t` whose `name` is NULL or a C string.
pub(crate) unsafe fn bt_name_field(var: *const bt_variable_t) -> Option<String> {
    // SAFETY: `var` is what this function's caller passed, NULL or a readable `bt_variable_t`
    // (this function's own precondition), which is all `bt_of` needs.
    unsafe { bt_of(var) }?;
    let name = if live::in_slot_space(var) {
        live::with_slot(var, |v: &mut bt_variable_t, _: &mut ()| v.name)?
    } else {
        // SAFETY: `var` is not NULL (bt_of found a live bt variable through it) and outside
        // libptrace's slot and token ranges, so it is the caller's readable struct; only its
        // `name` pointer is copied.
        unsafe { (*var).name }
    };
    // SAFETY: `name` is the struct's `name` field, NULL or a C string by this function's
    // precondition (libptrace's own slots point it at the CString their slot keeps alive);
    // `text` refuses NULL and copies the string before returning.
    unsafe { text(name) }
}

/// Writes `error` into `err` (ignored when NULL).
///
/// # Safety
/// `err` is NULL or writable.
unsafe fn set_error(err: *mut bt_error_t, error: Option<&str>) {
    if unusable(err) {
        return;
    }
    // SAFETY: `unusable` refused NULL and libptrace's handle and slot addresses, so `err` is
    // the module's own `bt_error_t`, writable by this function's precondition; the borrow ends
    // with this function.
    let err = unsafe { &mut *err };
    err.code = if error.is_some() {
        BT_ERROR_FAILED
    } else {
        BT_ERROR_NONE
    };
    let bytes = error.unwrap_or("").as_bytes();
    // SAFETY: the message array is 256 writable bytes.
    unsafe { copy_to_buffer(bytes, err.message.as_mut_ptr(), err.message.len()) };
}

fn read(var: &BtVar) -> Option<crate::snapshot::Variable> {
    Some(typed_memory()?.value(var))
}

fn navigate(
    f: impl FnOnce(&dyn TypedMemory) -> Result<BtVar, BtError>,
) -> Result<(BtVar, Arc<dyn TypedMemory>), String> {
    let typed =
        typed_memory().ok_or("typed memory is unavailable (outside a callback, or no debug information)")?;
    let var = f(typed.as_ref()).map_err(|e| e.to_string())?;
    Ok((var, typed))
}

/// Member `member` of `var` (pointers of any depth are followed to reach the struct). Returns a
/// bt variable owned by libptrace, valid until the callback returns; NULL when there is no such
/// member, or an argument is NULL or not live.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`; `member` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_member_value_get(
    var: *mut bt_variable_t,
    member: *const c_char,
) -> *mut bt_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `var` and `member` are the module's arguments, which pmodule.h requires to be
        // NULL or a readable bt variable, and NULL or a C string: what `bt_of` and `text` need
        // (both refuse NULL and libptrace's handle addresses; `text` copies the string).
        let (Some(var), Some(member)) = (unsafe { bt_of(var) }, unsafe { text(member) }) else {
            return std::ptr::null_mut();
        };
        match navigate(|t| typed::member(t, &var, &member)) {
            Ok((found, _)) => new_bt_variable(found),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Fills `*out` with what pointer `ptr` points to. False (and `*err` filled, when non-NULL) when
/// `ptr` is not a pointer, is NULL or unreadable, or an argument is NULL or not live. `*out` is
/// valid until the callback returns or `bt_variable_deinit(out)`.
///
/// # Safety
/// `out` is NULL or writable; `ptr` NULL or readable; `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_deref(
    out: *mut bt_variable_t,
    ptr: *mut bt_variable_t,
    err: *mut bt_error_t,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `ptr` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(ptr) }) else {
            // SAFETY: `err` is the module's argument, NULL or a writable `bt_error_t` as
            // pmodule.h requires; `set_error` skips NULL and libptrace's own addresses.
            unsafe { set_error(err, Some("bt_variable_deref: NULL or released bt variable")) };
            return false;
        };
        if out.is_null() {
            // SAFETY: `err` as above.
            unsafe { set_error(err, Some("bt_variable_deref: NULL output")) };
            return false;
        }
        match navigate(|t| typed::deref(t, &var, None)) {
            // SAFETY: `err` as above; `out` is not NULL (checked) and is the module's
            // `bt_variable_t`, writable as pmodule.h requires (`fill` also refuses libptrace's
            // token range and stale slots).
            Ok((target, typed)) => unsafe {
                set_error(err, None);
                fill(out, target, typed.as_ref())
            },
            Err(message) => {
                // SAFETY: `err` as above.
                unsafe { set_error(err, Some(&message)) };
                false
            }
        }
    })
}

/// Fills `*out` with element `index` of array (or pointer) `var`. False on error (reason in
/// `*err` when non-NULL).
///
/// # Safety
/// As `bt_variable_deref`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_index(
    out: *mut bt_variable_t,
    var: *mut bt_variable_t,
    index: c_longlong,
    err: *mut bt_error_t,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }).filter(|_| !out.is_null()) else {
            // SAFETY: `err` is the module's argument, NULL or a writable `bt_error_t` as
            // pmodule.h requires; `set_error` skips NULL and libptrace's own addresses.
            unsafe { set_error(err, Some("bt_variable_index: NULL or released argument")) };
            return false;
        };
        match navigate(|t| typed::element(t, &var, index)) {
            // SAFETY: `err` as above; `out` is not NULL (checked with `var`) and is the
            // module's `bt_variable_t`, writable as pmodule.h requires (`fill` also refuses
            // libptrace's token range and stale slots).
            Ok((element, typed)) => unsafe {
                set_error(err, None);
                fill(out, element, typed.as_ref())
            },
            Err(message) => {
                // SAFETY: `err` as above.
                unsafe { set_error(err, Some(&message)) };
                false
            }
        }
    })
}

/// Fills `*out` with a variable of type `type` at address `addr`, named like `proto` (NULL: named
/// after the type). `type` is the pointee type of a pointer (`bt_type_base` of a pointer's
/// type), or any other type libptrace returned, one from `pmodule_cpp_get_bt_type_from_name`
/// included: it is then looked up by name in `proto`'s object first, then in every object.
/// False when the type is not found, or an argument is NULL or not live.
///
/// # Safety
/// `out` is NULL or writable; `proto` NULL or readable; `type` NULL or from libptrace.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_type_deref_at(
    out: *mut bt_variable_t,
    proto: *mut bt_variable_t,
    r#type: *mut bt_type,
    addr: c_ulonglong,
) -> bool {
    ffi_guard!(false, {
        if out.is_null() {
            return false;
        }
        // SAFETY: `proto` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let proto = unsafe { bt_of(proto) };
        let Some(info) = type_slot(r#type) else {
            return false;
        };
        let viewed = navigate(|t| match &info.pointer {
            Some(pointer) => typed::deref(t, pointer, Some(addr)),
            None => {
                let name = proto
                    .as_ref()
                    .map_or(info.type_name.as_str(), |p| p.name.as_str());
                t.view_named(proto.as_ref(), &info.type_name, name, addr)
            }
        });
        match viewed {
            Ok((mut target, typed)) => {
                if let Some(proto) = proto {
                    target.name = proto.name;
                }
                // SAFETY: `out` is not NULL (checked first) and is the module's
                // `bt_variable_t`, writable as pmodule.h requires (`fill` also refuses
                // libptrace's token range and stale slots).
                unsafe { fill(out, target, typed.as_ref()) }
            }
            Err(_) => false,
        }
    })
}

/// The value of `var` as an unsigned integer (0 when it has none or on error).
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_ull(var: *mut bt_variable_t) -> c_ulonglong {
    ffi_guard!(0, {
        // SAFETY: `var` is passed on unchanged, and bt_variable_ll asks of it what this function
        // does (NULL or a readable `bt_variable_t`).
        unsafe { bt_variable_ll(var) as c_ulonglong }
    })
}

/// The value of `var` as a signed integer (0 when it has none or on error).
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_ll(var: *mut bt_variable_t) -> c_longlong {
    ffi_guard!(0, {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }) else {
            return 0;
        };
        match read(&var).map(|v| scalar_value(&v)) {
            Some(ScalarValue::Int(i)) => i,
            Some(ScalarValue::Float(f)) => f as i64,
            _ => 0,
        }
    })
}

/// Reads `var`'s value: true when it could be read.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_value(var: *mut bt_variable_t) -> bool {
    ffi_guard!(false, {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }) else {
            return false;
        };
        read(&var).is_some_and(|v| !v.value.is_null() || !v.children.is_empty() || v.symbol.is_some())
    })
}

/// Copies the text `var` holds (a character array, or the string a `char *` points to) into
/// `dst` (capacity `n`, always NUL-terminated when `n > 0`). Returns the bytes copied without
/// the NUL, or -1 when `var` holds no text or an argument is NULL or not live.
///
/// # Safety
/// `dst` is writable for `n` bytes; `var` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_strncpy(
    dst: *mut c_char,
    var: *mut bt_variable_t,
    n: usize,
) -> libc::ssize_t {
    ffi_guard!(-1, {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }) else {
            return -1;
        };
        if unusable(dst) {
            return -1;
        }
        let Some(value) = read(&var) else {
            return -1;
        };
        let text = match value.kind {
            VariableKind::String => value.value.as_str().map(str::to_string).or(value.symbol),
            VariableKind::Reference => value.symbol,
            _ => None,
        };
        match text {
            // SAFETY: `dst` is the module's buffer, not NULL nor a libptrace address (checked
            // by `unusable`), which pmodule.h requires to be writable for `n` bytes;
            // `copy_to_buffer` writes at most `n`.
            Some(text) => unsafe { copy_to_buffer(text.as_bytes(), dst, n) as libc::ssize_t },
            None => -1,
        }
    })
}

/// The size in bytes of `var`'s type, or -1 when unknown or on error.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_sizeof(var: *mut bt_variable_t) -> c_longlong {
    ffi_guard!(-1, {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }) else {
            return -1;
        };
        typed_memory()
            .and_then(|t| typed::size_of(t.as_ref(), &var).ok())
            .map_or(-1, |s| s as c_longlong)
    })
}

/// The type of `var` (owned by libptrace, valid until the callback returns); NULL on error.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_bt_type(var: *mut bt_variable_t) -> *mut bt_type {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(var) = (unsafe { bt_of(var) }) else {
            return std::ptr::null_mut();
        };
        let Some(typed) = typed_memory() else {
            return std::ptr::null_mut();
        };
        let pointer = (typed.kind(&var) == VariableKind::Reference).then(|| var.clone());
        // The type of a pointer keeps the pointer, so its base can be dereferenced at addresses.
        type_of(&var, pointer)
    })
}

/// The base type of `type`: qualifiers, pointers, array bounds and the aggregate keyword
/// removed (`const struct crash *` gives `crash`). Owned by libptrace, valid until the callback
/// returns; NULL when `type` is NULL or not live.
///
/// # Safety
/// `type` is NULL or a pointer libptrace returned.
#[no_mangle]
pub unsafe extern "C" fn bt_type_base(r#type: *mut bt_type) -> *mut bt_type {
    ffi_guard!(std::ptr::null_mut(), {
        let Some(info) = type_slot(r#type) else {
            return std::ptr::null_mut();
        };
        new_type(TypeInfo {
            type_name: base_type_of(&info.type_name),
            base: true,
            ..info
        })
    })
}

/// `type` as C-like text, every aggregate (C struct and union, C++ class, struct and union,
/// template instances included) written `struct(name)` and enums `enum(name)`:
/// `struct(my_pair) *`, `const struct(ns::Ring<int, 4>) &` (`lang` must be `BT_TYPE_LANG_C`).
/// Owned by libptrace, valid until the callback returns; NULL on error.
///
/// # Safety
/// `type` is NULL or a pointer libptrace returned.
#[no_mangle]
pub unsafe extern "C" fn bt_type_pp(r#type: *mut bt_type, lang: c_int) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        if lang != BT_TYPE_LANG_C {
            return std::ptr::null();
        }
        match type_slot(r#type) {
            Some(info) => context::scoped_str(Some(info.pp())),
            None => std::ptr::null(),
        }
    })
}

/// Releases what libptrace holds for `var` and clears its fields. Safe on any variable (filled
/// or not, on the stack or returned) and on NULL.
///
/// # Safety
/// `var` is NULL or points to a writable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn bt_variable_deinit(var: *mut bt_variable_t) {
    ffi_guard!((), {
        if !writable(var) {
            return;
        }
        // SAFETY: `writable` refused NULL, libptrace's token range and stale slots, so `var` is
        // a live slot of libptrace's or the module's own `bt_variable_t`, which pmodule.h
        // requires to be writable; `_private` is only looked up in the table by `free`.
        unsafe {
            live::free((*var)._private as *const BtSlot);
            (*var).name = std::ptr::null();
            (*var).r#type = std::ptr::null_mut();
            (*var)._private = std::ptr::null_mut();
        }
    })
}

/// Fills `*out` with global `name` (`object` and `cu`: substring filters, NULL for any). False
/// when not found, outside a callback, or `out`/`name` is NULL.
///
/// # Safety
/// `out` NULL or writable; the strings NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pmodule_bt_query(
    out: *mut bt_variable_t,
    name: *const c_char,
    object: *const c_char,
    cu: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: the three strings are the module's arguments, each NULL or a C string as
        // pmodule.h requires; `text` refuses NULL and libptrace's handle addresses and copies.
        let (Some(name), object, cu) = (unsafe { text(name) }, unsafe { text(object) }, unsafe {
            text(cu)
        }) else {
            return false;
        };
        if out.is_null() {
            return false;
        }
        let Some(typed) = typed_memory() else {
            return false;
        };
        match typed.global(&name, object.as_deref(), cu.as_deref()) {
            // SAFETY: `out` is not NULL (checked) and is the module's `bt_variable_t`, writable
            // as pmodule.h requires (`fill` also refuses libptrace's token range and stale
            // slots).
            Some(var) => unsafe { fill(out, var, typed.as_ref()) },
            None => false,
        }
    })
}

/// A temporary pmodule variable with `var`'s value read (name, type, value, symbol). Valid
/// until the callback returns; it cannot be added to the snapshot. NULL on error.
///
/// # Safety
/// `var` is NULL or points to a readable `bt_variable_t`.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_from_bt(var: *mut bt_variable_t) -> *mut ptrace_variable_t {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `var` is the module's argument, NULL or a readable bt variable as pmodule.h
        // requires: what `bt_of` needs.
        let Some(value) = (unsafe { bt_of(var) }).and_then(|v| read(&v)) else {
            return std::ptr::null_mut();
        };
        match context::with_scene(|s| s.detached_variable(value)) {
            Some(r) => context::var_handle(r),
            None => std::ptr::null_mut(),
        }
    })
}

/// The type named `name` in `dwarf` (owned by libptrace, valid until the callback returns), or
/// NULL when `dwarf` or `name` is NULL. Its `die` is NULL: the type is known by name only, and
/// looked up when used (`bt_variable_type_deref_at` views memory at an address as this type).
///
/// # Safety
/// `dwarf` is NULL or the `dwarf` field of a bt variable; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_cpp_get_bt_type_from_name(
    dwarf: *mut bt_dwarf_t,
    name: *const c_char,
) -> *mut bt_type {
    ffi_guard!(std::ptr::null_mut(), {
        // SAFETY: `name` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies. `dwarf` is only
        // compared, never read.
        match (dwarf == dwarf_token(), unsafe { text(name) }) {
            (true, Some(name)) => new_type(TypeInfo {
                type_name: name,
                pointer: None,
                origin: None,
                base: false,
                from_dwarf: false,
            }),
            _ => std::ptr::null_mut(),
        }
    })
}

/// Template argument `n` (0-based) of the C++ type name `type_name`
/// (`std::map<int, std::string>`, 1 gives `std::string`), stored in `*out` as a string the
/// caller frees with `free`. False (and `*out` NULL) when there is no such argument or an
/// argument is NULL.
///
/// # Safety
/// `out` NULL or writable; `type_name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_cpp_template_nth_argument(
    out: *mut *mut c_char,
    type_name: *const c_char,
    n: c_int,
) -> bool {
    ffi_guard!(false, {
        if unusable(out) {
            return false;
        }
        // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
        // module's `char *` slot, writable as pmodule.h requires.
        unsafe { *out = std::ptr::null_mut() };
        // SAFETY: `type_name` is the module's argument, NULL or a C string as pmodule.h
        // requires; `text` refuses NULL and libptrace's handle addresses and copies.
        let Some(name) = (unsafe { text(type_name) }) else {
            return false;
        };
        let Ok(n) = usize::try_from(n) else {
            return false;
        };
        match crate::variables::navigate::template_nth_argument(&name, n) {
            Some(argument) => {
                let copy = malloc_string(&argument);
                // SAFETY: `out` as above (checked by `unusable`, the module's writable slot).
                unsafe { *out = copy };
                !copy.is_null()
            }
            None => false,
        }
    })
}
