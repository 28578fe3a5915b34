//! Native modules: shared objects built against `include/pmodule.h` (`cc -shared -fPIC
//! mod.c`), loaded with `dlopen(RTLD_NOW)`. They call back into libptrace through `src/ffi`
//! (resolved from the `ptrace` executable, linked `-rdynamic`, or from `libptrace.so`).
//!
//! [`NativeLoader`] refuses a file with one clear reason: not a shared object, unresolved
//! symbols, no `pmodule_descriptor`, another ABI major, `load` returning false, or (running as
//! root) a file or directory others could have written. A loaded object is never closed: no
//! code that might still be called is unmapped.

mod instance;
mod loader;
mod security;

pub use instance::NativeModule;
pub use loader::{NativeLoader, NativeOptions};
pub use security::check_ownership;

#[cfg(test)]
mod tests;
