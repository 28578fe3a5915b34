//! The boundary rules of every `extern "C"` function, the module ABI's and the embedding API's
//! ([`crate::embed`]): [`ffi_guard!`] runs the body under
//! `catch_unwind` (a Rust panic never crosses into C; the function returns its error value
//! instead), and the helpers here turn C strings into Rust ones without trusting them.

use std::ffi::{c_char, CStr};

/// Runs a function body, returning `$error` when it panics.
///
/// ```ignore
/// pub unsafe extern "C" fn f(x: *const T) -> bool {
///     ffi_guard!(false, { ... })
/// }
/// ```
/// The body is inside the function (not a wrapper), so cbindgen still sees the signature.
macro_rules! ffi_guard {
    ($error:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $error,
        }
    };
}
pub(crate) use ffi_guard;

/// The text of a C string: `None` for NULL (or a libptrace handle passed as a string); invalid
/// UTF-8 is replaced.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string readable for its whole length.
pub(crate) unsafe fn text(text: *const c_char) -> Option<String> {
    if unusable(text) {
        return None;
    }
    // SAFETY: the caller guarantees a NUL-terminated readable string; NULL was excluded.
    Some(unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

/// A copy of `text` in memory from `malloc`, which the C caller frees with `free`; NULL when
/// allocation fails. Interior NUL bytes end the C string early.
pub(crate) fn malloc_string(text: &str) -> *mut c_char {
    let bytes = text.as_bytes();
    let len = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    // SAFETY: malloc of len + 1 bytes; on success we write exactly len + 1 bytes into it.
    unsafe {
        let out = libc::malloc(len + 1) as *mut u8;
        if out.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, len);
        *out.add(len) = 0;
        out as *mut c_char
    }
}

/// Copies `text` into `dst` (capacity `n` bytes), always NUL-terminated when `n > 0`; returns
/// the bytes copied (without the NUL).
///
/// # Safety
/// `dst` is writable for `n` bytes (it may be NULL only when `n` is 0).
pub(crate) unsafe fn copy_to_buffer(text: &[u8], dst: *mut c_char, n: usize) -> usize {
    if n == 0 || dst.is_null() {
        return 0;
    }
    let len = text.len().min(n - 1);
    // SAFETY: the caller guarantees n writable bytes at dst; we write len + 1 <= n.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), dst as *mut u8, len);
        *dst.add(len) = 0;
    }
    len
}

/// Whether a pointer from C to caller memory (an output, a buffer, a string, a struct to read)
/// must not be touched: NULL, or one of libptrace's own handle or slot addresses passed where
/// caller memory is expected.
pub(crate) fn unusable<T>(pointer: *const T) -> bool {
    pointer.is_null() || super::live::in_token_space(pointer) || super::live::in_slot_space(pointer)
}
