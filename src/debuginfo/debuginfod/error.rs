//! Why one debug file could not be fetched from one server.

/// Why a fetch of one build id from one server failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server does not have it (HTTP 404).
    #[error("not found (HTTP 404)")]
    NotFound,
    /// The server answered another HTTP status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// Connecting, sending or receiving failed (refused, reset, a timeout, a TLS error...).
    #[error("{0}")]
    Transfer(String),
    /// What came back is not an ELF file.
    #[error("the answer is not an ELF file ({0})")]
    NotElf(String),
    /// What came back is an ELF file for another build.
    #[error("the answer is an ELF file with build id {found}, not the one asked for")]
    WrongBuildId {
        /// Its build id (`none` when it has none).
        found: String,
    },
    /// The cache folder could not be written.
    #[error("cache {path}: {source}")]
    Cache {
        /// The file or folder.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The time bound of the whole fetch ran out.
    #[error("the time bound ran out")]
    OutOfTime,
    /// Another server gave the file first.
    #[error("another server answered first")]
    Superseded,
}

impl From<ureq::Error> for FetchError {
    fn from(error: ureq::Error) -> Self {
        match error {
            ureq::Error::StatusCode(404) => Self::NotFound,
            ureq::Error::StatusCode(code) => Self::Status(code),
            other => Self::Transfer(other.to_string()),
        }
    }
}
