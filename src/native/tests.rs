//! Native loader tests.
