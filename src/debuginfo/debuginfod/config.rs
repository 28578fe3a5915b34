//! Whether and where debug files are fetched: the session's [`Settings`] and elfutils'
//! environment variables, read into a [`Config`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The default bound on the whole fetch before a snapshot (`--debuginfod-timeout`).
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// elfutils' default for `DEBUGINFOD_TIMEOUT`: 90 seconds.
pub const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(90);

/// What a session asks of debuginfod (the CLI's `--no-debuginfod` and `--debuginfod-timeout`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Fetch at all (servers are still only asked when `DEBUGINFOD_URLS` names some).
    pub enabled: bool,
    /// The most time all fetches before one snapshot may take together; zero: only what the
    /// cache already holds is used, nothing is downloaded.
    pub total_timeout: Duration,
    /// Show a progress line on stderr (only when it is a terminal and a fetch lasts).
    pub progress: bool,
}

impl Default for Settings {
    /// Enabled, [`DEFAULT_TOTAL_TIMEOUT`], no progress line.
    fn default() -> Self {
        Self {
            enabled: true,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            progress: false,
        }
    }
}

impl Settings {
    /// Nothing fetched, the cache not looked at.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The same, but only the cache is used: for when the target is already stopped.
    pub fn cache_only(&self) -> Self {
        Self {
            total_timeout: Duration::ZERO,
            progress: false,
            ..self.clone()
        }
    }
}

/// Why debuginfod cannot be used though servers are named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// None of `DEBUGINFOD_CACHE_PATH`, `XDG_CACHE_HOME` and `HOME` is set.
    #[error(
        "DEBUGINFOD_URLS is set but no cache folder is known (set DEBUGINFOD_CACHE_PATH or HOME); \
         nothing fetched"
    )]
    NoCacheFolder,
}

/// Everything a fetch needs, read from the settings and the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The servers' base URLs, in the order `DEBUGINFOD_URLS` gives them, without a trailing `/`.
    pub servers: Vec<String>,
    /// The cache folder.
    pub cache: PathBuf,
    /// How long one transfer may go without progress (connecting included); `None`: no limit
    /// but the total one (`DEBUGINFOD_TIMEOUT=0`).
    pub transfer_timeout: Option<Duration>,
    /// The bound on all the fetches before one snapshot.
    pub total_timeout: Duration,
    /// Show a progress line on stderr when it is a terminal.
    pub progress: bool,
}

impl Config {
    /// The configuration from the process's environment; `Ok(None)` when `settings` turn
    /// debuginfod off or `DEBUGINFOD_URLS` names no server.
    pub fn from_env(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        Self::from_vars(settings, |name| std::env::var_os(name))
    }

    /// [`from_env`](Self::from_env) with the variables given by `var` (empty values count as
    /// unset).
    pub fn from_vars(
        settings: &Settings,
        var: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Option<Self>, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.is_empty());
        if !settings.enabled {
            return Ok(None);
        }
        let urls = var("DEBUGINFOD_URLS").map(|v| v.to_string_lossy().into_owned());
        let servers = parse_urls(urls.as_deref().unwrap_or(""));
        if servers.is_empty() {
            return Ok(None);
        }
        let cache = match var("DEBUGINFOD_CACHE_PATH") {
            Some(path) => PathBuf::from(path),
            None => match (var("XDG_CACHE_HOME"), var("HOME")) {
                (Some(xdg), _) => PathBuf::from(xdg).join("debuginfod_client"),
                (None, Some(home)) => PathBuf::from(home).join(".cache").join("debuginfod_client"),
                (None, None) => return Err(ConfigError::NoCacheFolder),
            },
        };
        let transfer_timeout = parse_transfer_timeout(var("DEBUGINFOD_TIMEOUT"));
        Ok(Some(Self {
            servers,
            cache,
            transfer_timeout,
            total_timeout: settings.total_timeout,
            progress: settings.progress,
        }))
    }
}

