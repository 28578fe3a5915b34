//! "bt variables": typed views of target memory, for navigating data structures from a variable
//! or a global (what the module APIs bind as `bt_variable_t` and the Lua `btvar`).
//!
//! A [`BtVariable`] is a name, a [`Type`] handle and where its value is: at an address in target
//! memory, held as bytes (a register, a constant), or unavailable (optimized out, with the
//! reason). It is plain data (`Clone`, `Send`, `Sync`, no borrow): every operation that needs
//! target memory takes a [`MemoryReader`], so the same variable is read while the target is
//! stopped (a stack copy over live memory) and after it runs again (live memory).
//!
//! Navigation never reads more than the pointers it follows; values are read on demand:
//! - [`member`](BtVariable::member): pointers (and C++ references, through typedefs and
//!   qualifiers) of any depth are followed until a struct, union or class is reached, then the
//!   member is taken (base-class and anonymous members included). The member itself is not
//!   followed: `a.b.ptr` is the pointer, whose value is an address.
//! - [`deref`](BtVariable::deref), [`deref_at`](BtVariable::deref_at) (the pointee type at an
//!   explicit address: the tutorial's `pmodule.deref(btvar, addr)`), [`index`](BtVariable::index)
//!   (array element or pointer arithmetic), [`view_as`](BtVariable::view_as),
//!   [`sizeof`](BtVariable::sizeof).
//! - Reads: [`read_int`](BtVariable::read_int), [`read_uint`](BtVariable::read_uint),
//!   [`read_address`](BtVariable::read_address), [`read_float`](BtVariable::read_float),
//!   [`read_string`](BtVariable::read_string) (bounded), [`read_bytes`](BtVariable::read_bytes),
//!   and [`value`](BtVariable::value): the snapshot [`Variable`](crate::snapshot::Variable) that
//!   `pmodule.variable_from_bt` gives.
//! - Types: [`type_pp`] (the module API's `bt_type_pp` text), [`find_type`], [`base_type`] and
//!   the C++ helper [`template_nth_argument`].
//!
//! Every operation is fallible with a [`BtError`] naming the expression navigated (`path`, as C
//! would write it: `some_struct_g->list.stqh_first`), its type and the member, index or address
//! involved. NULL pointers, unmapped addresses and optimized-out values are errors, never
//! panics.
//!
//! Starting points: a global ([`BtVariable::global`], [`BtVariable::from_global`]), a typed
//! address ([`BtVariable::at`]), held bytes ([`BtVariable::from_bytes`]), and the variables of
//! frames as extracted ([`ProcessVariables::thread_variables_with_bt`] pairs each snapshot
//! variable with its bt variable).

mod error;
mod find_type;
mod place;
mod read;

use std::sync::Arc;

pub use crate::variables::types::{
    base_type, gcc_spelling, template_arguments, template_nth_argument, type_pp,
};
pub use error::BtError;
pub use find_type::find_type;
pub use place::BitSpan;

use place::Place;

use super::globals::GlobalVariable;
use super::location::{ByteState, ValueImage};
use super::process_variables::ProcessVariables;
use super::types::{Type, TypeKind};
use super::TlsResolver;
use crate::debuginfo::LoadedObject;
use crate::memory::MemoryReader;
use crate::snapshot::VariableKind;

/// How many pointers [`BtVariable::member`] follows at most to reach a struct (a cycle of
/// typedefs or a corrupt type cannot loop forever).
pub const MAX_POINTER_DEPTH: usize = 16;

/// A typed view of a value of the target: a name, a type and where the value is.
///
/// Cheap to clone (the type is a shared handle; held bytes are small) and free of borrows, so a
/// host can keep it in its own objects (Lua userdata, C structs) and pass the memory reader of
/// the moment to each operation. See the [module documentation](crate::variables::navigate) for the operations.
///
/// ```
/// fn bindable<T: Clone + Send + Sync + 'static>() {}
/// bindable::<ptrace::variables::BtVariable>();
/// ```
#[derive(Clone)]
pub struct BtVariable {
    /// The name shown for it: the variable's or member's name, `*p` for a pointee, `a[3]` for an
    /// element.
    name: String,
    /// The expression that reached it, as C writes it, for messages.
    path: String,
    ty: Type,
    place: Place,
    /// For a bit-field member: where its bits are in the bytes at `place`.
    bits: Option<BitSpan>,
}

