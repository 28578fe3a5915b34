//! Locating a value: a variable's `DW_AT_location` (a single expression or a location list) is
//! evaluated with gimli against a frame's recovered registers, its CFA and frame base, target
//! memory and TLS; the pieces it yields are put together into a [`ValueImage`].
//! `DW_OP_entry_value(DW_OP_regN)` is resolved through the caller frame's call site.

use std::sync::Arc;

use gimli::{AttributeValue, EvaluationResult, Expression, Location, Piece, Reader as _, Value, ValueType};

use super::call_sites::{call_sites, CallSite};
use super::image::{ByteState, Missing, ValueImage};
use super::object::ObjectDebug;
use super::units::DieRef;
use super::TlsResolver;
use crate::arch::{RegisterSet, REGISTER_NAMES};
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;

/// Most bytes read from memory at once for one value; the rest of a bigger value is read when a
/// part of it is needed.
pub(crate) const MAX_IMAGE_BYTES: usize = 64 * 1024;

/// How many `DW_OP_entry_value`s may nest (an entry value whose call-site value is itself an
/// entry value of the caller, ...).
const MAX_ENTRY_VALUE_DEPTH: usize = 8;

/// Steps an evaluation may take (a loop in a corrupt expression).
const MAX_EVALUATION_STEPS: u32 = 100_000;

/// A physical frame, as location evaluation needs it.
#[derive(Clone, Debug)]
pub(crate) struct FrameState {
    /// The DWARF of the object the frame's pc is in.
    pub debug: Arc<ObjectDebug>,
    /// The frame's recovered registers.
    pub regs: RegisterSet,
    /// Its canonical frame address.
    pub cfa: Option<u64>,
    /// Its pc (a return address for caller frames).
    pub pc: u64,
    /// The pc for lookups (`pc - 1` for return addresses), in the object's ELF address space.
    pub elf_pc: u64,
    /// The `DW_TAG_subprogram` containing the pc.
    pub function: Option<DieRef>,
    /// Its index in the thread's unwound frames (0 innermost).
    pub index: usize,
    /// The index of its caller's frame (normally `index + 1`).
    pub caller_index: Option<usize>,
    /// The frame base, computed on first use (and whether it needed an entry value).
    pub frame_base: std::cell::OnceCell<Result<(u64, bool), Missing>>,
}

/// The frames of a thread, for looking up a caller.
pub(crate) trait CallerFrames {
    /// The physical frame at `index`, if it exists and has DWARF.
    fn frame_state(&self, index: usize) -> Option<&FrameState>;

    /// The DWARF of the object mapping runtime `address`.
    fn debug_at(&self, address: u64) -> Option<Arc<ObjectDebug>>;
}

/// What a location is evaluated against.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    /// Target memory.
    pub memory: &'a dyn MemoryReader,
    /// Thread-local storage blocks, when known.
    pub tls: Option<&'a dyn TlsResolver>,
    /// The frame, for frame variables (`None` for globals).
    pub frame: Option<&'a FrameState>,
    /// The thread's other frames, for entry values.
    pub stack: Option<&'a dyn CallerFrames>,
    /// Entry-value nesting so far.
    pub depth: usize,
}

/// Locates a value of `size` bytes whose `DW_AT_location` is `location`, in unit `unit`.
pub(crate) fn locate(
    debug: &Arc<ObjectDebug>,
    unit: usize,
    location: AttributeValue<DwarfReader>,
    env: &Env<'_>,
    size: usize,
) -> ValueImage {
    let expression = expression_at(debug, unit, location, env.frame.map(|f| f.elf_pc));
    locate_expression(debug, unit, expression, env, size)
}

/// Locates a value of `size` bytes whose location at the frame's pc is `expression` (already
/// picked from a location list, or why there is none).
pub(crate) fn locate_expression(
    debug: &Arc<ObjectDebug>,
    unit: usize,
    expression: Result<Expression<DwarfReader>, Missing>,
    env: &Env<'_>,
    size: usize,
) -> ValueImage {
    let mut entry_value = false;
    let result = expression
        .and_then(|expression| evaluate(debug, unit, expression, env, &mut entry_value))
        .map(|pieces| compose(debug, &pieces, size, env));
    let mut image = match result {
        Ok(image) => image,
        Err(missing) => ValueImage::missing(size, missing),
    };
    image.from_entry_value = entry_value;
    image
}

