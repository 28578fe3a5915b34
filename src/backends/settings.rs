//! What is sent where: the backends asked for, the time a submission may take, and the event
//! details that come from options rather than from the snapshot.

use std::time::Duration;

use super::backtrace::SubmitUrl;
use super::sentry::Dsn;

/// How long one submission may take by default, connecting included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The backends a snapshot is sent to, and how.
#[derive(Clone, Debug)]
pub struct BackendSettings {
    /// A Sentry project (`--sentry-dsn`).
    pub sentry: Option<Dsn>,
    /// A Backtrace submission URL (`--backtrace-url`).
    pub backtrace: Option<SubmitUrl>,
    /// The most time one submission may take (`--submit-timeout`).
    pub timeout: Duration,
    /// Event details given as options.
    pub details: EventDetails,
}

impl Default for BackendSettings {
    fn default() -> Self {
        Self {
            sentry: None,
            backtrace: None,
            timeout: DEFAULT_TIMEOUT,
            details: EventDetails::default(),
        }
    }
}

impl BackendSettings {
    /// Whether no backend is asked for.
    pub fn is_empty(&self) -> bool {
        self.sentry.is_none() && self.backtrace.is_none()
    }
}

/// Event details given as options (each else taken from the snapshot's attribute of that name,
/// else left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventDetails {
    /// The level of an event without a fault (`--sentry-level`; default `error`).
    pub level: Option<String>,
    /// The release (`--release`, else the attribute `release`).
    pub release: Option<String>,
    /// The environment (`--environment`, else the attribute `environment`).
    pub environment: Option<String>,
    /// The machine's name (`--server-name`, else the attribute `hostname`, else this host's).
    pub server_name: Option<String>,
}