impl BtVariable {
    /// A view of the value of type `ty` at runtime `address`.
    pub fn at(name: impl Into<String>, ty: Type, address: u64) -> Self {
        Self::new(name.into(), ty, Place::Memory(address))
    }

    /// A value of type `ty` held as `bytes` (little endian, as in target memory), with no
    /// address: a register value, a constant. Navigation through pointers in it works; taking
    /// a member or element slices the bytes.
    pub fn from_bytes(name: impl Into<String>, ty: Type, bytes: Vec<u8>) -> Self {
        Self::new(name.into(), ty, Place::Value(Arc::from(bytes)))
    }

    /// A variable that has no value (optimized out, TLS unknown): every read and every step
    /// through it fails with [`BtError::Unavailable`] and `reason`; its type still answers
    /// [`sizeof`](Self::sizeof) and [`type_pp`](Self::type_pp).
    pub fn unavailable(name: impl Into<String>, ty: Type, reason: impl Into<String>) -> Self {
        Self::new(
            name.into(),
            ty,
            Place::Missing {
                reason: reason.into(),
            },
        )
    }

    fn new(name: String, ty: Type, place: Place) -> Self {
        Self {
            path: name.clone(),
            name,
            ty,
            place,
            bits: None,
        }
    }

    /// The global `name` of the process (`object` and `cu` are substrings of the object's path
    /// and of the compilation unit's name, as `pmodule.bt_query` takes them): its address, or
    /// its bytes for a constant. `tls` locates thread-local globals in one thread.
    pub fn global(
        process: &ProcessVariables,
        name: &str,
        object: Option<&str>,
        cu: Option<&str>,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
    ) -> Result<Self, BtError> {
        let global = process.find_global(name, object, cu)?;
        Ok(Self::from_global(&global, memory, tls))
    }

    /// The bt variable of a global found (or enumerated) with
    /// [`ProcessVariables::find_global`] / [`ProcessVariables::globals`]. A global without a
    /// location (or a thread-local one without `tls`) is [unavailable](Self::unavailable).
    pub fn from_global(
        global: &GlobalVariable,
        memory: &dyn MemoryReader,
        tls: Option<&dyn TlsResolver>,
    ) -> Self {
        let ty = global.ty();
        if let Some(address) = global.address(memory, tls) {
            return Self::at(global.name(), ty, address);
        }
        let image = global.image(&ty, memory, tls);
        Self::from_image(global.name(), ty, &image)
    }

    /// The bt variable of a located value, as extraction holds it.
    pub(crate) fn from_image(name: &str, ty: Type, image: &ValueImage) -> Self {
        if let Some(address) = image.address {
            return Self::at(name, ty, address);
        }
        let size = ty
            .size()
            .and_then(|s| usize::try_from(s).ok())
            .filter(|s| *s > 0)
            .unwrap_or(image.len());
        if size > 0 && image.state_of(0, size) == Some(ByteState::Known) {
            if let Some(bytes) = image.bytes.get(..size) {
                return Self::from_bytes(name, ty, bytes.to_vec());
            }
        }
        let reason = image
            .reason
            .as_deref()
            .unwrap_or("its value is not (entirely) known here")
            .to_string();
        Self::unavailable(name, ty, reason)
    }

    /// Its name: the variable's or member's name, `*p` for a pointee, `a[3]` for an element.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression that reached it, as C writes it (`some_struct_g->list.stqh_first`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Its type.
    pub fn ty(&self) -> &Type {
        &self.ty
    }

    /// Its type as C writes it (`struct somestruct *`).
    pub fn type_name(&self) -> String {
        self.ty.name()
    }

