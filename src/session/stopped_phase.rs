//! The stopped phase of a run (the capture: unwinding, variables, globals, and the modules'
//! events that need the target stopped) and the assembly of the snapshot after the resume from
//! what it left.

use super::access::{self, TargetAccess};
use super::assemble::{self, FaultMark};
use super::prepare::PreparedProcess;
use super::{capture, modules, pointees, target, Session};
use crate::procinfo::ProcessInfo;
use crate::snapshot::Snapshot;
use crate::variables::{GlobalPlan, GlobalVariable, StringCopies};

/// What the stopped phase leaves for after the resume.
pub(super) struct AfterStop {
    /// The threads, when they still have to be put into the snapshot.
    captured: Vec<capture::CapturedThread>,
    /// The globals read, when they still have to be put into the snapshot.
    global_values: Vec<crate::snapshot::Variable>,
    /// Whether the threads and globals are in the snapshot already (modules saw them).
    assembled: bool,
    /// The strings the variables left to build point to, copied while stopped.
    strings: StringCopies,
    /// How many threads' variables were not read (the stop limit was reached first).
    pub(super) threads_left_out: usize,
    /// Whether the modules' thread, frame and variable events were not fired at all (the stop
    /// limit was reached before).
    pub(super) events_skipped: bool,
    /// What the modules' events used while stopped (bt variables): freed after the resume, as
    /// freeing is not work the stop needs.
    _leftovers: Option<modules::CapturedBtVariables>,
}

/// The variables a run reads besides the frames': globals asked for, thread-local variables, and
/// the thread whose thread-local globals are read (the faulting one, else the main thread).
pub(super) struct Wanted<'a> {
    /// The globals asked for (`--global`, and those modules select).
    pub(super) globals: &'a [GlobalVariable],
    /// The thread-local variables read in every thread.
    pub(super) thread_locals: &'a [GlobalVariable],
    /// The plans of `thread_locals`, same order.
    pub(super) thread_local_plans: &'a [GlobalPlan],
    /// The thread whose thread-local globals are read.
    pub(super) tls_thread: i32,
}

impl Session {
    /// The work done while the target is stopped: `attach`, unwinding, variables (tail-call
    /// frames' and each thread's thread-local ones included) and globals, and (only when modules
    /// listen to them) the frames symbolized and the variable, frame and thread events fired.
    /// Without such modules, symbolization waits for the resume.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn stopped_phase(
        &self,
        stopped: &dyn target::StoppedTarget,
        prepared: &PreparedProcess,
        info: &ProcessInfo,
        snapshot: &mut Snapshot,
        wanted: &Wanted<'_>,
        fault: Option<FaultMark>,
        access: Option<&TargetAccess>,
    ) -> AfterStop {
        let host = self.active_host();
        if let Some(host) = host {
            host.fire_attach(snapshot);
        }
        let mut captured = capture::capture(
            stopped,
            &prepared.unwinder,
            self.options.max_frames,
            !self.options.sequential_capture,
        );
        if let Some(access) = access {
            for thread in &captured {
                access.set_thread_pointer(thread.tid, thread.user_regs.fs_base);
            }
        }
        let limits = self.options.variable_limits();
        let with_bt = host.is_some_and(modules::wants_bt_variables);
        let strings = StringCopies::new();
        // Modules that see variables while stopped need them built now; otherwise they are only
        // located now and built after the resume.
        let extraction = if with_bt {
            capture::Extraction::BuiltWithBt
        } else if host.is_some_and(modules::wants_stopped_events) || self.options.build_while_stopped {
            capture::Extraction::Built
        } else {
            capture::Extraction::Pending(&strings)
        };
        let threads_left_out = if self.options.variables {
            capture::capture_variables(
                stopped,
                &mut captured,
                prepared,
                wanted.thread_local_plans,
                &limits,
                extraction,
                !self.options.sequential_capture,
                &self.cutoff,
            )
        } else {
            0
        };
        let global_values =
            capture::capture_globals(stopped, prepared, wanted.globals, &limits, wanted.tls_thread);
        let listening = host.filter(|h| modules::wants_stopped_events(h));
        // Once the limit is reached, the threads are not put together for the modules' events
        // while stopped (none could be delivered): that waits for the resume.
        let events_skipped = listening.is_some() && self.cutoff.reason().is_some();
        let Some(host) = listening.filter(|_| !events_skipped) else {
            return AfterStop {
                captured,
                global_values,
                assembled: false,
                strings,
                threads_left_out,
                events_skipped,
                _leftovers: None,
            };
        };
        let mut builder = assemble::FrameBuilder::new(self.options.all_registers);
        let bts = assemble::add_threads(snapshot, &mut captured, info, prepared, fault, &mut builder);
        snapshot.globals.extend(global_values);
        let source = modules::CapturedBtVariables::new(
            bts,
            captured
                .iter_mut()
                .map(|thread| std::mem::take(&mut thread.thread_local_bt_variables))
                .collect(),
            wanted.thread_locals.iter().map(modules::origin_of).collect(),
        );
        for thread in 0..snapshot.threads.len() {
            host.fire_thread_events(snapshot, thread, &source);
        }
        for (index, global) in wanted.globals.iter().enumerate() {
            let bt = with_bt.then(|| {
                access::wrap(capture::global_bt_variable(
                    stopped,
                    prepared,
                    global,
                    wanted.tls_thread,
                ))
            });
            host.fire_global(snapshot, index, modules::origin_of(global), bt);
        }
        AfterStop {
            // What is left of the threads once in the snapshot, to free after the resume.
            captured,
            global_values: Vec::new(),
            assembled: true,
            strings,
            threads_left_out,
            events_skipped: false,
            _leftovers: Some(source),
        }
    }

    /// After the resume: puts the threads and globals into the snapshot unless the stopped
    /// phase did.
    pub(super) fn finish_assembly(
        &self,
        snapshot: &mut Snapshot,
        mut after: AfterStop,
        info: &ProcessInfo,
        prepared: &PreparedProcess,
        fault: Option<FaultMark>,
        thread_local_plans: &[GlobalPlan],
    ) {
        if after.assembled {
            pointees::name_pointees(snapshot, &prepared.objects);
            snapshot.warnings.extend(prepared.objects.debug_warnings());
            return;
        }
        capture::build_pending(
            &mut after.captured,
            prepared,
            &self.options.variable_limits(),
            &std::mem::take(&mut after.strings).freeze(),
            thread_local_plans,
        );
        let mut builder = assemble::FrameBuilder::new(self.options.all_registers);
        assemble::add_threads(snapshot, &mut after.captured, info, prepared, fault, &mut builder);
        snapshot.globals.extend(after.global_values);
        pointees::name_pointees(snapshot, &prepared.objects);
        // Once the frames are symbolized and their variables built: most defects of the debug
        // info are found doing that.
        snapshot.warnings.extend(prepared.objects.debug_warnings());
    }
}
