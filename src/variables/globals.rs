//! Global variables: a handle on one ([`GlobalVariable`]), found by name with object and unit
//! filters, or enumerated lazily ([`GlobalIter`]) unit by unit without reading any value.

use std::collections::VecDeque;
use std::sync::Arc;

use gimli::{AttributeValue, Reader as _};

use super::index::{location_uses_tls, unit_globals, DieRef, GlobalEntry, ObjectDebug};
use super::location::{expression_at, locate, locate_plan, Env, LocationPlan, Missing, ValueImage, NO_IMAGE};
use super::types::Type;
use super::value::{Builder, Deferral, StringCopies, VariableLimits};
use super::TlsResolver;
use crate::debuginfo::LoadedObject;
use crate::memory::MemoryReader;
use crate::reader::DwarfReader;
use crate::snapshot::{SharedStr, Variable};

/// A global (or file-static, or thread-local) variable of one object: its name, type and
/// location, without its value. Cheap to clone; its value is read on demand with
/// [`GlobalVariable::read`].
#[derive(Clone)]
pub struct GlobalVariable {
    pub(crate) debug: Arc<ObjectDebug>,
    pub(crate) die: DieRef,
    name: SharedStr,
}

impl GlobalVariable {
    pub(crate) fn new(debug: Arc<ObjectDebug>, entry: GlobalEntry) -> Self {
        Self {
            debug,
            die: entry.die,
            name: entry.name.into(),
        }
    }

    /// Its name (qualified with its namespaces in C++).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object defining it.
    pub fn object(&self) -> &Arc<LoadedObject> {
        self.debug.object()
    }

    /// The path of the object defining it.
    pub fn object_path(&self) -> &str {
        self.debug.path()
    }

    /// The name of the compilation unit defining it (its source file as compiled).
    pub fn cu_name(&self) -> Option<String> {
        self.debug.unit_name(self.die.unit)
    }

    /// Its type.
    pub fn ty(&self) -> Type {
        let ty = self
            .debug
            .entry(self.die)
            .and_then(|(_, entry)| self.debug.type_of(self.die, &entry));
        Type::at(&self.debug, ty)
    }

    /// The `DW_AT_location` of its defining DIE.
    fn location(&self) -> Option<AttributeValue<DwarfReader>> {
        let (_, entry) = self.debug.entry(self.die)?;
        entry.attr_value(gimli::DW_AT_location)
    }

    /// Whether it is thread-local (its location uses `DW_OP_form_tls_address` or
    /// `DW_OP_GNU_push_tls_address`).
    pub fn is_thread_local(&self) -> bool {
        let (Some(location), Some(unit)) = (self.location(), self.debug.unit(self.die.unit)) else {
            return false;
        };
        location_uses_tls(location, unit.encoding())
    }

    /// Its runtime address: for a thread-local variable, in the thread whose TLS block `tls`
    /// gives. `None` when it has no address (a constant, or TLS unavailable).
    pub fn address(&self, memory: &dyn MemoryReader, tls: Option<&dyn TlsResolver>) -> Option<u64> {
        let location = self.location()?;
        let env = Env {
            memory,
            tls,
            frame: None,
            stack: None,
            depth: 0,
        };
        locate(&self.debug, self.die.unit, location, &env, 0).address
    }

    /// Reads its value from `memory` (TLS blocks from `tls`) as a snapshot variable; `symbolize`
    /// names the targets of function pointers.
    pub fn read(
        &self,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        symbolize: &dyn Fn(u64) -> Option<String>,
    ) -> Variable {
        let ty = self.ty();
        let image = self.image(&ty, memory, tls);
        let builder = Builder {
            limits,
            memory,
            symbolize,
        };
        builder.variable(&self.name, &ty, &image, false)
    }

    /// Its located value, `ty` being its type: where it is in memory, or its bytes.
    pub(crate) fn image(
        &self,
        ty: &Type,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
    ) -> ValueImage {
        let size = ty.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let env = Env {
            memory,
            tls,
            frame: None,
            stack: None,
            depth: 0,
        };
        match self.debug.entry(self.die) {
            Some((_, entry)) => match entry.attr_value(gimli::DW_AT_location) {
                Some(location) => locate(&self.debug, self.die.unit, location, &env, size),
                None => match self
                    .debug
                    .inherited_attr(self.die, &entry, gimli::DW_AT_const_value)
                {
                    Some((owner, value)) => const_image(&self.debug, owner.unit, &value, size),
                    None => ValueImage::missing(size, Missing::optimized_out("it has no location")),
                },
            },
            None => ValueImage::missing(size, Missing::optimized_out("its DWARF entry is unreadable")),
        }
    }
}

