//! pmodules in a session: the module settings ([`ModuleSettings`]: `--module-path`,
//! `--module-load`, `--module`, the Lua sandbox options), a host with every module language
//! this crate has ([`standard_host`]: Lua and native), loading the modules into it, the globals
//! a module's variable match selects by name, and the bt variables of the extracted frame
//! variables ([`CapturedBtVariables`]).

use super::access::wrap;
use crate::lua::LuaOptions;
use crate::pmodule::{BtVar, Match, MatchType};
use crate::pmodule::{Event, LogLevel, LogSink, ModuleOptions, Origin, PmoduleHost, VariableSource};
use crate::variables::{self, GlobalVariable, ProcessVariables};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

/// What modules a session loads, and how they run.
#[derive(Clone, Debug, Default)]
pub struct ModuleSettings {
    /// Directories whose module files are all loaded, in name order (`--module-path`).
    pub paths: Vec<PathBuf>,
    /// Module files loaded one by one, after the directories (`--module-load`).
    pub files: Vec<PathBuf>,
    /// The modules' key/value options (`--module=<id>:k,v,...`).
    pub options: ModuleOptions,
    /// The Lua sandbox whitelist, instruction budget and memory limit.
    pub lua: LuaOptions,
    /// How native (`*.so`) modules are loaded (`--allow-insecure-modules`).
    pub native: crate::native::NativeOptions,
}

impl ModuleSettings {
    /// Whether no module is asked for.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.files.is_empty()
    }
}

/// A host with every module language this crate has (Lua, native `*.so`), configured by
/// `lua_options` (native modules with the default options: see [`standard_host_with`]).
pub fn standard_host(options: ModuleOptions, log: Arc<dyn LogSink>, lua_options: LuaOptions) -> PmoduleHost {
    standard_host_with(
        options,
        log,
        lua_options,
        crate::native::NativeOptions::default(),
        Arc::default(),
    )
}

/// A host with every module language, native modules loaded with `native_options`
/// (`--allow-insecure-modules`), callbacks ended early when `cutoff` says.
pub fn standard_host_with(
    options: ModuleOptions,
    log: Arc<dyn LogSink>,
    lua_options: LuaOptions,
    native_options: crate::native::NativeOptions,
    cutoff: Arc<crate::cutoff::Cutoff>,
) -> PmoduleHost {
    let mut host = PmoduleHost::with_cutoff(options, log, cutoff);
    host.add_loader(Box::new(crate::lua::LuaLoader::new(lua_options)));
    host.add_loader(Box::new(crate::native::NativeLoader::new(native_options)));
    host
}

/// A host with every module of `settings` loaded, its callbacks ended early when `cutoff`
/// says: load failures are logged to `log` (one line each) and skipped; the other modules load.
pub fn load_host(
    settings: &ModuleSettings,
    log: Arc<dyn LogSink>,
    cutoff: Arc<crate::cutoff::Cutoff>,
) -> PmoduleHost {
    let host = standard_host_with(
        settings.options.clone(),
        log,
        settings.lua.clone(),
        settings.native,
        cutoff,
    );
    for dir in &settings.paths {
        if let Err(e) = host.load_path(dir) {
            host.engine()
                .log("ptrace", LogLevel::Error, &format!("--module-path: {e}"));
        }
    }
    for file in &settings.files {
        // Failures are logged by the host.
        let _ = host.load_file(file);
    }
    let ids = host.module_ids();
    for id in settings.options.module_ids() {
        if !ids.iter().any(|known| known == id) {
            host.engine().log(
                "ptrace",
                LogLevel::Warning,
                &format!("--module={id}:...: no loaded module has the id '{id}'"),
            );
        }
    }
    host
}

/// Whether variable callbacks receive bt variables (only then are they kept while extracting).
pub fn wants_bt_variables(host: &PmoduleHost) -> bool {
    host.wants(Event::Variable) && host.wants_variable_bt()
}

/// Whether modules listen to the events fired while the target is stopped (variables, frames,
/// threads): only then are frames symbolized before the resume.
pub fn wants_stopped_events(host: &PmoduleHost) -> bool {
    host.wants(Event::Variable) || host.wants(Event::Frame) || host.wants(Event::Thread)
}

