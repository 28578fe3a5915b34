//! [`Memo`]: what a concern computes once per key and keeps for the object's lifetime (a parsed
//! type, a function's call sites, its frame base...), shared between threads.

use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// Values computed on first use, by key. Lookups share a read lock; the value is computed with
/// no lock held (computing it may look up other keys), and the first one stored wins should two
/// threads compute it at once.
pub(crate) struct Memo<K, V> {
    values: RwLock<HashMap<K, V>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self {
            values: RwLock::new(HashMap::default()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The value of `key`, computed with `compute` when it is not known yet.
    pub fn get_or_compute(&self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Some(found) = self.get(&key) {
            return found;
        }
        let value = compute();
        self.values
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_insert(value)
            .clone()
    }

    /// The value of `key`, if computed already.
    pub fn get(&self, key: &K) -> Option<V> {
        self.values
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_computed_once_and_the_first_stored_wins() {
        let memo: Memo<u32, String> = Memo::default();
        assert_eq!(memo.get(&1), None);
        assert_eq!(memo.get_or_compute(1, || "one".into()), "one");
        assert_eq!(memo.get_or_compute(1, || unreachable!("computed twice")), "one");
        // A computation that stores the key itself meanwhile (a recursive one) loses.
        let inner = memo.get_or_compute(2, || {
            memo.get_or_compute(2, || "inner".into());
            "outer".into()
        });
        assert_eq!(inner, "inner");
        assert_eq!(memo.get(&2).as_deref(), Some("inner"));
    }
}
