//! The `ptrace` command-line tool, with the engine linked in (the command line itself is
//! [`ptrace::cli`], shared with the installed launcher that links `libptrace.so.0`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ptrace::cli::main(std::env::args_os()))
}
