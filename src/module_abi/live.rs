//! The table of live handles. Every object libptrace hands to C (module, match, thread, frame,
//! variable, iterator, bt variable, bt type, returned string) is recorded here with its Rust type
//! and the scope that owns it. A pointer coming back from C is used only after it is found in
//! the table with the expected type: a NULL, stale (freed) or foreign pointer is never
//! dereferenced, and the call returns its error value.
//!
//! Handles are unforgeable across reuse: their addresses are never given out twice in the life
//! of the process, so a handle kept past its callback can never designate a newer object.
//! - Opaque handles (C never reads them) are *tokens*: addresses in a reserved, inaccessible
//!   (`PROT_NONE`) range of the address space (`Space`); no other object can live there, and
//!   C code dereferencing one faults at once instead of reading someone else's data.
//! - Structs C reads fields of (`bt_variable_t` and `struct bt_type` returned by pointer) live
//!   in slots of a reserved range whose pages are made accessible while they hold live slots;
//!   a page whose slots are all freed is released (`MADV_DONTNEED`, back to `PROT_NONE`) but its
//!   addresses are never reused.
//!
//! Scopes: `PERMANENT` objects live until freed explicitly (matches) or forever (modules);
//! objects made during a callback belong to its scope and are freed when it returns.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The scope of objects freed only explicitly.
pub(crate) const PERMANENT: u64 = 0;

/// The size (and alignment) of a slot for a struct C reads.
const SLOT: usize = 64;
/// The unit in which slot memory is made accessible and given back (a multiple of the system's
/// 4 KiB pages; large enough that the system calls are rare).
const PAGE: usize = 1 << 16;
/// The size of each reserved range (more are reserved when one is used up).
const RESERVATION: usize = 1 << 36;

/// A reserved range of addresses handed out in order, never twice.
struct Space {
    ranges: Vec<(usize, usize)>,
    next: usize,
    end: usize,
}

impl Space {
    const fn new() -> Self {
        Space {
            ranges: Vec::new(),
            next: 0,
            end: 0,
        }
    }

    /// The next `size` bytes (a power of two, at most a page); None when no address space can be
    /// reserved.
    fn take(&mut self, size: usize) -> Option<usize> {
        if self.next + size > self.end {
            // SAFETY: a fresh anonymous reservation; nothing else refers to it.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    RESERVATION + PAGE,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return None;
            }
            let base = base as usize;
            self.ranges.push((base, base + RESERVATION + PAGE));
            // Units start aligned (so no slot straddles two) and end inside the reservation.
            self.next = (base + PAGE - 1) & !(PAGE - 1);
            self.end = self.next + RESERVATION;
        }
        let address = self.next;
        self.next += size;
        Some(address)
    }

    fn contains(&self, address: usize) -> bool {
        self.ranges
            .iter()
            .any(|(start, end)| (*start..*end).contains(&address))
    }
}

/// Slots of structs C reads, in a [`Space`] whose pages are accessible only while in use.
struct Slots {
    space: Space,
    /// Live slots per page.
    live: HashMap<usize, usize>,
}

