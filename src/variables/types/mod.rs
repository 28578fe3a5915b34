//! Types and their names: the type model — a [`Type`] handle over a type DIE (parsed once per
//! object and cached, [`parse`]), with its C name ([`declarator`]), size, kind, members, target
//! and enumerators — lookups by name ([`lookup`]), and C++ template argument lists ([`template`]).

mod declarator;
mod lookup;
mod parse;
mod qualified;
mod template;

use std::sync::Arc;

pub use declarator::type_pp;
pub use lookup::{base_type, find_type_in};
pub use template::{gcc_spelling, template_arguments, template_nth_argument};

use crate::debuginfo::LoadedObject;
use crate::snapshot::SharedStr;
use crate::variables::index::{DieRef, Memo, ObjectDebug};

/// What the type model keeps of one object (in its [`ObjectDebug`]): the type DIEs parsed, and
/// the qualified-name prefixes of the DIEs named.
#[derive(Default)]
pub(crate) struct TypeCache {
    /// Parsed types, by DIE.
    nodes: Memo<DieRef, Arc<TypeNode>>,
    /// Qualified-name prefixes (`ns::Class::`) of the DIEs asked about.
    scopes: Memo<DieRef, Arc<str>>,
}

/// Size of pointers and references on the target (x86-64).
pub const POINTER_SIZE: u64 = 8;

/// What a type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// `void` (also the pointee of `void *`).
    Void,
    /// A base type: integer, character, boolean, floating point, complex.
    Base,
    /// A pointer.
    Pointer,
    /// A C++ lvalue reference (`T &`).
    Reference,
    /// A C++ rvalue reference (`T &&`).
    RvalueReference,
    /// A C++ pointer to member.
    PointerToMember,
    /// An array (one dimension of it: the target is the element, itself an array for the other
    /// dimensions of a multi-dimensional array).
    Array,
    /// A `struct`.
    Struct,
    /// A C++ `class`.
    Class,
    /// A `union`.
    Union,
    /// An `enum`.
    Enum,
    /// A `typedef`.
    Typedef,
    /// `const T`.
    Const,
    /// `volatile T`.
    Volatile,
    /// `T restrict`.
    Restrict,
    /// `_Atomic T`.
    Atomic,
    /// A function type (what a function pointer points to).
    Function,
    /// A type DWARF names but does not describe (`decltype(nullptr)`).
    Unspecified,
    /// A type this engine does not model.
    Unknown,
}

/// The encoding of a base type (`DW_AT_encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseEncoding {
    /// Signed integer.
    Signed,
    /// Unsigned integer.
    Unsigned,
    /// Signed character (`char`, `signed char` where char is signed).
    SignedChar,
    /// Unsigned character.
    UnsignedChar,
    /// Boolean.
    Boolean,
    /// Binary floating point (float, double, x87 long double, _Float128).
    Float,
    /// Complex floating point.
    ComplexFloat,
    /// Unicode character (char8_t, char16_t, char32_t).
    Utf,
    /// Anything else (decimal float, fixed point, ...).
    Other,
}

/// A bit field's place: `bit_offset` bits from the start of the containing struct, counting from
/// the least significant bit of the first byte (little endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitField {
    /// Bits from the start of the struct.
    pub bit_offset: u64,
    /// Width in bits.
    pub bit_size: u64,
}

/// One enumerator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enumerator {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: i128,
}

/// A parsed member of a struct, union or class.
#[derive(Clone, Debug)]
pub(crate) struct MemberNode {
    pub name: Option<SharedStr>,
    pub ty: Option<DieRef>,
    /// Byte offset in the struct; `None` when it is computed at run time (virtual base).
    pub offset: Option<u64>,
    pub bit_field: Option<BitField>,
    /// A base class (`DW_TAG_inheritance`).
    pub base: bool,
    /// The node of `ty`, resolved on first use (weak: a struct's members may point back to it).
    pub ty_node: std::sync::OnceLock<std::sync::Weak<TypeNode>>,
}

