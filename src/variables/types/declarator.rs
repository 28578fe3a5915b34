//! Type names in C declarator syntax: the declarator grows around an inner part while walking
//! from the outermost derived type to the base, so pointers to arrays and functions come out as
//! C writes them (`int (*)[4]`, `int (*)(int)`, `char *const *`).

use super::{Type, TypeKind};

/// How many derived types are followed before the name is cut short (corrupt DWARF loops).
const MAX_DEPTH: usize = 48;

/// How many types one name is rendered from at most, parameter lists included: a function type
/// whose parameters are pointers to itself (corrupt DWARF) would otherwise branch without end.
const MAX_PARTS: usize = 256;

/// How the names of structs, classes, unions and enums are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeafStyle {
    /// As C writes them: `struct foo` (`foo` in C++).
    C,
    /// As the module API's `bt_type_pp` writes them, in every language: every aggregate (C
    /// struct and union, C++ class, struct and union, template instances included) as
    /// `struct(name)` (`struct(ns::Foo)`, `struct(Ring<int, 4>)`), enums as `enum(e)`;
    /// `struct(<anonymous>)` without a name. Modules recognise aggregates by that prefix.
    Tagged,
}

/// The type as the module API's `bt_type_pp` writes it: C declarator syntax, with every
/// aggregate (C struct and union, C++ class, struct and union, template instances included)
/// written `struct(name)` and every enum `enum(name)` (C++ names qualified with their
/// namespaces; `struct(<anonymous>)` without a name), whatever the source language. Base types
/// and typedefs keep their names; qualifiers, pointers, references, arrays and functions are
/// written as in C:
///
/// | C                              | `type_pp`                           |
/// |--------------------------------|-------------------------------------|
/// | `struct somestruct *`          | `struct(somestruct) *`              |
/// | `struct nested ***`            | `struct(nested) ***`                |
/// | `const char *`                 | `const char *`                      |
/// | `const Shelf &` (C++)          | `const struct(shop::inventory::Shelf) &` |
/// | `enum crash_mode`              | `enum(crash_mode)`                  |
/// | `union value`                  | `struct(value)`                     |
/// | `Ring<int, 4>` (C++ class)     | `struct(shop::Ring<int, 4>)`        |
/// | `struct node *[4]`             | `struct(node) *[4]`                 |
/// | `int (*)(int)`                 | `int (*)(int)`                      |
pub fn type_pp(ty: &Type) -> String {
    render_in(ty, LeafStyle::Tagged)
}

/// The C text of `ty`.
pub(crate) fn render(ty: &Type) -> String {
    render_in(ty, LeafStyle::C)
}

/// The C text of `ty`, struct-like names written in `style`.
pub(crate) fn render_in(ty: &Type, style: LeafStyle) -> String {
    let parts = std::cell::Cell::new(MAX_PARTS);
    render_with(ty, String::new(), String::new(), 0, style, &parts)
}

/// Renders `ty` around `declarator`, with `qualifiers` (`const `...) waiting to be put in front
/// of the base type; `parts` counts down the types that may still be rendered.
fn render_with(
    ty: &Type,
    declarator: String,
    qualifiers: String,
    depth: usize,
    style: LeafStyle,
    parts: &std::cell::Cell<usize>,
) -> String {
    if depth > MAX_DEPTH || parts.get() == 0 {
        return join(&format!("{qualifiers}..."), &declarator);
    }
    parts.set(parts.get() - 1);
    let next = |t: Option<Type>, d: String, q: String| match t {
        Some(t) => render_with(&t, d, q, depth + 1, style, parts),
        None => join(&format!("{q}?"), &d),
    };
    match ty.kind() {
        TypeKind::Pointer | TypeKind::Reference | TypeKind::RvalueReference | TypeKind::PointerToMember => {
            let sigil = match ty.kind() {
                TypeKind::Pointer => "*".to_string(),
                TypeKind::Reference => "&".to_string(),
                TypeKind::RvalueReference => "&&".to_string(),
                _ => {
                    let class = ty
                        .containing()
                        .map(|c| leaf_name(&c, style))
                        .unwrap_or_else(|| "?".into());
                    format!("{class}::*")
                }
            };
            let mut inner = format!("{sigil}{declarator}");
            let target = ty.target();
            if target
                .as_ref()
                .is_some_and(|t| matches!(t.kind(), TypeKind::Array | TypeKind::Function))
            {
                inner = format!("({inner})");
            }
            next(target, inner, qualifiers)
        }
        TypeKind::Const | TypeKind::Volatile | TypeKind::Restrict | TypeKind::Atomic => {
            // A run of qualifiers, written in C's usual order whatever DWARF's nesting.
            let (words, target) = qualifier_run(ty);
            // Qualifiers of a pointer go after its `*`; others in front of the base type.
            let qualifies_pointer = target.as_ref().is_some_and(|t| {
                matches!(
                    t.kind(),
                    TypeKind::Pointer
                        | TypeKind::Reference
                        | TypeKind::RvalueReference
                        | TypeKind::PointerToMember
                )
            });
            if qualifies_pointer {
                let inner = if declarator.is_empty() {
                    words
                } else {
                    format!("{words} {declarator}")
                };
                next(target, inner, qualifiers)
            } else {
                next(target, declarator, format!("{qualifiers}{words} "))
            }
        }
        TypeKind::Array => {
            let dimension = match ty.element_count() {
                Some(count) => format!("[{count}]"),
                None => "[]".to_string(),
            };
            next(ty.target(), format!("{declarator}{dimension}"), qualifiers)
        }
        TypeKind::Function => {
            let parameters = ty.parameters();
            let mut list: Vec<String> = parameters
                .iter()
                .map(|p| render_with(p, String::new(), String::new(), depth + 1, style, parts))
                .collect();
            if ty.is_variadic() {
                list.push("...".to_string());
            }
            let text = if list.is_empty() && ty.node.prototyped && !ty.is_cplusplus() {
                "void".to_string()
            } else {
                list.join(", ")
            };
            next(ty.target(), format!("{declarator}({text})"), qualifiers)
        }
        _ => join(&format!("{qualifiers}{}", leaf_name(ty, style)), &declarator),
    }
}

