//! Memory and symbol reads of the target from C. They work in every callback (in postattach the
//! process runs again: reads see live memory); outside a callback they fail. Every read may be
//! partial.

use super::context::{self};
use super::guard::{copy_to_buffer, ffi_guard, text, unusable};
use std::ffi::{c_char, c_void};

/// Reads up to `size` bytes at `addr` into `dst`. Returns the bytes read (fewer when the end is
/// unreadable, 0 when nothing is), or -1 outside a callback or when `dst` is NULL.
///
/// # Safety
/// `dst` is NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn pmodule_address_read_raw(dst: *mut c_void, addr: u64, size: usize) -> libc::ssize_t {
    ffi_guard!(-1, {
        if unusable(dst) {
            return -1;
        }
        let Some(access) = context::engine().and_then(|e| e.process_access()) else {
            return -1;
        };
        let bytes = access.read(addr, size);
        let n = bytes.len().min(size);
        // SAFETY: dst is writable for size bytes, n <= size.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst as *mut u8, n) };
        n as libc::ssize_t
    })
}

/// Reads the NUL-terminated string at `addr` (at most `max - 1` bytes) into `dst`, always
/// NUL-terminated. Returns its length, or -1 when nothing is readable, outside a callback, or
/// when `dst` is NULL or `max` is 0.
///
/// # Safety
/// `dst` is NULL or writable for `max` bytes.
#[no_mangle]
pub unsafe extern "C" fn pmodule_address_read_string(
    dst: *mut c_char,
    addr: u64,
    max: usize,
) -> libc::ssize_t {
    ffi_guard!(-1, {
        if unusable(dst) || max == 0 {
            return -1;
        }
        let Some(access) = context::engine().and_then(|e| e.process_access()) else {
            return -1;
        };
        let bytes = access.read(addr, max - 1);
        if bytes.is_empty() {
            return -1;
        }
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        // SAFETY: dst is writable for max bytes; at most max - 1 + 1 are written.
        unsafe { copy_to_buffer(&bytes[..end], dst, max) as libc::ssize_t }
    })
}

/// Stores the address of `symbol` (in `object`, a base name or path substring, when non-NULL)
/// in `*out`. False when not found, outside a callback, or `symbol`/`out` is NULL.
///
/// # Safety
/// The strings are NULL or C strings; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_symbol_address(
    symbol: *const c_char,
    object: *const c_char,
    out: *mut u64,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` and `object` are the module's arguments, NULL or C strings as pmodule.h
        // requires; `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some(symbol), object) = (unsafe { text(symbol) }, unsafe { text(object) }) else {
            return false;
        };
        if unusable(out) {
            return false;
        }
        let Some(access) = context::engine().and_then(|e| e.process_access()) else {
            return false;
        };
        match access.symbol_address(&symbol, object.as_deref()) {
            Some(address) => {
                // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
                // module's `uint64_t`, writable as pmodule.h requires.
                unsafe { *out = address };
                true
            }
            None => false,
        }
    })
}

/// The name of the symbol containing `addr` (owned by libptrace until the callback returns), or
/// NULL when none or outside a callback.
#[no_mangle]
pub extern "C" fn pmodule_address_symbol(addr: u64) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let name = context::engine()
            .and_then(|e| e.process_access())
            .and_then(|a| a.address_symbol(addr));
        context::scoped_str(name)
    })
}

/// The address of `symbol` (in `object` when non-NULL), in a callback.
///
/// # Safety
/// The strings are NULL or C strings.
unsafe fn symbol_address_of(symbol: *const c_char, object: *const c_char) -> Option<u64> {
    // SAFETY: `symbol` and `object` are NULL or C strings (this function's precondition, which each
    // caller meets by passing its module's arguments); `text` refuses NULL and libptrace's handle
    // addresses and copies the text.
    let (symbol, object) = (unsafe { text(symbol) }?, unsafe { text(object) });
    context::engine()?
        .process_access()?
        .symbol_address(&symbol, object.as_deref())
}

/// Reads up to `size` bytes at the address of `symbol` (in `object`, a base name or path
/// substring, when non-NULL) into `dst`, as Lua's `pmodule.symbol_read_raw`. Returns the bytes
/// read (fewer when the end is unreadable), or -1 when the symbol is not found, outside a
/// callback, or when `dst` or `symbol` is NULL.
///
/// # Safety
/// `dst` is NULL or writable for `size` bytes; the strings NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pmodule_symbol_read_raw(
    dst: *mut c_void,
    symbol: *const c_char,
    object: *const c_char,
    size: usize,
) -> libc::ssize_t {
    ffi_guard!(-1, {
        if unusable(dst) {
            return -1;
        }
        // SAFETY: `symbol` and `object` are the module's arguments, NULL or C strings as
        // pmodule.h requires: what `symbol_address_of` needs.
        match unsafe { symbol_address_of(symbol, object) } {
            // SAFETY: `dst` and `size` are passed on unchanged, and pmodule_address_read_raw asks
            // of them what this function does (`dst` NULL or writable for `size` bytes).
            Some(address) => unsafe { pmodule_address_read_raw(dst, address, size) },
            None => -1,
        }
    })
}

/// Reads the NUL-terminated string stored at the address of `symbol` (a character array; at
/// most `max - 1` bytes) into `dst`, always NUL-terminated, as Lua's
/// `pmodule.symbol_read_string`. Returns its length, or -1 when the symbol is not found or
/// unreadable, outside a callback, or when `dst` or `symbol` is NULL or `max` is 0.
///
/// # Safety
/// `dst` is NULL or writable for `max` bytes; the strings NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn pmodule_symbol_read_string(
    dst: *mut c_char,
    symbol: *const c_char,
    object: *const c_char,
    max: usize,
) -> libc::ssize_t {
    ffi_guard!(-1, {
        if unusable(dst) || max == 0 {
            return -1;
        }
        // SAFETY: `symbol` and `object` are the module's arguments, NULL or C strings as
        // pmodule.h requires: what `symbol_address_of` needs.
        match unsafe { symbol_address_of(symbol, object) } {
            // SAFETY: `dst` and `max` are passed on unchanged, and pmodule_address_read_string
            // asks of them what this function does (`dst` NULL or writable for `max` bytes).
            Some(address) => unsafe { pmodule_address_read_string(dst, address, max) },
            None => -1,
        }
    })
}
