//! The module ABI: what native modules are built against (the C API of `pmodule.h`, as
//! Backtrace's ptrace defined it): the descriptor a module exports and the ABI version it
//! carries (here), and the functions a module calls ([`events`], [`matchobj`], [`objects`],
//! [`edit`], [`memory`], [`btvar`], [`frames`], [`variables`], [`pmap`], [`iterate`]). The
//! loader of such modules is [`crate::native`], beside it; the embedding API (the other C face)
//! is [`crate::embed`]. `build.rs` turns both into `include/pmodule.h` with cbindgen; with the
//! embedding API they are the only `#[no_mangle]` code of the crate.
//!
//! Every function catches panics (`ffi_guard!`: none crosses into C) and checks its
//! pointers against the table of live objects ([`live`]): a NULL, stale or foreign pointer gives
//! an error result, never a crash. Handles given to a callback, and everything made during it,
//! are valid until it returns ([`context`]).

pub mod btvar;
pub mod context;
pub mod edit;
pub mod events;
pub mod frames;
pub(crate) mod guard;
pub mod iterate;
pub mod live;
pub mod matchobj;
pub mod memory;
pub mod objects;
pub mod pmap;
pub mod variables;

#[cfg(test)]
mod tests;

use std::ffi::{c_char, c_int};

pub use context::{
    pmodule_match_t, pmodule_t, ptrace_backtrace_t, ptrace_frame_t, ptrace_thread_t, ptrace_variable_t,
};

/// The ABI major version of native modules: a module built for another major is refused.
pub const PMODULE_ABI_MAJOR: u32 = 1;
/// The ABI minor version (additions only; modules built for an older minor load).
pub const PMODULE_ABI_MINOR: u32 = 0;

/// A module's `load` function: registers its callbacks; false refuses the module.
#[allow(non_camel_case_types)]
pub type pmodule_load_fn = Option<unsafe extern "C" fn(*mut pmodule_t) -> bool>;
/// A module's `unload` (before exit) or `reset` (between snapshots) function.
#[allow(non_camel_case_types)]
pub type pmodule_lifecycle_fn = Option<unsafe extern "C" fn(*mut pmodule_t)>;

/// What `PMODULE_DEFINE` exports as the symbol `pmodule_descriptor`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pmodule_descriptor_t {
    /// `PMODULE_ABI_MAJOR` of the header the module was built with.
    pub abi_major: u32,
    /// `PMODULE_ABI_MINOR` of the header the module was built with.
    pub abi_minor: u32,
    /// The module id (a string literal; unique among loaded modules).
    pub id: *const c_char,
    /// Registers callbacks (required).
    pub load: pmodule_load_fn,
    /// Before exit (NULL: none).
    pub unload: pmodule_lifecycle_fn,
    /// Between snapshots (NULL: none).
    pub reset: pmodule_lifecycle_fn,
}

/// The ABI version this libptrace implements, as `major << 16 | minor` (for hosts and modules
/// that check at run time).
#[no_mangle]
pub extern "C" fn pmodule_abi_version() -> u32 {
    (PMODULE_ABI_MAJOR << 16) | PMODULE_ABI_MINOR
}

/// Annotation level: informational text.
pub const PMODULE_ANNOTATION_COMMENT: c_int = 0;
/// Annotation level: something looks wrong.
pub const PMODULE_ANNOTATION_WARNING: c_int = 1;
/// Annotation level: something is wrong.
pub const PMODULE_ANNOTATION_CRITICAL: c_int = 2;
/// Annotation level: `{"json": {...}}` text.
pub const PMODULE_ANNOTATION_JSON: c_int = 3;

/// Log level: debugging detail.
pub const PMODULE_LOG_DEBUG: c_int = 0;
/// Log level: information.
pub const PMODULE_LOG_INFO: c_int = 1;
/// Log level: a warning.
pub const PMODULE_LOG_WARNING: c_int = 2;
/// Log level: an error.
pub const PMODULE_LOG_ERROR: c_int = 3;

/// Variable kind: signed integer.
pub const PMODULE_VARIABLE_TYPE_LL: c_int = 0;
/// Variable kind: unsigned integer.
pub const PMODULE_VARIABLE_TYPE_ULL: c_int = 1;
/// Variable kind: float.
pub const PMODULE_VARIABLE_TYPE_FLT: c_int = 2;
/// Variable kind: double.
pub const PMODULE_VARIABLE_TYPE_DBL: c_int = 3;
/// Variable kind: long double.
pub const PMODULE_VARIABLE_TYPE_LDBL: c_int = 4;
/// Variable kind: float complex.
pub const PMODULE_VARIABLE_TYPE_CFLT: c_int = 5;
/// Variable kind: double complex.
pub const PMODULE_VARIABLE_TYPE_CDBL: c_int = 6;
/// Variable kind: long double complex.
pub const PMODULE_VARIABLE_TYPE_CLDBL: c_int = 7;
/// Variable kind: character array or synthesized string.
pub const PMODULE_VARIABLE_TYPE_STRING: c_int = 8;
/// Variable kind: enum.
pub const PMODULE_VARIABLE_TYPE_ENUM: c_int = 9;
/// Variable kind: struct, union or class.
pub const PMODULE_VARIABLE_TYPE_TUPLE: c_int = 10;
/// Variable kind: array.
pub const PMODULE_VARIABLE_TYPE_ARRAY: c_int = 11;
/// Variable kind: void or unknown.
pub const PMODULE_VARIABLE_TYPE_BOTTOM: c_int = 12;
/// Variable kind: function.
pub const PMODULE_VARIABLE_TYPE_FN: c_int = 13;
/// Variable kind: pointer or C++ reference.
pub const PMODULE_VARIABLE_TYPE_REFERENCE: c_int = 14;

/// Process state (`pmodule_backtrace_process_state`): running.
pub const PMODULE_PROCESS_STATE_RUNNING: c_int = 0;
/// Process state (`pmodule_backtrace_process_state`): interruptible sleep.
pub const PMODULE_PROCESS_STATE_SLEEPING: c_int = 1;
/// Process state (`pmodule_backtrace_process_state`): uninterruptible (disk) sleep.
pub const PMODULE_PROCESS_STATE_DISK: c_int = 2;
/// Process state (`pmodule_backtrace_process_state`): stopped by a signal.
pub const PMODULE_PROCESS_STATE_STOPPED: c_int = 3;
/// Process state (`pmodule_backtrace_process_state`): stopped by a tracer.
pub const PMODULE_PROCESS_STATE_TRACED: c_int = 4;
/// Process state (`pmodule_backtrace_process_state`): zombie.
pub const PMODULE_PROCESS_STATE_ZOMBIE: c_int = 5;
/// Process state (`pmodule_backtrace_process_state`): dead.
pub const PMODULE_PROCESS_STATE_DEAD: c_int = 6;
/// Process state (`pmodule_backtrace_process_state`): idle kernel thread.
pub const PMODULE_PROCESS_STATE_IDLE: c_int = 7;
/// Process state (`pmodule_backtrace_process_state`): blocked (paging / waking).
pub const PMODULE_PROCESS_STATE_BLOCKED: c_int = 8;
/// Process state (`pmodule_backtrace_process_state`): queued.
pub const PMODULE_PROCESS_STATE_QUEUED: c_int = 9;
/// Process state (`pmodule_backtrace_process_state`): anything else.
pub const PMODULE_PROCESS_STATE_UNKNOWN: c_int = 10;
/// Process state (`pmodule_backtrace_process_state`): a core file, not a live process.
pub const PMODULE_PROCESS_STATE_CORE: c_int = 11;
