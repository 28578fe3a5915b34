//! [`ObjectDebug`]: the DWARF of one loaded object as the variables engine reads it — its units,
//! DIE references across units and files, strings, and the caches of types and names.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use gimli::{AttributeValue, DwAt, DwLang, Reader as _, UnitOffset};

use super::call_sites::CallSite;
use super::image::Missing;
use super::names::NameIndex;
use super::types::TypeNode;
use super::units::{DieRef, Entry, Unit, UnitTable};
use super::VariablesError;
use crate::debuginfo::{Dwarf, LoadedObject};
use crate::reader::DwarfReader;

/// Qualified-name prefixes of the DIEs of one unit, by offset.
type ScopeMap = HashMap<UnitOffset<usize>, Arc<str>>;

/// How many `DW_AT_abstract_origin` / `DW_AT_specification` links are followed at most.
const MAX_ORIGIN_HOPS: usize = 8;

/// The DWARF of one object, ready for variable extraction. Built before the target stops
/// ([`ObjectDebug::new`] reads the unit headers and address ranges); units, functions, types and
/// names are parsed on first use and cached. Shared between threads.
pub struct ObjectDebug {
    object: Arc<LoadedObject>,
    dwarf: Arc<Dwarf>,
    pub(crate) units: UnitTable,
    /// Parsed types, by DIE.
    types: RwLock<HashMap<DieRef, Arc<TypeNode>>>,
    /// Qualified-name prefixes (`ns::Class::`) of DIEs nested in namespaces and classes, per C++
    /// unit, built on first use.
    scopes: RwLock<HashMap<usize, Arc<ScopeMap>>>,
    /// Globals and types by name, built on first lookup.
    names: OnceLock<NameIndex>,
    /// The source language of each unit, read on first use.
    languages: Vec<OnceLock<Option<DwLang>>>,
    /// The call sites of functions, read on first use.
    call_sites: RwLock<HashMap<DieRef, Arc<Vec<CallSite>>>>,
    /// Whether functions may reach themselves through tail calls (why, when they may), checked
    /// on first use.
    self_tail_calls: RwLock<HashMap<DieRef, Result<(), Missing>>>,
}

impl ObjectDebug {
    /// Indexes the units of `object`'s DWARF. `Ok(None)` when the object has no usable DWARF.
    pub fn new(object: Arc<LoadedObject>) -> Result<Option<Self>, VariablesError> {
        let Some(dwarf) = object.dwarf().cloned() else {
            return Ok(None);
        };
        let units = UnitTable::build(&dwarf).map_err(|source| VariablesError::Dwarf {
            object: object.path.clone(),
            source,
        })?;
        let languages = (0..units.len()).map(|_| OnceLock::new()).collect();
        Ok(Some(Self {
            object,
            dwarf,
            languages,
            call_sites: RwLock::new(HashMap::new()),
            self_tail_calls: RwLock::new(HashMap::new()),
            units,
            types: RwLock::new(HashMap::new()),
            scopes: RwLock::new(HashMap::new()),
            names: OnceLock::new(),
        }))
    }

    /// The object.
    pub fn object(&self) -> &Arc<LoadedObject> {
        &self.object
    }

    /// The object's path.
    pub fn path(&self) -> &str {
        &self.object.path
    }

    /// The DWARF that unit `unit` belongs to.
    pub(crate) fn dwarf_of(&self, unit: usize) -> &Dwarf {
        self.units.dwarf_of(&self.dwarf, unit)
    }

    /// Unit `unit`, parsed on first use.
    pub(crate) fn unit(&self, unit: usize) -> Option<Arc<Unit>> {
        self.units.unit(&self.dwarf, unit)
    }

    /// The DIE at `die`, with its unit.
    pub(crate) fn entry(&self, die: DieRef) -> Option<(Arc<Unit>, Entry)> {
        let unit = self.unit(die.unit)?;
        let entry = unit.entry(die.offset).ok()?;
        Some((unit, entry))
    }

    /// The subprogram DIE whose code contains ELF address `address`.
    pub(crate) fn function_at(&self, address: u64) -> Option<DieRef> {
        self.units
            .units_at(address)
            .find_map(|unit| self.units.function_at(&self.dwarf, unit, address))
    }

    /// A reference attribute value of a DIE in unit `unit`, as a DIE reference.
    pub(crate) fn reference(&self, unit: usize, value: AttributeValue<DwarfReader>) -> Option<DieRef> {
        match value {
            AttributeValue::UnitRef(offset) => Some(DieRef { unit, offset }),
            AttributeValue::DebugInfoRef(offset) => match self.units.section(unit) {
                // A ref_addr inside the supplement points into the supplement.
                Some(super::units::UnitSection::Supplement) => self.units.sup_ref(offset),
                _ => self.units.info_ref(offset),
            },
            AttributeValue::DebugInfoRefSup(offset) => self.units.sup_ref(offset),
            AttributeValue::DebugTypesRef(signature) => self.units.signature_ref(signature),
            _ => None,
        }
    }

