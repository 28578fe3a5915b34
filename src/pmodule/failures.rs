//! Failures of module callbacks during one snapshot: each distinct failure (module, event,
//! message) is counted and kept for the snapshot; the first few of each module are logged when
//! they happen (the module's first with its traceback), and one line per module sums up the rest
//! when the snapshot is done. A module that runs out of its instruction budget or its memory while
//! the target is stopped is benched: it gets no more events until the target runs again, so that
//! one runaway module cannot keep the target stopped one budget per event.

use super::module::{CallbackFailure, FailureKind, ModuleKey};
use crate::snapshot::ModuleFailure;

/// Most characters of a failure's message kept (logged and recorded).
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// Most lines of a failure's traceback logged.
pub const MAX_TRACEBACK_LINES: usize = 8;
/// Most distinct failures of one module logged as they happen, per snapshot.
pub const MAX_LOGGED_PER_MODULE: usize = 6;
/// Most distinct failures of one module kept for the snapshot; the others are counted together.
pub const MAX_KEPT_PER_MODULE: usize = 100;
/// The message of the entry that counts a module's failures past [`MAX_KEPT_PER_MODULE`].
pub const OTHER_FAILURES: &str = "(failures with other messages)";

/// `text` cut to `max` characters; a cut text says how long it was.
pub fn cut_text(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}... ({} bytes in all)", &text[..end], text.len()),
    }
}

/// One distinct failure.
#[derive(Debug)]
struct Entry {
    module: ModuleKey,
    failure: ModuleFailure,
}

/// A module's account in this snapshot.
#[derive(Debug)]
struct ModuleAccount {
    module: ModuleKey,
    id: String,
    /// Distinct failures logged so far.
    logged: usize,
    /// Distinct failures kept so far.
    kept: usize,
    /// Whether the module is benched now, and the entry of the failure that benched it.
    benched: Option<usize>,
    /// Callbacks not run while it was benched (this snapshot).
    skipped: u64,
}

/// The failures of one snapshot and the benched modules.
#[derive(Debug, Default)]
pub struct FailureLog {
    entries: Vec<Entry>,
    modules: Vec<ModuleAccount>,
}

/// What the log should say now about a failure [`FailureLog::record`] counted.
#[derive(Debug, PartialEq, Eq)]
pub enum Say {
    /// Nothing (seen before, or past the module's share of lines).
    Nothing,
    /// The failure, with its traceback (the module's first).
    WithTraceback,
    /// The failure, on one line.
    OneLine,
    /// That the module's further failures are not logged (the first one past its share).
    NoMore,
}

/// What [`FailureLog::record`] decided about one failure.
#[derive(Debug, PartialEq, Eq)]
pub struct Recorded {
    /// What to log.
    pub say: Say,
    /// The module was benched by this failure.
    pub benched: bool,
}

impl FailureLog {
    fn account(&mut self, module: ModuleKey, id: &str) -> usize {
        match self.modules.iter().position(|m| m.module == module) {
            Some(index) => index,
            None => {
                self.modules.push(ModuleAccount {
                    module,
                    id: id.to_string(),
                    logged: 0,
                    kept: 0,
                    benched: None,
                    skipped: 0,
                });
                self.modules.len() - 1
            }
        }
    }

