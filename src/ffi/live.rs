//! The table of live handles. Every object libptrace hands to C (module, match, thread, frame,
//! variable, bt variable slot, returned string) is a `Box` whose address is recorded here with
//! its Rust type and the scope that owns it. A pointer coming back from C is used only after it
//! is found in the table with the expected type: a NULL, stale (freed) or foreign pointer is
//! never dereferenced, and the call returns its error value.
//!
//! Scopes: [`PERMANENT`] objects live until freed explicitly (matches) or forever (modules);
//! objects made during a callback belong to its scope and are freed when it returns.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The scope of objects freed only explicitly.
pub const PERMANENT: u64 = 0;

struct Entry {
    type_id: TypeId,
    scope: u64,
    drop_box: unsafe fn(usize),
}

fn table() -> MutexGuard<'static, HashMap<usize, Entry>> {
    static TABLE: OnceLock<Mutex<HashMap<usize, Entry>>> = OnceLock::new();
    TABLE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Frees the `Box<T>` at `address`.
///
/// # Safety
/// `address` came from `Box::<T>::into_raw` and is freed once (the table entry was removed).
unsafe fn drop_box<T>(address: usize) {
    // SAFETY: see the function's contract.
    drop(unsafe { Box::from_raw(address as *mut T) });
}

/// Moves `value` to the heap, records it in `scope` and returns its address.
pub fn register<T: 'static>(value: T, scope: u64) -> *mut T {
    let pointer = Box::into_raw(Box::new(value));
    table().insert(
        pointer as usize,
        Entry {
            type_id: TypeId::of::<T>(),
            scope,
            drop_box: drop_box::<T>,
        },
    );
    pointer
}

/// Runs `f` on the live `T` at `pointer`; `None` when the pointer is NULL, stale or of another
/// type. The table stays locked during `f`: `f` must not call into this module.
pub fn with<T: 'static, R>(pointer: *const T, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    if pointer.is_null() {
        return None;
    }
    let guard = table();
    let entry = guard.get(&(pointer as usize))?;
    if entry.type_id != TypeId::of::<T>() {
        return None;
    }
    // SAFETY: the address is in the table with type T, so it is a live Box<T>; it cannot be
    // freed while we hold the table lock, and no other reference to it is handed out (every
    // access goes through this function under the lock).
    Some(f(unsafe { &mut *(pointer as *mut T) }))
}

/// A clone of the live `T` at `pointer` (see [`with`]).
pub fn get<T: Clone + 'static>(pointer: *const T) -> Option<T> {
    with(pointer, |value| value.clone())
}

/// Frees the live `T` at `pointer`; false when it was not live (NULL, stale, other type).
pub fn free<T: 'static>(pointer: *const T) -> bool {
    if pointer.is_null() {
        return false;
    }
    let entry = {
        let mut guard = table();
        match guard.get(&(pointer as usize)) {
            Some(e) if e.type_id == TypeId::of::<T>() => guard.remove(&(pointer as usize)),
            _ => None,
        }
    };
    match entry {
        // SAFETY: the entry was live with type T and is now out of the table: freed once.
        Some(entry) => {
            unsafe { (entry.drop_box)(pointer as usize) };
            true
        }
        None => false,
    }
}

/// Frees every object of `scope` (a callback that returns).
pub fn free_scope(scope: u64) {
    if scope == PERMANENT {
        return;
    }
    let doomed: Vec<(usize, Entry)> = {
        let mut guard = table();
        let keys: Vec<usize> = guard
            .iter()
            .filter(|(_, e)| e.scope == scope)
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| guard.remove(&k).map(|e| (k, e)))
            .collect()
    };
    for (address, entry) in doomed {
        // SAFETY: removed from the table, so freed exactly once, with its recorded type.
        unsafe { (entry.drop_box)(address) };
    }
}

/// Whether `pointer` is a live object of any type (for tests).
pub fn is_live<T>(pointer: *const T) -> bool {
    !pointer.is_null() && table().contains_key(&(pointer as usize))
}