/// The expression of a location attribute that applies at ELF address `pc`: the attribute's own
/// expression, or the location-list entry covering `pc`.
pub(crate) fn expression_at(
    debug: &ObjectDebug,
    unit: usize,
    location: AttributeValue<DwarfReader>,
    pc: Option<u64>,
) -> Result<Expression<DwarfReader>, Missing> {
    match location {
        AttributeValue::Exprloc(expression) => return Ok(expression),
        AttributeValue::Block(bytes) => return Ok(Expression(bytes)),
        _ => {}
    }
    let parsed = debug
        .unit(unit)
        .ok_or_else(|| Missing::optimized_out("its unit cannot be parsed"))?;
    let dwarf = debug.dwarf_of(unit);
    let mut list = match dwarf.attr_locations(&parsed, location) {
        Ok(Some(list)) => list,
        Ok(None) => return Err(Missing::optimized_out("unsupported location form")),
        Err(e) => return Err(Missing::optimized_out(format!("bad location list: {e}"))),
    };
    let Some(pc) = pc else {
        return Err(Missing::optimized_out("a location list needs a pc"));
    };
    loop {
        match list.next() {
            Ok(Some(entry)) if (entry.range.begin..entry.range.end).contains(&pc) => return Ok(entry.data),
            Ok(Some(_)) => {}
            Ok(None) => return Err(Missing::optimized_out("not available at this pc")),
            Err(e) => return Err(Missing::optimized_out(format!("bad location list: {e}"))),
        }
    }
}

/// The name of DWARF register `register` on x86-64.
pub(crate) fn register_name(register: u16) -> String {
    match register {
        0..=16 => REGISTER_NAMES[usize::from(register)].to_string(),
        17..=32 => format!("xmm{}", register - 17),
        33..=40 => format!("st{}", register - 33),
        _ => format!("register {register}"),
    }
}

/// The value of DWARF register `register` in the frame, or why it is not known.
fn register_value(env: &Env<'_>, register: u16) -> Result<u64, Missing> {
    let Some(frame) = env.frame else {
        return Err(Missing::optimized_out(format!(
            "needs register {} but there is no frame",
            register_name(register)
        )));
    };
    if usize::from(register) >= REGISTER_NAMES.len() {
        return Err(Missing::optimized_out(format!(
            "in register {}, which is not captured",
            register_name(register)
        )));
    }
    frame.regs.get(register).ok_or_else(|| {
        Missing::optimized_out(format!(
            "in register {}, not recovered in frame #{} (not saved by its callee)",
            register_name(register),
            frame.index
        ))
    })
}

