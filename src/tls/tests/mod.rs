//! Tests against real processes, with gdb as the oracle: the `tests/fixtures/tls/` program (TLS in
//! the executable, a linked library and dlopen'ed ones) and `c-examples`' `crash hang`.

mod crash_example;
mod fixture_program;
mod gdb;
mod layout;
mod target;
