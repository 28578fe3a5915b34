//! The `ptrace` command-line tool: a thin layer over the library.
fn main() {}
