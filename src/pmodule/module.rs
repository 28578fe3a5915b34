//! What a module is to the engine: its key ([`ModuleKey`]), and the trait a module language
//! implements to run its modules' callbacks ([`ModuleInstance`]; Lua in `crate::lua`, native
//! modules in `crate::native`), with what a callback is called with and how it fails. Turning a
//! file into modules is the other trait, [`ModuleLoader`](super::ModuleLoader).

use super::access::BtVar;
use super::handles::{FrameRef, ThreadRef, VarRef};
use super::kinds::Event;

/// A module defined in the engine: its position in definition order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleKey(pub usize);

/// A callback as the module's language knows it (a Lua registry slot, a C function pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(pub u64);

/// What a callback is called with.
#[derive(Clone, Debug)]
pub enum EventArgs {
    /// The backtrace (preattach, attach, postattach).
    Backtrace,
    /// A thread.
    Thread(ThreadRef),
    /// A frame.
    Frame(FrameRef),
    /// A variable and its bt variable (when typed memory knows it).
    Variable {
        /// The pmodule variable.
        var: VarRef,
        /// The bt variable.
        bt: Option<BtVar>,
    },
}

/// A callback that failed: its message and, when the language has one, its traceback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFailure {
    /// What went wrong.
    pub message: String,
    /// Where (the language's stack traceback).
    pub traceback: Option<String>,
    /// What kind of failure it is.
    pub kind: FailureKind,
}

/// What kind of failure ended a callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailureKind {
    /// An error raised by the module's code or an API call.
    #[default]
    Error,
    /// The callback ran out of its instruction budget.
    OutOfBudget,
    /// The module ran out of its memory limit.
    OutOfMemory,
    /// The callback was interrupted: the run was aborted, or the stop limit was reached.
    CutOff,
}

impl CallbackFailure {
    /// A failure with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        CallbackFailure {
            message: message.into(),
            traceback: None,
            kind: FailureKind::Error,
        }
    }

    /// This failure, of kind `kind`.
    pub fn with_kind(self, kind: FailureKind) -> Self {
        CallbackFailure { kind, ..self }
    }
}

/// The loaded code of one or more modules (one Lua state, one shared object).
pub trait ModuleInstance: Send + Sync {
    /// Runs callback `callback` of module `module` for `event`.
    fn invoke(
        &self,
        module: ModuleKey,
        callback: CallbackId,
        event: Event,
        args: &EventArgs,
    ) -> Result<(), CallbackFailure>;
    /// Whether callback `callback` receives the bt variable of variable events (a callback that
    /// cannot see it spares the host making one).
    fn wants_bt(&self, callback: CallbackId) -> bool {
        let _ = callback;
        true
    }
    /// Runs the module's `unload` function, if it has one.
    fn unload(&self, module: ModuleKey) -> Result<(), CallbackFailure>;
    /// Runs the module's `reset` function, if it has one.
    fn reset(&self, module: ModuleKey) -> Result<(), CallbackFailure>;
}
