//! Errors of the variables engine.

/// Why a variable, type or global could not be produced. Values that cannot be read are not
/// errors: they become variables with state `optimized_out` or `unreadable`.
#[derive(Debug, thiserror::Error)]
pub enum VariablesError {
    /// The object has no (usable) DWARF.
    #[error("{object}: no usable DWARF debug info")]
    NoDwarf {
        /// The object's path.
        object: String,
    },
    /// The DWARF of an object is malformed where it was read.
    #[error("{object}: malformed DWARF: {source}")]
    Dwarf {
        /// The object's path.
        object: String,
        /// What gimli found wrong.
        source: gimli::Error,
    },
    /// A DIE reference points nowhere (or to a DIE that is not what it should be).
    #[error("{object}: DWARF entry {what} not found")]
    BadReference {
        /// The object's path.
        object: String,
        /// What was looked for.
        what: String,
    },
    /// No global variable has this name (in the objects and units asked for).
    #[error("no global variable named {name:?}{filters}")]
    GlobalNotFound {
        /// The name looked up.
        name: String,
        /// The object and unit filters, as text (empty when none).
        filters: String,
    },
    /// No type has this name in the object.
    #[error("{object}: no type named {name:?}")]
    TypeNotFound {
        /// The object's path.
        object: String,
        /// The name looked up.
        name: String,
    },
}
