//! The one HTTP client of libptrace (ureq over rustls, the webpki root certificates, proxies
//! from the environment): debuginfod downloads and crash-backend submissions build their agents
//! here.

use std::time::Duration;

/// An agent whose connecting and each read may take at most `timeout` (none: no such bound; a
/// caller may still bound a whole request). HTTP error statuses are answers, not errors: the
/// caller reads the status. Proxies come from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
/// `NO_PROXY` (upper or lower case), as ureq reads them by default.
pub fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(timeout)
        .timeout_per_read(timeout)
        .http_status_as_error(false)
        .user_agent(concat!("libptrace/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}
