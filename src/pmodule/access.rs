//! What the engine needs from whoever owns the target: raw memory and symbols
//! ([`ProcessAccess`]) and typed memory ([`TypedMemory`], the DWARF type model behind bt
//! variables). The session implements both over the stopped (or, in `postattach`, running)
//! process; tests implement them over data of their own.

use crate::snapshot::Variable;
pub use crate::variables::BtError;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// One memory map entry (`/proc/PID/maps` line), as `pmodule.pmap` objects show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmapEntry {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Readable.
    pub readable: bool,
    /// Writable.
    pub writable: bool,
    /// Executable.
    pub executable: bool,
    /// Private (copy on write) rather than shared.
    pub private: bool,
    /// A guard page region (no permission at all, typically below a thread stack).
    pub guard: bool,
    /// The mapped path or pseudo-path (`[stack]`), empty for anonymous memory.
    pub path: String,
}

/// Raw reads of the target: memory, symbols, memory maps. Reads work in every phase (in
/// `postattach` the process runs again, so they read live memory). Every read may fail or be
/// partial.
pub trait ProcessAccess: Send + Sync {
    /// Up to `len` bytes at `address` (fewer when the end is unreadable; empty when nothing is).
    fn read(&self, address: u64, len: usize) -> Vec<u8>;
    /// The address of `symbol`, in `object` (a base name or path substring) when given.
    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64>;
    /// The name of the symbol containing `address`.
    fn address_symbol(&self, address: u64) -> Option<String>;
    /// The memory map entry containing `address`.
    fn pmap_entry(&self, address: u64) -> Option<PmapEntry>;
    /// Whether memory map lookups are available at all.
    fn pmap_enabled(&self) -> bool {
        true
    }
    /// Whether memory maps come from a copy read earlier (rather than read live on each call).
    fn pmap_cached(&self) -> bool {
        false
    }
}

/// An opaque token of the typed-memory provider (its type handle, DIE, ...); the engine never
/// looks inside.
#[derive(Clone)]
pub struct BtHandle(pub Arc<dyn Any + Send + Sync>);

impl BtHandle {
    /// A handle wrapping `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        BtHandle(Arc::new(value))
    }

    /// The wrapped value, when it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for BtHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BtHandle(..)")
    }
}

/// A bt variable: a typed view of target memory, for navigation (member, deref, element). It is
/// read-only and not part of the snapshot.
#[derive(Clone, Debug)]
pub struct BtVar {
    /// The variable's (or member's) name.
    pub name: String,
    /// Its type as C writes it (`struct somestruct *`).
    pub type_name: String,
    /// Where it lives in the target, when it lives in memory.
    pub address: Option<u64>,
    /// The provider's own data (type handle and the like).
    pub handle: BtHandle,
}

/// Filters of global and thread-local variable enumeration (`bt:variables()`,
/// `thr:variables()`): `object` and `cu` are substring filters on the object path and the
/// compilation unit name, `name` is exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalFilter {
    /// Substring of the defining object's path.
    pub object: Option<String>,
    /// Substring of the compilation unit's name.
    pub cu: Option<String>,
    /// The exact variable name.
    pub name: Option<String>,
}

impl GlobalFilter {
    /// Whether a variable named `name` of `object` / `cu` passes.
    pub fn accepts(&self, name: &str, object: &str, cu: &str) -> bool {
        self.object.as_deref().is_none_or(|o| object.contains(o))
            && self.cu.as_deref().is_none_or(|c| cu.contains(c))
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

/// A global or thread-local variable found by enumeration: the bt variable and where it is
/// defined.
#[derive(Clone, Debug)]
pub struct GlobalEntry {
    /// The variable.
    pub var: BtVar,
    /// The path of the defining object.
    pub object: String,
    /// The defining compilation unit's name.
    pub cu: String,
}

/// Typed target memory: what `bt variables` are made of. Member access follows pointers itself
/// (the navigation engine's rule, [`BtVariable::member`](crate::variables::BtVariable::member));
/// the engine checks the kinds of the other operations and NULL pointers ([`typed`](super::typed)).
pub trait TypedMemory: Send + Sync {
    /// The global (or file-static) variable `name`; `object` and `cu` are substring filters.
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar>;
    /// The globals passing `filter`, file-static ones included (values are not read).
    fn globals(&self, filter: &GlobalFilter) -> Vec<GlobalEntry>;
    /// The thread-local variables of thread `tid` passing `filter`, located in that thread.
    fn thread_locals(&self, tid: i32, filter: &GlobalFilter) -> Vec<GlobalEntry>;
    /// The kind of `var`'s type, typedefs and qualifiers stripped.
    fn kind(&self, var: &BtVar) -> crate::pmodule::VariableKind;
    /// The member `name` of `var`, a struct, union or class, or a pointer (of any depth) to one;
    /// the member itself is not dereferenced.
    fn member(&self, var: &BtVar, name: &str) -> Result<BtVar, BtError>;
    /// What pointer `var` points to: at its value, or at `at` when given. Fails on a pointer
    /// that is NULL or unreadable (when `at` is not given).
    fn deref(&self, var: &BtVar, at: Option<u64>) -> Result<BtVar, BtError>;
    /// Element `index` of array `var`, or of what pointer `var` points to (pointer arithmetic).
    fn element(&self, var: &BtVar, index: i64) -> Result<BtVar, BtError>;
    /// The size in bytes of `var`'s type.
    fn size_of(&self, var: &BtVar) -> Result<u64, BtError>;
    /// `var` with its value read, as a snapshot variable (kind, type, value, symbol, children).
    fn value(&self, var: &BtVar) -> Variable;
    /// `var`'s type in the module API's `bt_type_pp` text, from its debug information (every
    /// aggregate `struct(name)`, C++ ones included), with that of its base type. `None` when
    /// the provider has no type information: callers then tag the C text by its keywords.
    fn type_texts(&self, var: &BtVar) -> Option<TypeTexts> {
        let _ = var;
        None
    }
    /// A value of the type named `type_name` at `address`, named `name`: the type is looked up
    /// in the object `near` comes from first (the variable whose DWARF a module named), then in
    /// every object.
    fn view_named(
        &self,
        near: Option<&BtVar>,
        type_name: &str,
        name: &str,
        address: u64,
    ) -> Result<BtVar, BtError> {
        let _ = (near, name, address);
        Err(BtError::NoTypedMemory(format!(
            "no type information to find '{type_name}' in"
        )))
    }
}

/// A type as the module API's `bt_type_pp` writes it, and its base type the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeTexts {
    /// The type (`const struct(shop::inventory::Shelf) &`).
    pub pp: String,
    /// Its base type: typedefs, qualifiers, pointers, references and arrays removed
    /// (`struct(shop::inventory::Shelf)`).
    pub base_pp: String,
}
