//! Errors of bt variables, for the Rust API and the module APIs alike (the typed memory of the
//! module engine, [`TypedMemory`](crate::pmodule::TypedMemory), fails with them): every one
//! holds the expression navigated (`path`), its type, and the member, address or index involved.

use crate::variables::VariablesError;

/// Why a navigation step or a read of a bt variable failed.
#[derive(Debug, thiserror::Error)]
pub enum BtError {
    /// The struct, union or class has no member of that name (base classes and anonymous
    /// members searched too).
    #[error("no member '{member}' in type '{type_name}'")]
    NoMember {
        /// The expression whose member was asked for.
        path: String,
        /// The struct type searched.
        type_name: String,
        /// The member asked for.
        member: String,
    },
    /// The member may be in a virtual base class, whose offset is only known at run time.
    #[error(
        "{path}: {type_name} has no member named {member:?} outside its virtual base classes \
         (their offsets are only known at run time: not supported)"
    )]
    VirtualBase {
        /// The expression whose member was asked for.
        path: String,
        /// The struct type searched.
        type_name: String,
        /// The member asked for.
        member: String,
    },
    /// A member was asked of something that is not (and does not point to) a struct, union or
    /// class.
    #[error(
        "member: '{name}' has type '{type_name}', which is not a struct, union or class (nor a \
         pointer to one)"
    )]
    NotAStruct {
        /// The name of the variable the member was asked of.
        name: String,
        /// The expression reached (after following pointers).
        path: String,
        /// Its type.
        type_name: String,
        /// The member asked for.
        member: String,
    },
    /// Dereferenced (or viewed through) something that is not a pointer, reference or array.
    #[error("deref: '{path}' has type '{type_name}', which is not a pointer{what}")]
    NotAPointer {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
        /// What else would have done (", a reference or an array"...), for the message.
        what: &'static str,
    },
    /// Dereferenced a pointer to `void` (or to a type not described).
    #[error("{path}: cannot dereference {type_name}: the pointee type is unknown")]
    OpaquePointee {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
    },
    /// Followed a NULL pointer.
    #[error("cannot follow '{path}' ({type_name}): it is NULL")]
    NullPointer {
        /// The expression holding the NULL.
        path: String,
        /// Its type.
        type_name: String,
    },
    /// Target memory could not be read.
    #[error("{path}: cannot read {len} bytes of {type_name} at {address:#x}: memory not readable")]
    Unreadable {
        /// The expression read.
        path: String,
        /// Its type.
        type_name: String,
        /// Where.
        address: u64,
        /// How many bytes were wanted.
        len: usize,
    },
    /// The value has no location here (optimized out, a register not recovered, TLS unknown),
    /// or holds fewer bytes than asked.
    #[error("{path} ({type_name}) is not available: {reason}")]
    Unavailable {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
        /// Why.
        reason: String,
    },
    /// An array index outside the array's bounds (negative, or past its known element count).
    #[error("{path}: index {index} is out of the bounds of {type_name} ({})", count_text(*.count))]
    IndexOutOfBounds {
        /// The array expression.
        path: String,
        /// Its type.
        type_name: String,
        /// The index asked for.
        index: i64,
        /// The element count, when known.
        count: Option<u64>,
    },
    /// Indexed something that is neither an array nor a pointer.
    #[error("index: '{path}' has type '{type_name}', which is neither an array nor a pointer")]
    NotIndexable {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
        /// The index asked for.
        index: i64,
    },
    /// The type has no known size (void, a function, an incomplete struct, `int []`).
    #[error("the size of '{type_name}' is unknown")]
    UnknownSize {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
    },
    /// The value cannot be read the way asked (a struct as an integer, an int as a string).
    #[error("{path}: a value of type {type_name} cannot be read as {wanted}")]
    WrongKind {
        /// The expression.
        path: String,
        /// Its type.
        type_name: String,
        /// What was asked for (`an integer`, `a float`, `a string`).
        wanted: &'static str,
    },
    /// Address arithmetic left the address space.
    #[error("{path}: address arithmetic overflows ({base:#x} + {offset} bytes)")]
    AddressOverflow {
        /// The expression.
        path: String,
        /// The base address.
        base: u64,
        /// The byte offset added.
        offset: i128,
    },
    /// More pointers chained than followed (a pointer loop through typedefs in corrupt DWARF).
    #[error("{path}: more than {limit} pointers to follow to reach member {member:?}")]
    TooDeep {
        /// The expression.
        path: String,
        /// The member asked for.
        member: String,
        /// How many were followed.
        limit: usize,
    },
    /// A lookup (global, type) of the variables engine failed.
    #[error(transparent)]
    Lookup(#[from] VariablesError),
    /// No typed memory to navigate: no debug information, outside a snapshot, or a variable
    /// another provider made.
    #[error("typed memory is unavailable: {0}")]
    NoTypedMemory(String),
}

/// An element count for messages.
fn count_text(count: Option<u64>) -> String {
    match count {
        Some(1) => "1 element".to_string(),
        Some(count) => format!("{count} elements"),
        None => "element count unknown".to_string(),
    }
}
