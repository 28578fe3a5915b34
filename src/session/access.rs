//! The target as modules see it: [`TargetAccess`] implements the engine's
//! [`ProcessAccess`](crate::pmodule::ProcessAccess) (raw memory, symbols, memory maps) and
//! [`TypedMemory`](crate::pmodule::TypedMemory) (bt variables, on the navigation engine of
//! [`crate::variables::navigate`]) over one process and the debug information prepared for it.
//!
//! Memory is read with `process_vm_readv` on the process itself: while the target is stopped
//! that is the stopped image, in `postattach` the live (running again) process. Thread-local
//! variables are located per thread from each thread's `fs_base` recorded at the stop.

use super::prepare::PreparedProcess;
use crate::debuginfo::LoadedObject;
use crate::memory::MemoryReader;
use crate::pmodule::{
    BtError, BtHandle, BtVar, GlobalEntry, GlobalFilter, PmapEntry, ProcessAccess, TypeTexts, TypedMemory,
    VariableKind,
};
use crate::snapshot::{Address, Annotation, AnnotationLevel, SharedStr, Variable, VariableState};
use crate::tracer::ProcessMemory;
use crate::variables::{self, BtVariable, GlobalVariable, VariableLimits};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Raw and typed access to one process (or core) for modules.
pub struct TargetAccess {
    memory: Arc<dyn MemoryReader + Send + Sync>,
    prepared: Arc<PreparedProcess>,
    limits: VariableLimits,
    /// Each captured thread's thread pointer (`fs_base`), by tid.
    thread_pointers: Mutex<HashMap<i32, u64>>,
    /// The TLS resolver, built on first use (`None` when the process has no usable TLS data).
    tls: OnceLock<Option<crate::tls::TlsResolver>>,
    /// Start addresses of the shared (`s`) mappings (the maps of `prepared` keep no such flag).
    shared_maps: Vec<u64>,
}

/// The start addresses of the shared mappings of `pid` (the fourth permission letter `s`).
fn shared_mappings(pid: i32) -> Vec<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let start = u64::from_str_radix(range.split('-').next()?, 16).ok()?;
            (perms.as_bytes().get(3) == Some(&b's')).then_some(start)
        })
        .collect()
}

/// Locates the TLS blocks of one thread.
struct ThreadTls<'a> {
    resolver: &'a crate::tls::TlsResolver,
    thread_pointer: u64,
    memory: &'a dyn MemoryReader,
}

impl variables::TlsResolver for ThreadTls<'_> {
    fn tls_block(&self, object: &LoadedObject) -> Option<u64> {
        self.resolver
            .block_address(object, self.thread_pointer, self.memory)
    }
}

impl TargetAccess {
    /// Access to process `pid`, described by `prepared`; values are expanded to `limits`.
    pub fn new(pid: i32, prepared: Arc<PreparedProcess>, limits: VariableLimits) -> Self {
        TargetAccess {
            memory: Arc::new(ProcessMemory::new(pid)),
            prepared,
            limits,
            thread_pointers: Mutex::new(HashMap::new()),
            tls: OnceLock::new(),
            shared_maps: shared_mappings(pid),
        }
    }

    /// Access to a core whose memory `memory` reads, described by `prepared` (no mapping is
    /// known to be shared: a core does not say).
    pub fn of_core(
        memory: Arc<dyn MemoryReader + Send + Sync>,
        prepared: Arc<PreparedProcess>,
        limits: VariableLimits,
    ) -> Self {
        TargetAccess {
            memory,
            prepared,
            limits,
            thread_pointers: Mutex::new(HashMap::new()),
            tls: OnceLock::new(),
            shared_maps: Vec::new(),
        }
    }

    /// Records the thread pointer (`fs_base`) of thread `tid`, read at the stop.
    pub fn set_thread_pointer(&self, tid: i32, fs_base: u64) {
        self.thread_pointers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tid, fs_base);
    }

    fn tls_resolver(&self) -> Option<&crate::tls::TlsResolver> {
        self.tls
            .get_or_init(|| crate::tls::TlsResolver::new(&self.prepared.objects, &*self.memory).ok())
            .as_ref()
    }

    /// The bt variable of a global (thread-locals located in thread `tls_thread`).
    fn bt_of_global(&self, global: &GlobalVariable, tls_thread: Option<i32>) -> BtVar {
        let tp = tls_thread.and_then(|tid| {
            self.thread_pointers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&tid)
                .copied()
        });
        let resolver = tp.and_then(|_| self.tls_resolver());
        let bt = match (resolver, tp) {
            (Some(resolver), Some(thread_pointer)) => {
                let tls = ThreadTls {
                    resolver,
                    thread_pointer,
                    memory: &*self.memory,
                };
                BtVariable::from_global(global, &*self.memory, Some(&tls))
            }
            _ => BtVariable::from_global(global, &*self.memory, None),
        };
        wrap(bt)
    }

    fn entries(&self, filter: &GlobalFilter, thread: Option<i32>) -> Vec<GlobalEntry> {
        let found: Vec<GlobalVariable> = match &filter.name {
            // By name: the name indexes, no unit walked.
            Some(name) => self
                .prepared
                .variables
                .find_globals(name, filter.object.as_deref(), filter.cu.as_deref())
                .into_iter()
                .filter(|g| g.is_thread_local() == thread.is_some())
                .collect(),
            None => self
                .prepared
                .variables
                .globals(variables::GlobalFilter {
                    object: filter.object.clone(),
                    cu: filter.cu.clone(),
                    name: None,
                    thread_local: Some(thread.is_some()),
                })
                .collect(),
        };
        found
            .iter()
            .map(|g| GlobalEntry {
                var: self.bt_of_global(g, thread),
                object: g.object_path().to_string(),
                cu: g.cu_name().unwrap_or_default(),
            })
            .collect()
    }
}

