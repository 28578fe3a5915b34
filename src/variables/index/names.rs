//! Global variables and named types of one object, found by reading the unit-level DIEs (and
//! those of namespaces) of its units: the per-unit listing the lazy enumeration walks, and the
//! by-name index built from all units on the first lookup (`--global`, modules looking up
//! globals or types). Thread-local variables are found without it (see
//! [`tls_scan`](super::tls_scan)).

use std::collections::HashMap;

use gimli::AttributeValue;

use super::object::ObjectDebug;
use super::unit_table::{DieRef, Entry};
use crate::reader::DwarfReader;

/// A global variable definition found in a unit.
#[derive(Clone, Debug)]
pub(crate) struct GlobalEntry {
    /// Its name, qualified with its namespaces in C++.
    pub name: String,
    /// The defining DIE (the one with the location).
    pub die: DieRef,
}

/// Whether a location attribute is a single expression with a TLS operation
/// (`DW_OP_form_tls_address`, `DW_OP_GNU_push_tls_address`).
pub(crate) fn location_uses_tls(location: AttributeValue<DwarfReader>, encoding: gimli::Encoding) -> bool {
    let expression = match location {
        AttributeValue::Exprloc(expression) => expression,
        AttributeValue::Block(bytes) => gimli::Expression(bytes),
        _ => return false,
    };
    let mut operations = expression.operations(encoding);
    while let Ok(Some(operation)) = operations.next() {
        if matches!(operation, gimli::Operation::TLS) {
            return true;
        }
    }
    false
}

/// A named type definition found in a unit: its tag (`DW_TAG_structure_type`, ...) and DIE.
#[derive(Clone, Debug)]
struct TypeEntry {
    tag: gimli::DwTag,
    die: DieRef,
}

/// Globals and types of an object, by name, and its thread-local variables.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    globals: HashMap<String, Vec<DieRef>>,
    types: HashMap<String, Vec<TypeEntry>>,
}

impl NameIndex {
    /// Reads every compilation unit of `debug`.
    pub fn build(debug: &ObjectDebug) -> Self {
        let mut index = Self::default();
        for unit in debug.units.compilation_units() {
            scan_unit(debug, unit, &mut |item| match item {
                Named::Global(global) => index.globals.entry(global.name).or_default().push(global.die),
                Named::Type { name, tag, die } => {
                    index.types.entry(name).or_default().push(TypeEntry { tag, die });
                }
            });
        }
        index
    }

    /// The definitions of globals named `name`, in unit order.
    pub fn globals(&self, name: &str) -> &[DieRef] {
        self.globals.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A complete definition of the struct, class, union or enum `name` (a typedef does not
    /// count) of DIE tag `tag`; struct and class stand for each other.
    pub fn type_definition(&self, name: &str, tag: gimli::DwTag) -> Option<DieRef> {
        let candidates = self.types.get(name)?;
        let similar = |t: gimli::DwTag| {
            t == tag
                || matches!(
                    (t, tag),
                    (gimli::DW_TAG_structure_type, gimli::DW_TAG_class_type)
                        | (gimli::DW_TAG_class_type, gimli::DW_TAG_structure_type)
                )
        };
        candidates.iter().find(|t| similar(t.tag)).map(|t| t.die)
    }

    /// Any type named `name` (a definition or a typedef; base types too).
    pub fn any_type(&self, name: &str) -> Option<DieRef> {
        self.types.get(name)?.first().map(|t| t.die)
    }
}

/// What a unit-level DIE can be for the index.
enum Named {
    Global(GlobalEntry),
    Type {
        name: String,
        tag: gimli::DwTag,
        die: DieRef,
    },
}

/// The globals defined in unit `unit`, in DIE order.
pub(crate) fn unit_globals(debug: &ObjectDebug, unit: usize) -> Vec<GlobalEntry> {
    let mut out = Vec::new();
    scan_unit(debug, unit, &mut |item| {
        if let Named::Global(global) = item {
            out.push(global);
        }
    });
    out
}

/// How deep namespaces are followed.
const MAX_NAMESPACE_DEPTH: usize = 16;

fn scan_unit(debug: &ObjectDebug, unit_index: usize, sink: &mut dyn FnMut(Named)) {
    let Some(unit) = debug.unit(unit_index) else {
        return;
    };
    let Ok(mut tree) = unit.entries_tree(None) else {
        return;
    };
    let Ok(root) = tree.root() else {
        return;
    };
    scan_children(debug, unit_index, root, "", sink, 0);
}

fn scan_children(
    debug: &ObjectDebug,
    unit_index: usize,
    node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
    prefix: &str,
    sink: &mut dyn FnMut(Named),
    depth: usize,
) {
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        let die = DieRef {
            unit: unit_index,
            offset: entry.offset(),
        };
        match entry.tag() {
            gimli::DW_TAG_variable => {
                if !is_definition(entry) {
                    continue;
                }
                let Some(name) = debug.name_of(die, entry) else {
                    continue;
                };
                let name = if prefix.is_empty() || name.contains("::") {
                    name
                } else {
                    format!("{prefix}{name}")
                };
                sink(Named::Global(GlobalEntry { name, die }));
            }
            gimli::DW_TAG_namespace if depth < MAX_NAMESPACE_DEPTH => {
                let name = entry
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|v| debug.string(unit_index, v));
                let inner = match name {
                    Some(name) => format!("{prefix}{name}::"),
                    None => prefix.to_string(),
                };
                scan_children(debug, unit_index, child, &inner, sink, depth + 1);
            }
            tag => {
                if !matches!(
                    tag,
                    gimli::DW_TAG_structure_type
                        | gimli::DW_TAG_class_type
                        | gimli::DW_TAG_union_type
                        | gimli::DW_TAG_enumeration_type
                        | gimli::DW_TAG_typedef
                        | gimli::DW_TAG_base_type
                ) {
                    continue;
                }
                if matches!(
                    entry.attr_value(gimli::DW_AT_declaration),
                    Some(AttributeValue::Flag(true))
                ) {
                    continue;
                }
                let Some(name) = entry
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|v| debug.string(unit_index, v))
                else {
                    continue;
                };
                sink(Named::Type {
                    name: format!("{prefix}{name}"),
                    tag,
                    die,
                });
            }
        }
    }
}

/// A variable DIE that defines storage or a value (not an `extern` declaration).
fn is_definition(entry: &Entry) -> bool {
    let declaration = matches!(
        entry.attr_value(gimli::DW_AT_declaration),
        Some(AttributeValue::Flag(true))
    );
    !declaration && (entry.has_attr(gimli::DW_AT_location) || entry.has_attr(gimli::DW_AT_const_value))
}
