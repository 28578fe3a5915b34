//! [`SharedStr`]: an immutable string that is cheap to clone, for the strings every variable of a
//! snapshot carries (name, type, base type, kind, state). Fixed words are `&'static str`, names
//! and types come from the debug information's caches as `Arc<str>`: putting one in a variable is
//! a copy or a reference count increment, not an allocation.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string: a static word or a shared, reference-counted one.
#[derive(Clone)]
pub enum SharedStr {
    /// A word of a fixed vocabulary (`"ok"`, `"tuple"`).
    Static(&'static str),
    /// A string shared with a cache (names and types).
    Shared(Arc<str>),
}

impl SharedStr {
    /// The string.
    pub fn as_str(&self) -> &str {
        match self {
            SharedStr::Static(text) => text,
            SharedStr::Shared(text) => text,
        }
    }

    /// A shared copy of `text` (one allocation; clones of the result are then free).
    pub fn copy_of(text: &str) -> Self {
        if text.is_empty() {
            SharedStr::Static("")
        } else {
            SharedStr::Shared(Arc::from(text))
        }
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::Static("")
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&'static str> for SharedStr {
    fn from(text: &'static str) -> Self {
        SharedStr::Static(text)
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        SharedStr::Shared(Arc::from(text))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(text: Arc<str>) -> Self {
        SharedStr::Shared(text)
    }
}

impl From<SharedStr> for String {
    fn from(text: SharedStr) -> Self {
        text.as_str().to_string()
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl std::hash::Hash for SharedStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == other.as_str()
    }
}

impl Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SharedStr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_and_shared_strings_compare_and_serialize_alike() {
        let fixed = SharedStr::from("ok");
        let shared = SharedStr::copy_of("ok");
        assert_eq!(fixed, shared);
        assert_eq!(fixed, "ok");
        assert_eq!(serde_json::to_string(&shared).ok().as_deref(), Some("\"ok\""));
        let back: Result<SharedStr, _> = serde_json::from_str("\"a \\\"b\\\"\"");
        assert_eq!(back.ok().as_deref(), Some("a \"b\""));
    }

    #[test]
    fn clones_share_the_allocation() {
        let shared = SharedStr::copy_of("struct foo *");
        let clone = shared.clone();
        assert!(std::ptr::eq(shared.as_str(), clone.as_str()));
    }
}