/// Evaluates `expression` (of unit `unit`) to its pieces.
fn evaluate(
    debug: &Arc<ObjectDebug>,
    unit: usize,
    expression: Expression<DwarfReader>,
    env: &Env<'_>,
    entry_value: &mut bool,
) -> Result<Vec<Piece<DwarfReader>>, Missing> {
    let parsed = debug
        .unit(unit)
        .ok_or_else(|| Missing::optimized_out("its unit cannot be parsed"))?;
    if let Some(simple) = evaluate_simple(debug, &expression, parsed.encoding(), env, entry_value) {
        return simple;
    }
    let bad = |e: gimli::Error| Missing::optimized_out(format!("cannot evaluate its location: {e}"));
    let mut evaluation = expression.evaluation(parsed.encoding());
    evaluation.set_max_iterations(MAX_EVALUATION_STEPS);
    let mut result = evaluation.evaluate().map_err(bad)?;
    loop {
        result = match result {
            EvaluationResult::Complete => return Ok(evaluation.result()),
            EvaluationResult::RequiresMemory {
                address,
                size,
                base_type,
                ..
            } => {
                let mut bytes = [0u8; 8];
                let len = usize::from(size).min(8);
                if env.memory.read_at(address, &mut bytes[..len]) != len {
                    return Err(Missing::unreadable(format!(
                        "its location reads memory at {address:#x}, which is not readable"
                    )));
                }
                let raw = u64::from_le_bytes(bytes);
                let value = typed_value(debug, unit, base_type, raw)?;
                evaluation.resume_with_memory(value).map_err(bad)?
            }
            EvaluationResult::RequiresRegister { register, base_type } => {
                let raw = register_value(env, register.0)?;
                let value = typed_value(debug, unit, base_type, raw)?;
                evaluation.resume_with_register(value).map_err(bad)?
            }
            EvaluationResult::RequiresFrameBase => {
                let base = frame_base(env, entry_value)?;
                evaluation.resume_with_frame_base(base).map_err(bad)?
            }
            EvaluationResult::RequiresTls(offset) => {
                let block = env
                    .tls
                    .and_then(|tls| tls.tls_block(debug.object()))
                    .ok_or_else(|| Missing::optimized_out("TLS unavailable"))?;
                evaluation
                    .resume_with_tls(block.wrapping_add(offset))
                    .map_err(bad)?
            }
            EvaluationResult::RequiresCallFrameCfa => {
                let cfa = env
                    .frame
                    .and_then(|f| f.cfa)
                    .ok_or_else(|| Missing::optimized_out("needs the frame's CFA, which is unknown"))?;
                evaluation.resume_with_call_frame_cfa(cfa).map_err(bad)?
            }
            EvaluationResult::RequiresEntryValue(inner) => {
                let value = resolve_entry_value(inner, env)?;
                *entry_value = true;
                evaluation
                    .resume_with_entry_value(Value::Generic(value))
                    .map_err(bad)?
            }
            EvaluationResult::RequiresRelocatedAddress(address) => evaluation
                .resume_with_relocated_address(debug.runtime_address(address))
                .map_err(bad)?,
            EvaluationResult::RequiresIndexedAddress { index, relocate } => {
                let address = debug.dwarf_of(unit).address(&parsed, index).map_err(bad)?;
                let address = if relocate {
                    debug.runtime_address(address)
                } else {
                    address
                };
                evaluation.resume_with_indexed_address(address).map_err(bad)?
            }
            EvaluationResult::RequiresBaseType(offset) => {
                let value_type = base_value_type(debug, unit, offset)?;
                evaluation.resume_with_base_type(value_type).map_err(bad)?
            }
            EvaluationResult::RequiresAtLocation(_) => {
                return Err(Missing::optimized_out("DW_OP_call* is not supported"));
            }
            EvaluationResult::RequiresParameterRef(_) => {
                return Err(Missing::optimized_out("DW_OP_GNU_parameter_ref is not supported"));
            }
            EvaluationResult::RequiresWasmLocal { .. }
            | EvaluationResult::RequiresWasmGlobal { .. }
            | EvaluationResult::RequiresWasmStack { .. } => {
                return Err(Missing::optimized_out("WebAssembly locations are not supported"));
            }
        };
    }
}

/// The pieces of a one-operation expression, the most common kind (`DW_OP_fbreg`, `DW_OP_regN`,
/// `DW_OP_bregN`, `DW_OP_addr`, `DW_OP_call_frame_cfa`), computed without a gimli evaluation;
/// `None` for any other expression.
fn evaluate_simple(
    debug: &ObjectDebug,
    expression: &Expression<DwarfReader>,
    encoding: gimli::Encoding,
    env: &Env<'_>,
    entry_value: &mut bool,
) -> Option<Result<Vec<Piece<DwarfReader>>, Missing>> {
    let mut operations = expression.clone().operations(encoding);
    let operation = operations.next().ok()??;
    if !matches!(operations.next(), Ok(None)) {
        return None;
    }
    let address = |address: u64| {
        vec![Piece {
            size_in_bits: None,
            bit_offset: None,
            location: Location::Address { address },
        }]
    };
    Some(match operation {
        gimli::Operation::FrameOffset { offset } => {
            frame_base(env, entry_value).map(|base| address(base.wrapping_add_signed(offset)))
        }
        gimli::Operation::Register { register } => Ok(vec![Piece {
            size_in_bits: None,
            bit_offset: None,
            location: Location::Register { register },
        }]),
        gimli::Operation::RegisterOffset {
            register,
            offset,
            base_type,
        } if base_type.0 == 0 => {
            register_value(env, register.0).map(|value| address(value.wrapping_add_signed(offset)))
        }
        gimli::Operation::Address { address: elf } => Ok(address(debug.runtime_address(elf))),
        gimli::Operation::CallFrameCFA => env
            .frame
            .and_then(|f| f.cfa)
            .map(address)
            .ok_or_else(|| Missing::optimized_out("needs the frame's CFA, which is unknown")),
        _ => return None,
    })
}

