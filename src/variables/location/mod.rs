//! Locating a value: a variable's `DW_AT_location` (a single expression or a location list) is
//! evaluated with gimli against a frame's recovered registers, its CFA and frame base, target
//! memory and TLS; the pieces it yields are put together into a [`ValueImage`].
//! `DW_OP_entry_value(DW_OP_regN)` is resolved through the caller frame's call site
//! ([`entry_value`], [`calls`], [`self_tail`]), the caller being found on the thread's
//! [`Stack`].

use std::borrow::Cow;
use std::sync::Arc;

use gimli::{AttributeValue, EvaluationResult, Expression, Location, Piece, Reader as _, Value, ValueType};

mod call_targets;
mod calls;
mod entry_value;
mod image;
mod scope_locations;
mod self_tail;
mod stack;

use crate::arch::{RegisterSet, REGISTER_NAMES};
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;
use crate::variables::index::{DieRef, Memo, ObjectDebug};
use crate::variables::TlsResolver;
pub(crate) use calls::{calls_of, Call};
pub(crate) use entry_value::{resolve_entry_register, SiteKey, SiteProof};
use image::ImageBytes;
pub(crate) use image::{ByteState, Missing, ValueImage, NO_IMAGE};
pub(crate) use scope_locations::{scope_locations, ScopedLocation};
pub(crate) use stack::{ProcessDebug, Stack};

/// What locating values keeps of one object (in its [`ObjectDebug`]), each found on first use.
#[derive(Default)]
pub(crate) struct LocationCaches {
    /// The calls functions make (see [`calls_of`]).
    calls: Memo<DieRef, Arc<Vec<Call>>>,
    /// Whether functions may reach themselves through tail calls (why, when they may).
    self_tail_calls: Memo<DieRef, Result<(), Missing>>,
    /// What this object's call sites prove about their callees' entry values.
    entry_sites: Memo<SiteKey, SiteProof>,
    /// The frame bases of functions, decoded.
    frame_bases: Memo<DieRef, Result<FrameBasePlan, Missing>>,
}

/// Most bytes read from memory at once for one value; the rest of a bigger value is read when a
/// part of it is needed.
pub(crate) const MAX_IMAGE_BYTES: usize = 64 * 1024;

/// Steps an evaluation may take (a loop in a corrupt expression).
const MAX_EVALUATION_STEPS: u32 = 100_000;

/// A physical frame, as location evaluation needs it.
#[derive(Clone, Debug)]
pub(crate) struct FrameState<'p> {
    /// The DWARF of the object the frame's pc is in (borrowed from the process's: cloning it
    /// per frame would make threads read in parallel contend for its count).
    pub debug: &'p Arc<ObjectDebug>,
    /// The frame's recovered registers.
    pub regs: RegisterSet,
    /// The thread's xmm registers, in the innermost (physical) frame when they were captured.
    pub vector: Option<&'p crate::arch::VectorRegisters>,
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
    /// A frame of a function that tail-called onward (its frame is gone; only the callee-saved
    /// registers and the stack pointer are known at its jump). `index` is then the physical
    /// frame it jumped into.
    pub tail_call: bool,
    /// The frame base, computed on first use (and whether it needed an entry value).
    pub frame_base: std::cell::OnceCell<Result<(u64, bool), Missing>>,
    /// What the caller's call site proves about this frame's entry values, found on the first
    /// entry value (every entry value of the frame goes through the same call site).
    pub entry_site: std::cell::OnceCell<entry_value::SiteProof>,
    /// The entry values of registers resolved so far (by DWARF register): every parameter of a
    /// frame may ask for one, and a caller's entry value is often asked again by its callees'
    /// (a call-site value that is itself an entry value), down the whole stack.
    pub entry_values: std::cell::RefCell<EntryValues>,
}

/// A frame's entry values resolved so far: DWARF register, and its value or why it is unknown.
pub(crate) type EntryValues = smallvec::SmallVec<[(u16, Result<u64, Missing>); 4]>;

