//! The Lua host of pmodules.
/// Options of the Lua host.
#[derive(Clone, Debug, Default)]
pub struct LuaOptions {}
/// Loads Lua module files.
pub struct LuaLoader {}
impl LuaLoader {
    /// A loader.
    pub fn new(_o: LuaOptions) -> Self {
        LuaLoader {}
    }
}
impl crate::pmodule::ModuleLoader for LuaLoader {
    fn language(&self) -> &str {
        "lua"
    }
    fn accepts(&self, p: &std::path::Path) -> bool {
        p.extension().is_some_and(|e| e == "lua")
    }
    fn load(
        &self,
        p: &std::path::Path,
        _e: &std::sync::Arc<crate::pmodule::Engine>,
    ) -> Result<Vec<crate::pmodule::ModuleKey>, crate::pmodule::LoadError> {
        Err(crate::pmodule::LoadError {
            path: p.display().to_string(),
            message: "todo".into(),
        })
    }
}