/// `raw` as a value of the base type at `offset` (0: the generic type).
fn typed_value(
    debug: &ObjectDebug,
    unit: usize,
    offset: gimli::UnitOffset<usize>,
    raw: u64,
) -> Result<Value, Missing> {
    if offset.0 == 0 {
        return Ok(Value::Generic(raw));
    }
    let value_type = base_value_type(debug, unit, offset)?;
    Value::from_u64(value_type, raw).map_err(|e| Missing::optimized_out(format!("typed value: {e}")))
}

/// The gimli value type of the base type DIE at `offset` of unit `unit`.
fn base_value_type(
    debug: &ObjectDebug,
    unit: usize,
    offset: gimli::UnitOffset<usize>,
) -> Result<ValueType, Missing> {
    let (_, entry) = debug
        .entry(DieRef { unit, offset })
        .ok_or_else(|| Missing::optimized_out("base type of a typed operation not found"))?;
    let encoding = match entry.attr_value(gimli::DW_AT_encoding) {
        Some(AttributeValue::Encoding(encoding)) => encoding,
        _ => return Err(Missing::optimized_out("base type without encoding")),
    };
    let size = entry
        .attr_value(gimli::DW_AT_byte_size)
        .and_then(|v| v.udata_value())
        .unwrap_or(0);
    ValueType::from_encoding(encoding, size)
        .ok_or_else(|| Missing::optimized_out("unsupported base type in a typed operation"))
}

/// The frame base: the `DW_AT_frame_base` of the frame's function, evaluated in the frame.
fn frame_base(env: &Env<'_>, entry_value: &mut bool) -> Result<u64, Missing> {
    let frame = env
        .frame
        .ok_or_else(|| Missing::optimized_out("needs a frame base but there is no frame"))?;
    let (base, used_entry_value) = frame
        .frame_base
        .get_or_init(|| {
            let mut used = false;
            compute_frame_base(frame, env, &mut used).map(|base| (base, used))
        })
        .clone()?;
    *entry_value |= used_entry_value;
    Ok(base)
}

/// Evaluates the `DW_AT_frame_base` of the frame's function.
fn compute_frame_base(frame: &FrameState, env: &Env<'_>, entry_value: &mut bool) -> Result<u64, Missing> {
    let function = frame
        .function
        .ok_or_else(|| Missing::optimized_out("needs a frame base but the function is unknown"))?;
    let debug = &frame.debug;
    let (_, entry) = debug
        .entry(function)
        .ok_or_else(|| Missing::optimized_out("the function's DWARF entry is unreadable"))?;
    let attr = entry
        .attr_value(gimli::DW_AT_frame_base)
        .ok_or_else(|| Missing::optimized_out("the function has no frame base"))?;
    let expression = expression_at(debug, function.unit, attr, Some(frame.elf_pc))?;
    let pieces = evaluate(debug, function.unit, expression, env, entry_value)?;
    single_value(&pieces, env)
}

/// The value a one-piece DWARF expression computes: an address, a register's contents, or a
/// stack value.
fn single_value(pieces: &[Piece<DwarfReader>], env: &Env<'_>) -> Result<u64, Missing> {
    let [piece] = pieces else {
        return Err(Missing::optimized_out("a value expression gave several pieces"));
    };
    match &piece.location {
        Location::Address { address } => Ok(*address),
        Location::Register { register } => register_value(env, register.0),
        Location::Value { value } => value
            .to_u64(u64::MAX)
            .map_err(|e| Missing::optimized_out(format!("value: {e}"))),
        _ => Err(Missing::optimized_out("a value expression gave no value")),
    }
}

/// Puts the pieces of a location together into the value's bytes.
fn compose(debug: &ObjectDebug, pieces: &[Piece<DwarfReader>], size: usize, env: &Env<'_>) -> ValueImage {
    if let [piece] = pieces {
        if piece.size_in_bits.is_none() {
            return whole_piece(debug, piece, size, env);
        }
    }
    let mut image = ValueImage::missing(size, Missing::optimized_out("not in any piece of its location"));
    let mut bit = 0u64;
    let mut reasons: Vec<String> = Vec::new();
    for piece in pieces {
        let bits = piece.size_in_bits.unwrap_or((size as u64).saturating_mul(8));
        let offset = piece.bit_offset.unwrap_or(0);
        match piece_bytes(piece, bits, env) {
            Ok(bytes) => image.put_bits(&bytes, offset, bit, bits, ByteState::Known),
            Err(missing) => {
                let zeros = vec![0u8; usize::try_from(bits.div_ceil(8)).unwrap_or(0)];
                image.put_bits(&zeros, 0, bit, bits, missing.state);
                reasons.push(missing.reason);
            }
        }
        bit = bit.saturating_add(bits);
    }
    reasons.dedup();
    image.reason = if reasons.is_empty() {
        (bit < (size as u64) * 8).then(|| "partly described by its location".to_string())
    } else {
        Some(reasons.join("; "))
    };
    let _ = debug;
    image
}

