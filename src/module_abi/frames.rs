//! Frames and threads from C beyond reading: the frame fields modules rewrite (Lua's
//! `fr:set_symbol`, ...), synthesized frames (`pmodule.create_frame`, `thr:add_frame`,
//! `fr:add_frame`), thread names, and the remaining getters of the Lua objects
//! (`fr:decl_line`, `fr:line_resolved`, `thr:n_kframes`, `:backtrace()`).

use super::context::{self, ptrace_backtrace_t, ptrace_frame_t, ptrace_thread_t};
use super::guard::{ffi_guard, text};
use super::live;
use super::objects::{frame_of, thread_of};
use crate::pmodule::{FrameField, FrameRef, LogLevel, SceneError};
use std::ffi::{c_char, c_int, c_uint};

/// Runs a scene edit for the current module; an engine refusal is logged under `what`.
fn edit<R>(what: &str, f: impl FnOnce(&mut crate::pmodule::Scene) -> Result<R, SceneError>) -> Option<R> {
    let ctx = context::current()?;
    match ctx.engine.with_scene(f) {
        Ok(r) => Some(r),
        Err(e) => {
            let id = ctx.engine.module_id(ctx.module);
            ctx.engine.log(&id, LogLevel::Error, &format!("{what}: {e}"));
            None
        }
    }
}

fn set_field(fr: *const ptrace_frame_t, what: &str, field: Option<FrameField>) -> bool {
    let (Some(frame), Some(field)) = (frame_of(fr), field) else {
        return false;
    };
    edit(what, |s| s.set_frame_field(frame, field)).is_some()
}

/// Sets the frame's function name to `symbol` (copied). False when an argument is NULL or
/// stale.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `symbol` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_symbol(fr: *mut ptrace_frame_t, symbol: *const c_char) -> bool {
    ffi_guard!(false, {
        // SAFETY: `symbol` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let symbol = unsafe { text(symbol) };
        set_field(fr, "pmodule_frame_set_symbol", symbol.map(FrameField::Symbol))
    })
}

/// Sets the base name of the frame's source path (the directory is kept). As
/// `pmodule_frame_set_symbol`.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `basename` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_basename(
    fr: *mut ptrace_frame_t,
    basename: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `basename` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let basename = unsafe { text(basename) };
        set_field(
            fr,
            "pmodule_frame_set_basename",
            basename.map(FrameField::Basename),
        )
    })
}

/// Sets the directory of the frame's source path (the base name is kept). As
/// `pmodule_frame_set_symbol`.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `directory` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_directory(
    fr: *mut ptrace_frame_t,
    directory: *const c_char,
) -> bool {
    ffi_guard!(false, {
        // SAFETY: `directory` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let directory = unsafe { text(directory) };
        set_field(
            fr,
            "pmodule_frame_set_directory",
            directory.map(FrameField::Directory),
        )
    })
}

/// Sets the frame's whole source path. As `pmodule_frame_set_symbol`.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave; `path` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_path(fr: *mut ptrace_frame_t, path: *const c_char) -> bool {
    ffi_guard!(false, {
        // SAFETY: `path` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let path = unsafe { text(path) };
        set_field(fr, "pmodule_frame_set_path", path.map(FrameField::Path))
    })
}

/// Sets the frame's source line. False when `fr` is NULL or stale.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_line(fr: *mut ptrace_frame_t, line: c_uint) -> bool {
    ffi_guard!(false, {
        set_field(fr, "pmodule_frame_set_line", Some(FrameField::Line(line)))
    })
}

/// Sets the line where the frame's function is declared. False when `fr` is NULL or stale, or
/// is a created frame not inserted into a thread yet (the reason is logged).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_set_decl_line(fr: *mut ptrace_frame_t, line: c_uint) -> bool {
    ffi_guard!(false, {
        set_field(
            fr,
            "pmodule_frame_set_decl_line",
            Some(FrameField::DeclLine(line)),
        )
    })
}

/// The line where the frame's function is declared, 0 when unknown or on error (NULL or stale
/// `fr`).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_decl_line(fr: *mut ptrace_frame_t) -> c_uint {
    ffi_guard!(0, {
        let Some(frame) = frame_of(fr) else { return 0 };
        context::with_scene(|s| s.decl_line(frame).ok().flatten())
            .flatten()
            .unwrap_or(0)
    })
}

/// Whether the frame's source line is known (false on error).
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_line_resolved(fr: *mut ptrace_frame_t) -> bool {
    ffi_guard!(false, {
        let Some(frame) = frame_of(fr) else { return false };
        context::with_scene(|s| s.frame(frame).map(|f| f.line.is_some()).unwrap_or(false)).unwrap_or(false)
    })
}