/// The frames of a thread, for looking up a caller.
pub(crate) trait CallerFrames {
    /// The physical frame at `index`, if it exists and has DWARF.
    fn frame_state(&self, index: usize) -> Option<&FrameState<'_>>;

    /// The DWARF of the object mapping runtime `address`.
    fn debug_at(&self, address: u64) -> Option<Arc<ObjectDebug>>;

    /// The runtime address of the function symbol `name` (an external definition first, objects
    /// in address order), for calls that name their target (through the PLT).
    fn function_named(&self, name: &str) -> Option<u64>;
}

/// What a location is evaluated against.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    /// Target memory.
    pub memory: &'a dyn MemoryReader,
    /// Thread-local storage blocks, when known.
    pub tls: Option<&'a dyn TlsResolver>,
    /// The frame, for frame variables (`None` for globals).
    pub frame: Option<&'a FrameState<'a>>,
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
pub(crate) fn register_value(env: &Env<'_>, register: u16) -> Result<u64, Missing> {
    let Some(frame) = env.frame else {
        return Err(Missing::optimized_out(format!(
            "needs register {} but there is no frame",
            register_name(register)
        )));
    };
    if usize::from(register) >= REGISTER_NAMES.len() {
        // An xmm register's low 8 bytes (a double or float), where they were captured.
        if let Some(bytes) = frame.vector.and_then(|v| v.get(register)) {
            let mut low = [0u8; 8];
            low.copy_from_slice(&bytes[..8]);
            return Ok(u64::from_le_bytes(low));
        }
        return Err(Missing::optimized_out(format!(
            "in register {}, which is not captured",
            register_name(register)
        )));
    }
    frame.regs.get(register).ok_or_else(|| {
        if frame.tail_call {
            Missing::optimized_out(format!(
                "in register {}, unknown in a frame that tail-called onward (only callee-saved \
                 registers survive the jump)",
                register_name(register)
            ))
        } else {
            Missing::optimized_out(format!(
                "in register {}, not recovered in frame #{} (not saved by its callee)",
                register_name(register),
                frame.index
            ))
        }
    })
}

