//! Types for navigation: the module API's `bt_type_pp` text, lookups by name (C++ template
//! spellings normalized), and the base type of a derived type.

use super::declarator::{render_in, LeafStyle};
use super::template::gcc_spelling;
use super::{Type, TypeKind};
use std::sync::Arc;

use crate::variables::index::ObjectDebug;
use crate::variables::navigate::BtError;
use crate::variables::process::ProcessVariables;

/// How many derived types [`base_type`] walks through at most (a loop in corrupt DWARF).
const MAX_DERIVED: usize = 64;

/// The type as the module API's `bt_type_pp` writes it: C declarator syntax, with every
/// aggregate (C struct and union, C++ class, struct and union, template instances included)
/// written `struct(name)` and every enum `enum(name)` (C++ names qualified with their
/// namespaces; `struct(<anonymous>)` without a name), whatever the source language. Base types
/// and typedefs keep their names; qualifiers, pointers, references, arrays and functions are
/// written as in C:
///
/// | C                              | `type_pp`                           |
/// |--------------------------------|-------------------------------------|
/// | `struct somestruct *`          | `struct(somestruct) *`              |
/// | `struct nested ***`            | `struct(nested) ***`                |
/// | `const char *`                 | `const char *`                      |
/// | `const Shelf &` (C++)          | `const struct(shop::inventory::Shelf) &` |
/// | `enum crash_mode`              | `enum(crash_mode)`                  |
/// | `union value`                  | `struct(value)`                     |
/// | `Ring<int, 4>` (C++ class)     | `struct(shop::Ring<int, 4>)`        |
/// | `struct node *[4]`             | `struct(node) *[4]`                 |
/// | `int (*)(int)`                 | `int (*)(int)`                      |
pub fn type_pp(ty: &Type) -> String {
    render_in(ty, LeafStyle::Tagged)
}

/// The type named `name` in the first object (optionally: whose path contains `object`) that
/// defines it: `struct foo`, `union u`, `enum e`, `class C`, a typedef, a base type, a C++
/// qualified name (`shop::inventory::Tool`, `std::vector<int, std::allocator<int> >`). C++
/// template names are also tried in gcc's spelling ([`gcc_spelling`]), so
/// `std::vector<std::pair<int,int>>` finds `std::vector<std::pair<int, int> >`. Derived types
/// (`foo *`, `int [4]`) are not built: look up the named type and navigate from there.
pub fn find_type(process: &ProcessVariables, name: &str, object: Option<&str>) -> Result<Type, BtError> {
    let trimmed = name.trim();
    match process.find_type(trimmed, object) {
        Ok(found) => Ok(found),
        Err(first) => {
            let respelled = gcc_spelling(trimmed);
            if respelled != trimmed {
                if let Ok(found) = process.find_type(&respelled, object) {
                    return Ok(found);
                }
            }
            Err(first.into())
        }
    }
}

/// The type named `name` in one object: `struct x`, `union x`, `enum x`, `class x` look for that
/// kind; a bare name takes any type of that name.
pub fn find_type_in(debug: &Arc<ObjectDebug>, name: &str) -> Option<Type> {
    let name = name.trim();
    let tagged = [
        ("struct ", TypeKind::Struct),
        ("class ", TypeKind::Class),
        ("union ", TypeKind::Union),
        ("enum ", TypeKind::Enum),
    ];
    for (prefix, kind) in tagged {
        if let Some(bare) = name.strip_prefix(prefix) {
            let die = debug.names().type_definition(bare.trim(), kind)?;
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
