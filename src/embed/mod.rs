//! The embedding API: the C functions through which a program uses libptrace as a library
//! rather than loading into it. Two entry points: [`cli`] (`ptrace_cli_main`, the whole `ptrace`
//! command line, which the installed `bin/ptrace` launcher runs) and [`session`]
//! (`ptrace_session_*`: a C program sets options, loads modules, takes snapshots of a pid, a
//! program it runs or a core, and gets their JSON text or writes them to a file).
//!
//! It sits on top of the crate (it drives [`crate::cli`] and [`crate::session`]); the other C
//! face, the functions native modules call, is [`crate::module_abi`], whose boundary rules
//! (`module_abi::guard`: no panic crosses into C, C strings checked) it shares. Both
//! are in `include/pmodule.h`, which `build.rs` generates from the two with cbindgen.

pub mod cli;
pub mod session;

#[cfg(test)]
mod tests;
