//! Qualified names of C++ types: the `ns::Class::` prefix of a DIE nested in namespaces and
//! classes, found by descending from its unit's root (and kept per object).

use std::sync::Arc;

use crate::reader::DwarfReader;
use crate::variables::index::{DieRef, ObjectDebug};

/// The `ns::Class::` prefix of a DIE nested in namespaces or classes of a C++ unit (empty at
/// unit level or in other languages). Found by descending from the unit's root to the DIE,
/// jumping over the subtrees that cannot hold it (`DW_AT_sibling`): a unit of a large C++
/// program holds thousands of types, only a few of which are ever named.
pub(crate) fn scope_prefix(debug: &ObjectDebug, die: DieRef) -> Arc<str> {
    if !debug.is_cplusplus(die.unit) {
        return Arc::from("");
    }
    debug.types().scopes.get_or_compute(die, || {
        debug
            .unit(die.unit)
            .and_then(|unit| {
                let mut tree = unit.entries_tree(None).ok()?;
                let root = tree.root().ok()?;
                find_prefix(debug, die, root, Arc::from(""), 0)
            })
            .unwrap_or_else(|| Arc::from(""))
    })
}

/// How deep namespaces and classes are followed when building qualified names.
const MAX_SCOPE_DEPTH: usize = 32;

/// The scope prefix of `target` among the descendants of `node`, whose children have the prefix
/// `prefix`; `None` when it is not there.
fn find_prefix(
    debug: &ObjectDebug,
    target: DieRef,
    node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
    prefix: Arc<str>,
    depth: usize,
) -> Option<Arc<str>> {
    if depth > MAX_SCOPE_DEPTH {
        return None;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        let offset = entry.offset();
        if offset == target.offset {
            return Some(prefix);
        }
        if offset > target.offset {
            // Children come in offset order: it was inside an earlier one, or nowhere.
            return None;
        }
        if !entry.has_children() {
            continue;
        }
        if let Some(gimli::AttributeValue::UnitRef(sibling)) = entry.attr_value(gimli::DW_AT_sibling) {
            if target.offset >= sibling {
                // Not in this subtree: the iteration jumps over it.
                continue;
            }
        }
        let nests = matches!(
            entry.tag(),
            gimli::DW_TAG_namespace
                | gimli::DW_TAG_structure_type
                | gimli::DW_TAG_class_type
                | gimli::DW_TAG_union_type
                | gimli::DW_TAG_enumeration_type
        );
        if !nests {
            // Inside a function (or another scope that names nothing): no prefix.
            return Some(Arc::from(""));
        }
        let name = entry
            .attr_value(gimli::DW_AT_name)
            .and_then(|value| debug.string(target.unit, value));
        let inner: Arc<str> = match (entry.tag(), name) {
            // An anonymous namespace's members are named as if it were not there (gdb writes
            // `(anonymous namespace)::`; the bare name is what users type).
            (gimli::DW_TAG_namespace, None) => prefix.clone(),
            // C++ enumerators of unscoped enums live in the enclosing scope.
            (gimli::DW_TAG_enumeration_type, _) => prefix.clone(),
            (_, Some(name)) => Arc::from(format!("{prefix}{name}::")),
            (_, None) => prefix.clone(),
        };
        if let Some(found) = find_prefix(debug, target, child, inner, depth + 1) {
            return Some(found);
        }
    }
    None
}
