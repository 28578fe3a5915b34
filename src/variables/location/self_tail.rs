//! Whether a function may have reached itself through tail calls — in which case the call site
//! that called it does not prove its entry values: the frame on the stack may be a later
//! incarnation, entered by a jump with other arguments (`f(4)` tail-calls `g(3)`, which
//! tail-calls `f(2)`: the stack shows one `f` frame, called as `f(4)`, running with 2).
//!
//! As gdb (`func_verify_no_selftailcall`), the tail-call sites of the function are followed, then
//! those of their targets, and so on: the entry values are refused when the function is met
//! again, and also when a tail call on the way has a target that cannot be known without a live
//! frame (an indirect jump), or leads to code without DWARF (whose tail calls are unknown) — a
//! tail call back to the function cannot be excluded then.

use std::collections::HashSet;
use std::sync::Arc;

use super::call_targets::{function_entered_at, plt_target};
use super::calls::{calls_of, Call};
use super::image::Missing;
use super::{evaluate, expression_at, single_value, CallerFrames, Env};
use crate::memory::MemoryReader;
use crate::variables::index::{DieRef, ObjectDebug};

/// Most functions visited while following tail calls (beyond: not proven).
const MAX_VISITED: usize = 512;

/// `Ok` when `function` (of `debug`) cannot reach itself through tail calls; otherwise why its
/// entry values are not proven. Cached per function.
pub(crate) fn verify_no_self_tail_call(
    debug: &Arc<ObjectDebug>,
    function: DieRef,
    stack: &dyn CallerFrames,
    memory: &dyn MemoryReader,
) -> Result<(), Missing> {
    debug
        .locations()
        .self_tail_calls
        .get_or_compute(function, || search(debug, function, stack, memory))
}

/// A function, by object and DIE.
type FunctionKey = (usize, DieRef);

fn key(debug: &Arc<ObjectDebug>, function: DieRef) -> FunctionKey {
    (Arc::as_ptr(debug) as usize, function)
}

fn search(
    debug: &Arc<ObjectDebug>,
    function: DieRef,
    stack: &dyn CallerFrames,
    memory: &dyn MemoryReader,
) -> Result<(), Missing> {
    let start = key(debug, function);
    let name = function_name(debug, function);
    let mut seen: HashSet<FunctionKey> = HashSet::from([start]);
    let mut todo = vec![(debug.clone(), function)];
    while let Some((current_debug, current)) = todo.pop() {
        let sites = calls_of(&current_debug, current);
        for site in sites.iter().filter(|s| s.tail) {
            let Some((target_debug, target)) = tail_target(&current_debug, site, stack, memory) else {
                return Err(Missing::optimized_out(format!(
                    "entry value: {} makes a tail call whose target is unknown (an indirect jump, \
                     or code without DWARF), which may lead back to {name}: the caller's call \
                     site does not prove the values this call of {name} was entered with",
                    function_name(&current_debug, current)
                )));
            };
            let found = key(&target_debug, target);
            if found == start {
                return Err(Missing::optimized_out(format!(
                    "entry value: {name} can reach itself through tail calls, so this frame may \
                     have been entered by a jump with other values than its caller's call site \
                     passed"
                )));
            }
            if seen.insert(found) {
                if seen.len() > MAX_VISITED {
                    return Err(Missing::optimized_out(format!(
                        "entry value: too many tail calls to follow to prove that {name} cannot \
                         reach itself through them"
                    )));
                }
                todo.push((target_debug, target));
            }
        }
    }
    Ok(())
}

/// The function (with DWARF) a tail-call site jumps to, without a live frame: its origin when
/// that is a definition, a constant target address, or the function its origin names (found by
/// symbol, through the PLT).
fn tail_target(
    debug: &Arc<ObjectDebug>,
    site: &Call,
    stack: &dyn CallerFrames,
    memory: &dyn MemoryReader,
) -> Option<(Arc<ObjectDebug>, DieRef)> {
    if let Some(definition) = site.origin_definition {
        return Some((debug.clone(), definition));
    }
    let address = match &site.target {
        Some(target) => {
            // Only an expression that needs no registers (a constant address) can be evaluated
            // for a frame that is gone.
            let env = Env {
                memory,
                tls: None,
                frame: None,
                stack: None,
                depth: 0,
            };
            let mut entry_value = false;
            expression_at(debug, site.die.unit, target.clone(), None)
                .and_then(|e| evaluate(debug, site.die.unit, e, &env, &mut entry_value))
                .and_then(|pieces| single_value(&pieces, &env))
                .ok()?
        }
        None => {
            let origin = site.origin?;
            let name = linkage_name(debug, origin)?;
            stack.function_named(&name)?
        }
    };
    function_entered_at(stack, address).or_else(|| function_entered_at(stack, plt_target(memory, address)?))
}

/// The linkage name (else the name) of a function DIE, through its origins.
fn linkage_name(debug: &ObjectDebug, die: DieRef) -> Option<String> {
    let (_, entry) = debug.entry(die)?;
    [
        gimli::DW_AT_linkage_name,
        gimli::DW_AT_MIPS_linkage_name,
        gimli::DW_AT_name,
    ]
    .into_iter()
    .find_map(|at| {
        let (owner, value) = debug.inherited_attr(die, &entry, at)?;
        debug.string(owner.unit, value)
    })
}

/// A function's name for messages.
fn function_name(debug: &ObjectDebug, die: DieRef) -> String {
    debug
        .entry(die)
        .and_then(|(_, entry)| debug.name_of(die, &entry))
        .unwrap_or_else(|| "the function".to_string())
}
