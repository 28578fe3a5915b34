//! Stopping and resuming a process: every thread seized, its registers and stack copied, the
//! target left exactly as it was afterwards; plus the `--exec` loop that runs a program traced
//! until it crashes.
//!
//! # Threading
//! Linux binds a tracee to the tracer *thread* that attached it, not to the process. All ptrace
//! work of one [`StoppedProcess`] or [`Crash`] (stopping, reading registers, detaching, dropping)
//! therefore happens on the thread that created it; both types are `!Send` so the compiler keeps
//! them there. They are `Sync`: other threads may read the captured [`StoppedThread`]s and target
//! memory through shared references while the owning thread holds them.
//!
//! ```compile_fail
//! fn must_be_send<T: Send>() {}
//! must_be_send::<ptrace::tracer::StoppedProcess>(); // error: bound to its tracer thread
//! ```
//! ```
//! fn may_be_shared<T: Sync>() {}
//! may_be_shared::<ptrace::tracer::StoppedProcess>();
//! may_be_shared::<ptrace::tracer::Crash>();
//! ```
//!
//! # The target is sacred
//! Dropping a [`StoppedProcess`] (or a [`Crash`]) detaches every thread, re-injecting any signal
//! intercepted while stopping, so errors and panics resume the target. Attaching never sets
//! `PTRACE_O_EXITKILL`: if the tracer dies, the kernel detaches and the target runs on.
//!
//! Layout: [`attach`](StoppedProcess::stop) (seize and interrupt every thread), `tracees`
//! (bookkeeping and detaching), `capture` (registers and stack copies), `exec` (the `--exec`
//! event loop), `spawn` (fork and exec of the traced child), `wait` (decoding `waitpid`
//! statuses), `ending` (how a traced process ended), `permission` (why tracing is refused),
//! `ptrace_ops` (the raw requests), `proc_files` (what `/proc` says about the target).

mod attach;
mod capture;
mod ending;
mod error;
mod exec;
mod fault;
mod memory;
mod peek;
mod permission;
mod priority;
mod proc_files;
mod ptrace_ops;
mod signals;
mod spawn;
mod tracees;
mod wait;

#[cfg(test)]
mod tests;

pub use attach::{check_traceable, StopOptions, StoppedProcess, DEFAULT_STACK_LIMIT};
pub use capture::StoppedThread;
pub use ending::{ChildEnd, TargetDeath};
pub use error::TracerError;
pub use exec::{run_until_crash, Crash, ExecOutcome};
pub use fault::Fault;
pub use memory::ProcessMemory;
pub use peek::{peek_threads, PeekedThread};
pub use signals::{signal_name, FATAL_SIGNALS};
