//! Stopping and resuming running processes.

use std::collections::BTreeSet;
use std::time::Duration;

use super::fixture::{assert_untraced, own_pid, thread_state, thread_status_field, wait_until, Fixture};
use crate::abort::AbortFlag;
use crate::memory::MemoryReader;
use crate::tracer::{StopOptions, StoppedProcess, TracerError};

fn stop(pid: i32) -> StoppedProcess {
    StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect("the target stops")
}

#[test]
fn every_thread_is_captured_and_released() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(5);
    let pid = target.pid();

    let stopped = stop(pid);
    let captured: Vec<i32> = stopped.threads().iter().map(|t| t.tid).collect();
    assert_eq!(captured.first(), Some(&pid), "leader first");
    assert_eq!(captured.iter().copied().collect::<BTreeSet<_>>(), target.tids());
    assert_eq!(captured.len(), 5);
    for thread in stopped.threads() {
        let sp = thread.regs.sp().expect("sp is known");
        assert_eq!(sp, thread.user_regs.rsp);
        assert_eq!(thread.regs.pc(), Some(thread.user_regs.rip));
        assert!(
            thread.stack.contains(sp),
            "thread {}: sp {sp:#x} inside its stack copy",
            thread.tid
        );
        assert_eq!(thread.stack.base, sp - 128, "the copy starts at the red zone");
        // The copy is what memory holds (the process is stopped, nothing changes).
        let live = stopped.memory().read_exact(sp, 64).expect("stack is readable");
        assert_eq!(thread.stack.read_exact(sp, 64), Some(live));
        assert_eq!(
            thread_state(pid, thread.tid),
            't',
            "thread {} in a tracing stop",
            thread.tid
        );
        // TracerPid names the tracer *thread*.
        assert_eq!(
            thread_status_field(pid, thread.tid, "TracerPid"),
            nix::unistd::gettid().to_string()
        );
    }
    // Nothing runs while stopped: the tick counter stands still.
    let ticks = target.status().ticks;
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(target.status().ticks, ticks);

    let stopped_for = stopped.resume().expect("resume");
    assert!(stopped_for >= Duration::from_millis(30));
    assert_untraced(pid);
    target.assert_running();

    // Another tracer may attach now.
    let again = stop(pid);
    assert_eq!(again.threads().len(), 5);
    let stopped_for = again.resume().expect("second resume");
    eprintln!("5 threads stopped, captured and resumed in {stopped_for:?}");
    assert!(stopped_for < Duration::from_millis(500), "{stopped_for:?}");
    assert_untraced(pid);
    target.assert_running();
}

#[test]
fn gdb_can_attach_after_a_snapshot() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(2);
    stop(target.pid()).resume().expect("resume");
    let output = std::process::Command::new("gdb")
        .args(["-nx", "-batch", "-ex", "info threads", "-p"])
        .arg(target.pid().to_string())
        .output()
        .expect("gdb runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("Thread"),
        "gdb attached and listed threads:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_untraced(target.pid());
    target.assert_running();
}

#[test]
fn a_signal_sent_while_stopped_is_delivered_after_resume() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(3);
    let stopped = stop(target.pid());
    target.signal(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(target.status().usr1, 0);
    stopped.resume().expect("resume");
    wait_until("the handler counted SIGUSR1", || target.status().usr1 == 1);
}

