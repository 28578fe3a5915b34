//! The snapshot: its data model ([`model`]), the JSON file ([`output`]) and the readable dump
//! ([`text`]).

pub mod model;
pub mod output;
pub mod text;

pub use model::*;
