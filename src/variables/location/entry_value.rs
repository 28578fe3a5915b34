//! `DW_OP_entry_value`: the value a register had on entry to a frame's function, recovered from
//! the caller's call site (`DW_TAG_call_site_parameter` and its `DW_AT_call_value`). The caller is
//! the frame above — a physical frame, or the frame of a function that tail-called this one (see
//! the variables' `Stack`), whose jump is then the call site. The value is only given when it is
//! proven, as gdb requires:
//!
//! - the call site must be shown to call this function: its origin, its target expression
//!   evaluated in the caller's frame (an indirect call whose target cannot be computed proves
//!   nothing), the `call rel32` before the return address, or a PLT stub's bound GOT slot;
//! - the function must not be able to reach itself through tail calls (then the frame may be a
//!   later incarnation entered by a jump; see `self_tail`).
//!
//! Otherwise the value is optimized out, with the reason.

use std::sync::Arc;

use gimli::Expression;

use super::call_targets::{function_entered_at, plt_target};
use super::calls::{calls_of, Call};
use super::image::Missing;
use super::self_tail::verify_no_self_tail_call;
use super::{evaluate, expression_at, register_name, single_value, CallerFrames, Env, FrameState};
use crate::reader::DwarfReader;
use crate::variables::index::{DieRef, ObjectDebug};

/// How many `DW_OP_entry_value`s may nest (an entry value whose call-site value is itself an
/// entry value of the caller, ...).
const MAX_ENTRY_VALUE_DEPTH: usize = 8;

/// The value of `DW_OP_entry_value(expression)`: what the expression (a single register)
/// held on entry to the frame's function, from the caller's `DW_TAG_call_site_parameter` for that
/// register, evaluated in the caller's frame (for a tail-call frame as the caller: at its jump,
/// where the value is usually itself an entry value, resolved through that frame's caller).
pub(crate) fn resolve_entry_value(
    expression: Expression<DwarfReader>,
    env: &Env<'_>,
) -> Result<u64, Missing> {
    let frame = env
        .frame
        .ok_or_else(|| Missing::optimized_out("an entry value needs a frame"))?;
    let register = entry_value_register(frame.debug, frame, expression)?;
    resolve_entry_register(register, env)
}

/// The value DWARF register `register` held on entry to the frame's function (see
/// [`resolve_entry_value`]), resolved once per frame and register: a value found is kept, and so
/// is a refusal met without nesting (one met deeper may be the nesting limit's).
pub(crate) fn resolve_entry_register(register: u16, env: &Env<'_>) -> Result<u64, Missing> {
    let frame = env
        .frame
        .ok_or_else(|| Missing::optimized_out("an entry value needs a frame"))?;
    if let Some((_, known)) = frame.entry_values.borrow().iter().find(|(r, _)| *r == register) {
        return known.clone();
    }
    let resolved = resolve_entry_register_once(register, env, frame);
    if resolved.is_ok() || env.depth == 0 {
        frame.entry_values.borrow_mut().push((register, resolved.clone()));
    }
    resolved
}

/// [`resolve_entry_register`] without the frame's memo.
fn resolve_entry_register_once(register: u16, env: &Env<'_>, frame: &FrameState<'_>) -> Result<u64, Missing> {
    if env.depth >= MAX_ENTRY_VALUE_DEPTH {
        return Err(Missing::optimized_out("entry values nest too deeply"));
    }
    let stack = env
        .stack
        .ok_or_else(|| Missing::optimized_out("entry value: the caller frames are not known"))?;
    let caller_index = frame
        .caller_index
        .ok_or_else(|| Missing::optimized_out("entry value: no caller frame"))?;
    let caller = stack
        .frame_state(caller_index)
        .ok_or_else(|| Missing::optimized_out("entry value: the caller frame has no debug info"))?;
    let caller_function = caller
        .function
        .ok_or_else(|| Missing::optimized_out("entry value: the caller's function is unknown"))?;
    let caller_debug = &caller.debug;
    let return_pc = caller_debug.elf_address(caller.pc);
    let caller_env = Env {
        memory: env.memory,
        tls: env.tls,
        frame: Some(caller),
        stack: env.stack,
        depth: env.depth + 1,
    };
    let key = SiteKey {
        caller_function,
        return_pc,
        callee_object: Arc::as_ptr(frame.debug) as usize,
        callee_function: frame.function,
    };
    let proof = frame.entry_site.get_or_init(|| {
        caller_debug.locations().entry_sites.get_or_compute(key, || {
            prove_site(
                caller_debug,
                caller_function,
                return_pc,
                frame,
                &caller_env,
                stack,
            )
        })
    });
    let (sites, index) = match proof {
        SiteProof::Refused(missing) => return Err(missing.clone()),
        SiteProof::Proven(sites, index) => (sites, *index),
        SiteProof::Indirect(sites, index) => {
            // Where an indirect call goes depends on the caller frame's registers.
            let site = sites
                .get(*index)
                .ok_or_else(|| Missing::optimized_out("entry value: call site lost"))?;
            check_call(caller_debug, site, frame, &caller_env, stack)?;
            (sites, *index)
        }
    };
    let site = sites
        .get(index)
        .ok_or_else(|| Missing::optimized_out("entry value: call site lost"))?;
    let value_expression = site.value_of(register).ok_or_else(|| unsaid(register))?;
    value_expression.value(caller_debug, &caller_env, &mut false)
}

