//! The submissions: each backend asked for gets the snapshot in its format, posted once, the
//! whole request bounded by the settings' timeout. Called after the target runs again, never
//! while it is stopped.

use std::time::Duration;

use super::{backtrace, sentry, BackendSettings, SubmitError};
use crate::snapshot::Snapshot;

/// The most bytes of a refusal's body kept for its message.
const BODY_EXCERPT: usize = 200;

/// A submission a backend took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// `sentry` or `backtrace`.
    pub backend: &'static str,
    /// Where it went, key or token hidden.
    pub target: String,
    /// The id the backend gave it, when it said one.
    pub id: Option<String>,
}

/// Sends `snapshot` to every backend `settings` names, in turn; one result each.
pub fn submit_all(snapshot: &Snapshot, settings: &BackendSettings) -> Vec<Result<Submission, SubmitError>> {
    let agent = crate::http::agent(Some(settings.timeout));
    let mut results = Vec::new();
    if let Some(dsn) = &settings.sentry {
        let event_id = super::snapshot_uuid(snapshot).simple().to_string();
        let mut event = sentry::event(snapshot, &settings.details);
        event["event_id"] = serde_json::json!(event_id);
        let body = sentry::envelope(&event, &event_id, dsn);
        let target = dsn.to_string();
        results.push(
            post(
                &agent,
                &Endpoint {
                    backend: "sentry",
                    url: &dsn.envelope_url(),
                    target: &target,
                    secret: dsn.key(),
                },
                &[
                    ("X-Sentry-Auth", dsn.auth_header()),
                    ("Content-Type", "application/x-sentry-envelope".into()),
                ],
                body,
                settings.timeout,
            )
            .map(|answer| Submission {
                backend: "sentry",
                target,
                id: id_in(&answer, "id").or(Some(event_id)),
            }),
        );
    }
    if let Some(url) = &settings.backtrace {
        let body = backtrace::document(snapshot, &settings.details)
            .to_string()
            .into_bytes();
        let target = url.to_string();
        results.push(
            post(
                &agent,
                &Endpoint {
                    backend: "backtrace",
                    url: url.url(),
                    target: &target,
                    secret: url.token(),
                },
                &[("Content-Type", "application/json".into())],
                body,
                settings.timeout,
            )
            .map(|answer| Submission {
                backend: "backtrace",
                target,
                id: id_in(&answer, "_rxid"),
            }),
        );
    }
    results
}

/// Where a submission goes.
struct Endpoint<'a> {
    /// `sentry` or `backtrace`.
    backend: &'static str,
    /// The URL posted to.
    url: &'a str,
    /// Where it goes as shown (key or token hidden).
    target: &'a str,
    /// The key or token: kept out of every error, whether the client names the URL holding it
    /// or the server echoes it back (as Bugsink does).
    secret: &'a str,
}

/// Posts `body` to `endpoint` with `headers`, within `timeout`; the answer's body when the
/// status is 2xx.
fn post(
    agent: &ureq::Agent,
    endpoint: &Endpoint<'_>,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<String, SubmitError> {
    let Endpoint {
        backend,
        url,
        target,
        secret,
    } = *endpoint;
    let mut request = agent.post(url).config().timeout_global(Some(timeout)).build();
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    // The key or token is all that is secret (a Backtrace URL holds its token, a Sentry URL
    // nothing): hidden in whatever the client or the server says.
    let cleared = |text: &str| match secret {
        "" => text.to_string(),
        secret => text.replace(secret, "***"),
    };
    let transport = |why: String| SubmitError::Transport {
        backend,
        target: target.to_string(),
        why: cleared(&why),
    };
    let response = request.send(&body[..]).map_err(|e| transport(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(text);
    }
    Err(SubmitError::Refused {
        backend,
        target: target.to_string(),
        status,
        body: cleared(&text)
            .chars()
            .take(BODY_EXCERPT)
            .collect::<String>()
            .trim()
            .to_string(),
    })
}

/// The string `key` of the JSON object `answer`, when it is one.
fn id_in(answer: &str, key: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(answer)
        .ok()?
        .get(key)?
        .as_str()
        .map(str::to_string)
}
