//! Why a snapshot could not be sent to a backend. Messages name the backend and where it was sent
//! with its key or token hidden.

/// A submission that failed; the snapshot file is kept.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The Sentry DSN cannot be read.
    #[error("bad Sentry DSN ({shown}): {why}")]
    Dsn {
        /// The DSN's scheme and host (its key never shown).
        shown: String,
        /// What is wrong with it.
        why: String,
    },
    /// The Backtrace submission URL cannot be read.
    #[error("bad Backtrace URL ({shown}): {why}")]
    Url {
        /// The URL's scheme and host (its token never shown).
        shown: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server could not be reached, or did not answer in time.
    #[error("{backend}: no answer from {target}: {why}")]
    Transport {
        /// `sentry` or `backtrace`.
        backend: &'static str,
        /// Where it was sent, key or token hidden.
        target: String,
        /// What the client said.
        why: String,
    },
    /// The server refused the submission.
    #[error("{backend}: {target} answered HTTP {status}: {body}")]
    Refused {
        /// `sentry` or `backtrace`.
        backend: &'static str,
        /// Where it was sent, key or token hidden.
        target: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
}

/// Splits a DSN or URL into its scheme, `http` or `https`, and what follows `://`; `Err`: why
/// it has no such scheme.
pub(crate) fn split_http_scheme(text: &str) -> Result<(&str, &str), &'static str> {
    match text.split_once("://") {
        None => Err("no scheme (https://...)"),
        Some((scheme @ ("http" | "https"), rest)) => Ok((scheme, rest)),
        Some(_) => Err("the scheme is neither http nor https"),
    }
}

/// The scheme and host of a URL or DSN that could not be read (`https://HOST/…`), without what
/// could be a key or a token: anything before an `@`, the path and the query.
pub(crate) fn shown_host(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}{host}/…")
}
