//! The thread-local variables of one object, found without building its name index: one walk of
//! the unit-level DIEs (and those of namespaces) of every compilation unit that only looks at the
//! tag and location of variables. Subtrees of types and functions are jumped over
//! (`DW_AT_sibling`), no unit is fully parsed (no line program header), no string is read and
//! nothing is allocated except for the thread-local variables themselves, which are named
//! afterwards. Large objects are scanned on two threads, each taking half of the units.

use gimli::{AttributeValue, UnitOffset};

use super::names::{location_uses_tls, GlobalEntry};
use super::object::ObjectDebug;
use super::unit_table::{DieRef, Entry};
use crate::reader::DwarfReader;

/// How deep namespaces are followed (as the name index does).
const MAX_NAMESPACE_DEPTH: usize = 16;

/// Below this many bytes of units, the scan stays on the calling thread.
const PARALLEL_THRESHOLD: usize = 4 << 20;

/// A thread-local variable DIE found by the walk, with its enclosing namespaces (outermost first).
struct Found {
    die: DieRef,
    namespaces: Vec<UnitOffset<usize>>,
}

/// The thread-local variable definitions of `debug` (their locations use
/// `DW_OP_form_tls_address` or `DW_OP_GNU_push_tls_address`), in unit and DIE order, named as the
/// name index names globals (qualified with their C++ namespaces).
pub(crate) fn thread_locals(debug: &ObjectDebug) -> Vec<GlobalEntry> {
    let units: Vec<usize> = debug.units.compilation_units().collect();
    let size = |unit: &usize| {
        debug
            .units
            .header(*unit)
            .map_or(0, |header| header.length_including_self())
    };
    let total: usize = units.iter().map(size).sum();
    let found: Vec<Found> = if total < PARALLEL_THRESHOLD {
        units.iter().flat_map(|unit| scan_unit(debug, *unit)).collect()
    } else {
        // Split where half of the bytes are, so both halves take about as long.
        let mut seen = 0;
        let split = units
            .iter()
            .position(|unit| {
                seen += size(unit);
                seen * 2 >= total
            })
            .map_or(units.len(), |i| i + 1);
        let (first, second) = units.split_at(split);
        let scan =
            |part: &[usize]| -> Vec<Found> { part.iter().flat_map(|unit| scan_unit(debug, *unit)).collect() };
        std::thread::scope(|scope| {
            let other = scope.spawn(|| scan(second));
            let mut found = scan(first);
            // A scan that panicked (a bug, not the data) gives nothing rather than everything.
            found.extend(other.join().unwrap_or_default());
            found
        })
    };
    found
        .into_iter()
        .filter_map(|found| named(debug, found))
        .collect()
}

/// The thread-local variable DIEs of unit `unit`, in DIE order.
fn scan_unit(debug: &ObjectDebug, unit: usize) -> Vec<Found> {
    let mut out = Vec::new();
    let Some(header) = debug.units.header(unit) else {
        return out;
    };
    let Ok(abbreviations) = debug.dwarf_of(unit).abbreviations(header) else {
        return out;
    };
    let Ok(mut tree) = header.entries_tree(&abbreviations, None) else {
        return out;
    };
    let Ok(root) = tree.root() else {
        return out;
    };
    let encoding = header.encoding();
    walk(root, unit, encoding, &mut Vec::new(), &mut out);
    out
}

fn walk(
    node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
    unit: usize,
    encoding: gimli::Encoding,
    namespaces: &mut Vec<UnitOffset<usize>>,
    out: &mut Vec<Found>,
) {
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        match entry.tag() {
            gimli::DW_TAG_variable if is_thread_local_definition(entry, encoding) => out.push(Found {
                die: DieRef {
                    unit,
                    offset: entry.offset(),
                },
                namespaces: namespaces.clone(),
            }),
            gimli::DW_TAG_namespace if namespaces.len() < MAX_NAMESPACE_DEPTH => {
                namespaces.push(entry.offset());
                walk(child, unit, encoding, namespaces, out);
                namespaces.pop();
            }
            // Anything else (types, functions) is skipped whole: the next child is found through
            // its DW_AT_sibling when it has one.
            _ => {}
        }
    }
}

/// A variable DIE that defines storage (not an `extern` declaration) located with a TLS
/// operation.
fn is_thread_local_definition(entry: &Entry, encoding: gimli::Encoding) -> bool {
    let declaration = matches!(
        entry.attr_value(gimli::DW_AT_declaration),
        Some(AttributeValue::Flag(true))
    );
    !declaration
        && entry
            .attr_value(gimli::DW_AT_location)
            .is_some_and(|location| location_uses_tls(location, encoding))
}

/// The entry of a DIE found: its name (through its origin links), qualified with its namespaces
/// unless it is already; `None` for a nameless one.
fn named(debug: &ObjectDebug, found: Found) -> Option<GlobalEntry> {
    let (_, entry) = debug.entry(found.die)?;
    let name = debug.name_of(found.die, &entry)?;
    let mut prefix = String::new();
    for offset in &found.namespaces {
        let namespace = DieRef {
            unit: found.die.unit,
            offset: *offset,
        };
        let Some((_, entry)) = debug.entry(namespace) else {
            continue;
        };
        // An anonymous namespace adds nothing.
        if let Some(name) = entry
            .attr_value(gimli::DW_AT_name)
            .and_then(|value| debug.string(found.die.unit, value))
        {
            prefix.push_str(&name);
            prefix.push_str("::");
        }
    }
    let name = if prefix.is_empty() || name.contains("::") {
        name
    } else {
        format!("{prefix}{name}")
    };
    Some(GlobalEntry { name, die: found.die })
}
