//! Crash backends: a snapshot sent where a fleet's crashes already go, once it is written and the
//! target runs again — a Sentry project (an event in an envelope, `sentry/`) or a Backtrace
//! universe (its JSON submission format, `backtrace/`).
//!
//! Files: `settings.rs` (what is sent where), `submit.rs` (the HTTP posts, bounded in time),
//! `identity.rs` (the event id a snapshot keeps across submissions), `error.rs`.

pub mod backtrace;
mod error;
mod identity;
pub mod sentry;
mod settings;
mod submit;

pub use error::SubmitError;
pub use identity::{build_id_guid, snapshot_uuid};
pub use settings::{BackendSettings, EventDetails, DEFAULT_TIMEOUT};
pub use submit::{submit_all, Submission};