/// Why an entry value of `register` is unknown when the call site does not give it (the texts
/// of the usual registers made once: the stop meets this often).
fn unsaid(register: u16) -> Missing {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| (0..=40).map(unsaid_text).collect());
    match texts.get(usize::from(register)) {
        Some(text) => Missing::optimized_out(text.as_str()),
        None => Missing::optimized_out(unsaid_text(register)),
    }
}

fn unsaid_text(register: u16) -> String {
    format!(
        "entry value: the call site does not say what {} held",
        register_name(register)
    )
}

/// What proves (or refutes) a callee's entry values at a caller's call site: the caller's
/// function, the ELF address the call returns to, and the callee's object and function. The
/// answer is the same for every thread stopped there, except for an indirect call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SiteKey {
    /// The caller's function.
    pub caller_function: DieRef,
    /// The ELF address (in the caller's object) the call returns to.
    pub return_pc: u64,
    /// The callee's [`ObjectDebug`], by address.
    pub callee_object: usize,
    /// The callee's function.
    pub callee_function: Option<DieRef>,
}

/// What a caller's call site proves about a callee's entry values (see [`SiteKey`]), found
/// once: the call site, by index in the caller function's call sites.
#[derive(Clone, Debug)]
pub(crate) enum SiteProof {
    /// The call site calls the callee, which cannot have reached itself through tail calls: its
    /// parameter values are the callee's entry values.
    Proven(Arc<Vec<Call>>, usize),
    /// An indirect call: whether it calls the callee is checked in each caller frame (its
    /// target expression needs the frame's registers).
    Indirect(Arc<Vec<Call>>, usize),
    /// Not proven, and why.
    Refused(Missing),
}

/// Finds the call site of `caller_function` returning to `return_pc` and whether it proves the
/// entry values of `frame`'s function (see [`SiteProof`]).
fn prove_site(
    caller_debug: &Arc<ObjectDebug>,
    caller_function: DieRef,
    return_pc: u64,
    frame: &FrameState<'_>,
    caller_env: &Env<'_>,
    stack: &dyn CallerFrames,
) -> SiteProof {
    let sites = calls_of(caller_debug, caller_function);
    let Some(index) = sites.iter().position(|s| s.return_pc == Some(return_pc)) else {
        return SiteProof::Refused(Missing::optimized_out(
            "entry value: no call site in the caller at its return address",
        ));
    };
    let Some(site) = sites.get(index) else {
        return SiteProof::Refused(Missing::optimized_out("entry value: call site lost"));
    };
    if site.origin_definition.is_none() && site.target.is_some() {
        return SiteProof::Indirect(sites, index);
    }
    match check_call(caller_debug, site, frame, caller_env, stack) {
        Ok(()) => SiteProof::Proven(sites, index),
        Err(missing) => SiteProof::Refused(missing),
    }
}

/// `Ok` when `site` (of the caller in `caller_env`) is shown to call `frame`'s function and that
/// function cannot have reached itself through tail calls since; otherwise why not.
fn check_call(
    caller_debug: &Arc<ObjectDebug>,
    site: &Call,
    frame: &FrameState<'_>,
    caller_env: &Env<'_>,
    stack: &dyn CallerFrames,
) -> Result<(), Missing> {
    let target = call_site_callee(caller_debug, site, caller_env);
    let calls_this = match &target {
        Some((debug, function)) => is_function_of(frame, debug, *function),
        None => site.target.is_none() && origin_names_match(caller_debug, site, frame),
    };
    if !calls_this {
        return Err(not_called(caller_debug, site, target.as_ref()));
    }
    // The call proves the values a call of this function was entered with; this frame is that
    // call unless the function may have jumped back into itself since.
    if let Some(function) = frame.function {
        verify_no_self_tail_call(frame.debug, function, stack, caller_env.memory)?;
    }
    Ok(())
}

