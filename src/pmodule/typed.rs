//! The rules of bt variable navigation (§2), on top of a [`TypedMemory`] provider, shared by
//! every language: member access dereferences pointers (any depth) until a struct is reached;
//! the member itself is not dereferenced; NULL pointers and missing members are errors that name
//! what failed.

use super::access::{BtError, BtVar, TypedMemory};
use super::kinds::VariableKind;

/// Most pointer levels followed by one member access (a cycle of typedefs or a corrupt type
/// cannot loop forever).
pub const MAX_AUTO_DEREF: usize = 16;

/// `var.name`: dereferences `var` while it is a pointer, then takes member `name`.
pub fn member(typed: &dyn TypedMemory, var: &BtVar, name: &str) -> Result<BtVar, BtError> {
    let mut current = var.clone();
    for _ in 0..MAX_AUTO_DEREF {
        if typed.kind(&current) != VariableKind::Reference {
            break;
        }
        current = deref(typed, &current, None)?;
    }
    if typed.kind(&current) != VariableKind::Tuple {
        return Err(BtError::WrongType {
            operation: "member",
            name: var.name.clone(),
            type_name: current.type_name.clone(),
            requirement: "is not a struct, union or class (nor a pointer to one)",
        });
    }
    typed.member(&current, name)?.ok_or_else(|| BtError::NoMember {
        member: name.to_string(),
        type_name: current.type_name.clone(),
    })
}

/// `pmodule.deref(var [, at])`: what pointer `var` points to, at its value or at `at`.
pub fn deref(typed: &dyn TypedMemory, var: &BtVar, at: Option<u64>) -> Result<BtVar, BtError> {
    if typed.kind(var) != VariableKind::Reference {
        return Err(BtError::WrongType {
            operation: "deref",
            name: var.name.clone(),
            type_name: var.type_name.clone(),
            requirement: "is not a pointer",
        });
    }
    let target = typed.deref(var, at)?;
    if at.is_none() && target.address == Some(0) {
        return Err(BtError::BadPointer {
            name: var.name.clone(),
            type_name: var.type_name.clone(),
            reason: "it is NULL".into(),
        });
    }
    Ok(target)
}

/// `var[i]`: element `i` of an array, or of what a pointer points to.
pub fn element(typed: &dyn TypedMemory, var: &BtVar, index: i64) -> Result<BtVar, BtError> {
    match typed.kind(var) {
        VariableKind::Array | VariableKind::Reference | VariableKind::String => typed.element(var, index),
        _ => Err(BtError::WrongType {
            operation: "index",
            name: var.name.clone(),
            type_name: var.type_name.clone(),
            requirement: "is neither an array nor a pointer",
        }),
    }
}

/// `pmodule.sizeof(var)`.
pub fn size_of(typed: &dyn TypedMemory, var: &BtVar) -> Result<u64, BtError> {
    typed.size_of(var)
}
