//! Backtrace: a snapshot in Backtrace's JSON submission format (`document.rs`), posted to a
//! universe's submission URL (`url.rs`).

mod document;
mod url;

pub use document::document;
pub use url::SubmitUrl;