impl GlobalVariable {
    /// Its type and location looked up once, for reading it in many threads
    /// ([`GlobalPlan::read`] gives what [`read`](Self::read) gives).
    pub fn plan(&self) -> GlobalPlan {
        let ty = self.ty();
        let size = ty.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let source = match self.debug.entry(self.die) {
            Some((_, entry)) => match entry.attr_value(gimli::DW_AT_location) {
                Some(location) => match expression_at(&self.debug, self.die.unit, location, None) {
                    Ok(expression) => match LocationPlan::new(&self.debug, self.die.unit, expression) {
                        Some(plan) => Ok(plan),
                        None => Err(ValueImage::missing(
                            size,
                            Missing::optimized_out("its unit cannot be parsed"),
                        )),
                    },
                    Err(missing) => Err(ValueImage::missing(size, missing)),
                },
                None => Err(self.image(&ty, &crate::memory::LayeredMemory::new(&[], None), None)),
            },
            None => Err(ValueImage::missing(
                size,
                Missing::optimized_out("its DWARF entry is unreadable"),
            )),
        };
        GlobalPlan {
            global: self.clone(),
            deferral: Deferral::new(&ty, size),
            ty,
            size,
            source,
        }
    }
}

/// A [`GlobalVariable`] with its type and location looked up (see [`GlobalVariable::plan`]).
pub struct GlobalPlan {
    global: GlobalVariable,
    ty: Type,
    size: usize,
    /// What building the value after the resume needs copied while stopped.
    deferral: Deferral,
    /// The location, or the bytes when they do not depend on memory (a constant, or missing).
    source: Result<LocationPlan, ValueImage>,
}

impl GlobalPlan {
    /// The variable planned.
    pub fn global(&self) -> &GlobalVariable {
        &self.global
    }

    /// Reads the variable (see [`GlobalVariable::read`]).
    pub fn read(
        &self,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        symbolize: &dyn Fn(u64) -> Option<String>,
    ) -> Variable {
        let located = self.locate(memory, tls);
        self.build(self.image(&located), memory, limits, symbolize)
    }

    /// Locates the variable now (its bytes copied, and the strings its value points to copied
    /// into `copies`), to be built after the resume by [`build_pending`](Self::build_pending);
    /// built now when building would read more target memory than that.
    pub fn read_pending(
        &self,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
        limits: &VariableLimits,
        copies: &StringCopies,
        symbolize: &dyn Fn(u64) -> Option<String>,
    ) -> PendingGlobal {
        let located = self.locate(memory, tls);
        let image = self.image(&located);
        if !self.deferral.defer(&self.ty, image, memory, limits, copies) {
            return PendingGlobal(Err(self.build(image, memory, limits, symbolize)));
        }
        PendingGlobal(Ok(located))
    }

    /// The variable of `pending` (from [`read_pending`](Self::read_pending) of this plan),
    /// built with the strings `copies` copied while the target was stopped.
    pub fn build_pending(
        &self,
        pending: PendingGlobal,
        copies: &dyn MemoryReader,
        limits: &VariableLimits,
        symbolize: &dyn Fn(u64) -> Option<String>,
    ) -> Variable {
        match pending.0 {
            Ok(located) => self.build(self.image(&located), copies, limits, symbolize),
            Err(built) => built,
        }
    }

    /// The variable's bytes located with `memory` and `tls`; `None` when they do not depend on
    /// them (see [`image`](Self::image)).
    fn locate(&self, memory: &dyn MemoryReader, tls: Option<&dyn TlsResolver>) -> Option<ValueImage> {
        let env = Env {
            memory,
            tls,
            frame: None,
            stack: None,
            depth: 0,
        };
        match &self.source {
            Ok(plan) => Some(locate_plan(&self.global.debug, plan, &env, self.size)),
            Err(_) => None,
        }
    }

    /// The bytes located, else the fixed ones.
    fn image<'a>(&'a self, located: &'a Option<ValueImage>) -> &'a ValueImage {
        match (located, &self.source) {
            (Some(image), _) | (None, Err(image)) => image,
            (None, Ok(_)) => &NO_IMAGE,
        }
    }

    fn build(
        &self,
        image: &ValueImage,
        memory: &dyn MemoryReader,
        limits: &VariableLimits,
        symbolize: &dyn Fn(u64) -> Option<String>,
    ) -> Variable {
        let builder = Builder {
            limits,
            memory,
            symbolize,
        };
        builder.variable(&self.global.name, &self.ty, image, false)
    }
}

