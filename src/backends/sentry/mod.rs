//! Sentry: a snapshot as a Sentry event (`event.rs`: platform `native`, the fault as its
//! exception, every thread's stack, the loaded images), sent in an envelope (`envelope.rs`) to
//! the project a DSN names (`dsn.rs`).

mod dsn;
mod envelope;
mod event;

pub use dsn::Dsn;
pub use envelope::envelope;
pub use event::{debug_id, event, MAX_EVENT_BYTES};