    /// Its type in the module API's `bt_type_pp` style (`struct(somestruct) *`, see
    /// [`type_pp`]).
    pub fn type_pp(&self) -> String {
        type_pp(&self.ty)
    }

    /// What its value is (`tuple`, `reference`, `ll`, ...).
    pub fn kind(&self) -> VariableKind {
        super::value::kind_of(&self.ty.resolved())
    }

    /// Where it is in target memory (`None` for held and unavailable values). For a bit field,
    /// the address of its first byte.
    pub fn address(&self) -> Option<u64> {
        match self.place {
            Place::Memory(address) => Some(address),
            _ => None,
        }
    }

    /// Whether its value can be read at all (it is not optimized out).
    pub fn is_available(&self) -> bool {
        !matches!(self.place, Place::Missing { .. })
    }

    /// For a bit-field member, where its bits are.
    pub fn bit_field(&self) -> Option<BitSpan> {
        self.bits
    }

    /// The object whose DWARF describes its type (the object it came from).
    pub fn object(&self) -> &Arc<LoadedObject> {
        self.ty.object()
    }

    /// The size of its type in bytes (for a pointer, the pointer's size).
    pub fn sizeof(&self) -> Result<u64, BtError> {
        self.ty.size().ok_or_else(|| BtError::UnknownSize {
            path: self.path.clone(),
            type_name: self.type_name(),
        })
    }

    /// Member `member` of the struct, union or class this is, or points to through any number
    /// of pointers and references (each read from `memory`; function pointers are not
    /// followed): the rule of the module APIs' member access (`a.b` in Lua, `bt_variable_member`
    /// in C). Members of base classes and of anonymous structs and unions are found too. The
    /// member is not dereferenced.
    pub fn member(&self, member: &str, memory: &dyn MemoryReader) -> Result<BtVariable, BtError> {
        let mut current = self.clone();
        let mut followed = 0;
        loop {
            let stripped = current.ty.resolved();
            match current.kind() {
                VariableKind::Tuple => {
                    let prefix = match followed {
                        0 => format!("{}.", wrap(&self.path)),
                        1 => format!("{}->", wrap(&self.path)),
                        more => format!("({}{})->", "*".repeat(more - 1), wrap(&self.path)),
                    };
                    return current.direct_member(&stripped, member, prefix);
                }
                VariableKind::Reference if followed < MAX_POINTER_DEPTH => {
                    current = current.follow(&stripped, memory)?;
                    followed += 1;
                }
                VariableKind::Reference => {
                    return Err(BtError::TooDeep {
                        path: self.path.clone(),
                        member: member.to_string(),
                        limit: MAX_POINTER_DEPTH,
                    });
                }
                _ => {
                    return Err(BtError::NotAStruct {
                        name: self.name.clone(),
                        path: current.path.clone(),
                        type_name: current.type_name(),
                        member: member.to_string(),
                    })
                }
            }
        }
    }

    /// Member `member` of `stripped`, the struct type of `self`; `prefix` is the path of the
    /// struct with its `.` or `->`.
    fn direct_member(&self, stripped: &Type, member: &str, prefix: String) -> Result<BtVariable, BtError> {
        let Some(found) = stripped.member(member) else {
            let virtual_base = stripped.members().iter().any(|m| m.is_base && m.offset.is_none());
            let path = self.path.clone();
            let member = member.to_string();
            return Err(if virtual_base {
                BtError::VirtualBase {
                    path,
                    type_name: stripped.name(),
                    member,
                }
            } else {
                BtError::NoMember {
                    path,
                    type_name: self.type_name(),
                    member,
                }
            });
        };
        let (offset, bits) = match (found.bit_field, found.offset) {
            (Some(bits), _) => (
                bits.bit_offset / 8,
                Some(BitSpan::new(bits.bit_offset % 8, bits.bit_size)),
            ),
            (None, Some(offset)) => (offset, None),
            (None, None) => {
                return Err(BtError::VirtualBase {
                    path: self.path.clone(),
                    type_name: stripped.name(),
                    member: member.to_string(),
                })
            }
        };
        let len = match bits {
            Some(bits) => Some(bits.byte_len()),
            None => found.ty.size().and_then(|s| usize::try_from(s).ok()),
        };
        let place = self.place_at(offset, len)?;
        Ok(BtVariable {
            name: member.to_string(),
            path: format!("{prefix}{member}"),
            ty: found.ty,
            place,
            bits,
        })
    }

