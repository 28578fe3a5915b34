//! Options of the Lua host (the CLI fills them): the sandbox whitelist, the instruction budget
//! per callback and the memory limit per module.

/// Libraries `--sandbox-whitelist` can open.
pub const WHITELISTABLE: &[&str] = &["io", "os", "package", "load"];

/// Default instructions per callback (`--lua-instruction-budget`).
pub const DEFAULT_INSTRUCTION_BUDGET: u64 = 10_000_000;
/// Default memory per module state, in bytes (`--lua-memory-limit`).
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;

/// Why a Lua option was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LuaOptionError {
    /// A library the sandbox cannot open.
    #[error(
        "--sandbox-whitelist: unknown or unsafe library '{0}' (allowed: io, os, package (require), load \
         (load, loadfile, dofile; text chunks only); debug is never opened: it would escape the budget)"
    )]
    UnknownLibrary(String),
    /// A zero budget or limit.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
}

/// Options of the Lua host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuaOptions {
    /// Libraries opened beyond the default sandbox (names from [`WHITELISTABLE`]).
    pub sandbox_whitelist: Vec<String>,
    /// Most Lua VM instructions one callback (or one file's loading) may run.
    pub instruction_budget: u64,
    /// Most bytes one module's Lua state may allocate.
    pub memory_limit: usize,
}

impl Default for LuaOptions {
    fn default() -> Self {
        LuaOptions {
            sandbox_whitelist: Vec::new(),
            instruction_budget: DEFAULT_INSTRUCTION_BUDGET,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

impl LuaOptions {
    /// Adds the libraries of one `--sandbox-whitelist=LIB[,LIB...]` argument.
    pub fn add_whitelist(&mut self, arg: &str) -> Result<(), LuaOptionError> {
        for lib in arg.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let lib = if lib == "require" { "package" } else { lib };
            if !WHITELISTABLE.contains(&lib) {
                return Err(LuaOptionError::UnknownLibrary(lib.to_string()));
            }
            if !self.sandbox_whitelist.iter().any(|l| l == lib) {
                self.sandbox_whitelist.push(lib.to_string());
            }
        }
        Ok(())
    }

    /// Whether library `lib` is whitelisted.
    pub fn allows(&self, lib: &str) -> bool {
        self.sandbox_whitelist.iter().any(|l| l == lib)
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), LuaOptionError> {
        if self.instruction_budget == 0 {
            return Err(LuaOptionError::Zero("lua_instruction_budget"));
        }
        if self.memory_limit == 0 {
            return Err(LuaOptionError::Zero("lua_memory_limit"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelist_parsing() {
        let mut o = LuaOptions::default();
        o.add_whitelist("io, os").unwrap();
        o.add_whitelist("require,io").unwrap();
        assert_eq!(o.sandbox_whitelist, ["io", "os", "package"]);
        assert!(o.allows("package"));
        assert!(matches!(
            o.add_whitelist("debug"),
            Err(LuaOptionError::UnknownLibrary(_))
        ));
        assert!(o.add_whitelist("ffi").is_err());
        assert!(o.validate().is_ok());
        o.instruction_budget = 0;
        assert!(o.validate().is_err());
    }
}
