//! `--exec`: running the fixture traced until it exits or crashes.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::time::Duration;

use super::fixture::{assert_untraced, thread_state, tids_of, wait_until, Fixture};
use crate::abort::AbortFlag;
use crate::tracer::{run_until_crash, signal_name, ChildEnd, Crash, ExecOutcome, StopOptions, TracerError};

fn run(fixture: &Fixture, args: &[&str]) -> Result<ExecOutcome, TracerError> {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    run_until_crash(
        fixture.binary().as_os_str(),
        &args,
        &StopOptions::default(),
        &AbortFlag::new(),
    )
}

fn expect_crash(outcome: Result<ExecOutcome, TracerError>) -> Crash {
    match outcome {
        Ok(ExecOutcome::Crashed(crash)) => *crash,
        Ok(other) => panic!("expected a crash, got {other:?}"),
        Err(err) => panic!("expected a crash, got error {err}"),
    }
}

#[test]
fn a_segfault_in_a_thread_is_captured_with_every_thread() {
    let fixture = Fixture::build();
    let tid_file = fixture.path("faulting-tid");
    let crash = expect_crash(run(
        &fixture,
        &["segv-thread", tid_file.to_str().expect("utf-8 path")],
    ));
    let pid = crash.stopped.pid();
    let faulting: i32 = std::fs::read_to_string(&tid_file)
        .expect("tid file")
        .trim()
        .parse()
        .expect("a tid");

    assert_eq!(crash.fault.tid, faulting);
    assert_ne!(faulting, pid, "the fault happened in a secondary thread");
    assert_eq!(signal_name(crash.fault.signal), "SIGSEGV");
    assert_eq!(crash.fault.address, Some(0x1234));
    assert_eq!(crash.fault.code, 1);
    assert_eq!(crash.fault.reason, "address not mapped to object");
    assert_eq!(crash.fault.sender_pid, None);

    let threads = crash.stopped.threads();
    let captured: BTreeSet<i32> = threads.iter().map(|t| t.tid).collect();
    assert_eq!(
        captured,
        tids_of(pid),
        "every thread (main, two sleepers, the faulting one)"
    );
    assert_eq!(captured.len(), 4);
    assert_eq!(threads.first().map(|t| t.tid), Some(pid), "leader first");
    for thread in threads {
        assert_eq!(
            thread_state(pid, thread.tid),
            't',
            "thread {} is stopped",
            thread.tid
        );
        assert!(thread.stack.contains(thread.user_regs.rsp));
        let expected = (thread.tid == faulting).then_some(libc::SIGSEGV);
        assert_eq!(thread.pending_signal, expected, "thread {}", thread.tid);
    }
    assert_eq!(crash.finish().expect("finish"), ChildEnd::Signaled(libc::SIGSEGV));
    assert!(tids_of(pid).is_empty(), "the child is gone and reaped");
}

#[test]
fn abort_reports_who_sent_the_signal() {
    let fixture = Fixture::build();
    let crash = expect_crash(run(&fixture, &["abort"]));
    let pid = crash.stopped.pid();
    assert_eq!(crash.fault.signal, libc::SIGABRT);
    assert_eq!(crash.fault.sender_pid, Some(pid));
    assert_eq!(crash.fault.reason, "sent by tkill");
    assert_eq!(crash.fault.address, None);
    assert_eq!(crash.stopped.threads().len(), 1);
    let mut crash = crash;
    let stopped_for = crash.stopped.detach().expect("detach");
    assert_eq!(crash.stopped.detach().expect("second detach"), stopped_for);
    assert_eq!(crash.finish().expect("finish"), ChildEnd::Signaled(libc::SIGABRT));
}

#[test]
fn a_normal_exit_gives_its_code() {
    let fixture = Fixture::build();
    assert!(matches!(
        run(&fixture, &["exit", "3"]),
        Ok(ExecOutcome::Exited(3))
    ));
}

#[test]
fn signals_are_passed_through_to_the_program() {
    let fixture = Fixture::build();
    // The program exits with the number of SIGUSR1 its handler saw.
    assert!(matches!(
        run(&fixture, &["signals", "5"]),
        Ok(ExecOutcome::Exited(5))
    ));
}

#[test]
fn a_fault_the_program_handles_is_not_a_crash() {
    let fixture = Fixture::build();
    // Its SIGSEGV handler exits 42.
    assert!(matches!(
        run(&fixture, &["segv-caught"]),
        Ok(ExecOutcome::Exited(42))
    ));
}

