//! Types looked up by name over every object of the process, as modules name them.

use super::BtError;
use crate::variables::process_variables::ProcessVariables;
use crate::variables::types::{gcc_spelling, Type};

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
