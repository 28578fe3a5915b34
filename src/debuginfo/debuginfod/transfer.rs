//! One debug file asked of one server: `GET <server>/buildid/<build id>/debuginfo`, streamed into
//! the cache and checked there.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::cache::Cache;
use super::FetchError;

/// How many bytes are read at a time.
const CHUNK: usize = 256 * 1024;

/// The URL of `build_id`'s debug file on `server`.
pub(super) fn debuginfo_url(server: &str, build_id: &str) -> String {
    format!("{server}/buildid/{build_id}/debuginfo")
}

/// Fetches `build_id`'s debug file from `server` into `cache` by `deadline`; gives up between
/// two reads once `done` is set (another server answered). Returns where it was put.
pub(super) fn fetch_one(
    agent: &ureq::Agent,
    server: &str,
    build_id: &str,
    cache: &Cache,
    deadline: Instant,
    done: &AtomicBool,
) -> Result<PathBuf, FetchError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(FetchError::OutOfTime);
    }
    let response = agent
        .get(debuginfo_url(server, build_id))
        .config()
        .timeout_global(Some(remaining))
        .build()
        .call()?;
    match response.status().as_u16() {
        200 => {}
        404 => return Err(FetchError::NotFound),
        other => return Err(FetchError::Status(other)),
    }
    let mut body = response.into_body().into_reader();
    let mut pending = cache.begin(build_id)?;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        if done.load(Ordering::Relaxed) {
            return Err(FetchError::Superseded);
        }
        let read = body
            .read(&mut buffer)
            .map_err(|e| FetchError::Transfer(e.to_string()))?;
        let Some(bytes) = buffer.get(..read).filter(|b| !b.is_empty()) else {
            break;
        };
        pending.write_all(bytes)?;
    }
    pending.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn https_servers_are_spoken_to_in_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let first_byte = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).map(|_| byte[0]).ok()
            // The connection closes here: the handshake fails.
        });
        let cache = tempfile::tempdir().unwrap();
        let result = fetch_one(
            &crate::http::agent(Some(Duration::from_secs(5))),
            &format!("https://127.0.0.1:{port}"),
            "abcd",
            &Cache::open(cache.path()),
            Instant::now() + Duration::from_secs(10),
            &AtomicBool::new(false),
        );
        // 0x16: a TLS handshake record (the ClientHello).
        assert_eq!(first_byte.join().unwrap(), Some(0x16));
        assert!(matches!(result, Err(FetchError::Transfer(_))), "{result:?}");
    }

    #[test]
    fn nothing_is_asked_once_the_time_is_up() {
        let cache = tempfile::tempdir().unwrap();
        let result = fetch_one(
            &crate::http::agent(None),
            "http://127.0.0.1:9",
            "abcd",
            &Cache::open(cache.path()),
            Instant::now(),
            &AtomicBool::new(false),
        );
        assert!(matches!(result, Err(FetchError::OutOfTime)), "{result:?}");
        assert_eq!(debuginfo_url("http://s", "ab"), "http://s/buildid/ab/debuginfo");
    }
}
