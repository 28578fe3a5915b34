//! The snapshot: its data model ([`model`]), the JSON file ([`output`], laid out as [`layout`]),
//! the readable dump ([`text`], written on the threads grouped by stack: [`groups`]) and the
//! one-line text of a variable's value ([`value_text`]).

pub mod groups;
pub mod layout;
pub mod model;
pub mod output;
pub mod shared_str;
pub mod text;
pub mod value_text;

pub use model::*;
pub use shared_str::SharedStr;
