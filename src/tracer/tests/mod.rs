//! Tests against real processes: the `tests/fixtures/tracer/sleeper.c` fixture, compiled with
//! `cc` into each test's own temporary directory. Every test owns its target process.

mod attach;
mod exec;
#[path = "../../../tests/common/sleeper.rs"]
mod fixture;
mod memory;