    /// The pointee of this pointer or reference (`stripped` is its type without typedefs):
    /// reads the pointer, refuses NULL and pointers to `void`.
    fn follow(&self, stripped: &Type, memory: &dyn MemoryReader) -> Result<BtVariable, BtError> {
        let pointee = self.pointee_of(stripped)?;
        let address = self.read_address(memory)?;
        if address == 0 {
            return Err(BtError::NullPointer {
                path: self.path.clone(),
                type_name: self.type_name(),
            });
        }
        let name = format!("*{}", self.name);
        Ok(BtVariable {
            name,
            path: format!("*{}", wrap(&self.path)),
            ty: pointee,
            place: Place::Memory(address),
            bits: None,
        })
    }

    /// The pointee type of pointer or reference type `stripped` (not `void`).
    fn pointee_of(&self, stripped: &Type) -> Result<Type, BtError> {
        match stripped.target() {
            Some(pointee)
                if !matches!(
                    pointee.strip_typedefs().kind(),
                    TypeKind::Void | TypeKind::Unknown
                ) =>
            {
                Ok(pointee)
            }
            _ => Err(BtError::OpaquePointee {
                path: self.path.clone(),
                type_name: self.type_name(),
            }),
        }
    }

    /// The value this pointer or reference points to (read from `memory`); for an array, its
    /// first element (as C decays it).
    pub fn deref(&self, memory: &dyn MemoryReader) -> Result<BtVariable, BtError> {
        let stripped = self.ty.resolved();
        match stripped.kind() {
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                self.follow(&stripped, memory)
            }
            TypeKind::Array => self.index(0, memory),
            _ => Err(self.not_a_pointer(", a reference or an array")),
        }
    }

    /// A view of this pointer's (or reference's, or array's element) type at `address`, whatever
    /// the pointer's value: `pmodule.deref(btvar, address)`. Nothing is read.
    pub fn deref_at(&self, address: u64) -> Result<BtVariable, BtError> {
        let stripped = self.ty.resolved();
        let pointee = match stripped.kind() {
            TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                self.pointee_of(&stripped)?
            }
            TypeKind::Array => stripped
                .target()
                .ok_or_else(|| self.not_a_pointer(", a reference or an array"))?,
            _ => return Err(self.not_a_pointer(", a reference or an array")),
        };
        Ok(BtVariable {
            name: format!("*{}", self.name),
            path: format!("*({} *){address:#x}", pointee.name()),
            ty: pointee,
            place: Place::Memory(address),
            bits: None,
        })
    }

    /// Element `index` of this array (its bounds checked when known), or of the memory this
    /// pointer points to (pointer arithmetic: `p[index]`, not checked; reading an element out of
    /// mapped memory fails with [`BtError::Unreadable`]).
    pub fn index(&self, index: i64, memory: &dyn MemoryReader) -> Result<BtVariable, BtError> {
        let stripped = self.ty.resolved();
        let name = format!("{}[{index}]", self.name);
        let path = format!("{}[{index}]", wrap(&self.path));
        match stripped.kind() {
            TypeKind::Array => {
                let element = stripped.target().ok_or_else(|| self.not_indexable(index))?;
                let count = stripped.element_count();
                if index < 0 || count.is_some_and(|count| index.unsigned_abs() >= count) {
                    return Err(BtError::IndexOutOfBounds {
                        path: self.path.clone(),
                        type_name: self.type_name(),
                        index,
                        count,
                    });
                }
                let size = element_size(&element, self)?;
                let offset = self.scaled(index, size)?;
                let offset = u64::try_from(offset).map_err(|_| self.overflow(0, offset))?;
                let len = usize::try_from(size).ok();
                let place = self.place_at(offset, len)?;
                Ok(BtVariable {
                    name,
                    path,
                    ty: element,
                    place,
                    bits: None,
                })
            }
            TypeKind::Pointer => {
                let element = self.pointee_of(&stripped)?;
                let size = element_size(&element, self)?;
                let base = self.read_address(memory)?;
                let offset = self.scaled(index, size)?;
                let address = i128::from(base)
                    .checked_add(offset)
                    .and_then(|a| u64::try_from(a).ok())
                    .ok_or_else(|| self.overflow(base, offset))?;
                Ok(BtVariable {
                    name,
                    path,
                    ty: element,
                    place: Place::Memory(address),
                    bits: None,
                })
            }
            _ => Err(self.not_indexable(index)),
        }
    }

    /// `index * size` as a byte offset.
    fn scaled(&self, index: i64, size: u64) -> Result<i128, BtError> {
        i128::from(index)
            .checked_mul(i128::from(size))
            .ok_or_else(|| self.overflow(0, i128::MAX))
    }

    /// The same name, seen as type `ty` at `address` (a cast of memory: nothing is read).
    pub fn view_as(&self, ty: &Type, address: u64) -> BtVariable {
        BtVariable {
            name: self.name.clone(),
            path: format!("*({} *){address:#x}", ty.name()),
            ty: ty.clone(),
            place: Place::Memory(address),
            bits: None,
        }
    }

    /// The same value (same address or bytes) read as type `ty`.
    pub fn cast(&self, ty: &Type) -> BtVariable {
        BtVariable {
            name: self.name.clone(),
            path: format!("({}){}", ty.name(), wrap(&self.path)),
            ty: ty.clone(),
            place: self.place.clone(),
            bits: self.bits,
        }
    }

    /// A type named `name` as seen from this variable: in its own object first (as
    /// `pmodule_cpp_get_bt_type_from_name` looks in the variable's DWARF), then in every object.
    pub fn find_type(&self, process: &ProcessVariables, name: &str) -> Result<Type, BtError> {
        let own = self.ty.debug();
        for spelling in [name.trim().to_string(), gcc_spelling(name)] {
            if let Some(found) = super::types::find_type_in(own, &spelling) {
                return Ok(found);
            }
        }
        find_type(process, name, None)
    }

    fn not_a_pointer(&self, what: &'static str) -> BtError {
        BtError::NotAPointer {
            path: self.path.clone(),
            type_name: self.type_name(),
            what,
        }
    }

    fn not_indexable(&self, index: i64) -> BtError {
        BtError::NotIndexable {
            path: self.path.clone(),
            type_name: self.type_name(),
            index,
        }
    }

    fn overflow(&self, base: u64, offset: i128) -> BtError {
        BtError::AddressOverflow {
            path: self.path.clone(),
            base,
            offset,
        }
    }
}

impl std::fmt::Debug for BtVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtVariable")
            .field("path", &self.path)
            .field("type", &self.type_name())
            .field("place", &self.place)
            .field("bits", &self.bits)
            .finish()
    }
}

/// The size of an element type, or the error naming the array or pointer `of`.
fn element_size(element: &Type, of: &BtVariable) -> Result<u64, BtError> {
    element
        .size()
        .filter(|s| *s > 0)
        .ok_or_else(|| BtError::UnknownSize {
            path: of.path.clone(),
            type_name: element.name(),
        })
}

/// A path wrapped in parentheses when it starts with a prefix operator (`*p` becomes `(*p)`) so
/// a suffix (`.m`, `[i]`) applies to all of it.
fn wrap(path: &str) -> String {
    if path.starts_with('*') || path.starts_with('(') {
        format!("({path})")
    } else {
        path.to_string()
    }
}
