//! Tests of the C API from Rust: NULL and stale handles give error results.