/// `base declarator`, or `base` alone.
fn join(base: &str, declarator: &str) -> String {
    if declarator.is_empty() {
        base.to_string()
    } else {
        format!("{base} {declarator}")
    }
}

/// The qualifiers starting at `ty` as C writes them (`const volatile`), and the type they
/// qualify.
fn qualifier_run(ty: &Type) -> (String, Option<Type>) {
    let mut seen = [false; 4];
    let mut current = Some(ty.clone());
    for _ in 0..MAX_DEPTH {
        let Some(t) = current.as_ref() else { break };
        let slot = match t.kind() {
            TypeKind::Const => 0,
            TypeKind::Volatile => 1,
            TypeKind::Restrict => 2,
            TypeKind::Atomic => 3,
            _ => break,
        };
        seen[slot] = true;
        current = t.target();
    }
    let words: Vec<&str> = ["const", "volatile", "restrict", "_Atomic"]
        .into_iter()
        .zip(seen)
        .filter_map(|(word, present)| present.then_some(word))
        .collect();
    (words.join(" "), current)
}

/// The name of a type that is not derived: `int`, `struct foo` (`foo` in C++), `enum e`,
/// `union {...}`, a typedef's name (`struct(foo)` ... in [`LeafStyle::Tagged`]).
fn leaf_name(ty: &Type, style: LeafStyle) -> String {
    let tag = match ty.kind() {
        TypeKind::Struct => "struct",
        TypeKind::Class => "class",
        TypeKind::Union => "union",
        TypeKind::Enum => "enum",
        TypeKind::Void => return "void".to_string(),
        TypeKind::Unknown => return ty.dwarf_name().unwrap_or("?").to_string(),
        _ => return ty.dwarf_name().unwrap_or("?").to_string(),
    };
    if style == LeafStyle::Tagged {
        let tag = if tag == "enum" { "enum" } else { "struct" };
        return format!("{tag}({})", ty.dwarf_name().unwrap_or("<anonymous>"));
    }
    match ty.dwarf_name() {
        Some(name) if ty.is_cplusplus() => name.to_string(),
        Some(name) => format!("{tag} {name}"),
        None => format!("{tag} {{...}}"),
    }
}

/// The base type name: qualifiers, pointers, references, arrays and typedefs stripped, without
/// the `struct` keyword; an anonymous struct, union or enum takes the name of the last typedef
/// that led to it; a function type keeps its C text.
pub(crate) fn base_name(ty: &Type) -> String {
    let mut current = ty.clone();
    let mut typedef_name: Option<String> = None;
    for _ in 0..MAX_DEPTH {
        match current.kind() {
            TypeKind::Typedef => {
                typedef_name = current.dwarf_name().map(str::to_string);
            }
            TypeKind::Const
            | TypeKind::Volatile
            | TypeKind::Restrict
            | TypeKind::Atomic
            | TypeKind::Pointer
            | TypeKind::Reference
            | TypeKind::RvalueReference
            | TypeKind::Array => {
                typedef_name = None;
            }
            TypeKind::Function => return render(&current),
            TypeKind::Void => return "void".to_string(),
            _ => {
                return current
                    .dwarf_name()
                    .map(str::to_string)
                    .or(typedef_name)
                    .unwrap_or_else(|| leaf_name(&current, LeafStyle::C));
            }
        }
        match current.target() {
            Some(next) => current = next,
            None => break,
        }
    }
    typedef_name.unwrap_or_else(|| "?".to_string())
}