/// A navigation-engine variable as the pmodule engine carries it.
pub fn wrap(bt: BtVariable) -> BtVar {
    BtVar {
        name: bt.name().to_string(),
        type_name: bt.type_name(),
        address: bt.address(),
        handle: BtHandle::new(bt),
    }
}

/// The navigation-engine variable inside `var`.
fn unwrap(var: &BtVar) -> Result<&BtVariable, BtError> {
    var.handle
        .get::<BtVariable>()
        .ok_or_else(|| BtError::NoTypedMemory(format!("{} was not made by this session", var.name)))
}

impl ProcessAccess for TargetAccess {
    fn read(&self, address: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        let n = self.memory.read_at(address, &mut buf);
        buf.truncate(n);
        buf
    }

    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64> {
        let objects = self.prepared.objects.objects();
        let wanted = |o: &&Arc<LoadedObject>| object.is_none_or(|f| o.path.contains(f));
        objects
            .iter()
            .filter(wanted)
            .find_map(|o| o.function_named(symbol).map(|f| f.address))
            .or_else(|| {
                self.prepared
                    .variables
                    .find_globals(symbol, object, None)
                    .iter()
                    .find(|g| !g.is_thread_local())
                    .and_then(|g| g.address(&*self.memory, None))
            })
    }

    fn address_symbol(&self, address: u64) -> Option<String> {
        self.prepared
            .objects
            .find(address)
            .and_then(|o| o.function_symbol(address))
            .map(|(name, _)| name)
    }

    fn pmap_entry(&self, address: u64) -> Option<PmapEntry> {
        self.prepared
            .maps
            .iter()
            .find(|m| m.contains(address))
            .map(|m| PmapEntry {
                start: m.start,
                end: m.end,
                readable: m.readable,
                writable: m.writable,
                executable: m.executable,
                private: !self.shared_maps.contains(&m.start),
                guard: !m.readable && !m.writable && !m.executable,
                path: m.path.clone().unwrap_or_default(),
            })
    }

    fn pmap_cached(&self) -> bool {
        true
    }
}

impl TypedMemory for TargetAccess {
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar> {
        let global = self.prepared.variables.find_global(name, object, cu).ok()?;
        Some(self.bt_of_global(&global, None))
    }

    fn globals(&self, filter: &GlobalFilter) -> Vec<GlobalEntry> {
        self.entries(filter, None)
    }

    fn thread_locals(&self, tid: i32, filter: &GlobalFilter) -> Vec<GlobalEntry> {
        self.entries(filter, Some(tid))
    }

    fn kind(&self, var: &BtVar) -> VariableKind {
        unwrap(var).map_or(VariableKind::Bottom, |bt| bt.kind())
    }

    fn member(&self, var: &BtVar, name: &str) -> Result<BtVar, BtError> {
        unwrap(var)?.member(name, &*self.memory).map(wrap)
    }

    fn deref(&self, var: &BtVar, at: Option<u64>) -> Result<BtVar, BtError> {
        let bt = unwrap(var)?;
        match at {
            Some(address) => bt.deref_at(address),
            None => bt.deref(&*self.memory),
        }
        .map(wrap)
    }

    fn element(&self, var: &BtVar, index: i64) -> Result<BtVar, BtError> {
        unwrap(var)?.index(index, &*self.memory).map(wrap)
    }

    fn size_of(&self, var: &BtVar) -> Result<u64, BtError> {
        unwrap(var)?.sizeof()
    }

    fn type_texts(&self, var: &BtVar) -> Option<TypeTexts> {
        let bt = unwrap(var).ok()?;
        Some(TypeTexts {
            pp: bt.type_pp(),
            base_pp: variables::type_pp(&variables::base_type(bt.ty())),
        })
    }

    fn view_named(
        &self,
        near: Option<&BtVar>,
        type_name: &str,
        name: &str,
        address: u64,
    ) -> Result<BtVar, BtError> {
        let variables = &self.prepared.variables;
        let ty = match near.map(unwrap).transpose()? {
            Some(near) => near.find_type(variables, type_name),
            None => variables::find_type(variables, type_name, None),
        }?;
        Ok(wrap(BtVariable::at(name, ty, address)))
    }

    fn value(&self, var: &BtVar) -> Variable {
        match unwrap(var) {
            Ok(bt) => bt.value(&self.prepared.variables, &*self.memory, &self.limits),
            Err(e) => Variable {
                name: SharedStr::copy_of(&var.name),
                type_name: SharedStr::copy_of(&var.type_name),
                base_type: crate::pmodule::values::base_type_of(&var.type_name).into(),
                kind: VariableKind::Bottom,
                address: var.address.map(Address),
                value: serde_json::Value::Null,
                symbol: None,
                parameter: false,
                state: VariableState::OptimizedOut,
                entry_value: serde_json::Value::Null,
                target_symbol: None,
                children: Vec::new(),
                annotations: vec![Annotation::Text {
                    level: AnnotationLevel::Comment,
                    text: e.to_string(),
                }],
                marks: Default::default(),
            },
        }
    }
}