/// Why the caller's call site is not shown to call the frame's function.
fn not_called(
    caller_debug: &ObjectDebug,
    site: &Call,
    target: Option<&(Arc<ObjectDebug>, DieRef)>,
) -> Missing {
    if let Some((debug, function)) = target {
        let name = function_names(debug, *function)
            .pop()
            .unwrap_or_else(|| "another function".to_string());
        return Missing::optimized_out(format!(
            "entry value: the caller's call site calls {name}, not this function, and no chain \
             of tail calls between them is known for sure"
        ));
    }
    if site.target.is_some() {
        return Missing::optimized_out(
            "entry value: the caller's call is indirect and its target cannot be computed in the \
             caller's frame, so it is not known to call this function",
        );
    }
    match site.origin {
        Some(origin) => Missing::optimized_out(format!(
            "entry value: the caller's call site calls {}, not this function",
            function_names(caller_debug, origin)
                .pop()
                .unwrap_or_else(|| "another function".to_string())
        )),
        None => Missing::optimized_out(
            "entry value: the caller's call is indirect and DWARF does not say where it goes, so \
             it is not known to call this function",
        ),
    }
}

/// The register of an entry-value expression (`DW_OP_regN`).
fn entry_value_register(
    debug: &ObjectDebug,
    frame: &FrameState<'_>,
    expression: Expression<DwarfReader>,
) -> Result<u16, Missing> {
    let function = frame.function.map(|f| f.unit).unwrap_or(0);
    let encoding = debug
        .unit(function)
        .map(|u| u.encoding())
        .ok_or_else(|| Missing::optimized_out("entry value: unit unreadable"))?;
    let mut operations = expression.operations(encoding);
    match (operations.next(), operations.next()) {
        (Ok(Some(gimli::Operation::Register { register })), Ok(None)) => Ok(register.0),
        _ => Err(Missing::optimized_out(
            "entry value of something other than a register is not supported",
        )),
    }
}

/// The function a call site calls, as a subprogram DIE with code: its origin when that is a
/// definition, else the function at the address the call jumps to — its target expression
/// evaluated in the caller's frame (an indirect call: nothing else can tell), or, for a call
/// site with neither, the `call rel32` before the return address — through a PLT stub if need
/// be.
fn call_site_callee(
    debug: &Arc<ObjectDebug>,
    site: &Call,
    caller_env: &Env<'_>,
) -> Option<(Arc<ObjectDebug>, DieRef)> {
    if let Some(definition) = site.origin_definition {
        return Some((debug.clone(), definition));
    }
    let mut nested = false;
    let address = match site.target.clone() {
        Some(target) => expression_at(debug, site.die.unit, target, None)
            .and_then(|e| evaluate(debug, site.die.unit, e, caller_env, &mut nested))
            .and_then(|pieces| single_value(&pieces, caller_env))
            .ok()?,
        None => direct_call_target(caller_env)?,
    };
    let stack = caller_env.stack?;
    function_entered_at(stack, address).or_else(|| {
        // A call through the PLT: follow the stub's jump through its GOT slot.
        let resolved = plt_target(caller_env.memory, address)?;
        function_entered_at(stack, resolved)
    })
}

/// Whether `function` of `debug` is the function of `frame`.
fn is_function_of(frame: &FrameState<'_>, debug: &Arc<ObjectDebug>, function: DieRef) -> bool {
    if !Arc::ptr_eq(debug, frame.debug) {
        return false;
    }
    frame.function == Some(function)
}

/// Whether a call site's origin names the frame's function (for calls whose target cannot be
/// resolved to a definition, e.g. through the PLT).
fn origin_names_match(debug: &ObjectDebug, site: &Call, frame: &FrameState<'_>) -> bool {
    let (Some(origin), Some(function)) = (site.origin, frame.function) else {
        return false;
    };
    names_overlap(
        &function_names(debug, origin),
        &function_names(frame.debug, function),
    )
}

fn names_overlap(a: &[String], b: &[String]) -> bool {
    a.iter().any(|n| b.contains(n))
}

/// The target of a `call rel32` ending at the caller frame's return address.
fn direct_call_target(caller_env: &Env<'_>) -> Option<u64> {
    let caller = caller_env.frame?;
    let start = caller.pc.checked_sub(5)?;
    let bytes = caller_env.memory.read_exact(start, 5)?;
    if bytes.first() != Some(&0xe8) {
        return None;
    }
    let rel = i32::from_le_bytes(bytes.get(1..5)?.try_into().ok()?);
    Some(caller.pc.wrapping_add_signed(i64::from(rel)))
}

/// The linkage name and name of a function DIE (through its origins).
fn function_names(debug: &ObjectDebug, die: DieRef) -> Vec<String> {
    let Some((_, entry)) = debug.entry(die) else {
        return Vec::new();
    };
    [
        gimli::DW_AT_linkage_name,
        gimli::DW_AT_MIPS_linkage_name,
        gimli::DW_AT_name,
    ]
    .into_iter()
    .filter_map(|at| {
        let (owner, value) = debug.inherited_attr(die, &entry, at)?;
        debug.string(owner.unit, value)
    })
    .collect()
}