/// Real-time signals queue (one delivery per send), so a signal lost by a stop shows up as a
/// missing count. Many stops during a stream of signals make some arrive as signal-delivery
/// stops, which must be re-injected: the test goes on until that happened a few times.
#[test]
fn no_signal_is_lost_across_many_stops() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let fixture = Fixture::build();
    let target = fixture.spawn_threads(4);
    let pid = target.pid();
    let keep_sending = Arc::new(AtomicBool::new(true));
    let sender = std::thread::spawn({
        let keep_sending = Arc::clone(&keep_sending);
        move || {
            let mut sent = 0u64;
            while keep_sending.load(Ordering::Relaxed) {
                super::fixture::send_signal(pid, libc::SIGRTMIN());
                sent += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
            sent
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut intercepted = 0;
    while intercepted < 3 && std::time::Instant::now() < deadline {
        let stopped = stop(pid);
        for thread in stopped.threads() {
            if let Some(sig) = thread.pending_signal {
                assert_eq!(sig, libc::SIGRTMIN(), "only SIGRTMIN is sent");
                intercepted += 1;
            }
        }
        stopped.resume().expect("resume");
    }
    keep_sending.store(false, Ordering::Relaxed);
    let sent = sender.join().expect("sender thread");
    assert!(
        intercepted > 0,
        "no signal arrived as a signal-delivery-stop in 15 s"
    );
    let deadline = std::time::Instant::now() + super::fixture::PATIENCE;
    while target.status().rt < sent && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        target.status().rt,
        sent,
        "every real-time signal was handled once"
    );
    assert_untraced(pid);
}

#[test]
fn a_job_control_stop_survives_the_snapshot() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(3);
    let pid = target.pid();
    target.signal(libc::SIGSTOP);
    wait_until("every thread is stopped", || {
        target.tids().iter().all(|&tid| thread_state(pid, tid) == 'T')
    });

    let stopped = stop(pid);
    assert_eq!(stopped.threads().len(), 3);
    assert!(stopped.threads().iter().all(|t| t.pending_signal.is_none()));
    stopped.resume().expect("resume");

    std::thread::sleep(Duration::from_millis(50));
    for tid in target.tids() {
        assert_eq!(
            thread_state(pid, tid),
            'T',
            "thread {tid} is still stopped by SIGSTOP"
        );
        assert_eq!(thread_status_field(pid, tid, "TracerPid"), "0");
    }
    let ticks = target.status().ticks;
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(target.status().ticks, ticks, "still stopped");
    target.signal(libc::SIGCONT);
    target.assert_running();
}

#[test]
fn a_dead_pid_is_no_such_process() {
    let fixture = Fixture::build();
    let mut child = std::process::Command::new(fixture.binary())
        .args(["exit", "0"])
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    child.wait().expect("reaped");
    let err = StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect_err("dead");
    assert!(
        matches!(err, TracerError::NoSuchProcess { pid: p } if p == pid),
        "{err}"
    );
    let err = StoppedProcess::stop(-1, &StopOptions::default(), &AbortFlag::new()).expect_err("invalid");
    assert!(matches!(err, TracerError::NoSuchProcess { .. }), "{err}");
}

#[test]
fn a_zombie_process_has_exited() {
    let fixture = Fixture::build();
    let mut child = std::process::Command::new(fixture.binary())
        .args(["exit", "0"])
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    wait_until("the child is a zombie", || thread_state(pid, pid) == 'Z');
    let err = StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect_err("zombie");
    assert!(matches!(err, TracerError::ProcessExited { .. }), "{err}");
    child.wait().expect("reaped");
}

#[test]
fn tracing_oneself_is_refused() {
    let err = StoppedProcess::stop(own_pid(), &StopOptions::default(), &AbortFlag::new()).expect_err("self");
    assert!(matches!(err, TracerError::SelfTrace { .. }), "{err}");
    let this_thread = nix::unistd::gettid().as_raw();
    let err = StoppedProcess::stop(this_thread, &StopOptions::default(), &AbortFlag::new())
        .expect_err("own thread");
    assert!(matches!(err, TracerError::SelfTrace { .. }), "{err}");
}

#[test]
fn a_panic_while_stopped_resumes_the_target() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(3);
    let pid = target.pid();
    let result = std::panic::catch_unwind(|| {
        let stopped = stop(pid);
        assert_eq!(thread_state(pid, pid), 't');
        panic!(
            "snapshot code failed with {} threads stopped",
            stopped.threads().len()
        );
    });
    assert!(result.is_err());
    assert_untraced(pid);
    target.assert_running();
}

#[test]
fn an_abort_request_detaches_everything() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(3);
    let abort = AbortFlag::new();
    abort.abort();
    let err = StoppedProcess::stop(target.pid(), &StopOptions::default(), &abort).expect_err("aborted");
    assert!(matches!(err, TracerError::Aborted), "{err}");
    assert_untraced(target.pid());
    target.assert_running();
}

#[test]
fn only_the_selected_thread_is_stopped() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(3);
    let pid = target.pid();
    let tid = *target
        .tids()
        .iter()
        .find(|&&tid| tid != pid)
        .expect("a second thread");
    let options = StopOptions {
        only_thread: Some(tid),
        ..StopOptions::default()
    };
    let stopped = StoppedProcess::stop(pid, &options, &AbortFlag::new()).expect("stops");
    assert_eq!(
        stopped.threads().iter().map(|t| t.tid).collect::<Vec<_>>(),
        vec![tid]
    );
    assert_eq!(thread_state(pid, tid), 't');
    // The main thread still runs.
    target.assert_running();
    stopped.resume().expect("resume");
    assert_untraced(pid);

    let options = StopOptions {
        only_thread: Some(i32::MAX),
        ..StopOptions::default()
    };
    let err = StoppedProcess::stop(pid, &options, &AbortFlag::new()).expect_err("no such thread");
    assert!(matches!(err, TracerError::NoSuchThread { .. }), "{err}");
}

#[test]
fn a_process_traced_elsewhere_is_permission_denied_with_a_hint() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(2);
    let pid = target.pid();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // Another thread holds the process stopped: it is its tracer (threads are tracers, not processes).
    let holder = std::thread::spawn(move || {
        let stopped = stop(pid);
        held_tx
            .send(nix::unistd::gettid().as_raw())
            .expect("signal the test");
        done_rx.recv().expect("wait for the test");
        stopped.resume().expect("resume");
    });
    let holder_tid = held_rx.recv().expect("the holder stopped the target");
    let err =
        StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect_err("already traced");
    done_tx.send(()).expect("release the holder");
    holder.join().expect("holder thread");
    match err {
        TracerError::PermissionDenied { pid: p, hint } => {
            assert_eq!(p, pid);
            // The real tracer, a thread of this test process, is named; no advice about
            // capabilities this (root) process has.
            let me = std::process::id();
            assert!(
                hint.contains("already traced by")
                    && hint.contains(&format!("(process {me}, thread {holder_tid})")),
                "{hint}"
            );
            assert!(!hint.contains("CAP_SYS_PTRACE"), "{hint}");
        }
        other => panic!("expected PermissionDenied, got {other}"),
    }
    assert_untraced(pid);
    target.assert_running();
}

#[test]
fn stack_copies_respect_the_limit() {
    let fixture = Fixture::build();
    let target = fixture.spawn_threads(2);
    let options = StopOptions {
        stack_limit: 256,
        ..StopOptions::default()
    };
    let stopped = StoppedProcess::stop(target.pid(), &options, &AbortFlag::new()).expect("stops");
    for thread in stopped.threads() {
        assert!(thread.stack.bytes.len() <= 256 + 128);
        assert!(thread.stack.contains(thread.user_regs.rsp));
    }
    stopped.resume().expect("resume");
}