    /// Counts `failure` of module `module` (id `module_id`) in `event`; benches the module when
    /// `stopped` and the failure is its budget or memory running out.
    pub fn record(
        &mut self,
        module: ModuleKey,
        module_id: &str,
        event: &str,
        failure: &CallbackFailure,
        stopped: bool,
    ) -> Recorded {
        let account = self.account(module, module_id);
        let mut message = cut_text(failure.message.trim_end(), MAX_MESSAGE_CHARS);
        let same = |e: &Entry, message: &str| {
            e.module == module && e.failure.event == event && e.failure.message == message
        };
        let mut found = self.entries.iter().position(|e| same(e, &message));
        if found.is_none() && self.modules[account].kept >= MAX_KEPT_PER_MODULE {
            message = OTHER_FAILURES.to_string();
            found = self.entries.iter().position(|e| same(e, &message));
        }
        let (index, new) = match found {
            Some(index) => {
                self.entries[index].failure.count += 1;
                (index, false)
            }
            None => {
                self.modules[account].kept += 1;
                self.entries.push(Entry {
                    module,
                    failure: ModuleFailure {
                        module: module_id.to_string(),
                        event: event.to_string(),
                        message,
                        count: 1,
                        skipped: 0,
                    },
                });
                (self.entries.len() - 1, true)
            }
        };
        let account = &mut self.modules[account];
        let say = match (new, account.logged) {
            (false, _) => Say::Nothing,
            (true, 0) => Say::WithTraceback,
            (true, n) if n < MAX_LOGGED_PER_MODULE => Say::OneLine,
            (true, n) if n == MAX_LOGGED_PER_MODULE => Say::NoMore,
            (true, _) => Say::Nothing,
        };
        if new {
            account.logged += 1;
        }
        let runs_away = matches!(failure.kind, FailureKind::OutOfBudget | FailureKind::OutOfMemory);
        let benched = stopped && runs_away && account.benched.is_none();
        if benched {
            account.benched = Some(index);
        }
        Recorded { say, benched }
    }

    /// Whether `module` gets no more events while the target is stopped.
    pub fn is_benched(&self, module: ModuleKey) -> bool {
        self.modules
            .iter()
            .any(|m| m.module == module && m.benched.is_some())
    }

    /// Counts one callback of `module` not run because it is benched.
    pub fn note_skipped(&mut self, module: ModuleKey) {
        if let Some(account) = self.modules.iter_mut().find(|m| m.module == module) {
            account.skipped += 1;
        }
    }

    /// The target runs again: benched modules get events again (the skips stay counted, on the
    /// failure that benched each).
    pub fn lift_benches(&mut self) {
        for account in &mut self.modules {
            if let Some(index) = account.benched.take() {
                if let Some(entry) = self.entries.get_mut(index) {
                    entry.failure.skipped += std::mem::take(&mut account.skipped);
                }
            }
        }
    }

    /// Every distinct failure so far, in the order they first happened, and one line per
    /// module summing up its failures when there is more to say than was logged; the log is
    /// emptied.
    pub fn take(&mut self) -> (Vec<ModuleFailure>, Vec<(String, String)>) {
        self.lift_benches();
        let failures: Vec<ModuleFailure> = self.entries.drain(..).map(|e| e.failure).collect();
        let summaries = self
            .modules
            .drain(..)
            .filter_map(|account| {
                let mine = failures.iter().filter(|f| f.module == account.id);
                let (distinct, count, skipped) =
                    mine.fold((0, 0, 0), |(d, c, s), f| (d + 1, c + f.count, s + f.skipped));
                let text = summary_text(&account.id, distinct, count, skipped)?;
                Some((account.id, text))
            })
            .collect();
        (failures, summaries)
    }
}

/// The text logged for a failure: `module <id>: <event>: <message>`, and with `traceback` the
/// first lines of the traceback when the message does not hold it already.
pub fn failure_text(module_id: &str, event: &str, failure: &CallbackFailure, traceback: bool) -> String {
    let message = cut_text(failure.message.trim_end(), MAX_MESSAGE_CHARS);
    let mut text = format!("module {module_id}: {event}: {message}");
    let Some(lines) = failure
        .traceback
        .as_deref()
        .filter(|t| traceback && !t.is_empty() && !failure.message.contains(*t))
    else {
        return text;
    };
    // The lines that say where in the module's code: not the C functions and the sandbox's
    // wrappers it went through.
    let lines: Vec<&str> = lines
        .trim_end()
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("[C]:")
                || line.starts_with("sandbox:")
                || line.starts_with("(...tail calls...)"))
        })
        .collect();
    if lines.len() <= 1 {
        // Only the "stack traceback:" heading is left.
        return text;
    }
    for line in lines.iter().take(MAX_TRACEBACK_LINES) {
        text.push('\n');
        text.push_str(&cut_text(line, MAX_MESSAGE_CHARS));
    }
    if lines.len() > MAX_TRACEBACK_LINES {
        text.push_str(&format!(
            "\n\t... ({} more lines)",
            lines.len() - MAX_TRACEBACK_LINES
        ));
    }
    text
}