/// The server URLs of a `DEBUGINFOD_URLS` value: separated by spaces (any whitespace), each
/// without its trailing slashes, duplicates dropped.
fn parse_urls(value: &str) -> Vec<String> {
    let mut servers: Vec<String> = Vec::new();
    for url in value.split_whitespace() {
        let url = url.trim_end_matches('/').to_string();
        if !url.is_empty() && !servers.contains(&url) {
            servers.push(url);
        }
    }
    servers
}

/// `DEBUGINFOD_TIMEOUT` as elfutils reads it: whole seconds; 0 lifts the limit; unset or not a
/// number gives the default.
fn parse_transfer_timeout(value: Option<OsString>) -> Option<Duration> {
    match value.and_then(|v| v.to_string_lossy().trim().parse::<u64>().ok()) {
        Some(0) => None,
        Some(seconds) => Some(Duration::from_secs(seconds)),
        None => Some(DEFAULT_TRANSFER_TIMEOUT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Option<Config>, ConfigError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Config::from_vars(&Settings::default(), |name| vars.get(name).cloned())
    }

    #[test]
    fn no_servers_or_turned_off_means_nothing_fetched() {
        assert_eq!(config(&[("HOME", "/h")]), Ok(None));
        assert_eq!(config(&[("HOME", "/h"), ("DEBUGINFOD_URLS", "  ")]), Ok(None));
        let off = Config::from_vars(&Settings::off(), |name| {
            (name == "DEBUGINFOD_URLS").then(|| OsString::from("http://a"))
        });
        assert_eq!(off, Ok(None));
    }

    #[test]
    fn servers_are_split_on_spaces_without_trailing_slashes() {
        let found = config(&[
            ("HOME", "/h"),
            (
                "DEBUGINFOD_URLS",
                " https://a.example/ http://b:8002\thttps://a.example ",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(found.servers, vec!["https://a.example", "http://b:8002"]);
    }

    #[test]
    fn the_cache_folder_follows_elfutils() {
        let urls = ("DEBUGINFOD_URLS", "http://a");
        let cache = |vars: &[(&str, &str)]| config(vars).map(|c| c.map(|c| c.cache));
        assert_eq!(
            cache(&[urls, ("HOME", "/h")]),
            Ok(Some(PathBuf::from("/h/.cache/debuginfod_client")))
        );
        assert_eq!(
            cache(&[urls, ("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]),
            Ok(Some(PathBuf::from("/x/debuginfod_client")))
        );
        assert_eq!(
            cache(&[
                urls,
                ("HOME", "/h"),
                ("XDG_CACHE_HOME", "/x"),
                ("DEBUGINFOD_CACHE_PATH", "/c")
            ]),
            Ok(Some(PathBuf::from("/c")))
        );
        assert_eq!(
            cache(&[urls, ("XDG_CACHE_HOME", "")]),
            Err(ConfigError::NoCacheFolder)
        );
    }

    #[test]
    fn the_transfer_timeout_is_in_seconds_as_elfutils_reads_it() {
        let timeout = |value: &str| {
            let mut vars = vec![("DEBUGINFOD_URLS", "http://a"), ("HOME", "/h")];
            if !value.is_empty() {
                vars.push(("DEBUGINFOD_TIMEOUT", value));
            }
            config(&vars).unwrap().unwrap().transfer_timeout
        };
        assert_eq!(timeout(""), Some(DEFAULT_TRANSFER_TIMEOUT));
        assert_eq!(timeout("5"), Some(Duration::from_secs(5)));
        assert_eq!(timeout(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(timeout("0"), None);
        assert_eq!(timeout("soon"), Some(DEFAULT_TRANSFER_TIMEOUT));
    }

    #[test]
    fn cache_only_keeps_the_switch_and_drops_the_network() {
        let settings = Settings::default().cache_only();
        assert!(settings.enabled);
        assert_eq!(settings.total_timeout, Duration::ZERO);
        assert!(!Settings::off().enabled);
    }
}
