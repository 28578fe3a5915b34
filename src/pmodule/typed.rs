//! The rules of bt variable navigation (§2), on top of a [`TypedMemory`] provider, shared by
//! every language: member access dereferences pointers (any depth) until a struct is reached
//! (the provider's [`TypedMemory::member`], the navigation engine's rule); the member itself is
//! not dereferenced; NULL pointers, missing members and operations on the wrong kind of type are
//! errors that name what failed.

use super::access::{BtError, BtVar, TypedMemory};
use super::kinds::VariableKind;

/// `var.name`: dereferences `var` while it is a pointer, then takes member `name`.
pub fn member(typed: &dyn TypedMemory, var: &BtVar, name: &str) -> Result<BtVar, BtError> {
    typed.member(var, name)
}

/// `pmodule.deref(var [, at])`: what pointer `var` points to, at its value or at `at`.
pub fn deref(typed: &dyn TypedMemory, var: &BtVar, at: Option<u64>) -> Result<BtVar, BtError> {
    if typed.kind(var) != VariableKind::Reference {
        return Err(BtError::NotAPointer {
            path: var.name.clone(),
            type_name: var.type_name.clone(),
            what: "",
        });
    }
    let target = typed.deref(var, at)?;
    if at.is_none() && target.address == Some(0) {
        return Err(BtError::NullPointer {
            path: var.name.clone(),
            type_name: var.type_name.clone(),
        });
    }
    Ok(target)
}

/// `var[i]`: element `i` of an array, or of what a pointer points to.
pub fn element(typed: &dyn TypedMemory, var: &BtVar, index: i64) -> Result<BtVar, BtError> {
    match typed.kind(var) {
        VariableKind::Array | VariableKind::Reference | VariableKind::String => typed.element(var, index),
        _ => Err(BtError::NotIndexable {
            path: var.name.clone(),
            type_name: var.type_name.clone(),
            index,
        }),
    }
}

/// `pmodule.sizeof(var)`.
pub fn size_of(typed: &dyn TypedMemory, var: &BtVar) -> Result<u64, BtError> {
    typed.size_of(var)
}