/// A type DIE, parsed.
#[derive(Debug)]
pub(crate) struct TypeNode {
    /// The DIE (`None` for the `void` of a missing `DW_AT_type`).
    pub die: Option<DieRef>,
    pub kind: TypeKind,
    /// The name, qualified with its namespaces and classes in C++.
    pub name: Option<String>,
    pub size: Option<u64>,
    /// `DW_AT_type`: pointee, element, aliased type, return type, enum base type.
    pub target: Option<DieRef>,
    pub encoding: Option<BaseEncoding>,
    pub members: Vec<MemberNode>,
    /// Element counts of an array's dimensions (`None`: unknown, as in `int x[]`).
    pub dims: Vec<Option<u64>>,
    pub enumerators: Vec<Enumerator>,
    /// Parameter types of a function type (`None`: void).
    pub params: Vec<Option<DieRef>>,
    pub varargs: bool,
    pub prototyped: bool,
    /// An incomplete type (`DW_AT_declaration`).
    pub declaration: bool,
    /// Declared in a C++ unit.
    pub cplusplus: bool,
    /// The class of a pointer to member.
    pub containing: Option<DieRef>,
    /// The C name and base name, rendered on first use.
    pub rendered: std::sync::OnceLock<(SharedStr, SharedStr)>,
    /// The node of `target`, resolved on first use.
    target_node: NodeLink,
    /// The size, computed on first use.
    size_cache: std::sync::OnceLock<Option<u64>>,
    /// The node with typedefs and qualifiers stripped, on first use.
    stripped: NodeLink,
    /// The node stripped and completed (see [`Type::resolved`]), on first use.
    resolved: NodeLink,
}

/// A node found from another on first use, and kept weakly: the nodes live in their object's
/// type cache, and a strong link could close a cycle that is never freed (a struct is its own
/// stripped type; corrupt DWARF has pointers to themselves).
#[derive(Debug, Default)]
struct NodeLink(std::sync::OnceLock<std::sync::Weak<TypeNode>>);

impl NodeLink {
    /// The linked node, found with `find` the first time (and again should it have been freed:
    /// a node outside the cache, such as `void`).
    fn get_or_find(&self, find: impl FnOnce() -> Arc<TypeNode>) -> Arc<TypeNode> {
        if let Some(node) = self.0.get().and_then(std::sync::Weak::upgrade) {
            return node;
        }
        let node = find();
        let _ = self.0.set(Arc::downgrade(&node));
        node
    }
}

impl TypeNode {
    /// A node of kind `kind` with nothing else known yet.
    pub(crate) fn empty(die: Option<DieRef>, kind: TypeKind) -> Self {
        Self {
            die,
            kind,
            name: None,
            size: None,
            target: None,
            encoding: None,
            members: Vec::new(),
            dims: Vec::new(),
            enumerators: Vec::new(),
            params: Vec::new(),
            varargs: false,
            prototyped: false,
            declaration: false,
            cplusplus: false,
            containing: None,
            rendered: std::sync::OnceLock::new(),
            target_node: NodeLink::default(),
            size_cache: std::sync::OnceLock::new(),
            stripped: NodeLink::default(),
            resolved: NodeLink::default(),
        }
    }
}

/// A member of a struct, union or class, as [`Type::members`] returns it.
#[derive(Clone, Debug)]
pub struct Member {
    /// Its name (`None` for an anonymous struct or union member).
    pub name: Option<SharedStr>,
    /// Its type.
    pub ty: Type,
    /// Byte offset in the containing type (`None` when only known at run time: virtual bases).
    pub offset: Option<u64>,
    /// Its bit-field placement, if it is one.
    pub bit_field: Option<BitField>,
    /// A base class rather than a data member.
    pub is_base: bool,
}

/// A handle on a type of one object's DWARF: cheap to clone, usable from any thread.
///
/// Names follow C declarator syntax ([`Type::name`]: `const char *`, `int (*)(int)`,
/// `struct foo *[4]`); [`Type::target`] walks to the pointee, element, aliased or qualified type.
#[derive(Clone)]
pub struct Type {
    pub(crate) debug: Arc<ObjectDebug>,
    pub(crate) node: Arc<TypeNode>,
    /// For arrays: how many leading dimensions were taken away (`int [2][3]` with 1 is `int [3]`).
    pub(crate) skip_dims: usize,
}

/// How many typedef / qualifier / declaration links are followed before giving up (a loop in
/// corrupt DWARF).
const MAX_CHAIN: usize = 64;

impl Type {
    /// The type at DIE `die` of `debug`.
    pub(crate) fn at(debug: &Arc<ObjectDebug>, die: Option<DieRef>) -> Type {
        let node = match die {
            None => Arc::new(TypeNode::empty(None, TypeKind::Void)),
            Some(die) => debug
                .types()
                .nodes
                .get_or_compute(die, || Arc::new(parse::parse_type(debug, die))),
        };
        Type {
            debug: debug.clone(),
            node,
            skip_dims: 0,
        }
    }

