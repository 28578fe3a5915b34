//! A Backtrace submission URL: `https://HOST[:PORT]/post?format=json&token=TOKEN` (the token may
//! stand before or after the format; `format=json` is added when missing), or
//! `https://submit.backtrace.io/UNIVERSE/TOKEN/json`. The token is never shown.

use std::fmt;

use crate::backends::error::{shown_host, split_http_scheme};
use crate::backends::SubmitError;

/// A checked submission URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SubmitUrl {
    /// The URL posted to.
    url: String,
    /// The URL as shown: the token's place holds `***`.
    shown: String,
    /// The token, to clear from what a server answers (a refusal may echo it).
    token: String,
}

impl SubmitUrl {
    /// Reads `text` as a submission URL; the error shows it with the token hidden.
    pub fn parse(text: &str) -> Result<Self, SubmitError> {
        let bad = |why: &str| SubmitError::Url {
            shown: shown_host(text),
            why: why.to_string(),
        };
        let (scheme, rest) = split_http_scheme(text).map_err(bad)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, path) = path.split_once('/').unwrap_or((path, ""));
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let path = path.trim_end_matches('/');
        if path == "post" {
            let token = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token=").filter(|t| !t.is_empty()))
                .ok_or_else(|| bad("no token= in the query"))?
                .to_string();
            let url = match query.split('&').find_map(|pair| pair.strip_prefix("format=")) {
                Some("json") => text.to_string(),
                Some(_) => return Err(bad("format= is not json")),
                None => format!("{text}&format=json"),
            };
            // Every token= pair hidden, whatever else the query holds.
            let (base, query) = url.split_once('?').unwrap_or((&url, ""));
            let query: Vec<&str> = query
                .split('&')
                .map(|pair| {
                    if pair.starts_with("token=") {
                        "token=***"
                    } else {
                        pair
                    }
                })
                .collect();
            let shown = format!("{base}?{}", query.join("&"));
            return Ok(Self { url, shown, token });
        }
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            [universe, token, "json"] if !universe.is_empty() && !token.is_empty() => Ok(Self {
                url: format!("{scheme}://{host}/{path}"),
                shown: format!("{scheme}://{host}/{universe}/***/json"),
                token: token.to_string(),
            }),
            _ => Err(bad(
                "neither .../post?format=json&token=TOKEN nor .../UNIVERSE/TOKEN/json",
            )),
        }
    }

    /// The URL to post to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token, cleared from what a server answers before it is shown.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

impl fmt::Display for SubmitUrl {
    /// The URL with its token hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for SubmitUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_are_read_and_the_token_hidden() {
        let post =
            SubmitUrl::parse("https://acme.sp.backtrace.io:6098/post?format=json&token=s3cr3t").expect("URL");
        assert_eq!(
            post.url(),
            "https://acme.sp.backtrace.io:6098/post?format=json&token=s3cr3t"
        );
        assert_eq!(
            post.to_string(),
            "https://acme.sp.backtrace.io:6098/post?format=json&token=***"
        );
        let added = SubmitUrl::parse("http://127.0.0.1:9/post?token=s3cr3t").expect("URL");
        assert_eq!(added.url(), "http://127.0.0.1:9/post?token=s3cr3t&format=json");
        let submit = SubmitUrl::parse("https://submit.backtrace.io/acme/s3cr3t/json").expect("URL");
        assert_eq!(submit.url(), "https://submit.backtrace.io/acme/s3cr3t/json");
        assert_eq!(format!("{submit:?}"), "https://submit.backtrace.io/acme/***/json");
    }

    #[test]
    fn only_the_token_is_hidden_even_when_it_is_short() {
        // A token that also occurs elsewhere in the URL hides only its own place.
        let post = SubmitUrl::parse("http://127.0.0.1:8080/post?token=1").expect("URL");
        assert_eq!(
            post.to_string(),
            "http://127.0.0.1:8080/post?token=***&format=json"
        );
        let submit = SubmitUrl::parse("http://127.0.0.1:8080/json/json/json").expect("URL");
        assert_eq!(submit.url(), "http://127.0.0.1:8080/json/json/json");
        assert_eq!(submit.to_string(), "http://127.0.0.1:8080/json/***/json");
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_token() {
        for text in [
            "acme/s3cr3t/json",
            "ftp://h/post?token=s3cr3t",
            "https:///post?token=s3cr3t",
            "https://h/post?format=minidump&token=s3cr3t",
            "https://h/post?format=json",
            "https://h/acme/s3cr3t/minidump",
            "https://h/s3cr3t/json",
        ] {
            let error = SubmitUrl::parse(text).expect_err(text).to_string();
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }
}
