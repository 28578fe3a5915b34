//! [`NativeLoader`]: turns `*.so` files into modules of the engine.

use super::instance::NativeModule;
use super::security::check_ownership;
use crate::module_abi::context::{self, pmodule_t};
use crate::module_abi::{live, pmodule_descriptor_t, PMODULE_ABI_MAJOR, PMODULE_ABI_MINOR};
use crate::pmodule::{Engine, LoadError, ModuleKey, ModuleLoader};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The symbol `PMODULE_DEFINE` defines.
pub const DESCRIPTOR_SYMBOL: &[u8] = b"pmodule_descriptor";

/// Options of native module loading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NativeOptions {
    /// Load module files and directories writable by others even when running as root
    /// (`--allow-insecure-modules`).
    pub allow_insecure_modules: bool,
}

/// Loads `*.so` native modules.
#[derive(Debug, Default)]
pub struct NativeLoader {
    options: NativeOptions,
}

fn error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Checks that `path` is an ELF shared object (`ET_DYN`) by its header.
fn check_elf(path: &Path) -> Result<(), String> {
    let mut header = [0u8; 18];
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let read = file.read(&mut header).map_err(|e| format!("cannot read: {e}"))?;
    if read < header.len() || &header[..4] != b"\x7fELF" {
        return Err("not a shared object (no ELF header)".into());
    }
    let e_type = match header[5] {
        1 => u16::from_le_bytes([header[16], header[17]]),
        _ => u16::from_be_bytes([header[16], header[17]]),
    };
    if e_type != 3 {
        return Err(format!(
            "not a shared object (ELF type {e_type}, expected ET_DYN)"
        ));
    }
    Ok(())
}

impl NativeLoader {
    /// A loader with `options`.
    pub fn new(options: NativeOptions) -> Self {
        NativeLoader { options }
    }

    /// Opens the shared object and reads its descriptor (the library is never closed once
    /// opened: its constructors may have run).
    fn open(&self, path: &Path) -> Result<pmodule_descriptor_t, String> {
        check_elf(path)?;
        if !self.options.allow_insecure_modules {
            // SAFETY: geteuid has no preconditions.
            check_ownership(path, unsafe { libc::geteuid() })?;
        }
        let absolute = path
            .canonicalize()
            .map_err(|e| format!("cannot resolve the path: {e}"))?;
        // SAFETY: loading a module runs its initializers; that is what loading a module means,
        // and the ownership check above guards against planted files when running as root.
        let library = unsafe { Library::open(Some(&absolute), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
            let detail = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            format!("cannot load the shared object: {}", detail.replace('\n', " "))
        })?;
        // SAFETY: the symbol is looked up as a data address; it is read below only as the
        // descriptor type PMODULE_DEFINE defines.
        let symbol = unsafe { library.get::<*const pmodule_descriptor_t>(DESCRIPTOR_SYMBOL) };
        let descriptor = symbol.map(|s| *s);
        // Never dlclose: module code must stay mapped.
        std::mem::forget(library);
        let descriptor = descriptor.map_err(|_| {
            "no pmodule descriptor (symbol pmodule_descriptor): define the module with PMODULE_DEFINE"
                .to_string()
        })?;
        if descriptor.is_null() {
            return Err("the pmodule descriptor is NULL".into());
        }
        // SAFETY: the symbol is the descriptor PMODULE_DEFINE exports (a const struct of this
        // layout); the library stays loaded forever.
        let abi = unsafe { ((*descriptor).abi_major, (*descriptor).abi_minor) };
        if abi.0 != PMODULE_ABI_MAJOR {
            return Err(format!(
                "built for pmodule ABI {}.{}, this libptrace implements {PMODULE_ABI_MAJOR}.{PMODULE_ABI_MINOR}: rebuild it with this pmodule.h",
                abi.0, abi.1
            ));
        }
        // SAFETY: as above; the ABI major matches, so the layout is ours.
        let d = unsafe { &*descriptor };
        Ok(pmodule_descriptor_t {
            abi_major: d.abi_major,
            abi_minor: d.abi_minor,
            id: d.id,
            load: d.load,
            unload: d.unload,
            reset: d.reset,
        })
    }
}

impl ModuleLoader for NativeLoader {
    fn language(&self) -> &str {
        "native"
    }

    fn accepts(&self, path: &Path) -> bool {
        path.extension().is_some_and(|e| e == "so")
    }

    fn load(&self, path: &Path, engine: &Arc<Engine>) -> Result<Vec<ModuleKey>, LoadError> {
        let descriptor = self.open(path).map_err(|m| error(path, m))?;
        if descriptor.id.is_null() {
            return Err(error(path, "the pmodule descriptor has no id"));
        }
        // SAFETY: a non-NULL id of the descriptor: a string literal of the loaded module.
        let id = unsafe { CStr::from_ptr(descriptor.id) }
            .to_string_lossy()
            .into_owned();
        let Some(load) = descriptor.load else {
            return Err(error(
                path,
                format!("module {id}: the descriptor has no load function"),
            ));
        };
        let key = engine
            .define_module(&id, &path.display().to_string())
            .map_err(|e| error(path, e.to_string()))?;
        let handle = live::register(
            pmodule_t {
                engine: Arc::downgrade(engine),
                key,
                interned: HashMap::new(),
            },
            live::PERMANENT,
        );
        let loaded = {
            let _guard = context::enter(engine.clone(), key);
            // SAFETY: the module's load function, with its live handle.
            unsafe { load(handle) }
        };
        if !loaded {
            engine.remove_modules(&[key]);
            return Err(error(path, format!("module {id}: load returned false")));
        }
        engine.attach_instance(
            &[key],
            Arc::new(NativeModule {
                engine: Arc::downgrade(engine),
                handle: handle as usize,
                unload: descriptor.unload,
                reset: descriptor.reset,
            }),
        );
        Ok(vec![key])
    }
}