    /// The type as C writes it: `struct somestruct *`, `const char *`, `int [4]`, `int (*)(int)`.
    pub fn name(&self) -> String {
        if self.skip_dims > 0 {
            return declarator::render(self);
        }
        self.rendered_whole().0.to_string()
    }

    /// Name and base name of a whole type (`skip_dims == 0`), rendered once.
    fn rendered_whole(&self) -> &(SharedStr, SharedStr) {
        self.node.rendered.get_or_init(|| {
            (
                declarator::render(self).into(),
                declarator::base_name(self).into(),
            )
        })
    }

    /// [`name`](Self::name) and [`base_name`](Self::base_name) at once, shared with the type's
    /// cache for whole types (no allocation).
    pub(crate) fn names(&self) -> (SharedStr, SharedStr) {
        if self.skip_dims > 0 {
            return (
                declarator::render(self).into(),
                declarator::base_name(self).into(),
            );
        }
        self.rendered_whole().clone()
    }

    /// The name with qualifiers, pointers, references, arrays and typedefs stripped
    /// (`somestruct` for `struct somestruct **`); an anonymous struct reached through a typedef
    /// is named after the typedef.
    pub fn base_name(&self) -> String {
        if self.skip_dims > 0 {
            return declarator::base_name(self);
        }
        self.rendered_whole().1.to_string()
    }

    /// What the type is.
    pub fn kind(&self) -> TypeKind {
        self.node.kind
    }

    /// The encoding of a base type.
    pub fn encoding(&self) -> Option<BaseEncoding> {
        self.node.encoding
    }

    /// The name as DWARF gives it (qualified with namespaces in C++), without `struct` and
    /// declarators; `None` for anonymous and derived types.
    pub fn dwarf_name(&self) -> Option<&str> {
        self.node.name.as_deref()
    }

    /// Size in bytes, when known (not for `void`, functions and arrays of unknown length).
    pub fn size(&self) -> Option<u64> {
        if self.skip_dims > 0 {
            return self.compute_size();
        }
        *self.node.size_cache.get_or_init(|| self.compute_size())
    }

    fn compute_size(&self) -> Option<u64> {
        let mut current = self.clone();
        for _ in 0..MAX_CHAIN {
            match current.kind() {
                TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference => {
                    return Some(current.node.size.unwrap_or(POINTER_SIZE));
                }
                TypeKind::Typedef
                | TypeKind::Const
                | TypeKind::Volatile
                | TypeKind::Restrict
                | TypeKind::Atomic => {
                    if let Some(size) = current.node.size {
                        return Some(size);
                    }
                    current = current.target()?;
                }
                TypeKind::Array => {
                    let count = current.element_count()?;
                    let element = current.target()?.size()?;
                    return count.checked_mul(element);
                }
                TypeKind::Struct | TypeKind::Class | TypeKind::Union | TypeKind::Enum
                    if current.node.declaration =>
                {
                    match current.complete() {
                        Some(complete) if !complete.node.declaration => current = complete,
                        _ => return None,
                    }
                }
                TypeKind::Void | TypeKind::Function => return None,
                _ => return current.node.size,
            }
        }
        None
    }

    /// The type this one is built on: the pointee of a pointer or reference, the element of an
    /// array (an array itself for the remaining dimensions), the aliased type of a typedef, the
    /// unqualified type of a qualifier, the return type of a function, the underlying integer
    /// type of an enum. `None` for other kinds (and for an enum without one).
    pub fn target(&self) -> Option<Type> {
        match self.kind() {
            TypeKind::Array if self.skip_dims + 1 < self.node.dims.len() => Some(Type {
                debug: self.debug.clone(),
                node: self.node.clone(),
                skip_dims: self.skip_dims + 1,
            }),
            TypeKind::Pointer
            | TypeKind::Reference
            | TypeKind::RvalueReference
            | TypeKind::PointerToMember
            | TypeKind::Array
            | TypeKind::Typedef
            | TypeKind::Const
            | TypeKind::Volatile
            | TypeKind::Restrict
            | TypeKind::Atomic
            | TypeKind::Function => Some(self.target_type()),
            TypeKind::Enum if self.node.target.is_some() => Some(self.target_type()),
            _ => None,
        }
    }

    /// The type `DW_AT_type` names, its node resolved once.
    fn target_type(&self) -> Type {
        let node = self
            .node
            .target_node
            .get_or_find(|| Type::at(&self.debug, self.node.target).node);
        Type {
            debug: self.debug.clone(),
            node,
            skip_dims: 0,
        }
    }

