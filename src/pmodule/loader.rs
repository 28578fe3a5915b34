//! The trait a module language implements to turn its files into modules of the engine
//! ([`ModuleLoader`]: Lua in `crate::lua`, native `*.so` in `crate::native`), and why a file could
//! not be loaded ([`LoadError`]).

use super::engine::Engine;
use super::module::ModuleKey;
use std::path::Path;
use std::sync::Arc;

/// Why a module file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// Why.
    pub message: String,
}

/// Turns module files of one language into modules of the engine.
pub trait ModuleLoader: Send + Sync {
    /// The language (`lua`).
    fn language(&self) -> &str;
    /// Whether this loader takes `path` (by its extension).
    fn accepts(&self, path: &Path) -> bool;
    /// Loads `path`: defines its modules in `engine` (running their `load` functions) and
    /// returns their keys. On failure nothing of the file stays registered.
    fn load(&self, path: &Path, engine: &Arc<Engine>) -> Result<Vec<ModuleKey>, LoadError>;
}
