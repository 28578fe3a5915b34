//! Event registration (`pmodule_*_event_add`) and running native callbacks: the table of C
//! function pointers by callback id, and [`invoke`], which makes the handles of one event,
//! calls the C function and frees what the call made.

use super::btvar::bt_variable_t;
use super::context::{
    self, pmodule_match_t, pmodule_t, ptrace_backtrace_t, ptrace_frame_t, ptrace_thread_t, ptrace_variable_t,
};
use super::guard::ffi_guard;
use super::live;
use crate::pmodule::{CallbackFailure, CallbackId, Engine, Event, EventArgs, Match, ModuleKey};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// A variable callback: the pmodule variable and its bt variable (NULL when no typed view
/// exists). Both are valid until the callback returns.
#[allow(non_camel_case_types)]
pub type pmodule_variable_cb = Option<unsafe extern "C" fn(*mut ptrace_variable_t, *mut bt_variable_t)>;
/// A frame callback; the frame is valid until the callback returns.
#[allow(non_camel_case_types)]
pub type pmodule_frame_cb = Option<unsafe extern "C" fn(*mut ptrace_frame_t)>;
/// A thread callback; the thread is valid until the callback returns.
#[allow(non_camel_case_types)]
pub type pmodule_thread_cb = Option<unsafe extern "C" fn(*mut ptrace_thread_t)>;
/// A preattach, attach or postattach callback; the backtrace is valid until it returns.
#[allow(non_camel_case_types)]
pub type pmodule_backtrace_cb = Option<unsafe extern "C" fn(*mut ptrace_backtrace_t)>;

/// A registered C function.
#[derive(Clone, Copy, Debug)]
pub enum NativeCallback {
    /// Variable events.
    Variable(unsafe extern "C" fn(*mut ptrace_variable_t, *mut bt_variable_t)),
    /// Frame events.
    Frame(unsafe extern "C" fn(*mut ptrace_frame_t)),
    /// Thread events.
    Thread(unsafe extern "C" fn(*mut ptrace_thread_t)),
    /// Backtrace events.
    Backtrace(unsafe extern "C" fn(*mut ptrace_backtrace_t)),
}

fn callbacks() -> MutexGuard<'static, HashMap<u64, NativeCallback>> {
    static TABLE: OnceLock<Mutex<HashMap<u64, NativeCallback>>> = OnceLock::new();
    TABLE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The module handle of `pm` and its engine (None when NULL, stale or the engine is gone).
pub(crate) fn module_of(pm: *const pmodule_t) -> Option<(Arc<Engine>, ModuleKey)> {
    let (weak, key) = live::with(pm, |p| (p.engine.clone(), p.key))?;
    Some((weak.upgrade()?, key))
}

fn register(
    pm: *const pmodule_t,
    event: Event,
    filter: *const pmodule_match_t,
    callback: NativeCallback,
) -> bool {
    let Some((engine, key)) = module_of(pm) else {
        return false;
    };
    let filter: Option<Match> = if filter.is_null() {
        None
    } else {
        match live::get(filter) {
            Some(m) => Some(m.filter),
            None => return false,
        }
    };
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    callbacks().insert(id, callback);
    engine.register(key, event, filter, CallbackId(id));
    true
}

/// Registers `cb` for variable events of module `pm`, filtered by `match` (NULL: every
/// variable; the match is copied, so it may be changed or freed afterwards). Returns false when
/// `pm` or `cb` is NULL or `pm`/`match` is not a live object.
///
/// # Safety
/// `pm` and `match` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_variable_event_add(
    pm: *mut pmodule_t,
    r#match: *mut pmodule_match_t,
    cb: pmodule_variable_cb,
) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| register(pm, Event::Variable, r#match, NativeCallback::Variable(f)))
    })
}

/// Registers `cb` for frame events (see `pmodule_variable_event_add`).
///
/// # Safety
/// `pm` and `match` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_frame_event_add(
    pm: *mut pmodule_t,
    r#match: *mut pmodule_match_t,
    cb: pmodule_frame_cb,
) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| register(pm, Event::Frame, r#match, NativeCallback::Frame(f)))
    })
}

/// Registers `cb` for thread events (see `pmodule_variable_event_add`).
///
/// # Safety
/// `pm` and `match` are NULL or pointers libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_thread_event_add(
    pm: *mut pmodule_t,
    r#match: *mut pmodule_match_t,
    cb: pmodule_thread_cb,
) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| register(pm, Event::Thread, r#match, NativeCallback::Thread(f)))
    })
}

/// Registers `cb` for the preattach event (before the process is stopped). False when `pm`
/// or `cb` is NULL or `pm` is not live.
///
/// # Safety
/// `pm` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_preattach_event_add(pm: *mut pmodule_t, cb: pmodule_backtrace_cb) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| {
            register(
                pm,
                Event::Preattach,
                std::ptr::null(),
                NativeCallback::Backtrace(f),
            )
        })
    })
}

/// Registers `cb` for the attach event (every thread stopped, before extraction).
///
/// # Safety
/// `pm` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_attach_event_add(pm: *mut pmodule_t, cb: pmodule_backtrace_cb) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| register(pm, Event::Attach, std::ptr::null(), NativeCallback::Backtrace(f)))
    })
}

/// Registers `cb` for the postattach event (the snapshot is complete; the process runs again).
///
/// # Safety
/// `pm` is NULL or a pointer libptrace gave.
#[no_mangle]
pub unsafe extern "C" fn pmodule_postattach_event_add(pm: *mut pmodule_t, cb: pmodule_backtrace_cb) -> bool {
    ffi_guard!(false, {
        cb.is_some_and(|f| {
            register(
                pm,
                Event::Postattach,
                std::ptr::null(),
                NativeCallback::Backtrace(f),
            )
        })
    })
}

/// Runs native callback `callback` of `module` for one event: makes the handles, calls the C
/// function, frees what the call made.
pub fn invoke(
    engine: &Arc<Engine>,
    module: ModuleKey,
    callback: CallbackId,
    args: &EventArgs,
) -> Result<(), CallbackFailure> {
    let Some(function) = callbacks().get(&callback.0).copied() else {
        return Err(CallbackFailure::new(format!(
            "no native callback #{}",
            callback.0
        )));
    };
    let _guard = context::enter(engine.clone(), module);
    match (function, args) {
        (NativeCallback::Variable(f), EventArgs::Variable { var, bt }) => {
            let handle = context::var_handle(var.clone());
            let bt_handle = match bt {
                Some(bt) => super::btvar::new_bt_variable(bt.clone()),
                None => std::ptr::null_mut(),
            };
            // SAFETY: a function the module registered with this signature; the handles are
            // live until the guard drops after the call.
            unsafe { f(handle, bt_handle) };
        }
        (NativeCallback::Frame(f), EventArgs::Frame(frame)) => {
            let handle = context::frame_handle(*frame);
            // SAFETY: as above.
            unsafe { f(handle) };
        }
        (NativeCallback::Thread(f), EventArgs::Thread(thread)) => {
            let handle = context::thread_handle(*thread);
            // SAFETY: as above.
            unsafe { f(handle) };
        }
        (NativeCallback::Backtrace(f), EventArgs::Backtrace) => {
            let handle = context::backtrace_handle();
            // SAFETY: as above.
            unsafe { f(handle) };
        }
        _ => {
            return Err(CallbackFailure::new(
                "native callback registered for another kind of event",
            ))
        }
    }
    Ok(())
}