    /// The type with typedefs and qualifiers (const, volatile, restrict, _Atomic) stripped. An
    /// incomplete struct stays as it is (see [`Type::resolved`]).
    pub fn strip_typedefs(&self) -> Type {
        if self.skip_dims > 0 {
            return self.compute_stripped();
        }
        let node = self.node.stripped.get_or_find(|| self.compute_stripped().node);
        Type {
            debug: self.debug.clone(),
            node,
            skip_dims: 0,
        }
    }

    fn compute_stripped(&self) -> Type {
        let mut current = self.clone();
        for _ in 0..MAX_CHAIN {
            match current.kind() {
                TypeKind::Typedef
                | TypeKind::Const
                | TypeKind::Volatile
                | TypeKind::Restrict
                | TypeKind::Atomic => match current.target() {
                    Some(next) => current = next,
                    None => return current,
                },
                _ => return current,
            }
        }
        current
    }

    /// The type with typedefs and qualifiers stripped and, when that is an incomplete struct,
    /// class, union or enum, its definition found by name in the object (the first time, this
    /// reads the names of every unit of the object).
    pub fn resolved(&self) -> Type {
        if self.skip_dims > 0 {
            return self.compute_resolved();
        }
        // Same object either way: only the node changes, found once per type.
        let node = self.node.resolved.get_or_find(|| self.compute_resolved().node);
        Type {
            debug: self.debug.clone(),
            node,
            skip_dims: 0,
        }
    }

    fn compute_resolved(&self) -> Type {
        let stripped = self.strip_typedefs();
        if !stripped.node.declaration {
            return stripped;
        }
        stripped.complete().unwrap_or(stripped)
    }

    /// The definition of an incomplete (declared only) struct, class, union or enum, found by name
    /// in the same object; the type itself when it is complete.
    pub fn complete(&self) -> Option<Type> {
        if !self.node.declaration {
            return Some(self.clone());
        }
        let name = self.node.name.as_deref()?;
        let tag = match self.node.kind {
            TypeKind::Struct => gimli::DW_TAG_structure_type,
            TypeKind::Class => gimli::DW_TAG_class_type,
            TypeKind::Union => gimli::DW_TAG_union_type,
            TypeKind::Enum => gimli::DW_TAG_enumeration_type,
            TypeKind::Typedef => gimli::DW_TAG_typedef,
            TypeKind::Base => gimli::DW_TAG_base_type,
            // The name index holds no other kind of type.
            _ => return None,
        };
        let found = self.debug.names().type_definition(name, tag)?;
        Some(Type::at(&self.debug, Some(found)))
    }

    /// The members of a struct, union or class (through typedefs and qualifiers), base classes
    /// first as DWARF lists them; empty for other types.
    pub fn members(&self) -> Vec<Member> {
        let stripped = self.resolved();
        if !matches!(
            stripped.kind(),
            TypeKind::Struct | TypeKind::Class | TypeKind::Union
        ) {
            return Vec::new();
        }
        stripped
            .node
            .members
            .iter()
            .map(|m| Member {
                name: m.name.clone(),
                ty: stripped.member_type(m),
                offset: m.offset,
                bit_field: m.bit_field,
                is_base: m.base,
            })
            .collect()
    }

    /// The type of member `member` of this (stripped) type, its node resolved once.
    fn member_type(&self, member: &MemberNode) -> Type {
        let cached = member.ty_node.get().and_then(std::sync::Weak::upgrade);
        let node = cached.unwrap_or_else(|| {
            let node = Type::at(&self.debug, member.ty).node;
            let _ = member.ty_node.set(Arc::downgrade(&node));
            node
        });
        Type {
            debug: self.debug.clone(),
            node,
            skip_dims: 0,
        }
    }

    /// The member named `name` (searching anonymous members and base classes too), with its
    /// byte offset from the start of this type.
    pub fn member(&self, name: &str) -> Option<Member> {
        find_member(self, name, 0)
    }

    /// The element count of an array's first dimension (`None` when unknown, or not an array).
    pub fn element_count(&self) -> Option<u64> {
        match self.kind() {
            TypeKind::Array => self.node.dims.get(self.skip_dims).copied().flatten(),
            _ => None,
        }
    }

