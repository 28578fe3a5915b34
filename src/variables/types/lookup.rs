//! Types looked up by name in one object, and the base type of a derived type.

use std::sync::Arc;

use super::{Type, TypeKind};
use crate::variables::index::ObjectDebug;

/// How many derived types [`base_type`] walks through at most (a loop in corrupt DWARF).
const MAX_DERIVED: usize = 64;

/// The type named `name` in one object: `struct x`, `union x`, `enum x`, `class x` look for that
/// kind; a bare name takes any type of that name.
pub fn find_type_in(debug: &Arc<ObjectDebug>, name: &str) -> Option<Type> {
    let name = name.trim();
    let tagged = [
        ("struct ", gimli::DW_TAG_structure_type),
        ("class ", gimli::DW_TAG_class_type),
        ("union ", gimli::DW_TAG_union_type),
        ("enum ", gimli::DW_TAG_enumeration_type),
    ];
    for (prefix, tag) in tagged {
        if let Some(bare) = name.strip_prefix(prefix) {
            let die = debug.names().type_definition(bare.trim(), tag)?;
            return Some(Type::at(debug, Some(die)));
        }
    }
    let die = debug.names().any_type(name)?;
    Some(Type::at(debug, Some(die)))
}

/// The type under every typedef, qualifier, pointer, reference and array of `ty`
/// (`struct somestruct` for `const somestruct_ptr *[2]`): the `bt_type_base` of the C API.
pub fn base_type(ty: &Type) -> Type {
    let mut current = ty.clone();
    for _ in 0..MAX_DERIVED {
        let next = match current.kind() {
            TypeKind::Typedef
            | TypeKind::Const
            | TypeKind::Volatile
            | TypeKind::Restrict
            | TypeKind::Atomic
            | TypeKind::Pointer
            | TypeKind::Reference
            | TypeKind::RvalueReference
            | TypeKind::Array => current.target(),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => break,
        }
    }
    current.resolved()
}
