//! `DW_OP_entry_value`: the value a register had on entry to a frame's function, recovered from
//! the caller's call site (`DW_TAG_call_site_parameter` and its `DW_AT_call_value`), through a tail
//! call when the caller called another function that jumped to this one. The call site must be
//! shown to call this function (its origin, its target expression, the `call` instruction before
//! the return address, or a PLT stub's bound GOT slot); otherwise the value is optimized out.

use std::sync::Arc;

use gimli::Expression;

use super::call_sites::{call_sites, CallSite};
use super::image::Missing;
use super::location::{evaluate, expression_at, register_name, single_value, CallerFrames, Env, FrameState};
use super::object::ObjectDebug;
use super::units::DieRef;
use crate::arch::RegisterSet;
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;

/// How many `DW_OP_entry_value`s may nest (an entry value whose call-site value is itself an
/// entry value of the caller, ...).
const MAX_ENTRY_VALUE_DEPTH: usize = 8;

/// The value of `DW_OP_entry_value(expression)`: what the expression (a single register)
/// held on entry to the frame's function, from the caller's `DW_TAG_call_site_parameter` for that
/// register, evaluated in the caller's frame. When the caller's call site calls another function
/// that tail-called this one, the tail call site's parameter is used instead (itself usually an
/// entry value of the intermediate function, resolved through the caller's call site).
pub(crate) fn resolve_entry_value(
    expression: Expression<DwarfReader>,
    env: &Env<'_>,
) -> Result<u64, Missing> {
    let frame = env
        .frame
        .ok_or_else(|| Missing::optimized_out("an entry value needs a frame"))?;
    let register = entry_value_register(&frame.debug, frame, expression)?;
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
    let caller_debug = caller.debug.clone();
    let return_pc = caller_debug.elf_address(caller.pc);
    let sites = call_sites(&caller_debug, caller_function);
    let site = sites
        .iter()
        .find(|s| s.return_pc == Some(return_pc))
        .ok_or_else(|| {
            Missing::optimized_out("entry value: no call site in the caller at its return address")
        })?;
    let caller_env = Env {
        memory: env.memory,
        tls: env.tls,
        frame: Some(caller),
        stack: env.stack,
        depth: env.depth + 1,
    };
    let target = call_site_callee(&caller_debug, site, &caller_env);
    let calls_this = match &target {
        Some((debug, function)) => is_function_of(frame, debug, *function),
        None => origin_names_match(&caller_debug, site, frame),
    };
    if calls_this {
        let value_expression = site.value_of(register).cloned().ok_or_else(|| {
            Missing::optimized_out(format!(
                "entry value: the call site does not say what {} held",
                register_name(register)
            ))
        })?;
        let mut nested = false;
        let pieces = evaluate(
            &caller_debug,
            site.die.unit,
            value_expression,
            &caller_env,
            &mut nested,
        )?;
        return single_value(&pieces, &caller_env);
    }
    // The caller called `target`, which tail-called this function.
    let not_called =
        || Missing::optimized_out("entry value: the caller's call site does not call this function");
    let (middle_debug, middle_function) = target.ok_or_else(not_called)?;
    let middle_sites = call_sites(&middle_debug, middle_function);
    let tail_site = find_tail_call_to(&middle_debug, &middle_sites, frame).ok_or_else(not_called)?;
    let tail_pc = tail_site.return_pc.map_or(0, |a| a.saturating_sub(1));
    let value_expression = tail_site.value_of(register).cloned().ok_or_else(|| {
        Missing::optimized_out(format!(
            "entry value: the tail call does not say what {} held",
            register_name(register)
        ))
    })?;
    // The intermediate function's frame is gone: no registers, but its own entry values resolve
    // through the caller's call site.
    let middle = FrameState {
        debug: middle_debug.clone(),
        regs: RegisterSet::new(),
        cfa: None,
        pc: middle_debug.runtime_address(tail_pc),
        elf_pc: tail_pc,
        function: Some(middle_function),
        index: frame.index,
        caller_index: Some(caller_index),
        frame_base: std::cell::OnceCell::new(),
    };
    let middle_env = Env {
        memory: env.memory,
        tls: env.tls,
        frame: Some(&middle),
        stack: env.stack,
        depth: env.depth + 1,
    };
    let mut nested = false;
    let pieces = evaluate(
        &middle_debug,
        tail_site.die.unit,
        value_expression,
        &middle_env,
        &mut nested,
    )?;
    single_value(&pieces, &middle_env)
}