/// The globals a registered variable match selects by name (found before the stop: this may
/// read the unit-level DWARF of the objects the match names).
pub fn selected_globals(host: &PmoduleHost, process: &ProcessVariables) -> Vec<GlobalVariable> {
    let mut selected: Vec<GlobalVariable> = Vec::new();
    for selector in host.global_selectors() {
        for candidate in candidates(&selector, process) {
            let object = candidate.object_path().to_string();
            let cu = candidate.cu_name().unwrap_or_default();
            if candidate.is_thread_local() || !selector.selects_global(candidate.name(), &object, &cu) {
                continue;
            }
            let known = selected.iter().any(|g| {
                g.name() == candidate.name()
                    && g.object_path() == object
                    && g.cu_name().unwrap_or_default() == cu
            });
            if !known {
                selected.push(candidate);
            }
        }
    }
    selected
}

/// The globals worth testing against `selector`: by name through the name indexes when every
/// name criterion is exact, else every global of the objects it names.
fn candidates(selector: &Match, process: &ProcessVariables) -> Vec<GlobalVariable> {
    // An exact object criterion is a base name: a substring of the path too.
    let objects: Vec<Option<&str>> = if selector.objects.is_empty() {
        vec![None]
    } else {
        selector.objects.iter().map(|c| Some(c.text.as_str())).collect()
    };
    let mut found = Vec::new();
    for object in objects {
        if selector.names.iter().all(|n| n.mode == MatchType::Exact) {
            for name in &selector.names {
                found.extend(process.find_globals(&name.text, object, None));
            }
        } else {
            found.extend(process.globals(variables::GlobalFilter {
                object: object.map(str::to_string),
                cu: None,
                name: None,
                thread_local: Some(false),
            }));
        }
    }
    found
}

/// Where global `global` is defined, for match criteria and iterators.
pub fn origin_of(global: &GlobalVariable) -> Origin {
    Origin {
        object: global.object_path().to_string(),
        cu: global.cu_name().unwrap_or_default(),
    }
}

/// The bt variables of the extracted frame variables of every thread, by snapshot frame, and of
/// every thread's thread-local variables. Each is wrapped for the modules when its event asks for
/// it, once: a second request for the same variable gets none.
#[derive(Default)]
pub struct CapturedBtVariables {
    /// Thread (snapshot order) → frame (snapshot order) → variable.
    threads: RefCell<Vec<Vec<Vec<Option<variables::BtVariable>>>>>,
    /// Thread (snapshot order) → thread-local variable.
    thread_locals: RefCell<Vec<Vec<Option<variables::BtVariable>>>>,
    /// Where each thread-local variable is defined (the same list in every thread).
    thread_local_origins: Vec<Origin>,
}

impl CapturedBtVariables {
    /// The bt variables of the frame variables (thread → snapshot frame → variable) and of the
    /// thread-local variables (thread → variable), and where each thread-local is defined.
    pub fn new(
        threads: Vec<Vec<Vec<variables::BtVariable>>>,
        thread_locals: Vec<Vec<variables::BtVariable>>,
        thread_local_origins: Vec<Origin>,
    ) -> Self {
        let some = |list: Vec<variables::BtVariable>| list.into_iter().map(Some).collect::<Vec<_>>();
        CapturedBtVariables {
            threads: RefCell::new(
                threads
                    .into_iter()
                    .map(|frames| frames.into_iter().map(some).collect())
                    .collect(),
            ),
            thread_locals: RefCell::new(thread_locals.into_iter().map(some).collect()),
            thread_local_origins,
        }
    }
}

impl VariableSource for CapturedBtVariables {
    fn frame_variable(&self, thread: usize, frame: usize, var: usize) -> Option<BtVar> {
        let mut threads = self.threads.borrow_mut();
        let bt = threads.get_mut(thread)?.get_mut(frame)?.get_mut(var)?.take()?;
        Some(wrap(bt))
    }

    fn thread_local(&self, thread: usize, var: usize) -> Option<BtVar> {
        let mut locals = self.thread_locals.borrow_mut();
        let bt = locals.get_mut(thread)?.get_mut(var)?.take()?;
        Some(wrap(bt))
    }

    fn thread_local_origin(&self, _thread: usize, var: usize) -> Option<Origin> {
        self.thread_local_origins.get(var).cloned()
    }
}
