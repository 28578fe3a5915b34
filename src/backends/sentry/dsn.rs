//! A Sentry DSN, `{scheme}://{public key}[:{secret}]@{host}[:{port}]{/path}/{project id}`: where
//! the project's envelopes go and the key that authenticates them. The key is never shown.

use std::fmt;

use crate::backends::error::{shown_host, split_http_scheme};
use crate::backends::SubmitError;

/// A parsed DSN.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    /// `http` or `https`.
    scheme: String,
    /// The public key.
    key: String,
    /// Host and port as given.
    host: String,
    /// The path before the project id (empty, or starting with `/`, no trailing `/`).
    path: String,
    /// The project id.
    project: String,
}

impl Dsn {
    /// Reads `text` as a DSN; the error shows it with the key hidden.
    pub fn parse(text: &str) -> Result<Self, SubmitError> {
        let bad = |why: &str| SubmitError::Dsn {
            shown: shown_host(text),
            why: why.to_string(),
        };
        let (scheme, rest) = split_http_scheme(text).map_err(bad)?;
        let (credentials, rest) = rest
            .split_once('@')
            .ok_or_else(|| bad("no key (https://KEY@HOST/PROJECT)"))?;
        let key = credentials.split(':').next().unwrap_or_default();
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        let (host, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => return Err(bad("no project id after the host")),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let path = path.trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').unwrap_or(("", path));
        if project.is_empty()
            || !project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("the project id is missing or not a plain id"));
        }
        Ok(Self {
            scheme: scheme.to_string(),
            key: key.to_string(),
            host: host.to_string(),
            path: prefix.to_string(),
            project: project.to_string(),
        })
    }

    /// Where envelopes for the project are posted.
    pub fn envelope_url(&self) -> String {
        format!(
            "{}://{}{}/api/{}/envelope/",
            self.scheme, self.host, self.path, self.project
        )
    }

    /// The `X-Sentry-Auth` header's value.
    pub fn auth_header(&self) -> String {
        format!(
            "Sentry sentry_version=7, sentry_key={}, sentry_client=libptrace/{}",
            self.key,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// The public key, for what is printed to be cleared of it (a server may echo it back).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The DSN as envelopes carry it in their header (the key is the public one, as SDKs send).
    pub fn text(&self) -> String {
        format!(
            "{}://{}@{}{}/{}",
            self.scheme, self.key, self.host, self.path, self.project
        )
    }
}

impl fmt::Display for Dsn {
    /// The DSN with its key hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://***@{}{}/{}",
            self.scheme, self.host, self.path, self.project
        )
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_gives_the_envelope_url_and_the_auth_header() {
        let dsn = Dsn::parse("https://abc123@o1.ingest.example.io/42").expect("a DSN");
        assert_eq!(
            dsn.envelope_url(),
            "https://o1.ingest.example.io/api/42/envelope/"
        );
        assert!(dsn.auth_header().contains("sentry_key=abc123"));
        assert_eq!(dsn.to_string(), "https://***@o1.ingest.example.io/42");
        assert_eq!(format!("{dsn:?}"), "https://***@o1.ingest.example.io/42");
        let local = Dsn::parse("http://k:secret@127.0.0.1:8000/sub/path/7/").expect("a DSN");
        assert_eq!(
            local.envelope_url(),
            "http://127.0.0.1:8000/sub/path/api/7/envelope/"
        );
        assert_eq!(local.text(), "http://k@127.0.0.1:8000/sub/path/7");
    }

    #[test]
    fn bad_dsns_are_refused_without_showing_the_key() {
        for text in [
            "abc@host/1",
            "ftp://abc@host/1",
            "https://host/1",
            "https://@host/1",
            "https://abc@host",
            "https://abc@/1",
            "https://abc@host/",
            "https://abc@host/a b",
        ] {
            let error = Dsn::parse(text).expect_err(text).to_string();
            assert!(!error.contains("abc@"), "{error}");
        }
    }
}