#[test]
fn a_missing_program_is_an_exec_error() {
    let err = run_until_crash(
        OsStr::new("no-such-program-xyz"),
        &[],
        &StopOptions::default(),
        &AbortFlag::new(),
    )
    .expect_err("not found");
    assert!(
        matches!(&err, TracerError::Exec { program, .. } if program == "no-such-program-xyz"),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-program-xyz"));

    // A path that exists but cannot be executed fails in the child's exec.
    let fixture = Fixture::build();
    let not_executable = fixture.path("data.txt");
    std::fs::write(&not_executable, "just text\n").expect("write");
    let err = run_until_crash(
        not_executable.as_os_str(),
        &[],
        &StopOptions::default(),
        &AbortFlag::new(),
    )
    .expect_err("not executable");
    match err {
        TracerError::Exec { program, source } => {
            assert!(program.ends_with("data.txt"));
            assert_eq!(source.raw_os_error(), Some(libc::EACCES));
        }
        other => panic!("expected Exec, got {other}"),
    }
}

#[test]
fn job_control_keeps_working_under_exec() {
    let fixture = Fixture::build();
    let dir = fixture.path("markers");
    std::fs::create_dir(&dir).expect("marker directory");
    let watcher = std::thread::spawn({
        let dir = dir.clone();
        move || {
            wait_until("the program is about to stop itself", || {
                dir.join("before").exists()
            });
            std::thread::sleep(Duration::from_millis(100));
            let stayed_stopped = !dir.join("after").exists();
            if stayed_stopped {
                let pid = find_process_with_arg(dir.to_str().expect("utf-8 path"));
                super::fixture::send_signal(pid, libc::SIGCONT);
            }
            stayed_stopped
        }
    });
    let outcome = run(&fixture, &["selfstop", dir.to_str().expect("utf-8 path")]);
    let stayed_stopped = watcher.join().expect("watcher thread");
    assert!(matches!(outcome, Ok(ExecOutcome::Exited(7))), "{outcome:?}");
    assert!(stayed_stopped, "SIGSTOP stopped the program until SIGCONT");
    assert!(dir.join("after").exists());
}

/// The pid of the process whose command line contains `arg`.
fn find_process_with_arg(arg: &str) -> i32 {
    let mut found = None;
    wait_until("the process is found", || {
        found = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|entry| {
                let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                cmdline
                    .split(|&b| b == 0)
                    .any(|part| part == arg.as_bytes())
                    .then_some(pid)
            });
        found.is_some()
    });
    found.unwrap_or_default()
}

#[test]
fn dropping_a_crash_lets_the_program_die_and_reaps_it() {
    let fixture = Fixture::build();
    let tid_file = fixture.path("tid");
    let mut pid = 0;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let crash = expect_crash(run(
            &fixture,
            &["segv-thread", tid_file.to_str().expect("utf-8 path")],
        ));
        pid = crash.stopped.pid();
        panic!(
            "snapshot code failed while {} threads were stopped",
            crash.stopped.threads().len()
        );
    }));
    assert!(result.is_err());
    assert!(pid > 0);
    assert!(
        tids_of(pid).is_empty(),
        "the crashed program died of its signal and was reaped"
    );
}

#[test]
fn an_abort_request_lets_the_program_run_on_untraced() {
    let fixture = Fixture::build();
    let status = fixture.path("status");
    let abort = AbortFlag::new();
    let aborter = std::thread::spawn({
        let abort = abort.clone();
        let status = status.clone();
        move || {
            wait_until("the program runs", || status.exists());
            abort.abort();
        }
    });
    let args: Vec<OsString> = ["threads", "3"]
        .iter()
        .map(OsString::from)
        .chain([status.clone().into()])
        .collect();
    let err = run_until_crash(
        fixture.binary().as_os_str(),
        &args,
        &StopOptions::default(),
        &abort,
    )
    .expect_err("aborted");
    aborter.join().expect("aborter thread");
    assert!(matches!(err, TracerError::Aborted), "{err}");

    let pid = find_process_with_arg(status.to_str().expect("utf-8 path"));
    assert_untraced(pid);
    assert_eq!(tids_of(pid).len(), 3);
    let ticks = || std::fs::read_to_string(&status).unwrap_or_default();
    let before = ticks();
    wait_until("the program still runs", || ticks() != before);
    super::fixture::send_signal(pid, libc::SIGKILL);
    // It is still our child: reap it.
    let mut code = 0;
    // SAFETY: `code` is a valid int to write the status to.
    assert_eq!(unsafe { libc::waitpid(pid, &mut code, 0) }, pid);
}
