//! The DWARF index of one object, as the variables engine reads it: its units (headers read
//! before the stop, each parsed on first use, the functions of each by address), DIE references
//! across units and files, the globals and named types by name, the thread-local variables, and
//! what is in scope at a pc.

mod memo;
mod names;
mod object;
mod scope;
mod tls_scan;
mod unit_table;

pub(crate) use memo::Memo;
pub(crate) use names::{location_uses_tls, unit_globals, GlobalEntry};
pub use object::ObjectDebug;
pub(crate) use scope::{scopes_at, ScopeLevel, ScopedVariable};
pub(crate) use unit_table::{DieRef, Entry, Unit};
