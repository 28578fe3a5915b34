//! [`ObjectDebug`]: the DWARF of one loaded object as the variables engine reads it — its units,
//! DIE references across units and files, strings and names — and what the concerns built on it
//! keep per object (parsed types, locating's call sites and frame bases).

use std::sync::{Arc, OnceLock};

use gimli::{AttributeValue, DwAt, DwLang, Reader as _, UnitOffset};

use super::names::{GlobalEntry, NameIndex};
use super::unit_table::{DieRef, Entry, Unit, UnitTable};
use crate::debuginfo::{is_plausible_name, lost, Dwarf, LoadedObject};
use crate::reader::DwarfReader;
use crate::variables::location::LocationCaches;
use crate::variables::types::TypeCache;
use crate::variables::VariablesError;

/// How many `DW_AT_abstract_origin` / `DW_AT_specification` links are followed at most.
const MAX_ORIGIN_HOPS: usize = 8;

/// The DWARF of one object, ready for variable extraction. Built before the target stops
/// ([`ObjectDebug::new`] reads the unit headers and address ranges); units, functions, types and
/// names are parsed on first use and cached. Shared between threads.
pub struct ObjectDebug {
    object: Arc<LoadedObject>,
    dwarf: Arc<Dwarf>,
    pub(crate) units: UnitTable,
    /// Globals and types by name, built on first lookup.
    names: OnceLock<NameIndex>,
    /// The thread-local variables, found on first use (without the name index).
    thread_locals: OnceLock<Vec<GlobalEntry>>,
    /// The source language of each unit, read on first use.
    languages: Vec<OnceLock<Option<DwLang>>>,
    /// The types parsed, and the qualified-name prefixes found (the type model's).
    types: TypeCache,
    /// The call sites, frame bases and entry-value proofs found (locating's).
    locations: LocationCaches,
}

impl ObjectDebug {
    /// Indexes the units of `object`'s DWARF. `Ok(None)` when the object has no usable DWARF.
    pub fn new(object: Arc<LoadedObject>) -> Result<Option<Self>, VariablesError> {
        let Some(dwarf) = object.dwarf().cloned() else {
            return Ok(None);
        };
        let units =
            UnitTable::build(&dwarf, object.problems().clone()).map_err(|source| VariablesError::Dwarf {
                object: object.path.clone(),
                source,
            })?;
        let languages = (0..units.len()).map(|_| OnceLock::new()).collect();
        Ok(Some(Self {
            object,
            dwarf,
            languages,
            units,
            types: TypeCache::default(),
            locations: LocationCaches::default(),
            names: OnceLock::new(),
            thread_locals: OnceLock::new(),
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
                Some(super::unit_table::UnitSection::Supplement) => self.units.sup_ref(offset),
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

    /// A string attribute value of a DIE in unit `unit`. A string that cannot be read, or is
    /// not text (a corrupt string section), is `None`, and the defect is recorded.
    pub(crate) fn string(&self, unit: usize, value: AttributeValue<DwarfReader>) -> Option<String> {
        let parsed = self.unit(unit)?;
        let section = match value {
            AttributeValue::DebugStrRef(_) | AttributeValue::DebugStrRefSup(_) => ".debug_str",
            AttributeValue::DebugLineStrRef(_) => ".debug_line_str",
            AttributeValue::DebugStrOffsetsIndex(_) => ".debug_str_offsets",
            _ => ".debug_info",
        };
        let problems = self.object.problems();
        let text = match self.dwarf_of(unit).attr_string(&parsed, value) {
            Ok(text) => text.to_string_lossy().ok()?.into_owned(),
            Err(error) => {
                problems.record(section, &error, lost::NAMES);
                return None;
            }
        };
        if !is_plausible_name(&text) {
            problems.record(section, &"a name in it is not text", lost::NAMES);
            return None;
        }
        Some(text)
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

    /// What the type model keeps of this object.
    pub(crate) fn types(&self) -> &TypeCache {
        &self.types
    }

    /// What locating values keeps of this object.
    pub(crate) fn locations(&self) -> &LocationCaches {
        &self.locations
    }

    /// The name index (globals and types by name), built on first use by reading the unit-level
    /// DIEs of every unit.
    pub(crate) fn names(&self) -> &NameIndex {
        self.names.get_or_init(|| NameIndex::build(self))
    }

    /// Whether the name index was built (tests check what does not build it).
    #[cfg(test)]
    pub(crate) fn names_built(&self) -> bool {
        self.names.get().is_some()
    }

    /// The thread-local variable definitions, in unit and DIE order, found on first use by a walk
    /// that reads only the locations of unit- and namespace-level variables (see
    /// [`tls_scan`](super::tls_scan)).
    pub(crate) fn thread_locals(&self) -> &[GlobalEntry] {
        self.thread_locals
            .get_or_init(|| super::tls_scan::thread_locals(self))
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
