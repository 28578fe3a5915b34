//! The handle types C sees and the context of the callback running now.
//!
//! While libptrace runs a native module's code (its `load`, a callback, `unload`, `reset`) the
//! thread has a current [`CallContext`]: the engine, the module and the scope of the objects
//! made meanwhile. API functions that take no module handle (memory reads, variable creation)
//! act in that context; outside of it they fail.

use super::live;
use crate::pmodule::{Engine, FrameRef, Match, ModuleKey, ThreadRef, VarRef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// A native module, as given to its `load` function (opaque). It lives as long as the process:
/// modules keep it (e.g. in a static) to register callbacks, log and read options.
#[allow(non_camel_case_types)]
pub struct pmodule_t {
    pub(crate) engine: Weak<Engine>,
    pub(crate) key: ModuleKey,
    /// Option values handed out, kept so their pointers stay valid.
    pub(crate) interned: HashMap<String, CString>,
}

/// A match object (opaque): filters of event registration. Created by `pmodule_match_create`,
/// freed by `pmodule_match_free`; registration copies it.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, Default)]
pub struct pmodule_match_t {
    pub(crate) filter: Match,
}

/// The snapshot (opaque), valid until the callback that got it returns.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct ptrace_backtrace_t {
    _private: u8,
}

/// A thread of the snapshot (opaque), valid until the callback that got it returns.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct ptrace_thread_t {
    pub(crate) thread: ThreadRef,
}

/// A frame (opaque), valid until the callback that got it returns.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct ptrace_frame_t {
    pub(crate) frame: FrameRef,
}

/// A pmodule variable: a node of the snapshot or a created one (opaque), valid until the
/// callback that got it returns.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug)]
pub struct ptrace_variable_t {
    pub(crate) var: VarRef,
}

/// What the thread is running for.
#[derive(Clone)]
pub struct CallContext {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The module whose code runs.
    pub module: ModuleKey,
    /// The scope of the objects made meanwhile.
    pub scope: u64,
}

thread_local! {
    static STACK: RefCell<Vec<CallContext>> = const { RefCell::new(Vec::new()) };
}

/// Ends a context when dropped (also when unwinding): its objects are freed.
pub struct ContextGuard {
    scope: u64,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        STACK.with(|s| {
            s.borrow_mut().pop();
        });
        live::free_scope(self.scope);
    }
}

/// Starts running module `module` of `engine` on this thread, with a fresh scope.
pub fn enter(engine: Arc<Engine>, module: ModuleKey) -> ContextGuard {
    static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);
    let scope = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
    STACK.with(|s| {
        s.borrow_mut().push(CallContext {
            engine,
            module,
            scope,
        })
    });
    ContextGuard { scope }
}

/// The context of the code running now, if libptrace is running module code on this thread.
pub fn current() -> Option<CallContext> {
    STACK.with(|s| s.borrow().last().cloned())
}

/// Records `value` in the current scope; NULL outside any context.
pub fn scoped<T: Send + 'static>(value: T) -> *mut T {
    match current() {
        Some(ctx) => live::register(value, ctx.scope),
        None => std::ptr::null_mut(),
    }
}

/// A string valid until the current callback returns; NULL outside any context or for `None`.
pub fn scoped_str(text: Option<String>) -> *const c_char {
    let Some(text) = text else {
        return std::ptr::null();
    };
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    let pointer = scoped(c);
    if pointer.is_null() {
        return std::ptr::null();
    }
    // The CString's buffer lives as long as the registered box.
    live::with(pointer, |c| c.as_ptr()).unwrap_or(std::ptr::null())
}

/// The engine of the current context.
pub fn engine() -> Option<Arc<Engine>> {
    current().map(|c| c.engine)
}

/// Runs `f` on the scene of the current context's engine.
pub fn with_scene<R>(f: impl FnOnce(&mut crate::pmodule::Scene) -> R) -> Option<R> {
    engine().map(|e| e.with_scene(f))
}

/// A new handle on thread `thread`, in the current scope.
pub fn thread_handle(thread: ThreadRef) -> *mut ptrace_thread_t {
    scoped(ptrace_thread_t { thread })
}

/// A new handle on frame `frame`, in the current scope.
pub fn frame_handle(frame: FrameRef) -> *mut ptrace_frame_t {
    scoped(ptrace_frame_t { frame })
}

/// A new handle on variable `var`, in the current scope.
pub fn var_handle(var: VarRef) -> *mut ptrace_variable_t {
    scoped(ptrace_variable_t { var })
}

/// A new backtrace handle, in the current scope.
pub fn backtrace_handle() -> *mut ptrace_backtrace_t {
    scoped(ptrace_backtrace_t { _private: 0 })
}
