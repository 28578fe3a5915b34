//! A loaded shared object as a [`ModuleInstance`]: callbacks go through `crate::module_abi::events`,
//! `unload` and `reset` call the descriptor's functions.

use crate::module_abi::context;
use crate::module_abi::{pmodule_lifecycle_fn, pmodule_t};
use crate::pmodule::{CallbackFailure, CallbackId, Engine, Event, EventArgs, ModuleInstance, ModuleKey};
use std::sync::{Arc, Weak};

/// One native module.
pub struct NativeModule {
    pub(crate) engine: Weak<Engine>,
    pub(crate) handle: usize,
    pub(crate) unload: pmodule_lifecycle_fn,
    pub(crate) reset: pmodule_lifecycle_fn,
}

impl NativeModule {
    fn engine(&self) -> Result<Arc<Engine>, CallbackFailure> {
        self.engine
            .upgrade()
            .ok_or_else(|| CallbackFailure::new("the module host is gone"))
    }

    fn lifecycle(&self, module: ModuleKey, f: pmodule_lifecycle_fn) -> Result<(), CallbackFailure> {
        let Some(f) = f else { return Ok(()) };
        let _guard = context::enter(self.engine()?, module);
        // SAFETY: the descriptor's function of a library that is never closed; the module handle
        // is live for the life of the process.
        unsafe { f(self.handle as *mut pmodule_t) };
        Ok(())
    }
}

impl ModuleInstance for NativeModule {
    fn invoke(
        &self,
        module: ModuleKey,
        callback: CallbackId,
        _event: Event,
        args: &EventArgs,
    ) -> Result<(), CallbackFailure> {
        crate::module_abi::events::invoke(&self.engine()?, module, callback, args)
    }

    fn unload(&self, module: ModuleKey) -> Result<(), CallbackFailure> {
        self.lifecycle(module, self.unload)
    }

    fn reset(&self, module: ModuleKey) -> Result<(), CallbackFailure> {
        self.lifecycle(module, self.reset)
    }
}