    /// The enumerators of an enum (through typedefs and qualifiers).
    pub fn enumerators(&self) -> Vec<Enumerator> {
        let stripped = self.resolved();
        match stripped.kind() {
            TypeKind::Enum => stripped.node.enumerators.clone(),
            _ => Vec::new(),
        }
    }

    /// The parameter types of a function type.
    pub fn parameters(&self) -> Vec<Type> {
        self.node
            .params
            .iter()
            .map(|p| Type::at(&self.debug, *p))
            .collect()
    }

    /// Whether a function type takes variable arguments.
    pub fn is_variadic(&self) -> bool {
        self.node.varargs
    }

    /// Whether an enum's values are signed (its underlying type is signed, or unknown and a
    /// value is negative).
    pub fn is_signed(&self) -> bool {
        let stripped = self.strip_typedefs();
        match stripped.kind() {
            TypeKind::Base => matches!(
                stripped.encoding(),
                Some(BaseEncoding::Signed | BaseEncoding::SignedChar)
            ),
            TypeKind::Enum => match stripped.target() {
                Some(base) => base.is_signed(),
                None => stripped.node.enumerators.iter().any(|e| e.value < 0),
            },
            _ => false,
        }
    }

    /// Whether this type was declared in a C++ unit.
    pub fn is_cplusplus(&self) -> bool {
        self.node.cplusplus
    }

    /// Whether this is an incomplete (declared only) type.
    pub fn is_declaration(&self) -> bool {
        self.node.declaration
    }

    /// The object whose DWARF describes this type.
    pub fn object(&self) -> &Arc<LoadedObject> {
        self.debug.object()
    }

    /// The object's DWARF, for lookups relative to this type.
    pub fn debug(&self) -> &Arc<ObjectDebug> {
        &self.debug
    }

    /// The class of a pointer to member.
    pub(crate) fn containing(&self) -> Option<Type> {
        self.node.containing.map(|die| Type::at(&self.debug, Some(die)))
    }

    /// Whether `self` and `other` are the same type DIE (and array dimension).
    pub fn same_as(&self, other: &Type) -> bool {
        Arc::ptr_eq(&self.debug, &other.debug)
            && self.node.die == other.node.die
            && self.node.kind == other.node.kind
            && self.skip_dims == other.skip_dims
    }
}

impl std::fmt::Debug for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Type")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .field("size", &self.size())
            .finish()
    }
}

/// How deep anonymous members and base classes are searched for a member name.
const MAX_MEMBER_DEPTH: usize = 16;

fn find_member(ty: &Type, name: &str, depth: usize) -> Option<Member> {
    if depth > MAX_MEMBER_DEPTH {
        return None;
    }
    let members = ty.members();
    if let Some(found) = members
        .iter()
        .find(|m| !m.is_base && m.name.as_deref() == Some(name))
    {
        return Some(found.clone());
    }
    for holder in members.iter().filter(|m| m.is_base || m.name.is_none()) {
        if let Some(mut inner) = find_member(&holder.ty, name, depth + 1) {
            let base = holder.offset?;
            inner.offset = inner.offset.map(|o| o + base);
            inner.bit_field = inner.bit_field.map(|b| BitField {
                bit_offset: b.bit_offset + base * 8,
                bit_size: b.bit_size,
            });
            return Some(inner);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::{DebugSearch, LoadedObject};
    use crate::variables::ProcessVariables;

    #[test]
    fn types_are_freed_with_their_object() {
        let build = tempfile::tempdir().expect("temp dir");
        let program = crate::test_support::build_example(build.path(), "crash");
        let search = DebugSearch {
            roots: Vec::new(),
            ..DebugSearch::default()
        };
        let object = LoadedObject::open_file(&program, 0, &search).expect("open crash");
        let variables = ProcessVariables::from_objects(vec![Arc::new(object)]);
        let ty = variables
            .find_type("struct somestruct", None)
            .expect("struct somestruct");
        // A struct is its own stripped and resolved type; its members point back to it.
        assert!(Arc::ptr_eq(&ty.strip_typedefs().node, &ty.node));
        assert!(Arc::ptr_eq(&ty.resolved().node, &ty.node));
        let pointer = ty
            .members()
            .into_iter()
            .find_map(|m| m.ty.target())
            .expect("a pointer member");
        let _ = pointer.resolved().name();
        let nodes = [Arc::downgrade(&ty.node), Arc::downgrade(&pointer.node)];
        drop((ty, pointer, variables));
        assert!(
            nodes.iter().all(|node| node.upgrade().is_none()),
            "a type outlived its object"
        );
    }
}
