//! Reading type DIEs into [`TypeNode`]s: kinds, names (qualified in C++), sizes, members and base
//! classes (with bit fields, DWARF 2 to 5 placements), enumerators, array dimensions, function
//! parameters. Never fails: what cannot be read becomes [`TypeKind::Unknown`].

use std::sync::Arc;

use gimli::AttributeValue;

use super::{BaseEncoding, BitField, Enumerator, MemberNode, Type, TypeKind, TypeNode};
use crate::reader::DwarfReader;
use crate::variables::index::{DieRef, Entry, ObjectDebug, Unit};

thread_local! {
    /// How many type parses are nested on this thread (a guard against reference loops).
    static PARSE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many type parses may nest (a type whose parse needs another type's: enum base types,
/// DWARF 2 bit-field storage sizes).
const MAX_PARSE_DEPTH: usize = 32;

/// Parses the type DIE `die` (never fails: what cannot be read becomes [`TypeKind::Unknown`]).
pub(crate) fn parse_type(debug: &Arc<ObjectDebug>, die: DieRef) -> TypeNode {
    let depth = PARSE_DEPTH.with(|d| d.get());
    if depth >= MAX_PARSE_DEPTH {
        return TypeNode::empty(Some(die), TypeKind::Unknown);
    }
    PARSE_DEPTH.with(|d| d.set(depth + 1));
    let node = parse_type_inner(debug, die);
    PARSE_DEPTH.with(|d| d.set(depth));
    node
}

fn parse_type_inner(debug: &Arc<ObjectDebug>, die: DieRef) -> TypeNode {
    let Some((unit, entry)) = debug.entry(die) else {
        return TypeNode::empty(Some(die), TypeKind::Unknown);
    };
    let kind = match entry.tag() {
        gimli::DW_TAG_base_type => TypeKind::Base,
        gimli::DW_TAG_pointer_type => TypeKind::Pointer,
        gimli::DW_TAG_reference_type => TypeKind::Reference,
        gimli::DW_TAG_rvalue_reference_type => TypeKind::RvalueReference,
        gimli::DW_TAG_ptr_to_member_type => TypeKind::PointerToMember,
        gimli::DW_TAG_array_type => TypeKind::Array,
        gimli::DW_TAG_structure_type => TypeKind::Struct,
        gimli::DW_TAG_class_type => TypeKind::Class,
        gimli::DW_TAG_union_type => TypeKind::Union,
        gimli::DW_TAG_enumeration_type => TypeKind::Enum,
        gimli::DW_TAG_typedef => TypeKind::Typedef,
        gimli::DW_TAG_const_type => TypeKind::Const,
        gimli::DW_TAG_volatile_type => TypeKind::Volatile,
        gimli::DW_TAG_restrict_type => TypeKind::Restrict,
        gimli::DW_TAG_atomic_type => TypeKind::Atomic,
        gimli::DW_TAG_subroutine_type | gimli::DW_TAG_subprogram => TypeKind::Function,
        gimli::DW_TAG_unspecified_type => TypeKind::Unspecified,
        _ => TypeKind::Unknown,
    };
    let mut node = TypeNode::empty(Some(die), kind);
    node.cplusplus = debug.is_cplusplus(die.unit);
    node.name = entry
        .attr_value(gimli::DW_AT_name)
        .and_then(|value| debug.string(die.unit, value))
        .map(|name| {
            let prefix = super::qualified::scope_prefix(debug, die);
            if prefix.is_empty() {
                name
            } else {
                format!("{prefix}{name}")
            }
        });
    node.size = entry
        .attr_value(gimli::DW_AT_byte_size)
        .and_then(|v| v.udata_value())
        .or_else(|| {
            entry
                .attr_value(gimli::DW_AT_bit_size)
                .and_then(|v| v.udata_value())
                .map(|bits| bits.div_ceil(8))
        });
    node.target = debug.attr_ref(die.unit, &entry, gimli::DW_AT_type);
    node.declaration = matches!(
        entry.attr_value(gimli::DW_AT_declaration),
        Some(AttributeValue::Flag(true))
    );
    node.prototyped = matches!(
        entry.attr_value(gimli::DW_AT_prototyped),
        Some(AttributeValue::Flag(true))
    ) || node.cplusplus;
    if let Some(AttributeValue::Encoding(encoding)) = entry.attr_value(gimli::DW_AT_encoding) {
        node.encoding = Some(match encoding {
            gimli::DW_ATE_signed => BaseEncoding::Signed,
            gimli::DW_ATE_unsigned => BaseEncoding::Unsigned,
            gimli::DW_ATE_signed_char => BaseEncoding::SignedChar,
            gimli::DW_ATE_unsigned_char => BaseEncoding::UnsignedChar,
            gimli::DW_ATE_boolean => BaseEncoding::Boolean,
            gimli::DW_ATE_float => BaseEncoding::Float,
            gimli::DW_ATE_complex_float => BaseEncoding::ComplexFloat,
            gimli::DW_ATE_UTF => BaseEncoding::Utf,
            _ => BaseEncoding::Other,
        });
    }
    if kind == TypeKind::PointerToMember {
        node.containing = debug.attr_ref(die.unit, &entry, gimli::DW_AT_containing_type);
    }
    if entry.has_children() {
        read_children(debug, &unit, die, &mut node);
    }
    node
}

/// Reads the children of a type DIE that describe it: members, base classes, enumerators,
/// array dimensions, function parameters.
fn read_children(debug: &Arc<ObjectDebug>, unit: &Unit, die: DieRef, node: &mut TypeNode) {
    let Ok(mut tree) = unit.entries_tree(Some(die.offset)) else {
        return;
    };
    let Ok(root) = tree.root() else {
        return;
    };
    let enum_signed = node.kind == TypeKind::Enum
        && node
            .target
            .is_some_and(|base| Type::at(debug, Some(base)).is_signed());
    let mut children = root.children();
    while let Ok(Some(child)) = children.next() {
        let entry = child.entry();
        let child_die = DieRef {
            unit: die.unit,
            offset: entry.offset(),
        };
        match (node.kind, entry.tag()) {
            (TypeKind::Struct | TypeKind::Class | TypeKind::Union, gimli::DW_TAG_member) => {
                if is_static_member(entry) {
                    continue;
                }
                node.members.push(read_member(debug, child_die, entry, false));
            }
            (TypeKind::Struct | TypeKind::Class | TypeKind::Union, gimli::DW_TAG_inheritance) => {
                node.members.push(read_member(debug, child_die, entry, true));
            }
            (TypeKind::Enum, gimli::DW_TAG_enumerator) => {
                let name = entry
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|v| debug.string(die.unit, v));
                let value = entry
                    .attr_value(gimli::DW_AT_const_value)
                    .and_then(|v| constant_value(&v, enum_signed));
                if let (Some(name), Some(value)) = (name, value) {
                    node.enumerators.push(Enumerator { name, value });
                }
            }
            (TypeKind::Array, gimli::DW_TAG_subrange_type | gimli::DW_TAG_enumeration_type) => {
                node.dims.push(subrange_count(entry));
            }
            (TypeKind::Function, gimli::DW_TAG_formal_parameter) => {
                node.params
                    .push(debug.attr_ref(die.unit, entry, gimli::DW_AT_type));
            }
            (TypeKind::Function, gimli::DW_TAG_unspecified_parameters) => node.varargs = true,
            _ => {}
        }
    }
    if node.kind == TypeKind::Array && node.dims.is_empty() {
        node.dims.push(None);
    }
}

/// A static data member (DWARF 4: `DW_TAG_member` with `DW_AT_external` or `DW_AT_declaration`).
fn is_static_member(entry: &Entry) -> bool {
    let flag = |at| matches!(entry.attr_value(at), Some(AttributeValue::Flag(true)));
    flag(gimli::DW_AT_external) || flag(gimli::DW_AT_declaration)
}

/// Reads a member or base class DIE.
fn read_member(debug: &Arc<ObjectDebug>, die: DieRef, entry: &Entry, base: bool) -> MemberNode {
    let name = if base {
        None
    } else {
        entry
            .attr_value(gimli::DW_AT_name)
            .and_then(|v| debug.string(die.unit, v))
            .map(crate::snapshot::SharedStr::from)
    };
    let ty = debug.attr_ref(die.unit, entry, gimli::DW_AT_type);
    let location = entry.attr_value(gimli::DW_AT_data_member_location);
    let mut offset = match &location {
        None => Some(0),
        Some(value) => member_offset(value),
    };
    let bit_size = entry
        .attr_value(gimli::DW_AT_bit_size)
        .and_then(|v| v.udata_value());
    let mut bit_field = None;
    if let Some(bit_size) = bit_size {
        if let Some(data_bit_offset) = entry
            .attr_value(gimli::DW_AT_data_bit_offset)
            .and_then(|v| v.udata_value())
        {
            // DWARF 4+: bits from the start of the struct.
            bit_field = Some(BitField {
                bit_offset: data_bit_offset,
                bit_size,
            });
            offset = Some(data_bit_offset / 8);
        } else if let Some(old_offset) = entry
            .attr_value(gimli::DW_AT_bit_offset)
            .and_then(|v| v.udata_value())
        {
            // DWARF 2/3: bits from the most significant bit of the storage unit (of
            // DW_AT_byte_size, else the member type's size) at data_member_location.
            let storage = entry
                .attr_value(gimli::DW_AT_byte_size)
                .and_then(|v| v.udata_value())
                .or_else(|| Type::at(debug, ty).size())
                .unwrap_or(4);
            let storage_bits = storage * 8;
            if let Some(lsb) = storage_bits
                .checked_sub(old_offset)
                .and_then(|v| v.checked_sub(bit_size))
            {
                let start = offset.unwrap_or(0) * 8 + lsb;
                bit_field = Some(BitField {
                    bit_offset: start,
                    bit_size,
                });
                offset = Some(start / 8);
            }
        } else {
            bit_field = Some(BitField {
                bit_offset: offset.unwrap_or(0) * 8,
                bit_size,
            });
        }
    }
    MemberNode {
        name,
        ty,
        offset,
        bit_field,
        base,
        ty_node: std::sync::OnceLock::new(),
    }
}

/// A `DW_AT_data_member_location`: a constant, or the `DW_OP_plus_uconst N` expression older
/// compilers emit; other expressions (virtual bases) are only known at run time.
fn member_offset(value: &AttributeValue<DwarfReader>) -> Option<u64> {
    if let Some(constant) = value.udata_value() {
        return Some(constant);
    }
    let bytes = match value {
        AttributeValue::Exprloc(expression) => expression.0.clone(),
        AttributeValue::Block(block) => block.clone(),
        _ => return None,
    };
    let mut ops = gimli::Expression(bytes).operations(gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version: 4,
        address_size: 8,
    });
    match (ops.next(), ops.next()) {
        (Ok(Some(gimli::Operation::PlusConstant { value })), Ok(None)) => Some(value),
        (Ok(Some(gimli::Operation::UnsignedConstant { value })), Ok(None)) => Some(value),
        _ => None,
    }
}

