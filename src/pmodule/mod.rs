//! pmodules: the language-neutral event engine that runs modules (Lua now, native modules next)
//! against a snapshot under construction (README "Modules", `include/pmodule.h`).
//!
//! # The seam the session calls ([`PmoduleHost`])
//!
//! ```text
//! let mut host = PmoduleHost::new(module_options, log_sink);    // --module=<id>:k,v,...
//! host.add_loader(Box::new(lua::LuaLoader::new(lua_options)));   // or session::standard_host(..)
//! host.load_path(dir)? / host.load_file(path)?                  // --module-path / --module-load
//! host.set_process_access(Some(Arc<dyn ProcessAccess>));         // memory, symbols, pmap
//! host.set_typed_memory(Some(Arc<dyn TypedMemory>));             // bt variables (DWARF types)
//!
//! host.fire_preattach(&mut snapshot);           // before the stop (what is known so far)
//! // ... stop every thread ...
//! host.fire_attach(&mut snapshot);              // stopped, before extraction
//! // ... unwind + extract: put the threads' frames and variables into the snapshot ...
//! for t in 0..snapshot.threads.len() {
//!     host.fire_thread_events(&mut snapshot, t, &source);   // vars of frame 0, frame 0, ...,
//! }                                                         // TLS vars, then the thread
//! for (i, origin, bt) in globals { host.fire_global(&mut snapshot, i, origin, bt); }
//! // ... resume ...
//! host.fire_postattach(&mut snapshot);          // the target runs again
//! host.reset();   // between snapshots          host.unload();   // before exit
//! ```
//!
//! `wants(event)` / `wants_variable_events()` let the session skip work nobody listens to;
//! `selects_global(name, object, cu)` says which globals a registered variable match names (they
//! are extracted and get variable events without `--global`). `fire_variable`, `fire_frame` and
//! `fire_thread` fire single events and return the [`Insertion`]s modules made, for callers that
//! walk themselves. Each call moves the snapshot into the engine's [`Scene`] for its duration and
//! back (also when unwinding), so modules see and edit it in place.
//!
//! # Pieces
//! - [`Event`], [`VariableKind`], ... ([`kinds`]): the API's enumerations with stable integers.
//! - [`Match`]: filters of registrations and iterators.
//! - [`Engine`]: module records (unique ids), registrations, options, log, providers, scene.
//! - [`Scene`] + [`edit`]: reads and edits of the snapshot (annotations, kv, classifiers, tags,
//!   setters, synthesized frames and variables) through handles ([`ThreadRef`], [`FrameRef`],
//!   [`VarRef`]).
//! - [`dispatch`]: one event's callbacks, with failure isolation.
//! - [`typed`]: bt variable navigation rules over a [`TypedMemory`].
//! - [`ModuleLoader`] / [`ModuleInstance`]: what a module language implements.

pub mod access;
pub mod annotate;
pub mod dispatch;
pub mod edit;
pub mod engine;
pub mod failures;
pub mod handles;
pub mod host;
pub mod kinds;
pub mod loader;
pub mod log;
pub mod matcher;
pub mod module;
pub mod options;
pub mod scene;
pub mod siginfo;
pub mod state;
pub mod typed;
pub mod values;

#[cfg(test)]
pub(crate) mod testdata;
#[cfg(test)]
mod tests;

pub use access::{
    BtError, BtHandle, BtVar, GlobalEntry, GlobalFilter, PmapEntry, ProcessAccess, TypeTexts, TypedMemory,
};
pub use annotate::{make_annotation, AnnotationError};
pub use edit::{FrameField, Target, VarValue};
pub use engine::{DefineError, Engine, Listener, Registration};
pub use handles::{FrameRef, Indices, TempId, ThreadRef, VarOwner, VarPath, VarRef};
pub use host::{PmoduleHost, VariableSource};
pub use kinds::{AnnotationKind, Event, LogLevel, MatchType, PmapPerm, ProcessState, VariableKind};
pub use loader::{LoadError, ModuleLoader};
pub use log::{LogRecord, LogSink, MemorySink, StderrSink};
pub use matcher::{Criterion, FaultScope, Match, VariablePlace};
pub use module::{CallbackFailure, CallbackId, EventArgs, FailureKind, ModuleInstance, ModuleKey};
pub use options::{ModuleOptionError, ModuleOptions};
pub use scene::{Insertion, Origin, Scene, SceneError};
pub use siginfo::SigInfo;
pub use state::{settle, VarState};
pub use values::ScalarValue;
