//! Memory map entries from C, as Lua's `bt:pmap_entry(addr)`, `pmap:guard()`,
//! `pmap:permissions(flag, ...)`, `pmodule.pmap_enabled()` and `pmodule.pmap_cached()`.

use super::context::{self, ptrace_backtrace_t};
use super::guard::{ffi_guard, unusable};
use super::objects::backtrace_live;
use crate::pmodule::{PmapEntry, PmapPerm};
use std::ffi::{c_char, c_uint};

/// pmap permission flag: executable.
pub const PMODULE_PMAP_PERMS_EX: c_uint = 1;
/// pmap permission flag: readable.
pub const PMODULE_PMAP_PERMS_RD: c_uint = 2;
/// pmap permission flag: writable.
pub const PMODULE_PMAP_PERMS_WR: c_uint = 4;
/// pmap permission flag: private (copy on write).
pub const PMODULE_PMAP_PERMS_PR: c_uint = 8;
/// pmap permission flag: shared.
pub const PMODULE_PMAP_PERMS_SH: c_uint = 16;
/// pmap permission flags: readable, writable and executable.
pub const PMODULE_PMAP_PERMS_ALL: c_uint = 7;

/// A memory map entry (a `/proc/PID/maps` line), filled by `pmodule_backtrace_pmap_entry`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pmodule_pmap_t {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `PMODULE_PMAP_PERMS_*` bits (EX, RD, WR, and PR or SH).
    pub permissions: c_uint,
    /// A guard region (no permission at all, typically below a thread stack).
    pub guard: bool,
    /// The mapped path or pseudo-path (`[stack]`), empty for anonymous memory; owned by
    /// libptrace, valid until the callback returns.
    pub path: *const c_char,
}

fn bits(e: &PmapEntry) -> c_uint {
    [
        (e.executable, PmapPerm::Ex),
        (e.readable, PmapPerm::Rd),
        (e.writable, PmapPerm::Wr),
        (e.private, PmapPerm::Pr),
        (!e.private, PmapPerm::Sh),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |a, (_, f)| a | f.bits())
}

/// Fills `*out` with the memory map entry containing `addr`. False when no entry contains it,
/// outside a callback, or when `bt` is NULL or stale or `out` is NULL.
///
/// # Safety
/// `bt` is NULL or a pointer libptrace gave; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmodule_backtrace_pmap_entry(
    bt: *mut ptrace_backtrace_t,
    addr: u64,
    out: *mut pmodule_pmap_t,
) -> bool {
    ffi_guard!(false, {
        if unusable(out) || !backtrace_live(bt) {
            return false;
        }
        let Some(entry) = context::engine()
            .and_then(|e| e.process_access())
            .and_then(|p| p.pmap_entry(addr))
        else {
            return false;
        };
        let path = context::scoped_str(Some(entry.path.clone()));
        // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `out` is the
        // module's `pmodule_pmap_t`, writable as pmodule.h requires.
        unsafe {
            *out = pmodule_pmap_t {
                start: entry.start,
                end: entry.end,
                permissions: bits(&entry),
                guard: entry.guard,
                path,
            };
        }
        true
    })
}

/// Whether every flag of `flags` (`PMODULE_PMAP_PERMS_*` bits) is set on `pmap`, as Lua's
/// `pmap:permissions(flag, ...)`. False when `pmap` is NULL, or `flags` is 0 or has unknown
/// bits.
///
/// # Safety
/// `pmap` is NULL or a readable entry.
#[no_mangle]
pub unsafe extern "C" fn pmodule_pmap_permissions(pmap: *const pmodule_pmap_t, flags: c_uint) -> bool {
    ffi_guard!(false, {
        let known = PmapPerm::ALL.iter().fold(0, |a, f| a | f.bits());
        if unusable(pmap) || flags == 0 || flags & !known != 0 {
            return false;
        }
        // SAFETY: `unusable` refused NULL and libptrace's own addresses, so `pmap` is the
        // module's `pmodule_pmap_t`, readable as pmodule.h requires; one field is copied.
        let have = unsafe { (*pmap).permissions };
        have & flags == flags
    })
}

/// Whether `pmap` is a guard region (false when NULL), as Lua's `pmap:guard()`.
///
/// # Safety
/// `pmap` is NULL or a readable entry.
#[no_mangle]
pub unsafe extern "C" fn pmodule_pmap_guard(pmap: *const pmodule_pmap_t) -> bool {
    ffi_guard!(false, {
        // SAFETY: read only when `unusable` refused NULL and libptrace's own addresses, so
        // `pmap` is the module's entry, readable as pmodule.h requires; one field is copied.
        !unusable(pmap) && unsafe { (*pmap).guard }
    })
}

/// Whether memory map lookups are available (false outside a callback).
#[no_mangle]
pub extern "C" fn pmodule_pmap_enabled() -> bool {
    ffi_guard!(false, {
        context::engine()
            .and_then(|e| e.process_access())
            .is_some_and(|p| p.pmap_enabled())
    })
}

/// Whether memory maps come from a copy read earlier rather than live (false outside a
/// callback).
#[no_mangle]
pub extern "C" fn pmodule_pmap_cached() -> bool {
    ffi_guard!(false, {
        context::engine()
            .and_then(|e| e.process_access())
            .is_some_and(|p| p.pmap_cached())
    })
}
