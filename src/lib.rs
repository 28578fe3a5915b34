//! libptrace: a snapshot debugger for Linux.
//!
//! `ptrace <pid>` stops a process for a few milliseconds, extracts every thread and frame, resumes
//! it untouched and writes a structured JSON snapshot. This crate is the engine; the `ptrace` CLI
//! ([`cli`], run by `src/main.rs` and by the installed launcher through `ptrace_cli_main`) and C
//! programs (through [`embed`] and `include/pmodule.h`) are its two faces.
//!
//! Layout (see README):
//! - [`abort`]: the flag that aborts a run (a signal, another thread, a C host);
//! - [`tracer`]: stop / resume every thread, registers, memory reads, the `--exec` event loop;
//! - [`debuginfo`]: ELF and DWARF of every mapped object, loaded before the stop; symbols, lines;
//!   debug files found beside, by build id, or fetched from debuginfod servers;
//! - [`unwind`]: the DWARF CFI unwinder with a frame-pointer fallback;
//! - [`variables`]: DWARF types, locations and values of every frame's variables and of globals;
//! - [`snapshot`]: the data model, its JSON form and the readable dump;
//! - [`backends`]: snapshots sent to crash backends (Sentry, Backtrace) once written;
//! - [`session`]: one snapshot run: options, phases, timing;
//! - [`cutoff`]: when a run's work must end early (abort, the stop limit);
//! - [`tls`]: the address of a module's thread-local storage block in a thread;
//! - [`pmodule`]: the module event engine (events, matches, registry, dispatch);
//! - [`lua`]: the Lua host of modules (mlua, sandboxed);
//! - [`module_abi`]: the C ABI native modules are built against (`pmodule_*`, `bt_*`);
//! - [`native`]: the loader of native (`*.so`) modules;
//! - [`embed`]: the embedding C API (`ptrace_session_*`, `ptrace_cli_main`);
//! - [`cli`]: the `ptrace` command line;
//! - [`viewer`]: `ptrace view`, the terminal UI over a saved snapshot;
//! - [`core`]: ELF core files (threads, registers, mapped files, memory);
//! - `fuzzing` (hidden): entry points that run the parsers over arbitrary bytes, for `fuzz/`.

pub mod abort;
pub mod arch;
pub mod backends;
pub mod cli;
pub mod core;
pub mod cutoff;
pub mod debuginfo;
pub mod embed;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod lua;
pub mod memory;
pub mod module_abi;
pub mod native;
pub mod pmodule;
pub mod procinfo;
pub mod reader;
pub mod session;
pub mod snapshot;
pub mod tls;
pub mod tracer;
pub mod unwind;
pub mod variables;
pub mod viewer;

#[cfg(test)]
mod test_support;
