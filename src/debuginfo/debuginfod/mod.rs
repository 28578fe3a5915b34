//! Separate debug files fetched from debuginfod servers, before the target is stopped.
//!
//! The conventions are elfutils' (so that our cache and gdb's or elfutils' share files):
//! `DEBUGINFOD_URLS` names the servers, `DEBUGINFOD_CACHE_PATH` the cache folder (by default
//! `$XDG_CACHE_HOME/debuginfod_client`, else `$HOME/.cache/debuginfod_client`), each file kept as
//! `<cache>/<build id>/debuginfo`, and `DEBUGINFOD_TIMEOUT` bounds how long a transfer may go
//! without progress. A whole fetch is bounded by [`Settings::total_timeout`] too.
//!
//! [`fetch_missing`] takes the objects that have a build id but no debug information, asks every
//! server for them at once, checks each answer (an ELF with the same build id) and stores it in
//! the cache, where the debug-file search then finds it ([`cached_debuginfo`]).

mod cache;
mod config;
mod error;
mod fetch;
mod progress;
mod transfer;

pub use cache::{cached_debuginfo, Cache, CacheLookup};
pub use config::{Config, ConfigError, Settings, DEFAULT_TOTAL_TIMEOUT, DEFAULT_TRANSFER_TIMEOUT};
pub use error::FetchError;
pub use fetch::{fetch_missing, Outcome, Request};
