//! Variables: DWARF types, locations and values, for every frame and for globals.
//!
//! The engine is language-neutral (the CLI, and later the Lua and C module APIs, sit on it):
//!
//! - [`ProcessVariables`] is built before the target stops, over a process's
//!   [`ProcessObjects`](crate::debuginfo::ProcessObjects): each object's DWARF (shared with the
//!   symbolizer, loaded once) gets its unit headers and address ranges indexed.
//! - While the target is stopped, [`ProcessVariables::thread_variables`] gives the parameters and
//!   locals in scope of each unwound frame (one list per inline level) and of each tail-call frame
//!   between them, evaluated against the frame's recovered registers, its CFA and the target
//!   memory (a [`MemoryReader`](crate::memory::MemoryReader)); a register the unwinder could not
//!   recover makes a variable `optimized_out` with the reason. `DW_OP_entry_value` is resolved
//!   through the caller's call site (a tail-call frame's jump included) only when that call is
//!   shown to call the function and the function cannot have reached itself through tail calls
//!   since, as gdb requires; otherwise it is `optimized_out`, with the reason.
//!   [`ProcessVariables::thread_variables_pending`] does only the part that needs the target
//!   stopped: each variable located (its bytes copied) and the strings its value points to copied
//!   into [`StringCopies`]; [`ProcessVariables::build_pending`] builds the snapshot variables
//!   from those copies after the resume (the same variables, most of the work out of the stop).
//! - Globals: [`ProcessVariables::find_global`] (name, optional object and unit substrings) gives
//!   a [`GlobalVariable`] handle (object, type, address), [`GlobalVariable::read`] its value;
//!   [`ProcessVariables::globals`] enumerates them lazily.
//! - Types: [`Type`] is a handle on a DWARF type with its C name, size, kind, members and target;
//!   [`ProcessVariables::find_type`] looks one up by name.
//! - Navigation ("bt variables", what the module APIs bind): [`BtVariable`] is a typed view of
//!   target memory from a global, an address or an extracted variable
//!   ([`ProcessVariables::thread_variables_with_bt`]): members through pointers of any depth,
//!   dereference, elements, sizes, integer / float / string reads, [`type_pp`], [`find_type`],
//!   [`template_nth_argument`]; every step fallible with a [`BtError`].
//! - Thread-local variables are located through a [`TlsResolver`] (the TLS block of an object in
//!   a thread; the session adapts [`tls::TlsResolver`](crate::tls::TlsResolver) to it per thread);
//!   without one they are `optimized_out` with the reason "TLS unavailable".
//!   [`ProcessVariables::thread_locals`] lists those of chosen objects (a light walk of their
//!   unit-level DIEs, no name index).
//!
//! Values become [`snapshot::Variable`](crate::snapshot::Variable)s: kind, C type name, base type,
//! value (integers as numbers up to 53 bits, else decimal strings; addresses as hex strings;
//! floats as numbers or "nan"/"inf"/"-inf"), symbol (string contents, enum label, function name)
//! and children down to [`VariableLimits::depth`]. Pointers are not followed.
//!
//! Layout, each concept in its folder, arrows pointing down the list:
//!
//! - `index/`: the DWARF index of one object ([`ObjectDebug`]): units, DIE references, names,
//!   thread-local variables, what is in scope at a pc. It stores, without reading them, the
//!   caches of the type model and of locating (`TypeCache`, `LocationCaches`).
//! - `types/`: the type model ([`Type`]), type DIEs parsed, C names, lookups by name, C++
//!   template arguments.
//! - `location/`: locating values (expressions, location lists, frame bases, entry values through
//!   the callers' call sites, a thread's stack of frames) into value images.
//! - `value/`: building snapshot variables from value images, now or after the resume.
//! - `navigate/`: bt variables.
//! - the facade: [`ProcessVariables`] (`process_variables.rs`), globals, errors.

mod error;
mod globals;
mod index;
mod location;
pub mod navigate;
mod process_variables;
mod types;
mod value;

#[cfg(test)]
mod tests;

pub use error::VariablesError;
pub use globals::{GlobalFilter, GlobalIter, GlobalPlan, GlobalVariable, PendingGlobal};
pub use index::ObjectDebug;
pub use navigate::{find_type, BitSpan, BtError, BtVariable, MAX_POINTER_DEPTH};
pub use process_variables::{PendingVariable, ProcessVariables, ThreadVariables};
pub use types::{
    base_type, find_type_in, gcc_spelling, template_arguments, template_nth_argument, type_pp, BaseEncoding,
    BitField, Enumerator, Member, Type, TypeKind, POINTER_SIZE,
};
pub use value::{encode_float, encode_integer, CopiedStrings, StringCopies, VariableLimits};

use crate::debuginfo::LoadedObject;

/// Gives the address of an object's thread-local storage block in one thread: what
/// `DW_OP_form_tls_address` / `DW_OP_GNU_push_tls_address` offsets are added to.
pub trait TlsResolver {
    /// The TLS block of `object` in the thread, or `None` when it has none or it is unknown.
    fn tls_block(&self, object: &LoadedObject) -> Option<u64>;
}