/// Evaluates `expression` (of unit `unit`) to its pieces.
pub(crate) fn evaluate(
    debug: &Arc<ObjectDebug>,
    unit: usize,
    expression: Expression<DwarfReader>,
    env: &Env<'_>,
    entry_value: &mut bool,
) -> Result<Vec<Piece<DwarfReader>>, Missing> {
    let parsed = debug
        .unit(unit)
        .ok_or_else(|| Missing::optimized_out("its unit cannot be parsed"))?;
    if let Some(plan) = LocationPlan::simple(&expression, parsed.encoding(), &|a| debug.runtime_address(a)) {
        return plan.run(debug, env, entry_value);
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
                let value = entry_value::resolve_entry_value(inner, env)?;
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

/// A location expression decoded once (per object and pc, shared by every thread at that pc):
/// the common shapes computed directly, anything else left to a gimli evaluation.
#[derive(Clone, Debug)]
pub(crate) enum LocationPlan {
    /// `DW_OP_fbreg offset`.
    FrameOffset(i64),
    /// `DW_OP_regN`.
    Register(gimli::Register),
    /// `DW_OP_bregN offset` (an address).
    RegisterOffset(u16, i64),
    /// `DW_OP_bregN offset; DW_OP_stack_value`.
    RegisterOffsetValue(u16, i64),
    /// `DW_OP_addr` (relocated to its runtime address).
    Address(u64),
    /// `DW_OP_call_frame_cfa`.
    Cfa,
    /// A constant (`DW_OP_litN`, `DW_OP_constNu/s`) then `DW_OP_stack_value`.
    Constant(u64),
    /// `DW_OP_entry_value(DW_OP_regN); DW_OP_stack_value`.
    EntryRegisterValue(u16),
    /// `DW_OP_entry_value(DW_OP_regN)` (the value taken as an address).
    EntryRegister(u16),
    /// A constant alone (taken as an address).
    Literal(u64),
    /// A constant then `DW_OP_form_tls_address` / `DW_OP_GNU_push_tls_address`: an offset in
    /// the object's TLS block.
    Tls(u64),
    /// Any other expression (evaluated by gimli, with the unit it belongs to).
    General(Expression<DwarfReader>, usize),
}

impl LocationPlan {
    /// The plan of `expression` of unit `unit`; `None` when the unit cannot be parsed.
    pub(crate) fn new(debug: &ObjectDebug, unit: usize, expression: Expression<DwarfReader>) -> Option<Self> {
        let encoding = debug.unit(unit)?.encoding();
        let relocate = |address| debug.runtime_address(address);
        Some(
            Self::simple(&expression, encoding, &relocate).unwrap_or(LocationPlan::General(expression, unit)),
        )
    }

    /// The plan of a common short expression, `None` for any other; `relocate` gives the runtime
    /// address of an ELF address.
    fn simple(
        expression: &Expression<DwarfReader>,
        encoding: gimli::Encoding,
        relocate: &dyn Fn(u64) -> u64,
    ) -> Option<Self> {
        use gimli::Operation;
        let mut operations = expression.clone().operations(encoding);
        let first = operations.next().ok()??;
        let second = operations.next().ok()?;
        if second.is_some() && !matches!(operations.next(), Ok(None)) {
            return None;
        }
        Some(match (first, second) {
            (Operation::FrameOffset { offset }, None) => LocationPlan::FrameOffset(offset),
            (Operation::Register { register }, None) => LocationPlan::Register(register),
            (
                Operation::RegisterOffset {
                    register,
                    offset,
                    base_type,
                },
                None,
            ) if base_type.0 == 0 => LocationPlan::RegisterOffset(register.0, offset),
            (
                Operation::RegisterOffset {
                    register,
                    offset,
                    base_type,
                },
                Some(Operation::StackValue),
            ) if base_type.0 == 0 => LocationPlan::RegisterOffsetValue(register.0, offset),
            (Operation::Address { address }, None) => LocationPlan::Address(relocate(address)),
            (Operation::CallFrameCFA, None) => LocationPlan::Cfa,
            (Operation::UnsignedConstant { value }, Some(Operation::StackValue)) => {
                LocationPlan::Constant(value)
            }
            (Operation::SignedConstant { value }, Some(Operation::StackValue)) => {
                LocationPlan::Constant(value as u64)
            }
            (Operation::UnsignedConstant { value }, None) => LocationPlan::Literal(value),
            (Operation::SignedConstant { value }, None) => LocationPlan::Literal(value as u64),
            (Operation::UnsignedConstant { value }, Some(Operation::TLS)) => LocationPlan::Tls(value),
            (Operation::EntryValue { expression: inner }, then @ (None | Some(Operation::StackValue))) => {
                let mut inner = Expression(inner).operations(encoding);
                match (inner.next(), inner.next(), then) {
                    (Ok(Some(Operation::Register { register })), Ok(None), None) => {
                        LocationPlan::EntryRegister(register.0)
                    }
                    (Ok(Some(Operation::Register { register })), Ok(None), Some(_)) => {
                        LocationPlan::EntryRegisterValue(register.0)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The pieces the location gives in the frame of `env`.
    pub(crate) fn run(
        &self,
        debug: &Arc<ObjectDebug>,
        env: &Env<'_>,
        entry_value: &mut bool,
    ) -> Result<Vec<Piece<DwarfReader>>, Missing> {
        let piece = |location: Location<DwarfReader>| {
            vec![Piece {
                size_in_bits: None,
                bit_offset: None,
                location,
            }]
        };
        let address = |address: u64| piece(Location::Address { address });
        let value = |value: u64| {
            piece(Location::Value {
                value: Value::Generic(value),
            })
        };
        match self {
            LocationPlan::FrameOffset(offset) => {
                frame_base(env, entry_value).map(|base| address(base.wrapping_add_signed(*offset)))
            }
            LocationPlan::Register(register) => Ok(piece(Location::Register { register: *register })),
            LocationPlan::RegisterOffset(register, offset) => {
                register_value(env, *register).map(|v| address(v.wrapping_add_signed(*offset)))
            }
            LocationPlan::RegisterOffsetValue(register, offset) => {
                register_value(env, *register).map(|v| value(v.wrapping_add_signed(*offset)))
            }
            LocationPlan::Address(at) => Ok(address(*at)),
            LocationPlan::Cfa => env
                .frame
                .and_then(|f| f.cfa)
                .map(address)
                .ok_or_else(|| Missing::optimized_out("needs the frame's CFA, which is unknown")),
            LocationPlan::Constant(constant) => Ok(value(*constant)),
            LocationPlan::EntryRegisterValue(register) => {
                let resolved = entry_value::resolve_entry_register(*register, env)?;
                *entry_value = true;
                Ok(value(resolved))
            }
            LocationPlan::EntryRegister(register) => {
                let resolved = entry_value::resolve_entry_register(*register, env)?;
                *entry_value = true;
                Ok(address(resolved))
            }
            LocationPlan::Literal(constant) => Ok(address(*constant)),
            LocationPlan::Tls(offset) => {
                let block = env
                    .tls
                    .and_then(|tls| tls.tls_block(debug.object()))
                    .ok_or_else(|| Missing::optimized_out("TLS unavailable"))?;
                Ok(address(block.wrapping_add(*offset)))
            }
            LocationPlan::General(expression, unit) => {
                evaluate(debug, *unit, expression.clone(), env, entry_value)
            }
        }
    }

    /// The value this plan computes read as a DWARF value expression (a call site's parameter
    /// value, a frame base): what [`single_value`] makes of the pieces [`run`](Self::run) gives,
    /// without building them for the usual short expressions (entry values evaluate one for
    /// each parameter of every frame while the target is stopped).
    pub(crate) fn value(
        &self,
        debug: &Arc<ObjectDebug>,
        env: &Env<'_>,
        entry_value: &mut bool,
    ) -> Result<u64, Missing> {
        match self {
            LocationPlan::FrameOffset(offset) => {
                frame_base(env, entry_value).map(|base| base.wrapping_add_signed(*offset))
            }
            LocationPlan::Register(register) => register_value(env, register.0),
            LocationPlan::RegisterOffset(register, offset)
            | LocationPlan::RegisterOffsetValue(register, offset) => {
                register_value(env, *register).map(|v| v.wrapping_add_signed(*offset))
            }
            LocationPlan::Address(value) | LocationPlan::Constant(value) | LocationPlan::Literal(value) => {
                Ok(*value)
            }
            LocationPlan::EntryRegisterValue(register) | LocationPlan::EntryRegister(register) => {
                let resolved = entry_value::resolve_entry_register(*register, env)?;
                *entry_value = true;
                Ok(resolved)
            }
            LocationPlan::Cfa | LocationPlan::Tls(_) | LocationPlan::General(..) => {
                single_value(&self.run(debug, env, entry_value)?, env)
            }
        }
    }
}

/// Locates a value of `size` bytes with a planned location (see [`locate_expression`]).
pub(crate) fn locate_plan(
    debug: &Arc<ObjectDebug>,
    plan: &LocationPlan,
    env: &Env<'_>,
    size: usize,
) -> ValueImage {
    let mut entry_value = false;
    let result = plan
        .run(debug, env, &mut entry_value)
        .map(|pieces| compose(debug, &pieces, size, env));
    let mut image = match result {
        Ok(image) => image,
        Err(missing) => ValueImage::missing(size, missing),
    };
    image.from_entry_value = entry_value;
    image
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
    if frame.frame_base.get().is_none() {
        // Computed outside the cell: a malformed frame base that refers to itself (DW_OP_fbreg
        // nested in an expression gimli evaluates) comes back here for the same frame, and
        // must get an error, not re-enter the cell's initialisation (which would deadlock).
        let Some(_computing) = FrameBaseGuard::enter(frame as *const FrameState<'_> as usize) else {
            return Err(Missing::optimized_out(
                "the frame base is given relative to itself",
            ));
        };
        let mut used = false;
        let computed = compute_frame_base(frame, env, &mut used).map(|base| (base, used));
        // Another evaluation may have set it meanwhile; either value is the same.
        let _ = frame.frame_base.set(computed);
    }
    let (base, used_entry_value) = frame
        .frame_base
        .get()
        .cloned()
        .unwrap_or_else(|| Err(Missing::optimized_out("the frame base could not be computed")))?;
    *entry_value |= used_entry_value;
    Ok(base)
}

thread_local! {
    /// The frames whose frame base this thread is computing now (by address).
    static FRAME_BASES_IN_PROGRESS: std::cell::RefCell<Vec<usize>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a frame's frame base as being computed on this thread, until dropped.
struct FrameBaseGuard(usize);

impl FrameBaseGuard {
    /// None when the frame base of the frame at address `key` is already being computed on
    /// this thread (a self-reference).
    fn enter(key: usize) -> Option<Self> {
        FRAME_BASES_IN_PROGRESS.with(|frames| {
            let mut frames = frames.borrow_mut();
            if frames.contains(&key) {
                None
            } else {
                frames.push(key);
                Some(FrameBaseGuard(key))
            }
        })
    }
}

impl Drop for FrameBaseGuard {
    fn drop(&mut self) {
        FRAME_BASES_IN_PROGRESS.with(|frames| frames.borrow_mut().retain(|key| *key != self.0));
    }
}

/// Evaluates the `DW_AT_frame_base` of the frame's function (decoded once per function).
fn compute_frame_base(frame: &FrameState<'_>, env: &Env<'_>, entry_value: &mut bool) -> Result<u64, Missing> {
    let function = frame
        .function
        .ok_or_else(|| Missing::optimized_out("needs a frame base but the function is unknown"))?;
    let debug = &frame.debug;
    let plan = debug
        .locations()
        .frame_bases
        .get_or_compute(function, || FrameBasePlan::new(debug, function))?;
    match plan {
        // Its own frame base: it would need itself to be computed.
        FrameBasePlan::Expression(LocationPlan::FrameOffset(_)) => Err(Missing::optimized_out(
            "the frame base is given relative to itself",
        )),
        FrameBasePlan::Expression(plan) => plan.value(debug, env, entry_value),
        FrameBasePlan::List(attr) => {
            let expression = expression_at(debug, function.unit, attr, Some(frame.elf_pc))?;
            single_value(
                &evaluate(debug, function.unit, expression, env, entry_value)?,
                env,
            )
        }
    }
}

/// A function's `DW_AT_frame_base`, decoded once per function.
#[derive(Clone, Debug)]
pub(crate) enum FrameBasePlan {
    /// One expression for the whole function, planned.
    Expression(LocationPlan),
    /// A location list: the expression depends on the pc.
    List(AttributeValue<DwarfReader>),
}

impl FrameBasePlan {
    /// The frame base of function DIE `function`, or why it has none.
    pub(crate) fn new(debug: &ObjectDebug, function: DieRef) -> Result<Self, Missing> {
        let (_, entry) = debug
            .entry(function)
            .ok_or_else(|| Missing::optimized_out("the function's DWARF entry is unreadable"))?;
        let attr = entry
            .attr_value(gimli::DW_AT_frame_base)
            .ok_or_else(|| Missing::optimized_out("the function has no frame base"))?;
        let expression = match attr {
            AttributeValue::Exprloc(expression) => expression,
            AttributeValue::Block(bytes) => Expression(bytes),
            list => return Ok(FrameBasePlan::List(list)),
        };
        Ok(FrameBasePlan::Expression(
            LocationPlan::new(debug, function.unit, expression.clone())
                .unwrap_or(LocationPlan::General(expression, function.unit)),
        ))
    }
}

/// The value a one-piece DWARF expression computes: an address, a register's contents, or a
/// stack value.
pub(crate) fn single_value(pieces: &[Piece<DwarfReader>], env: &Env<'_>) -> Result<u64, Missing> {
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
    // Every byte no piece covers stays optimized out; the reason is set below.
    let mut image = ValueImage::missing(size, Missing::optimized_out(String::new()));
    let mut bit = 0u64;
    let mut reasons: Vec<Cow<'static, str>> = Vec::new();
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
        (bit < (size as u64) * 8).then_some(Cow::Borrowed("partly described by its location"))
    } else if let [reason] = reasons.as_mut_slice() {
        Some(std::mem::take(reason))
    } else {
        Some(Cow::Owned(reasons.join("; ")))
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
                Ok(mut bytes) if bytes.len() >= size => {
                    // Most register values are whole: their bytes are the value's.
                    bytes.truncate(size);
                    ValueImage::known(bytes)
                }
                Ok(bytes) => {
                    let reason = format!("only {} bytes of it are known", bytes.len());
                    let mut image = ValueImage::missing(size, Missing::optimized_out(reason));
                    image.put_bits(&bytes, 0, 0, bits.min(bytes.len() as u64 * 8), ByteState::Known);
                    let _ = debug;
                    image
                }
                Err(missing) => ValueImage::missing(size, missing),
            }
        }
    }
}

/// The bytes of one piece (at least `bits` bits when available).
fn piece_bytes(piece: &Piece<DwarfReader>, bits: u64, env: &Env<'_>) -> Result<ImageBytes, Missing> {
    let len = usize::try_from(
        bits.div_ceil(8)
            .saturating_add(piece.bit_offset.unwrap_or(0) / 8 + 1),
    )
    .unwrap_or(usize::MAX)
    .min(MAX_IMAGE_BYTES);
    match &piece.location {
        Location::Empty => Err(Missing::optimized_out("optimized out at this pc")),
        Location::Register { register } => {
            // A vector register gives all its 16 bytes; a general one its 8.
            match env.frame.and_then(|f| f.vector).and_then(|v| v.get(register.0)) {
                Some(bytes) => Ok(ImageBytes::from_slice(bytes)),
                None => Ok(ImageBytes::from_slice(
                    &register_value(env, register.0)?.to_le_bytes(),
                )),
            }
        }
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
        Location::Bytes { value } => Ok(value
            .to_slice()
            .map(|b| ImageBytes::from_slice(&b))
            .unwrap_or_default()),
        Location::ImplicitPointer { .. } => Err(Missing::optimized_out(
            "an implicit pointer: what it points to has no address",
        )),
    }
}

/// The little-endian bytes of a DWARF stack value.
fn value_bytes(value: Value) -> ImageBytes {
    match value {
        Value::Generic(v) | Value::U64(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::I64(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::I8(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::U8(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::I16(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::U16(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::I32(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::U32(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::F32(v) => ImageBytes::from_slice(&v.to_le_bytes()),
        Value::F64(v) => ImageBytes::from_slice(&v.to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of the expression `bytes` (64-bit DWARF 5), relocating by `0x1000`.
    fn plan(bytes: &[u8]) -> Option<LocationPlan> {
        let encoding = gimli::Encoding {
            address_size: 8,
            format: gimli::Format::Dwarf32,
            version: 5,
        };
        let reader = DwarfReader::new(
            crate::reader::SharedBytes::from_vec(bytes.to_vec()),
            gimli::RunTimeEndian::Little,
        );
        LocationPlan::simple(&Expression(reader), encoding, &|a| a + 0x1000)
    }

    #[test]
    fn common_expressions_are_planned_without_gimli() {
        // DW_OP_fbreg -24
        assert!(matches!(
            plan(&[0x91, 0x68]),
            Some(LocationPlan::FrameOffset(-24))
        ));
        // DW_OP_reg5 (rdi)
        assert!(matches!(
            plan(&[0x55]),
            Some(LocationPlan::Register(gimli::Register(5)))
        ));
        // DW_OP_breg7 (rsp) 8
        assert!(matches!(
            plan(&[0x77, 0x08]),
            Some(LocationPlan::RegisterOffset(7, 8))
        ));
        // DW_OP_breg3 (rbx) 1; DW_OP_stack_value
        assert!(matches!(
            plan(&[0x73, 0x01, 0x9f]),
            Some(LocationPlan::RegisterOffsetValue(3, 1))
        ));
        // DW_OP_addr 0x2000, relocated
        let addr = [0x03, 0x00, 0x20, 0, 0, 0, 0, 0, 0];
        assert!(matches!(plan(&addr), Some(LocationPlan::Address(0x3000))));
        // DW_OP_call_frame_cfa
        assert!(matches!(plan(&[0x9c]), Some(LocationPlan::Cfa)));
        // DW_OP_lit7; DW_OP_stack_value, and DW_OP_lit7 alone (an address)
        assert!(matches!(plan(&[0x37, 0x9f]), Some(LocationPlan::Constant(7))));
        assert!(matches!(plan(&[0x37]), Some(LocationPlan::Literal(7))));
        // DW_OP_consts -1; DW_OP_stack_value
        assert!(matches!(
            plan(&[0x11, 0x7f, 0x9f]),
            Some(LocationPlan::Constant(u64::MAX))
        ));
        // DW_OP_entry_value(DW_OP_reg5); DW_OP_stack_value, and without DW_OP_stack_value
        assert!(matches!(
            plan(&[0xa3, 0x01, 0x55, 0x9f]),
            Some(LocationPlan::EntryRegisterValue(5))
        ));
        assert!(matches!(
            plan(&[0xa3, 0x01, 0x55]),
            Some(LocationPlan::EntryRegister(5))
        ));
        // DW_OP_const8u 0x10; DW_OP_GNU_push_tls_address
        let tls = [0x0e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xe0];
        assert!(matches!(plan(&tls), Some(LocationPlan::Tls(0x10))));
    }

    #[test]
    fn a_frame_base_needing_itself_is_refused_not_reentered() {
        let outer = FrameBaseGuard::enter(0x1000).expect("first computation of the frame base");
        // The same frame again (its frame base refers to itself): refused.
        assert!(FrameBaseGuard::enter(0x1000).is_none());
        // Another frame (an entry value evaluated in the caller) may compute its own.
        let caller = FrameBaseGuard::enter(0x2000).expect("the caller's frame base");
        drop(caller);
        drop(outer);
        // Done: the frame can be computed again (e.g. by a later snapshot).
        assert!(FrameBaseGuard::enter(0x1000).is_some());
    }

    #[test]
    fn other_expressions_are_left_to_gimli() {
        // DW_OP_entry_value(DW_OP_breg5 0): not a register alone
        assert!(plan(&[0xa3, 0x02, 0x75, 0x00, 0x9f]).is_none());
        // DW_OP_reg5; DW_OP_piece 4: pieces
        assert!(plan(&[0x55, 0x93, 0x04]).is_none());
        // DW_OP_breg7 0; DW_OP_deref; DW_OP_stack_value: three operations
        assert!(plan(&[0x77, 0x00, 0x06, 0x9f]).is_none());
        // An empty expression.
        assert!(plan(&[]).is_none());
    }
}