/// The line logged when a module's further failures are not logged one by one.
pub fn no_more_text(module_id: &str) -> String {
    format!(
        "module {module_id}: more failures with other messages: not logged one by one (the \
         snapshot's module_failures lists them)"
    )
}

/// The line that sums up a module's failures in a snapshot, when there is more to say than the
/// one failure logged: `distinct` failures, `count` in all, `skipped` callbacks not run.
fn summary_text(module_id: &str, distinct: usize, count: u64, skipped: u64) -> Option<String> {
    if count < 2 && skipped == 0 {
        return None;
    }
    let mut text = format!(
        "module {module_id}: {count} failed callback{} in this snapshot",
        if count == 1 { "" } else { "s" }
    );
    if distinct > 1 {
        text.push_str(&format!(" ({distinct} different failures)"));
    }
    if skipped > 0 {
        text.push_str(&format!(
            "; {skipped} callback{} not run while the target was stopped, after it ran out of its budget or memory",
            if skipped == 1 { "" } else { "s" }
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(message: &str, kind: FailureKind) -> CallbackFailure {
        CallbackFailure {
            kind,
            ..CallbackFailure::new(message)
        }
    }

    #[test]
    fn a_failure_is_logged_once_and_counted() {
        let mut log = FailureLog::default();
        let boom = failure("boom", FailureKind::Error);
        assert_eq!(
            log.record(ModuleKey(0), "m", "variable", &boom, true).say,
            Say::WithTraceback
        );
        for _ in 0..4 {
            assert_eq!(
                log.record(ModuleKey(0), "m", "variable", &boom, true).say,
                Say::Nothing
            );
        }
        // Another event or message is another failure; another module has its own account.
        assert_eq!(
            log.record(ModuleKey(0), "m", "frame", &boom, true).say,
            Say::OneLine
        );
        assert_eq!(
            log.record(ModuleKey(1), "n", "variable", &boom, true).say,
            Say::WithTraceback
        );
        let bang = failure("bang", FailureKind::Error);
        assert_eq!(
            log.record(ModuleKey(0), "m", "variable", &bang, true).say,
            Say::OneLine
        );
        assert!(!log.is_benched(ModuleKey(0)), "errors do not bench");
        let (all, summaries) = log.take();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].count, 5);
        assert_eq!(
            summaries,
            [(
                "m".to_string(),
                "module m: 7 failed callbacks in this snapshot (3 different failures)".to_string()
            )],
            "module n failed once: nothing more to say"
        );
        assert_eq!(log.take(), (Vec::new(), Vec::new()));
    }

    #[test]
    fn a_module_gets_a_few_lines_and_the_snapshot_a_bounded_list() {
        let mut log = FailureLog::default();
        let says: Vec<Say> = (0..500)
            .map(|i| {
                let failure = failure(&format!("broken {i}"), FailureKind::Error);
                log.record(ModuleKey(0), "m", "variable", &failure, true).say
            })
            .collect();
        assert_eq!(says[0], Say::WithTraceback);
        assert!(says[1..MAX_LOGGED_PER_MODULE].iter().all(|s| *s == Say::OneLine));
        assert_eq!(says[MAX_LOGGED_PER_MODULE], Say::NoMore);
        assert!(says[MAX_LOGGED_PER_MODULE + 1..]
            .iter()
            .all(|s| *s == Say::Nothing));
        let (all, summaries) = log.take();
        assert_eq!(all.len(), MAX_KEPT_PER_MODULE + 1);
        let other = all.last().unwrap();
        assert_eq!(other.message, OTHER_FAILURES);
        assert_eq!(other.count, 500 - MAX_KEPT_PER_MODULE as u64);
        assert!(summaries[0].1.contains("500 failed callbacks"), "{summaries:?}");
    }

    #[test]
    fn running_out_while_stopped_benches_the_module_until_it_runs() {
        let mut log = FailureLog::default();
        let out = failure("instruction budget exceeded", FailureKind::OutOfBudget);
        // Not while running (postattach): no bench.
        assert!(!log.record(ModuleKey(2), "m", "postattach", &out, false).benched);
        assert!(!log.is_benched(ModuleKey(2)));
        let recorded = log.record(ModuleKey(2), "m", "variable", &out, true);
        assert_eq!(recorded.say, Say::OneLine);
        assert!(recorded.benched);
        assert!(log.is_benched(ModuleKey(2)) && !log.is_benched(ModuleKey(1)));
        for _ in 0..7 {
            log.note_skipped(ModuleKey(2));
        }
        log.note_skipped(ModuleKey(1));
        log.lift_benches();
        assert!(!log.is_benched(ModuleKey(2)));
        let memory = failure("not enough memory", FailureKind::OutOfMemory);
        assert!(log.record(ModuleKey(2), "m", "frame", &memory, true).benched);
        let (all, summaries) = log.take();
        let variable = all.iter().find(|f| f.event == "variable").unwrap();
        assert_eq!(variable.skipped, 7);
        assert!(
            summaries[0]
                .1
                .contains("7 callbacks not run while the target was stopped"),
            "{summaries:?}"
        );
    }

    #[test]
    fn long_messages_and_tracebacks_are_cut() {
        let huge = "x".repeat(1 << 20);
        let mut log = FailureLog::default();
        log.record(
            ModuleKey(0),
            "m",
            "variable",
            &failure(&huge, FailureKind::Error),
            true,
        );
        let (all, _) = log.take();
        assert!(all[0].message.len() < MAX_MESSAGE_CHARS + 100);
        assert!(all[0].message.ends_with("(1048576 bytes in all)"));
        let traceback: String = (0..100).map(|i| format!("\tline {i}\n")).collect();
        let with_traceback = CallbackFailure {
            traceback: Some(format!("stack traceback:\n{traceback}")),
            ..CallbackFailure::new(huge.clone())
        };
        let text = failure_text("m", "frame", &with_traceback, true);
        assert!(text.len() < 2 * MAX_MESSAGE_CHARS + 400, "{}", text.len());
        assert!(text.ends_with("(93 more lines)"), "{text}");
        let noise = CallbackFailure {
            traceback: Some("stack traceback:\n\t[C]: in ?\n\t[C]: in function 'error'\n\tsandbox:5: in function <sandbox:4>\n\t(...tail calls...)\n\tm.lua:5: in function <m.lua:4>".into()),
            ..CallbackFailure::new("m.lua:5: broken")
        };
        assert_eq!(
            failure_text("m", "variable", &noise, true),
            "module m: variable: m.lua:5: broken\nstack traceback:\n\tm.lua:5: in function <m.lua:4>"
        );
        let only_c = CallbackFailure {
            traceback: Some("stack traceback:\n\t[C]: in ?".into()),
            ..CallbackFailure::new("x")
        };
        assert_eq!(
            failure_text("m", "variable", &only_c, true),
            "module m: variable: x"
        );
        assert_eq!(
            failure_text("m", "frame", &with_traceback, false).lines().count(),
            1
        );
        assert_eq!(cut_text("héllo", 2), "hé... (6 bytes in all)");
        assert_eq!(cut_text("héllo", 5), "héllo");
    }
}
