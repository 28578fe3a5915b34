//! Native modules: shared objects built against `include/pmodule.h` (`cc -shared -fPIC
//! mod.c`), loaded with `dlopen(RTLD_NOW)`. They call back into libptrace through the module
//! ABI beside this loader ([`crate::module_abi`]; resolved from the `ptrace` executable, linked
//! `-rdynamic`, or from `libptrace.so`).
//!
//! [`NativeLoader`] refuses a file with one clear reason: not a shared object, unresolved
//! symbols, no `pmodule_descriptor`, another ABI major, `load` returning false, or (running as
//! root) a file or directory others could have written. A loaded object is never closed: no
//! code that might still be called is unmapped.

mod instance;
mod loader;
mod security;

pub use instance::NativeModule;
pub use loader::{NativeLoader, NativeOptions};
pub use security::check_ownership;

#[cfg(test)]
mod tests {
    use super::check_ownership;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn root_refuses_files_writable_by_others_unless_not_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.path().join("m.so");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let refused = check_ownership(&file, 0).unwrap_err();
        assert!(refused.contains("writable by group or others"), "{refused}");
        assert!(refused.contains("--allow-insecure-modules"), "{refused}");
        assert!(check_ownership(&file, 1000).is_ok(), "only root refuses");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check_ownership(&file, 0).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = check_ownership(&file, 0).unwrap_err();
        assert!(refused.contains("the directory"), "{refused}");
    }
}