/// The register of an entry-value expression (`DW_OP_regN`).
fn entry_value_register(
    debug: &ObjectDebug,
    frame: &FrameState,
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

/// A tail call site among `sites` that calls the function of `callee`.
fn find_tail_call_to<'s>(
    debug: &Arc<ObjectDebug>,
    sites: &'s [CallSite],
    callee: &FrameState,
) -> Option<&'s CallSite> {
    sites.iter().filter(|s| s.tail).find(|site| {
        let Some(origin) = site.origin else {
            return false;
        };
        match site.origin_definition {
            Some(target) => is_function_of(callee, debug, target),
            None => callee.function.is_some_and(|f| {
                names_overlap(&function_names(debug, origin), &function_names(&callee.debug, f))
            }),
        }
    })
}

/// The function a call site calls, as a subprogram DIE with code: its origin when that is a
/// definition, else the function at the address the call jumps to (its target expression, or
/// the `call rel32` before the return address).
fn call_site_callee(
    debug: &Arc<ObjectDebug>,
    site: &CallSite,
    caller_env: &Env<'_>,
) -> Option<(Arc<ObjectDebug>, DieRef)> {
    if let Some(definition) = site.origin_definition {
        return Some((debug.clone(), definition));
    }
    let mut nested = false;
    let address = site
        .target
        .clone()
        .and_then(|target| {
            expression_at(debug, site.die.unit, target, None)
                .and_then(|e| evaluate(debug, site.die.unit, e, caller_env, &mut nested))
                .and_then(|pieces| single_value(&pieces, caller_env))
                .ok()
        })
        .or_else(|| direct_call_target(caller_env))?;
    let stack = caller_env.stack?;
    function_entered_at(stack, address).or_else(|| {
        // A call through the PLT: follow the stub's jump through its GOT slot.
        let resolved = plt_target(caller_env.memory, address)?;
        function_entered_at(stack, resolved)
    })
}

/// The function whose entry is runtime address `address`.
fn function_entered_at(stack: &dyn CallerFrames, address: u64) -> Option<(Arc<ObjectDebug>, DieRef)> {
    let debug = stack.debug_at(address)?;
    let elf = debug.elf_address(address);
    let function = debug.function_at(elf)?;
    (function_entry(&debug, function) == Some(elf)).then_some((debug, function))
}

/// Where a PLT stub at `address` jumps: the stub is `[endbr64] [bnd] jmp *slot(%rip)` (possibly
/// after a `push`/`jmp` pair of lazy binding, which this does not follow); the slot holds the
/// target once the dynamic linker has bound it.
fn plt_target(memory: &dyn MemoryReader, address: u64) -> Option<u64> {
    let mut code = [0u8; 16];
    if memory.read_at(address, &mut code) < code.len() {
        return None;
    }
    let at = code.windows(2).position(|w| w == [0xff, 0x25])?;
    if at > 6 {
        return None;
    }
    let rel = i32::from_le_bytes(code.get(at + 2..at + 6)?.try_into().ok()?);
    let next = address.checked_add(at as u64 + 6)?;
    let slot = next.wrapping_add_signed(i64::from(rel));
    let target = memory.read_u64(slot)?;
    // An unbound slot points back into the PLT.
    (target.abs_diff(address) > 64).then_some(target)
}

/// Whether `function` of `debug` is the function of `frame`.
fn is_function_of(frame: &FrameState, debug: &Arc<ObjectDebug>, function: DieRef) -> bool {
    if !Arc::ptr_eq(debug, &frame.debug) {
        return false;
    }
    frame.function == Some(function)
}

/// Whether a call site's origin names the frame's function (for calls whose target cannot be
/// resolved to a definition, e.g. through the PLT).
fn origin_names_match(debug: &ObjectDebug, site: &CallSite, frame: &FrameState) -> bool {
    let (Some(origin), Some(function)) = (site.origin, frame.function) else {
        return false;
    };
    names_overlap(
        &function_names(debug, origin),
        &function_names(&frame.debug, function),
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

/// The entry address (ELF) of a function DIE: `DW_AT_entry_pc`, `DW_AT_low_pc`, or the start of
/// its first range.
fn function_entry(debug: &ObjectDebug, die: DieRef) -> Option<u64> {
    let (unit, entry) = debug.entry(die)?;
    let dwarf = debug.dwarf_of(die.unit);
    for at in [gimli::DW_AT_entry_pc, gimli::DW_AT_low_pc] {
        if let Some(value) = entry.attr_value(at) {
            if let Ok(Some(address)) = dwarf.attr_address(&unit, value) {
                return Some(address);
            }
        }
    }
    let mut ranges = dwarf.die_ranges(&unit, &entry).ok()?;
    ranges.next().ok()?.map(|r| r.begin)
}