impl Slots {
    /// A new zeroed, writable slot.
    fn alloc(&mut self) -> Option<usize> {
        let address = self.space.take(SLOT)?;
        let page = address & !(PAGE - 1);
        if address == page {
            // The page slots were cut from until now is complete: release it if all are freed.
            let previous = page.wrapping_sub(PAGE);
            if self.live.get(&previous) == Some(&0) {
                self.live.remove(&previous);
                release(previous);
            }
            // SAFETY: the page is in our reservation and holds no live slot yet.
            let ok = unsafe {
                libc::mprotect(
                    page as *mut libc::c_void,
                    PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if ok != 0 {
                return None;
            }
        }
        *self.live.entry(page).or_insert(0) += 1;
        Some(address)
    }

    /// Frees the slot at `address`: its page is released once it holds no live slot and no
    /// more slots will be cut from it.
    fn free(&mut self, address: usize) {
        let page = address & !(PAGE - 1);
        let Some(count) = self.live.get_mut(&page) else {
            return;
        };
        *count -= 1;
        let current = (self.space.next.wrapping_sub(1)) & !(PAGE - 1);
        if *count == 0 && page != current {
            self.live.remove(&page);
            release(page);
        }
    }
}

/// Gives back the memory of `page`, a page of the slot space holding no live slot: its
/// addresses stay reserved (inaccessible) and are never handed out again.
fn release(page: usize) {
    // SAFETY: the page is in our reservation and no live object is on it.
    unsafe {
        libc::madvise(page as *mut libc::c_void, PAGE, libc::MADV_DONTNEED);
        libc::mprotect(page as *mut libc::c_void, PAGE, libc::PROT_NONE);
    }
}

struct Entry {
    /// The type of the pointer C holds.
    pointer_type: TypeId,
    scope: u64,
    /// The Rust object (for slots: the data beside the C struct).
    value: Box<dyn Any + Send>,
    /// Whether the address is a slot (C-readable struct) rather than a token.
    slot: bool,
}

#[derive(Default)]
struct Table {
    entries: HashMap<usize, Entry>,
    scopes: HashMap<u64, Vec<usize>>,
}

struct State {
    table: Table,
    tokens: Space,
    slots: Slots,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            Mutex::new(State {
                table: Table::default(),
                tokens: Space::new(),
                slots: Slots {
                    space: Space::new(),
                    live: HashMap::new(),
                },
            })
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn insert(&mut self, address: usize, entry: Entry) {
        self.table.scopes.entry(entry.scope).or_default().push(address);
        self.table.entries.insert(address, entry);
    }

    fn remove(&mut self, address: usize) -> Option<Entry> {
        let entry = self.table.entries.remove(&address)?;
        if let Some(list) = self.table.scopes.get_mut(&entry.scope) {
            if let Some(i) = list.iter().position(|a| *a == address) {
                list.swap_remove(i);
            }
        }
        if entry.slot {
            self.slots.free(address);
        }
        Some(entry)
    }
}

/// Records `value` in `scope` and returns its token: an address that designates it until it is
/// freed, and nothing ever after. NULL when no address space can be reserved.
pub fn register<T: Send + 'static>(value: T, scope: u64) -> *mut T {
    let mut state = state();
    let Some(address) = state.tokens.take(16) else {
        return std::ptr::null_mut();
    };
    state.insert(
        address,
        Entry {
            pointer_type: TypeId::of::<T>(),
            scope,
            value: Box::new(value),
            slot: false,
        },
    );
    address as *mut T
}

/// Places the C struct `visible` in a fresh slot (an address never used before) with `data`
/// beside it, in `scope`; returns the slot's address, which C may read. NULL when `V` does not
/// fit a slot or no address space can be reserved.
pub fn register_slot<V: Copy + 'static, D: Send + 'static>(visible: V, data: D, scope: u64) -> *mut V {
    if std::mem::size_of::<V>() > SLOT || std::mem::align_of::<V>() > SLOT {
        return std::ptr::null_mut();
    }
    let mut state = state();
    let Some(address) = state.slots.alloc() else {
        return std::ptr::null_mut();
    };
    // SAFETY: the slot is writable, aligned to SLOT and at least size_of::<V>() bytes.
    unsafe { std::ptr::write(address as *mut V, visible) };
    state.insert(
        address,
        Entry {
            pointer_type: TypeId::of::<V>(),
            scope,
            value: Box::new(data),
            slot: true,
        },
    );
    address as *mut V
}

/// Runs `f` on the live `T` at token `pointer`; `None` when the pointer is NULL, stale or of
/// another type. The table stays locked during `f`: `f` must not call into this module.
pub fn with<T: 'static, R>(pointer: *const T, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    if pointer.is_null() {
        return None;
    }
    let mut state = state();
    let entry = state.table.entries.get_mut(&(pointer as usize))?;
    if entry.pointer_type != TypeId::of::<T>() || entry.slot {
        return None;
    }
    entry.value.downcast_mut::<T>().map(f)
}

/// Runs `f` on the live slot `pointer` (its C struct and the data beside it); `None` when the
/// pointer is NULL, stale or of other types. The table stays locked during `f`.
pub fn with_slot<V: 'static, D: 'static, R>(
    pointer: *const V,
    f: impl FnOnce(&mut V, &mut D) -> R,
) -> Option<R> {
    if pointer.is_null() {
        return None;
    }
    let mut state = state();
    let entry = state.table.entries.get_mut(&(pointer as usize))?;
    if entry.pointer_type != TypeId::of::<V>() || !entry.slot {
        return None;
    }
    let data = entry.value.downcast_mut::<D>()?;
    // SAFETY: the slot is live (in the table with type V), so its page is accessible and holds
    // the V written by register_slot; the lock keeps it from being freed meanwhile.
    let visible = unsafe { &mut *(pointer as *mut V) };
    Some(f(visible, data))
}

/// Whether `pointer` lies in the range of slots (live or not): such a pointer must be looked up
/// with [`with_slot`], never read directly.
pub fn in_slot_space<V>(pointer: *const V) -> bool {
    state().slots.space.contains(pointer as usize)
}

/// Whether `pointer` lies in the range of tokens (live or not): such a pointer designates no
/// memory and must never be read.
pub fn in_token_space<V>(pointer: *const V) -> bool {
    state().tokens.contains(pointer as usize)
}

/// A clone of the live `T` at `pointer` (see [`with`]).
pub fn get<T: Clone + 'static>(pointer: *const T) -> Option<T> {
    with(pointer, |value| value.clone())
}

/// Frees the live object at `pointer`, which C holds as a `*T`; false when it was not live
/// (NULL, stale, other type).
pub fn free<T: 'static>(pointer: *const T) -> bool {
    if pointer.is_null() {
        return false;
    }
    let entry = {
        let mut state = state();
        match state.table.entries.get(&(pointer as usize)) {
            Some(e) if e.pointer_type == TypeId::of::<T>() => state.remove(pointer as usize),
            _ => None,
        }
    };
    // Dropped outside the lock.
    entry.is_some()
}

/// Frees every object of `scope` (a callback that returns).
pub fn free_scope(scope: u64) {
    if scope == PERMANENT {
        return;
    }
    let doomed: Vec<Entry> = {
        let mut state = state();
        let addresses = state.table.scopes.remove(&scope).unwrap_or_default();
        addresses
            .into_iter()
            .filter_map(|a| {
                let entry = state.table.entries.remove(&a)?;
                if entry.slot {
                    state.slots.free(a);
                }
                Some(entry)
            })
            .collect()
    };
    drop(doomed);
}

/// Whether `pointer` is a live object of any type (for tests).
pub fn is_live<T>(pointer: *const T) -> bool {
    !pointer.is_null() && state().table.entries.contains_key(&(pointer as usize))
}