/// The element count of an array dimension: `DW_AT_count`, or `upper - lower + 1` (lower bound
/// 0 by default, as in C); `None` for flexible and variable-length arrays.
fn subrange_count(entry: &Entry) -> Option<u64> {
    if let Some(count) = entry.attr_value(gimli::DW_AT_count).and_then(|v| v.udata_value()) {
        return Some(count);
    }
    let upper = entry.attr_value(gimli::DW_AT_upper_bound)?;
    let upper = match upper {
        AttributeValue::Sdata(v) => v,
        other => i64::try_from(other.udata_value()?).ok()?,
    };
    let lower = entry
        .attr_value(gimli::DW_AT_lower_bound)
        .and_then(|v| match v {
            AttributeValue::Sdata(v) => Some(v),
            other => other.udata_value().and_then(|u| i64::try_from(u).ok()),
        })
        .unwrap_or(0);
    // `int x[0]` and GNU flexible arrays have upper bound -1 (or 0xffffffff in unsigned form).
    let count = upper.checked_sub(lower)?.checked_add(1)?;
    u64::try_from(count).ok()
}

/// A `DW_AT_const_value` read as an integer; data forms are sign-extended when `signed`.
fn constant_value(value: &AttributeValue<DwarfReader>, signed: bool) -> Option<i128> {
    Some(match *value {
        AttributeValue::Sdata(v) => i128::from(v),
        AttributeValue::Udata(v) => i128::from(v),
        AttributeValue::Data1(v) if signed => i128::from(v as i8),
        AttributeValue::Data2(v) if signed => i128::from(v as i16),
        AttributeValue::Data4(v) if signed => i128::from(v as i32),
        AttributeValue::Data8(v) if signed => i128::from(v as i64),
        AttributeValue::Data1(v) => i128::from(v),
        AttributeValue::Data2(v) => i128::from(v),
        AttributeValue::Data4(v) => i128::from(v),
        AttributeValue::Data8(v) => i128::from(v),
        _ => return None,
    })
}
