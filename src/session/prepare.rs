//! The work done before the target is stopped: its maps, every mapped object's ELF and DWARF
//! opened and indexed, the unwinder's CFI tables built, and the TLS modules of the objects found
//! (for thread-local variables).

use crate::debuginfo::debuginfod;
use crate::debuginfo::{self, DebugSearch, LoadedObject, MapEntry, ProcessObjects};
use crate::memory::MemoryReader;
use crate::tls::TlsResolver;
use crate::tracer::ProcessMemory;
use crate::unwind::{CfiMapping, ObjectCfi, Unwinder};
use crate::variables::{GlobalVariable, ProcessVariables};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Most thread-local variables read in each thread (they are read in every thread, so their
/// cost is multiplied by the thread count).
pub const MAX_THREAD_LOCALS: usize = 256;

/// A process's debug information, ready for a stop.
pub struct PreparedProcess {
    /// `/proc/PID/maps` as read before the stop.
    pub maps: Vec<MapEntry>,
    /// Every mapped object, loaded and indexed.
    pub objects: ProcessObjects,
    /// The unwinder over every object's CFI.
    pub unwinder: Unwinder,
    /// The variables engine over every object's DWARF.
    pub variables: ProcessVariables,
    /// The TLS blocks of the objects, per thread; `None` when they cannot be located (a warning
    /// says why): thread-local variables are then left out.
    pub tls: Option<TlsResolver>,
    /// Problems that do not stop the snapshot (an object without CFI or debug info, ...).
    pub warnings: Vec<String>,
}

impl PreparedProcess {
    /// Reads the maps of `pid` and loads every mapped object, its files and debug files found as
    /// `search` says, fetching the debug files missing here from debuginfod servers as
    /// `debuginfod` and the environment say.
    pub fn load(
        pid: i32,
        search: &DebugSearch,
        debuginfod: &debuginfod::Settings,
    ) -> Result<Self, debuginfo::DebugInfoError> {
        let maps = debuginfo::read_maps(pid)?;
        Self::load_from(maps, &ProcessMemory::new(pid), search, debuginfod)
    }

    /// Loads every object of `maps` (a process's mappings, as `/proc/PID/maps` or a core's
    /// `NT_FILE` give them) whose memory `memory` reads, as [`load`](Self::load) does.
    pub fn load_from(
        maps: Vec<MapEntry>,
        memory: &dyn MemoryReader,
        search: &DebugSearch,
        debuginfod: &debuginfod::Settings,
    ) -> Result<Self, debuginfo::DebugInfoError> {
        let mut warnings: Vec<String> = Vec::new();
        let search = DebugSearch {
            debuginfod: debuginfod::Config::from_env(debuginfod).unwrap_or_else(|e| {
                warnings.push(format!("debuginfod: {e}"));
                None
            }),
            ..search.clone()
        };
        let objects = ProcessObjects::load_with(&maps, memory, &search)?;
        warnings.extend(objects.warnings().iter().cloned());
        // Every object's symbols, DWARF (inflated, unit ranges indexed) and CFI, the objects
        // shared between two threads.
        let cfis = on_two_threads(objects.objects(), |object| {
            object.prepare();
            object
                .elf
                .as_ref()
                .map(|elf| ObjectCfi::parse(elf, object.debug.as_ref()))
        });
        let mut mappings = Vec::new();
        for (object, cfi) in objects.objects().iter().zip(cfis) {
            match cfi {
                None => {}
                Some(Ok(cfi)) => {
                    let cfi = Arc::new(cfi);
                    for range in &object.executable_ranges {
                        mappings.push(CfiMapping {
                            range: range.clone(),
                            bias: object.bias,
                            cfi: cfi.clone(),
                        });
                    }
                }
                Some(Err(e)) => {
                    warnings.push(format!("{}: call frame information unusable: {e}", object.path))
                }
            }
        }
        let variables = ProcessVariables::new(&objects);
        warnings.extend(variables.warnings().iter().cloned());
        let tls = match TlsResolver::new(&objects, memory) {
            Ok(resolver) => {
                warnings.extend(
                    resolver
                        .warnings()
                        .iter()
                        .map(|w| format!("thread-local storage: {w}")),
                );
                Some(resolver)
            }
            Err(e) => {
                warnings.push(format!("thread-local variables unavailable: {e}"));
                None
            }
        };
        Ok(Self {
            maps,
            objects,
            unwinder: Unwinder::new(mappings),
            variables,
            tls,
            warnings,
        })
    }

    /// Looks up the globals named in `names` (before the stop: this may read the DWARF of every
    /// object); a name not found gives a warning instead.
    pub fn resolve_globals(&self, names: &[String]) -> (Vec<GlobalVariable>, Vec<String>) {
        let mut found = Vec::new();
        let mut warnings = Vec::new();
        for name in names {
            match self.variables.find_global(name, None, None) {
                Ok(global) => found.push(global),
                Err(e) => warnings.push(format!("--global {name}: {e}")),
            }
        }
        (found, warnings)
    }

    /// The thread-local variables of every object whose TLS module the loader registered (the
    /// executable's and the shared libraries', libc's included), found before the stop (this
    /// reads the unit-level DIEs of those objects once); empty when TLS blocks cannot be located.
    /// At most [`MAX_THREAD_LOCALS`] (objects by address: the executable's first), with a warning
    /// when there are more.
    pub fn thread_locals(&self) -> (Vec<GlobalVariable>, Vec<String>) {
        let Some(tls) = &self.tls else {
            return (Vec::new(), Vec::new());
        };
        let mut found = self
            .variables
            .thread_locals(&|object| tls.module(object).is_some());
        let mut warnings = Vec::new();
        if found.len() > MAX_THREAD_LOCALS {
            warnings.push(format!(
                "{} thread-local variables: only the first {MAX_THREAD_LOCALS} are read in each \
                 thread",
                found.len()
            ));
            found.truncate(MAX_THREAD_LOCALS);
        }
        (found, warnings)
    }

    /// Builds every object's table of function symbols by name, which the tail-call search
    /// consults (variables only): before the stop rather than on first use while stopped.
    pub fn prepare_function_names(&self) {
        on_two_threads(self.objects.objects(), |object| object.prepare_function_names());
    }

    /// Readable and writable anonymous-or-stack mappings: where thread stacks can be.
    pub fn stack_regions(&self) -> Vec<std::ops::Range<u64>> {
        self.maps
            .iter()
            .filter(|m| m.readable && m.writable)
            .map(|m| m.start..m.end)
            .collect()
    }
}

/// `work` applied to every object, on the calling thread and one more (each takes the next
/// object not yet taken, the largest first); the results in the order of `objects`.
fn on_two_threads<T: Send>(
    objects: &[Arc<LoadedObject>],
    work: impl Fn(&LoadedObject) -> T + Sync,
) -> Vec<T> {
    let size = |object: &LoadedObject| {
        object.debug.as_ref().map_or(0, |b| b.len()) + object.elf.as_ref().map_or(0, |b| b.len())
    };
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(objects.get(i).map_or(0, |o| size(o))));
    let next = AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Some(object) = objects.get(index) {
                done.push((index, work(object)));
            }
        }
        done
    };
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let helper = (objects.len() > 1).then(|| scope.spawn(run));
        let mut results = run();
        if let Some(helper) = helper {
            // A panicking helper (a bug) leaves its objects to be done here.
            results.extend(helper.join().unwrap_or_default());
        }
        results
    });
    if results.len() < objects.len() {
        for (index, object) in objects.iter().enumerate() {
            if !results.iter().any(|(i, _)| *i == index) {
                results.push((index, work(object)));
            }
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
