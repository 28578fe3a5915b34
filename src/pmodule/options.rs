//! Module options: `--module=<id>:key,value[,key,value...]` (repeatable), read by modules with
//! `config_option(key)`.

use std::collections::BTreeMap;

/// Why a `--module` argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleOptionError {
    /// No `:` between the id and the pairs.
    #[error("--module={0}: expected <id>:key,value[,key,value...]")]
    Syntax(String),
    /// The id is empty.
    #[error("--module={0}: the module id is empty")]
    EmptyId(String),
    /// An odd number of items: a key without a value.
    #[error("--module={arg}: key '{key}' has no value")]
    MissingValue {
        /// The whole argument.
        arg: String,
        /// The key left alone.
        key: String,
    },
    /// An empty key.
    #[error("--module={0}: empty key")]
    EmptyKey(String),
}

/// Every module's options: module id → key → value. Later arguments override earlier ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleOptions {
    by_module: BTreeMap<String, BTreeMap<String, String>>,
}

impl ModuleOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the pairs of one `--module` argument (the text after `--module=`).
    pub fn add_argument(&mut self, arg: &str) -> Result<(), ModuleOptionError> {
        let (id, pairs) = arg
            .split_once(':')
            .ok_or_else(|| ModuleOptionError::Syntax(arg.to_string()))?;
        if id.is_empty() {
            return Err(ModuleOptionError::EmptyId(arg.to_string()));
        }
        let items: Vec<&str> = if pairs.is_empty() {
            Vec::new()
        } else {
            pairs.split(',').collect()
        };
        let mut parsed = Vec::new();
        for chunk in items.chunks(2) {
            match chunk {
                [key, value] if !key.is_empty() => parsed.push((key.to_string(), value.to_string())),
                [key, _] | [key] if key.is_empty() => {
                    return Err(ModuleOptionError::EmptyKey(arg.to_string()))
                }
                [key] => {
                    return Err(ModuleOptionError::MissingValue {
                        arg: arg.to_string(),
                        key: key.to_string(),
                    })
                }
                _ => return Err(ModuleOptionError::Syntax(arg.to_string())),
            }
        }
        self.by_module.entry(id.to_string()).or_default().extend(parsed);
        Ok(())
    }

    /// Parses every `--module` argument.
    pub fn from_arguments<S: AsRef<str>>(args: &[S]) -> Result<Self, ModuleOptionError> {
        let mut options = Self::new();
        for arg in args {
            options.add_argument(arg.as_ref())?;
        }
        Ok(options)
    }

    /// Sets one option directly.
    pub fn set(&mut self, module: &str, key: &str, value: &str) {
        self.by_module
            .entry(module.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }

    /// The value of `key` for module `module`.
    pub fn get(&self, module: &str, key: &str) -> Option<&str> {
        self.by_module.get(module)?.get(key).map(String::as_str)
    }

    /// The ids given options (to warn about ids no module defines).
    pub fn module_ids(&self) -> impl Iterator<Item = &str> {
        self.by_module.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_per_module_repeatable_later_wins() {
        let o = ModuleOptions::from_arguments(&["a:k1,v1,k2,v2", "b:k1,x", "a:k1,again"]).unwrap();
        assert_eq!(o.get("a", "k1"), Some("again"));
        assert_eq!(o.get("a", "k2"), Some("v2"));
        assert_eq!(o.get("b", "k1"), Some("x"));
        assert_eq!(o.get("b", "k2"), None);
        assert_eq!(o.get("c", "k1"), None);
        assert_eq!(o.module_ids().collect::<Vec<_>>(), ["a", "b"]);
        let empty_value = ModuleOptions::from_arguments(&["a:k,"]).unwrap();
        assert_eq!(empty_value.get("a", "k"), Some(""));
        assert!(ModuleOptions::from_arguments(&["a:"]).is_ok());
    }

    #[test]
    fn malformed_arguments_are_refused_with_the_reason() {
        assert!(matches!(
            ModuleOptions::from_arguments(&["nocolon"]),
            Err(ModuleOptionError::Syntax(_))
        ));
        assert!(matches!(
            ModuleOptions::from_arguments(&[":k,v"]),
            Err(ModuleOptionError::EmptyId(_))
        ));
        let err = ModuleOptions::from_arguments(&["a:k1,v1,k2"]).unwrap_err();
        assert_eq!(err.to_string(), "--module=a:k1,v1,k2: key 'k2' has no value");
        assert!(matches!(
            ModuleOptions::from_arguments(&["a:,v"]),
            Err(ModuleOptionError::EmptyKey(_))
        ));
    }
}