    /// The DIE that attribute `at` of `entry` (in unit `unit`) refers to.
    pub(crate) fn attr_ref(&self, unit: usize, entry: &Entry, at: DwAt) -> Option<DieRef> {
        self.reference(unit, entry.attr_value(at)?)
    }

    /// A string attribute value of a DIE in unit `unit`.
    pub(crate) fn string(&self, unit: usize, value: AttributeValue<DwarfReader>) -> Option<String> {
        let parsed = self.unit(unit)?;
        let text = self.dwarf_of(unit).attr_string(&parsed, value).ok()?;
        Some(text.to_string_lossy().ok()?.into_owned())
    }

    /// Attribute `at` of the DIE `die`, looked up on the DIE itself, then through its
    /// `DW_AT_abstract_origin` and `DW_AT_specification` links; with the DIE it was found on.
    pub(crate) fn inherited_attr(
        &self,
        die: DieRef,
        entry: &Entry,
        at: DwAt,
    ) -> Option<(DieRef, AttributeValue<DwarfReader>)> {
        if let Some(value) = entry.attr_value(at) {
            return Some((die, value));
        }
        let mut current = self.origin_of(die.unit, entry)?;
        for _ in 0..MAX_ORIGIN_HOPS {
            let (_, origin_entry) = self.entry(current)?;
            if let Some(value) = origin_entry.attr_value(at) {
                return Some((current, value));
            }
            current = self.origin_of(current.unit, &origin_entry)?;
        }
        None
    }

    /// Where `entry` takes its missing attributes from: `DW_AT_abstract_origin`, else
    /// `DW_AT_specification`.
    pub(crate) fn origin_of(&self, unit: usize, entry: &Entry) -> Option<DieRef> {
        self.attr_ref(unit, entry, gimli::DW_AT_abstract_origin)
            .or_else(|| self.attr_ref(unit, entry, gimli::DW_AT_specification))
    }

    /// `DW_AT_name` of `die` (inherited through its origin links).
    pub(crate) fn name_of(&self, die: DieRef, entry: &Entry) -> Option<String> {
        let (owner, value) = self.inherited_attr(die, entry, gimli::DW_AT_name)?;
        self.string(owner.unit, value)
    }

    /// The type DIE of `die` (`DW_AT_type`, inherited through its origin links); `None` for void.
    pub(crate) fn type_of(&self, die: DieRef, entry: &Entry) -> Option<DieRef> {
        let (owner, value) = self.inherited_attr(die, entry, gimli::DW_AT_type)?;
        self.reference(owner.unit, value)
    }

    /// The name of unit `unit` (its root DIE's `DW_AT_name`).
    pub fn unit_name(&self, unit: usize) -> Option<String> {
        let parsed = self.unit(unit)?;
        parsed
            .name
            .as_ref()
            .and_then(|name| name.to_string_lossy().ok().map(|s| s.into_owned()))
    }

    /// The source language of unit `unit`.
    pub(crate) fn language(&self, unit: usize) -> Option<DwLang> {
        *self.languages.get(unit)?.get_or_init(|| {
            let parsed = self.unit(unit)?;
            let root = parsed.entry(root_offset(&parsed)?).ok()?;
            match root.attr_value(gimli::DW_AT_language)? {
                AttributeValue::Language(lang) => Some(lang),
                _ => None,
            }
        })
    }

    /// Whether unit `unit` is C++ (type names without `struct`, namespaces, references).
    pub(crate) fn is_cplusplus(&self, unit: usize) -> bool {
        matches!(
            self.language(unit),
            Some(
                gimli::DW_LANG_C_plus_plus
                    | gimli::DW_LANG_C_plus_plus_03
                    | gimli::DW_LANG_C_plus_plus_11
                    | gimli::DW_LANG_C_plus_plus_14
                    | gimli::DW_LANG_C_plus_plus_17
                    | gimli::DW_LANG_C_plus_plus_20
            )
        )
    }

