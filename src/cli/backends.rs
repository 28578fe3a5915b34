//! The command line's crash backends: the options that send a snapshot to Sentry or Backtrace
//! once it is written, `--format`, and `ptrace submit` (saved snapshots sent again, e.g. a
//! spool folder retried by cron).

use std::path::PathBuf;
use std::time::Duration;

use crate::backends::{self, BackendSettings, EventDetails};
use crate::snapshot::Snapshot;

/// Where a snapshot is sent once written (for a snapshot and for `ptrace submit`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BackendArgs {
    /// Send the snapshot, once written, to the Sentry project of this DSN
    /// (https://KEY@HOST/PROJECT) as an event: the fault as its exception, every thread's stack
    /// with its variables, the images with their build ids. The key is never printed.
    #[arg(long = "sentry-dsn", value_name = "DSN")]
    pub sentry_dsn: Option<String>,

    /// The level of a Sentry event without a fault (fatal, error, warning, info, debug; default
    /// error). An event with a fault is fatal unless this says otherwise.
    #[arg(long = "sentry-level", value_name = "LEVEL")]
    pub sentry_level: Option<String>,

    /// Post the snapshot, once written, in Backtrace's JSON format to this submission URL
    /// (https://HOST/post?format=json&token=TOKEN or https://submit.backtrace.io/UNIVERSE/TOKEN/json).
    /// The token is never printed.
    #[arg(long = "backtrace-url", value_name = "URL")]
    pub backtrace_url: Option<String>,

    /// The most seconds one submission may take, connecting included (default 30): a backend
    /// that is slower costs one line and a non-zero status; the snapshot file stays.
    #[arg(long = "submit-timeout", value_name = "SECONDS")]
    pub submit_timeout: Option<String>,

    /// The release of the event (else the attribute `release`).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,

    /// The environment of the event (else the attribute `environment`).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,

    /// The machine's name in the event (else the attribute `hostname`, else this host's name).
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_name: Option<String>,
}

impl BackendArgs {
    /// The settings these options give.
    pub fn settings(&self) -> Result<BackendSettings, String> {
        let mut settings = BackendSettings {
            details: EventDetails {
                level: None,
                release: self.release.clone(),
                environment: self.environment.clone(),
                server_name: self.server_name.clone(),
            },
            ..BackendSettings::default()
        };
        if let Some(dsn) = &self.sentry_dsn {
            settings.sentry = Some(backends::sentry::Dsn::parse(dsn).map_err(|e| e.to_string())?);
        }
        if let Some(url) = &self.backtrace_url {
            settings.backtrace = Some(backends::backtrace::SubmitUrl::parse(url).map_err(|e| e.to_string())?);
        }
        if let Some(level) = &self.sentry_level {
            settings.details.level = Some(crate::session::named::sentry_level(level)?);
        }
        if let Some(seconds) = &self.submit_timeout {
            settings.timeout = crate::session::named::seconds("submit-timeout", seconds)?;
            if settings.timeout.is_zero() {
                settings.timeout = Duration::from_millis(1);
            }
        }
        Ok(settings)
    }
}

/// What the snapshot file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// libptrace's snapshot (the JSON schema of the project).
    #[default]
    Json,
    /// Backtrace's JSON submission format, as `--backtrace-url` posts it.
    BacktraceJson,
}

/// Sends `snapshot` to the backends `settings` names, one line on stderr each: where it went
/// and its id, or why not. `Err` (the last failure) when any failed.
pub fn submit(snapshot: &Snapshot, settings: &BackendSettings) -> Result<(), String> {
    let mut failure = None;
    for result in backends::submit_all(snapshot, settings) {
        match result {
            Ok(sent) => eprintln!(
                "ptrace: sent to {} {}{}",
                sent.backend,
                sent.target,
                sent.id.map(|id| format!(" as {id}")).unwrap_or_default()
            ),
            Err(e) => {
                if let Some(previous) = failure.replace(e.to_string()) {
                    eprintln!("ptrace: {previous}");
                }
            }
        }
    }
    match failure {
        Some(why) => Err(format!("{why} (the snapshot file is kept)")),
        None => Ok(()),
    }
}

/// `ptrace submit FILE...`: sends each saved snapshot to the backends of `args`; removes each
/// file sent when `remove`. The exit status: 0 when every file was sent, 1 otherwise (one line
/// per failure).
pub fn submit_files(files: &[PathBuf], remove: bool, args: &BackendArgs) -> Result<u8, String> {
    let settings = args.settings()?;
    if settings.is_empty() {
        return Err("submit: name a backend (--sentry-dsn or --backtrace-url)".to_string());
    }
    let mut failed = false;
    for file in files {
        let sent = read_snapshot(file).and_then(|snapshot| {
            submit(&snapshot, &settings).map_err(|e| format!("{}: {e}", file.display()))
        });
        match sent {
            Ok(()) if remove => {
                if let Err(e) = std::fs::remove_file(file) {
                    eprintln!("ptrace: {}: sent, but cannot be removed: {e}", file.display());
                    failed = true;
                }
            }
            Ok(()) => {}
            Err(why) => {
                eprintln!("ptrace: {why}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}

/// The snapshot saved in `file`.
fn read_snapshot(file: &std::path::Path) -> Result<Snapshot, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: cannot be read: {e}", file.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: not a ptrace snapshot: {e}", file.display()))
}
