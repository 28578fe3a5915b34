//! Where a unit's code is in its DIE tree: the one walk that finds the subprograms (functions
//! with or without code) and call sites of a unit, for every reader that needs them (the
//! tail-call frames' call sites, the variables engine's functions by address).
//!
//! In C and C++ units, type definitions outside functions are jumped over whole (through
//! `DW_AT_sibling`): they hold no code there — gcc and clang put the definitions of member
//! functions, and of the call operators of lambdas at namespace scope, outside the class, with
//! `DW_AT_specification` — while a unit of a large C++ program can hold thousands of them.
//! Inside a function they are read (gcc nests a local lambda's call operator, with its code, in
//! the closure type), and in other languages everywhere (Rust nests methods in their type).

use gimli::AttributeValue;

use crate::reader::DwarfReader;

/// A unit together with the DWARF it belongs to.
pub(crate) type UnitRef<'a> = gimli::UnitRef<'a, DwarfReader>;
/// One debugging information entry.
pub(crate) type Entry = gimli::DebuggingInformationEntry<DwarfReader>;

/// How deep the DIE tree is followed (a guard against hostile nesting).
const MAX_DEPTH: usize = 256;

/// What a walk of a unit's code ([`walk_code`]) reports.
pub(crate) trait CodeVisitor {
    /// A `DW_TAG_subprogram` DIE; returns whether its children are walked too (then
    /// [`subprogram_end`](Self::subprogram_end) follows them).
    fn subprogram(&mut self, unit: UnitRef<'_>, entry: &Entry) -> bool;

    /// The children of the subprogram last reported (and walked) are done.
    fn subprogram_end(&mut self) {}

    /// A `DW_TAG_call_site` or `DW_TAG_GNU_call_site` DIE (its children, the parameters, are
    /// not walked).
    fn call_site(&mut self, unit: UnitRef<'_>, entry: &Entry) {
        let _ = (unit, entry);
    }
}

/// Walks the DIEs of `unit` that can hold code, reporting its subprograms and call sites to
/// `visitor` in DIE order. A unit that stops parsing reports what was read before.
pub(crate) fn walk_code(unit: UnitRef<'_>, visitor: &mut dyn CodeVisitor) {
    let Ok(mut tree) = unit.entries_tree(None) else {
        return;
    };
    let Ok(root) = tree.root() else {
        return;
    };
    let types_hold_code = !matches!(
        root.entry().attr_value(gimli::DW_AT_language),
        Some(AttributeValue::Language(language)) if is_c_family(language)
    );
    // A C or C++ unit's types hold code only inside functions.
    walk(unit, root, visitor, types_hold_code, 0);
}

/// C and C++ (every standard version): languages whose compilers define no code inside types
/// outside functions.
pub(crate) fn is_c_family(language: gimli::DwLang) -> bool {
    matches!(
        language,
        gimli::DW_LANG_C
            | gimli::DW_LANG_C89
            | gimli::DW_LANG_C99
            | gimli::DW_LANG_C11
            | gimli::DW_LANG_C17
            | gimli::DW_LANG_C_plus_plus
            | gimli::DW_LANG_C_plus_plus_03
            | gimli::DW_LANG_C_plus_plus_11
            | gimli::DW_LANG_C_plus_plus_14
            | gimli::DW_LANG_C_plus_plus_17
            | gimli::DW_LANG_C_plus_plus_20
    )
}

/// Walks the children of `node`; `types_hold_code` says whether type DIEs are searched (inside
/// a function, or in a language other than C and C++).
fn walk(
    unit: UnitRef<'_>,
    node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
    visitor: &mut dyn CodeVisitor,
    types_hold_code: bool,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        match entry.tag() {
            gimli::DW_TAG_subprogram if visitor.subprogram(unit, entry) => {
                walk(unit, child, visitor, true, depth + 1);
                visitor.subprogram_end();
            }
            gimli::DW_TAG_subprogram => {}
            gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site => visitor.call_site(unit, entry),
            gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type
                if !types_hold_code => {}
            _ if entry.has_children() => walk(unit, child, visitor, types_hold_code, depth + 1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::{DebugSearch, LoadedObject};

    /// What a walk of every unit of the C++ example reported.
    #[derive(Default)]
    struct Tally {
        /// Walk the children of subprograms.
        descend: bool,
        /// How many subprograms are being walked now.
        open: usize,
        /// Subprograms found at unit or namespace level, and inside another subprogram.
        outer: usize,
        nested: usize,
        /// Out-of-line definitions (`DW_AT_specification`) found outside functions.
        definitions: usize,
        call_sites: usize,
    }

    impl CodeVisitor for Tally {
        fn subprogram(&mut self, _unit: UnitRef<'_>, entry: &Entry) -> bool {
            if self.open > 0 {
                self.nested += 1;
            } else {
                self.outer += 1;
                self.definitions += usize::from(entry.has_attr(gimli::DW_AT_specification));
            }
            if self.descend {
                self.open += 1;
            }
            self.descend
        }

        fn subprogram_end(&mut self) {
            self.open -= 1;
        }

        fn call_site(&mut self, _unit: UnitRef<'_>, _entry: &Entry) {
            self.call_sites += 1;
        }
    }

    fn walk_example(descend: bool) -> Tally {
        let build = tempfile::tempdir().expect("temp dir");
        let program = crate::test_support::build_example(build.path(), "cpp_example-O2");
        let search = DebugSearch {
            roots: Vec::new(),
            ..DebugSearch::default()
        };
        let object = LoadedObject::open_file(&program, 0, &search).expect("open the C++ example");
        let dwarf = object.dwarf().expect("its DWARF").clone();
        let mut tally = Tally {
            descend,
            ..Tally::default()
        };
        let mut headers = dwarf.units();
        while let Ok(Some(header)) = headers.next() {
            let unit = dwarf.unit(header).expect("a unit");
            walk_code(gimli::UnitRef::new(&dwarf, &unit), &mut tally);
        }
        tally
    }

    #[test]
    fn functions_and_call_sites_are_found_where_compilers_put_them() {
        let deep = walk_example(true);
        // Member functions are defined outside their classes (the classes themselves are not
        // searched in C++), and gcc nests a lambda's call operator inside its function.
        assert!(deep.definitions > 0, "out-of-line member functions");
        assert!(deep.nested > 0, "the lambda in Auditor::walk");
        assert!(deep.call_sites > 0, "-O2 code describes its calls");
        let shallow = walk_example(false);
        assert_eq!(shallow.outer, deep.outer, "the same functions outside functions");
        assert_eq!(
            (shallow.nested, shallow.call_sites),
            (0, 0),
            "nothing inside functions"
        );
    }
}