    /// The `ns::Class::` prefix of a DIE nested in namespaces or classes of a C++ unit (empty
    /// at unit level or in other languages).
    pub(crate) fn scope_prefix(&self, die: DieRef) -> Arc<str> {
        if !self.is_cplusplus(die.unit) {
            return Arc::from("");
        }
        let map = {
            let cached = self
                .scopes
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&die.unit)
                .cloned();
            match cached {
                Some(map) => map,
                None => {
                    let built = Arc::new(
                        self.unit(die.unit)
                            .map(|u| scope_map(self, die.unit, &u))
                            .unwrap_or_default(),
                    );
                    self.scopes
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .insert(die.unit, built.clone());
                    built
                }
            }
        };
        map.get(&die.offset).cloned().unwrap_or_else(|| Arc::from(""))
    }

    /// The cached type node of `die`, if parsed already.
    pub(crate) fn cached_type(&self, die: DieRef) -> Option<Arc<TypeNode>> {
        self.types
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&die)
            .cloned()
    }

    /// Caches a parsed type node (the first one stored wins).
    pub(crate) fn cache_type(&self, die: DieRef, node: Arc<TypeNode>) -> Arc<TypeNode> {
        self.types
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(die)
            .or_insert(node)
            .clone()
    }

    /// The call sites of `function`, read with `read` on first use.
    pub(crate) fn call_sites(
        &self,
        function: DieRef,
        read: impl FnOnce() -> Vec<CallSite>,
    ) -> Arc<Vec<CallSite>> {
        if let Some(found) = self
            .call_sites
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&function)
        {
            return found.clone();
        }
        let sites = Arc::new(read());
        self.call_sites
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(function)
            .or_insert(sites)
            .clone()
    }

    /// Whether `function` cannot reach itself through tail calls, checked with `check` on first
    /// use.
    pub(crate) fn self_tail_call_check(
        &self,
        function: DieRef,
        check: impl FnOnce() -> Result<(), Missing>,
    ) -> Result<(), Missing> {
        if let Some(found) = self
            .self_tail_calls
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&function)
        {
            return found.clone();
        }
        let result = check();
        self.self_tail_calls
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(function)
            .or_insert(result)
            .clone()
    }

    /// The name index (globals and types by name), built on first use by reading the unit-level
    /// DIEs of every unit.
    pub(crate) fn names(&self) -> &NameIndex {
        self.names.get_or_init(|| NameIndex::build(self))
    }

    /// Runtime address of ELF virtual address `address`.
    pub(crate) fn runtime_address(&self, address: u64) -> u64 {
        address.wrapping_add(self.object.bias)
    }

    /// ELF virtual address of runtime address `address`.
    pub(crate) fn elf_address(&self, address: u64) -> u64 {
        address.wrapping_sub(self.object.bias)
    }
}

impl std::fmt::Debug for ObjectDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectDebug")
            .field("object", &self.object.path)
            .field("units", &self.units.len())
            .finish()
    }
}

/// The offset of the root DIE of `unit`.
pub(crate) fn root_offset(unit: &Unit) -> Option<UnitOffset<usize>> {
    let mut entries = unit.entries();
    let root = entries.next_dfs().ok()??;
    Some(root.offset())
}

/// How deep namespaces and classes are followed when building qualified names.
const MAX_SCOPE_DEPTH: usize = 32;

/// For every DIE nested in a namespace or class of `unit`: the qualified prefix of its scope.
fn scope_map(debug: &ObjectDebug, unit_index: usize, unit: &Unit) -> HashMap<UnitOffset<usize>, Arc<str>> {
    let mut map = HashMap::new();
    let Ok(mut tree) = unit.entries_tree(None) else {
        return map;
    };
    let Ok(root) = tree.root() else {
        return map;
    };
    walk_scopes(debug, unit_index, root, Arc::from(""), &mut map, 0);
    map
}

fn walk_scopes(
    debug: &ObjectDebug,
    unit_index: usize,
    node: gimli::EntriesTreeNode<'_, '_, DwarfReader>,
    prefix: Arc<str>,
    map: &mut HashMap<UnitOffset<usize>, Arc<str>>,
    depth: usize,
) {
    if depth > MAX_SCOPE_DEPTH {
        return;
    }
    let mut children = node.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        if !prefix.is_empty() {
            map.insert(entry.offset(), prefix.clone());
        }
        let nests = matches!(
            entry.tag(),
            gimli::DW_TAG_namespace
                | gimli::DW_TAG_structure_type
                | gimli::DW_TAG_class_type
                | gimli::DW_TAG_union_type
                | gimli::DW_TAG_enumeration_type
        );
        if !nests || !entry.has_children() {
            continue;
        }
        let name = entry
            .attr_value(gimli::DW_AT_name)
            .and_then(|value| debug.string(unit_index, value));
        let inner: Arc<str> = match (entry.tag(), name) {
            // An anonymous namespace's members are named as if it were not there (gdb writes
            // `(anonymous namespace)::`; the bare name is what users type).
            (gimli::DW_TAG_namespace, None) => prefix.clone(),
            // C++ enumerators of unscoped enums live in the enclosing scope.
            (gimli::DW_TAG_enumeration_type, _) => prefix.clone(),
            (_, Some(name)) => Arc::from(format!("{prefix}{name}::")),
            (_, None) => prefix.clone(),
        };
        walk_scopes(debug, unit_index, child, inner, map, depth + 1);
    }
}
