//! The work done while the target is stopped: unwinding every thread from its registers and its
//! stack copy, then reading the variables of every frame and the globals asked for. Symbols and
//! lines are resolved after the resume.

use crate::memory::LayeredMemory;
use crate::snapshot::Variable;
use crate::tracer::StoppedProcess;
use crate::unwind::{Unwinder, UnwoundFrame};
use crate::variables::{BtVariable, GlobalVariable, ProcessVariables, VariableLimits};

/// One thread as captured while stopped.
pub struct CapturedThread {
    /// Kernel thread id.
    pub tid: i32,
    /// The thread's registers at the stop (all of them, for frame 0).
    pub user_regs: libc::user_regs_struct,
    /// The unwound frames, innermost first.
    pub frames: Vec<UnwoundFrame>,
    /// The variables of each unwound frame (same index as `frames`): one list per inline level,
    /// innermost first, the function itself last (empty when not extracted).
    pub variables: Vec<Vec<Vec<Variable>>>,
    /// The bt variable of each extracted variable (same shape as `variables`), when modules
    /// listen to variable events; empty otherwise.
    pub bt_variables: Vec<Vec<Vec<BtVariable>>>,
}

/// Unwinds every stopped thread.
pub fn capture(stopped: &StoppedProcess, unwinder: &Unwinder, max_frames: usize) -> Vec<CapturedThread> {
    stopped
        .threads()
        .iter()
        .map(|thread| {
            let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
            CapturedThread {
                tid: thread.tid,
                user_regs: thread.user_regs,
                frames: unwinder.unwind(&thread.regs, &memory, max_frames),
                variables: Vec::new(),
                bt_variables: Vec::new(),
            }
        })
        .collect()
}

/// Reads the variables of every frame of every captured thread (stack copy first, then live
/// memory); with `with_bt`, keeps the bt variable of each as well.
pub fn capture_variables(
    stopped: &StoppedProcess,
    threads: &mut [CapturedThread],
    variables: &ProcessVariables,
    limits: &VariableLimits,
    with_bt: bool,
) {
    for captured in threads.iter_mut() {
        let Some(thread) = stopped.threads().iter().find(|t| t.tid == captured.tid) else {
            continue;
        };
        let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
        if with_bt {
            let paired = variables.thread_variables_with_bt(&captured.frames, &memory, None, limits);
            let (values, bts) = paired
                .into_iter()
                .map(|levels| {
                    levels
                        .into_iter()
                        .map(|level| level.into_iter().unzip::<_, _, Vec<_>, Vec<_>>())
                        .unzip::<_, _, Vec<_>, Vec<_>>()
                })
                .unzip();
            captured.variables = values;
            captured.bt_variables = bts;
        } else {
            captured.variables = variables.thread_variables(&captured.frames, &memory, None, limits);
        }
    }
}

/// Reads the globals asked for.
pub fn capture_globals(
    stopped: &StoppedProcess,
    variables: &ProcessVariables,
    globals: &[GlobalVariable],
    limits: &VariableLimits,
) -> Vec<Variable> {
    globals
        .iter()
        .map(|global| variables.read_global(global, stopped.memory(), None, limits))
        .collect()
}