/// A thread-local or global variable read while the target was stopped: located (built after
/// the resume by [`GlobalPlan::build_pending`]), or already built.
#[derive(Debug)]
pub struct PendingGlobal(Result<Option<ValueImage>, Variable>);

impl std::fmt::Debug for GlobalVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalVariable")
            .field("name", &self.name)
            .field("object", &self.object_path())
            .field("cu", &self.cu_name())
            .finish()
    }
}

/// The bytes of a `DW_AT_const_value` for a value of `size` bytes.
pub(crate) fn const_image(
    debug: &ObjectDebug,
    unit: usize,
    value: &AttributeValue<DwarfReader>,
    size: usize,
) -> ValueImage {
    let integer = |bytes: &[u8], signed: bool| {
        let fill = if signed && bytes.last().is_some_and(|b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut out: Vec<u8> = bytes.iter().take(size).copied().collect();
        out.resize(size, fill);
        ValueImage::known(out)
    };
    match value {
        AttributeValue::Block(block) => match block.to_slice() {
            Ok(bytes) => ValueImage::known(bytes.into_owned()),
            Err(_) => ValueImage::missing(size, Missing::optimized_out("unreadable constant")),
        },
        AttributeValue::Sdata(v) => integer(&v.to_le_bytes(), true),
        AttributeValue::Udata(v) => integer(&v.to_le_bytes(), false),
        AttributeValue::Data1(v) => integer(&v.to_le_bytes(), false),
        AttributeValue::Data2(v) => integer(&v.to_le_bytes(), false),
        AttributeValue::Data4(v) => integer(&v.to_le_bytes(), false),
        AttributeValue::Data8(v) => integer(&v.to_le_bytes(), false),
        AttributeValue::Data16(v) => integer(&v.to_le_bytes(), false),
        other => match debug.string(unit, other.clone()) {
            Some(text) => {
                let mut bytes = text.into_bytes();
                bytes.push(0);
                ValueImage::known(bytes)
            }
            None => ValueImage::missing(size, Missing::optimized_out("unsupported constant form")),
        },
    }
}

/// What [`GlobalIter`] yields: object and unit names as substring filters, the variable name
/// exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalFilter {
    /// A substring of the object's path.
    pub object: Option<String>,
    /// A substring of the compilation unit's name.
    pub cu: Option<String>,
    /// The exact variable name.
    pub name: Option<String>,
    /// Only thread-local variables (`Some(true)`), only others (`Some(false)`), or all.
    pub thread_local: Option<bool>,
}

/// The globals of a process, walked lazily: one unit's unit-level DIEs are read when the
/// previous unit's globals are used up; values are never read.
pub struct GlobalIter {
    objects: VecDeque<Arc<ObjectDebug>>,
    filter: GlobalFilter,
    current: Option<Arc<ObjectDebug>>,
    units: VecDeque<usize>,
    pending: VecDeque<GlobalEntry>,
}

impl GlobalIter {
    pub(crate) fn new(objects: Vec<Arc<ObjectDebug>>, filter: GlobalFilter) -> Self {
        let objects = objects
            .into_iter()
            .filter(|o| filter.object.as_deref().is_none_or(|f| o.path().contains(f)))
            .collect();
        Self {
            objects,
            filter,
            current: None,
            units: VecDeque::new(),
            pending: VecDeque::new(),
        }
    }
}

impl Iterator for GlobalIter {
    type Item = GlobalVariable;

    fn next(&mut self) -> Option<GlobalVariable> {
        loop {
            if let (Some(entry), Some(debug)) = (self.pending.pop_front(), &self.current) {
                let global = GlobalVariable::new(debug.clone(), entry);
                if let Some(wanted) = self.filter.thread_local {
                    if global.is_thread_local() != wanted {
                        continue;
                    }
                }
                return Some(global);
            }
            if let (Some(unit), Some(debug)) = (self.units.pop_front(), &self.current) {
                if let Some(cu) = &self.filter.cu {
                    if !debug.unit_name(unit).is_some_and(|n| n.contains(cu.as_str())) {
                        continue;
                    }
                }
                let name = self.filter.name.clone();
                self.pending = unit_globals(debug, unit)
                    .into_iter()
                    .filter(|g| name.as_deref().is_none_or(|n| g.name == n))
                    .collect();
                continue;
            }
            let debug = self.objects.pop_front()?;
            self.units = debug.units.compilation_units().collect();
            self.current = Some(debug);
        }
    }
}
