//! The snapshot: its data model ([`model`]), the JSON file ([`output`], laid out as [`layout`])
//! and the readable dump ([`text`], written on the threads grouped by stack: [`groups`]).

pub mod groups;
pub mod layout;
pub mod model;
pub mod output;
pub mod shared_str;
pub mod text;

pub use model::*;
pub use shared_str::SharedStr;