/// The backtrace the frame belongs to (valid until the callback returns); NULL when `fr` is
/// NULL or stale.
///
/// # Safety
/// `fr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_backtrace(fr: *mut ptrace_frame_t) -> *mut ptrace_backtrace_t {
    ffi_guard!(std::ptr::null_mut(), {
        match frame_of(fr) {
            Some(_) => context::backtrace_handle(),
            None => std::ptr::null_mut(),
        }
    })
}

/// The backtrace the thread belongs to (valid until the callback returns); NULL when `thr` is
/// NULL or stale.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_backtrace(thr: *mut ptrace_thread_t) -> *mut ptrace_backtrace_t {
    ffi_guard!(std::ptr::null_mut(), {
        match thread_of(thr) {
            Some(_) => context::backtrace_handle(),
            None => std::ptr::null_mut(),
        }
    })
}

/// The number of kernel frames of the thread: always 0 (kernel stacks are not captured), -1
/// when `thr` is NULL or stale.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_kframe_count(thr: *mut ptrace_thread_t) -> c_int {
    ffi_guard!(-1, {
        let Some(t) = thread_of(thr) else { return -1 };
        context::with_scene(|s| s.thread(t).map(|_| 0).unwrap_or(-1)).unwrap_or(-1)
    })
}

/// Renames the thread to `name` (copied). False when an argument is NULL or stale.
///
/// # Safety
/// `thr` is NULL or a pointer libptrace gave; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_set_name(thr: *mut ptrace_thread_t, name: *const c_char) -> bool {
    ffi_guard!(false, {
        // SAFETY: `name` is the module's argument, NULL or a C string as pmodule.h requires;
        // `text` refuses NULL and libptrace's handle addresses and copies the text.
        let (Some(t), Some(name)) = (thread_of(thr), unsafe { text(name) }) else {
            return false;
        };
        edit("pmodule_thread_set_name", |s| s.set_thread_name(t, &name)).is_some()
    })
}

/// A new empty frame (no symbol, no variables), as Lua's `pmodule.create_frame()`: set its
/// fields, add variables, then insert it with `pmodule_thread_add_frame` or
/// `pmodule_frame_add_frame`. Owned by libptrace, valid until the callback returns (not inserted,
/// it is then dropped); NULL outside a callback.
#[no_mangle]
pub extern "C" fn pmodule_frame_create() -> *mut ptrace_frame_t {
    ffi_guard!(std::ptr::null_mut(), {
        match context::with_scene(|s| s.create_frame()) {
            Some(f) => context::frame_handle(f),
            None => std::ptr::null_mut(),
        }
    })
}

/// Points the handle `fr` at where its frame now is.
fn follow(fr: *mut ptrace_frame_t, placed: FrameRef) {
    live::with(fr, |h| h.frame = placed);
}

/// Inserts created frame `fr` into thread `thr`: innermost (`first` true, Lua's default) or
/// outermost. The frames are renumbered; afterwards `fr` designates the inserted frame. False
/// on error: NULL or stale arguments, a frame already in a thread (the reason is logged).
///
/// # Safety
/// `thr` and `fr` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_add_frame(
    thr: *mut ptrace_thread_t,
    fr: *mut ptrace_frame_t,
    first: bool,
) -> bool {
    ffi_guard!(false, {
        let (Some(t), Some(frame)) = (thread_of(thr), frame_of(fr)) else {
            return false;
        };
        match edit("pmodule_thread_add_frame", |s| {
            s.thread_add_frame(t, frame, first)
        }) {
            Some(placed) => {
                follow(fr, placed);
                true
            }
            None => false,
        }
    })
}

/// Inserts created frame `fr` next to frame `anchor` (which is in a thread): before it, i.e.
/// inner (`insert_after` false, Lua's default), or after it. As `pmodule_thread_add_frame`.
///
/// # Safety
/// `anchor` and `fr` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_add_frame(
    anchor: *mut ptrace_frame_t,
    fr: *mut ptrace_frame_t,
    insert_after: bool,
) -> bool {
    ffi_guard!(false, {
        let (Some(a), Some(frame)) = (frame_of(anchor), frame_of(fr)) else {
            return false;
        };
        match edit("pmodule_frame_add_frame", |s| {
            s.frame_add_frame(a, frame, insert_after)
        }) {
            Some(placed) => {
                follow(fr, placed);
                true
            }
            None => false,
        }
    })
}