/// The bytes of a one-piece location covering the whole value.
fn whole_piece(debug: &ObjectDebug, piece: &Piece<DwarfReader>, size: usize, env: &Env<'_>) -> ValueImage {
    match &piece.location {
        Location::Address { address } => {
            ValueImage::from_memory(*address, size.min(MAX_IMAGE_BYTES), env.memory)
        }
        Location::Empty => ValueImage::missing(size, Missing::optimized_out("optimized out at this pc")),
        _ => {
            let bits = (size as u64).saturating_mul(8);
            match piece_bytes(piece, bits, env) {
                Ok(bytes) => {
                    let mut image = ValueImage::missing(
                        size,
                        Missing::optimized_out(format!("only {} bytes of it are known", bytes.len())),
                    );
                    image.put_bits(&bytes, 0, 0, bits.min(bytes.len() as u64 * 8), ByteState::Known);
                    if bytes.len() >= size {
                        image.reason = None;
                    }
                    let _ = debug;
                    image
                }
                Err(missing) => ValueImage::missing(size, missing),
            }
        }
    }
}

/// The bytes of one piece (at least `bits` bits when available).
fn piece_bytes(piece: &Piece<DwarfReader>, bits: u64, env: &Env<'_>) -> Result<Vec<u8>, Missing> {
    let len = usize::try_from(
        bits.div_ceil(8)
            .saturating_add(piece.bit_offset.unwrap_or(0) / 8 + 1),
    )
    .unwrap_or(usize::MAX)
    .min(MAX_IMAGE_BYTES);
    match &piece.location {
        Location::Empty => Err(Missing::optimized_out("optimized out at this pc")),
        Location::Register { register } => Ok(register_value(env, register.0)?.to_le_bytes().to_vec()),
        Location::Address { address } => {
            let image = ValueImage::from_memory(*address, len, env.memory);
            let need = usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX).min(len);
            match image.state_of(0, need) {
                Some(ByteState::Known) => Ok(image.bytes),
                _ => Err(Missing::unreadable(format!(
                    "memory at {address:#x} is not readable"
                ))),
            }
        }
        Location::Value { value } => Ok(value_bytes(*value)),
        Location::Bytes { value } => Ok(value.to_slice().map(|b| b.into_owned()).unwrap_or_default()),
        Location::ImplicitPointer { .. } => Err(Missing::optimized_out(
            "an implicit pointer: what it points to has no address",
        )),
    }
}

/// The little-endian bytes of a DWARF stack value.
fn value_bytes(value: Value) -> Vec<u8> {
    match value {
        Value::Generic(v) | Value::U64(v) => v.to_le_bytes().to_vec(),
        Value::I64(v) => v.to_le_bytes().to_vec(),
        Value::I8(v) => v.to_le_bytes().to_vec(),
        Value::U8(v) => v.to_le_bytes().to_vec(),
        Value::I16(v) => v.to_le_bytes().to_vec(),
        Value::U16(v) => v.to_le_bytes().to_vec(),
        Value::I32(v) => v.to_le_bytes().to_vec(),
        Value::U32(v) => v.to_le_bytes().to_vec(),
        Value::F32(v) => v.to_le_bytes().to_vec(),
        Value::F64(v) => v.to_le_bytes().to_vec(),
    }
}

/// The value of `DW_OP_entry_value(expression)`: what the expression (a single register)
/// held on entry to the frame's function, from the caller's `DW_TAG_call_site_parameter` for that
/// register, evaluated in the caller's frame. When the caller's call site calls another function
/// that tail-called this one, the tail call site's parameter is used instead (itself usually an
/// entry value of the intermediate function, resolved through the caller's call site).
fn resolve_entry_value(expression: Expression<DwarfReader>, env: &Env<'_>) -> Result<u64, Missing> {
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
