//! Module logging: `pmodule.log`, `print`, and the engine's reports of failing callbacks go to a
//! [`LogSink`] the embedding program provides (stderr by default: `[module id] level: text`).

use super::kinds::LogLevel;
use std::sync::Mutex;

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The module id (or the file being loaded, before its `define`).
    pub module: String,
    /// The level.
    pub level: LogLevel,
    /// The text (may span lines: tracebacks).
    pub text: String,
}

/// Where log lines go.
pub trait LogSink: Send + Sync {
    /// Records one line.
    fn log(&self, record: &LogRecord);
}

/// Writes `[module id] level: text` lines to stderr.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrSink;

impl LogSink for StderrSink {
    fn log(&self, record: &LogRecord) {
        eprintln!("[{}] {}: {}", record.module, record.level, record.text);
    }
}

/// Keeps every line in memory (for hosts that show them elsewhere, and for tests).
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Vec<LogRecord>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every line logged so far.
    pub fn records(&self) -> Vec<LogRecord> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every line logged so far as `[module] level: text`, joined by newlines.
    pub fn text(&self) -> String {
        self.records()
            .iter()
            .map(|r| format!("[{}] {}: {}", r.module, r.level, r.text))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl LogSink for MemorySink {
    fn log(&self, record: &LogRecord) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record.clone());
    }
}
