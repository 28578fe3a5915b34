//! The bt variable navigation engine on `tests/fixtures/btvar/navigate.c`, compiled and running
//! (read live, without stopping it): bit fields, anonymous members, arrays and their bounds,
//! strings, wide integers and floats, pointer chains through typedefs, held and unavailable
//! values, and the errors of each operation.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Target;
use ptrace::debuginfo::{read_maps, ProcessObjects};
use ptrace::memory::MemoryReader;
use ptrace::tracer::ProcessMemory;
use ptrace::variables::{
    base_type, find_type, type_pp, BtError, BtVariable, ProcessVariables, VariableLimits,
};

/// The fixture, running, with the engine over its objects.
struct Fixture {
    _target: Target,
    _dir: tempfile::TempDir,
    process: ProcessVariables,
    memory: ProcessMemory,
}

impl Fixture {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let binary = dir.path().join("navigate");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/btvar/navigate.c");
        let output = Command::new("cc")
            .args(["-g", "-O0", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&binary)
            .arg(&source)
            .output()
            .expect("cc runs");
        assert!(
            output.status.success(),
            "cc failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let target = Target::start(&binary, &[]);
        let pid = target.pid();
        let memory = ProcessMemory::new(pid);
        let objects = ProcessObjects::load(&read_maps(pid).expect("maps"), &memory).expect("objects");
        Self {
            _target: target,
            _dir: dir,
            process: ProcessVariables::new(&objects),
            memory,
        }
    }

    fn global(&self, name: &str) -> BtVariable {
        BtVariable::global(&self.process, name, Some("navigate"), None, &self.memory, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn int(&self, variable: &BtVariable, path: &[&str]) -> i128 {
        self.walk(variable, path)
            .read_int(&self.memory)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    fn walk(&self, variable: &BtVariable, path: &[&str]) -> BtVariable {
        path.iter().fold(variable.clone(), |v, member| {
            v.member(member, &self.memory)
                .unwrap_or_else(|e| panic!("{member}: {e}"))
        })
    }
}

#[test]
fn members_bit_fields_and_anonymous_members() {
    let fixture = Fixture::start();
    let holder = fixture.global("the_holder");
    assert_eq!(fixture.int(&holder, &["tag"]), 9);
    // Anonymous union and struct members are found by name.
    assert_eq!(fixture.int(&holder, &["as_int"]), 42);
    assert_eq!(fixture.int(&holder, &["a"]), 1);
    assert_eq!(fixture.int(&holder, &["b"]), -2);
    let as_float = fixture.walk(&holder, &["as_float"]);
    assert_eq!(
        as_float.read_float(&fixture.memory).unwrap(),
        f64::from(f32::from_bits(42))
    );
    // The anonymous union shares the address of its first member.
    assert_eq!(fixture.walk(&holder, &["as_int"]).address(), as_float.address());
    // Bit fields: values, signs, a field straddling bytes, an enum field.
    assert_eq!(fixture.int(&holder, &["f", "low"]), 5);
    assert_eq!(fixture.int(&holder, &["f", "neg"]), -7);
    assert_eq!(fixture.int(&holder, &["f", "straddle"]), 0xabc);
    assert_eq!(fixture.int(&holder, &["f", "lvl"]), 6);
    assert_eq!(fixture.int(&holder, &["f", "last"]), -200);
    let neg = fixture.walk(&holder, &["f", "neg"]);
    assert_eq!(neg.read_uint(&fixture.memory).unwrap(), 0b11001);
    assert_eq!(neg.bit_field().map(|b| b.width), Some(5));
    let level = fixture.walk(&holder, &["f", "lvl"]).value(
        &fixture.process,
        &fixture.memory,
        &VariableLimits::default(),
    );
    assert_eq!(level.kind, "enum");
    assert_eq!(level.value, serde_json::json!(6));
    assert_eq!(level.symbol.as_deref(), Some("HIGH"));
    let last = fixture.walk(&holder, &["f", "last"]).value(
        &fixture.process,
        &fixture.memory,
        &VariableLimits::default(),
    );
    assert_eq!(last.value, serde_json::json!(-200));
    assert_eq!(last.name, "last");
    // The struct read whole agrees with the members read one by one.
    let whole = holder.value(&fixture.process, &fixture.memory, &VariableLimits::default());
    assert_eq!(whole.kind, "tuple");
    assert_eq!(
        whole.children.first().map(|c| c.value.clone()),
        Some(serde_json::json!(9))
    );
}

#[test]
fn pointer_chains_through_typedefs_and_held_values() {
    let fixture = Fixture::start();
    let chain = fixture.global("holder_chain");
    assert_eq!(chain.type_name(), "holder_ptr_ptr");
    // Two pointers (one const-qualified typedef) followed to reach the struct.
    let tag = fixture.walk(&chain, &["tag"]);
    assert_eq!(tag.read_int(&fixture.memory).unwrap(), 9);
    assert_eq!(tag.path(), "(*holder_chain)->tag");
    assert_eq!(
        fixture
            .walk(&chain, &["f", "straddle"])
            .read_int(&fixture.memory)
            .unwrap(),
        0xabc
    );
    // deref one level at a time reaches the same place.
    let once = chain.deref(&fixture.memory).unwrap();
    assert_eq!(once.type_name(), "const holder_ptr");
    let twice = once.deref(&fixture.memory).unwrap();
    assert_eq!(twice.type_name(), "holder_t");
    assert_eq!(twice.address(), fixture.global("the_holder").address());
    assert_eq!(type_pp(&base_type(chain.ty())), "struct(holder)");

    // A value held in bytes (as a register would hold it): the pointer's bytes, no address.
    let pointer = fixture.global("holder_pointer");
    let bytes = pointer.read_bytes(&fixture.memory).unwrap();
    assert_eq!(bytes.len(), 8);
    let held = BtVariable::from_bytes("held", pointer.ty().clone(), bytes);
    assert_eq!(held.address(), None);
    assert_eq!(fixture.int(&held, &["as_int"]), 42);
    // A struct held in bytes: members slice them.
    let holder_bytes = fixture.global("the_holder").read_bytes(&fixture.memory).unwrap();
    let held_struct = BtVariable::from_bytes("copy", twice.ty().clone(), holder_bytes);
    assert_eq!(fixture.int(&held_struct, &["b"]), -2);
    assert_eq!(fixture.int(&held_struct, &["f", "last"]), -200);
    // Too few bytes: an error, not a panic.
    let short = BtVariable::from_bytes("short", twice.ty().clone(), vec![1, 0]);
    assert!(matches!(
        short.member("tag", &fixture.memory),
        Err(BtError::Unavailable { .. })
    ));

    // An unavailable variable: every read and step says why.
    let gone = BtVariable::unavailable("gone", pointer.ty().clone(), "optimized out at this pc");
    let error = gone.member("tag", &fixture.memory).unwrap_err();
    assert!(matches!(error, BtError::Unavailable { .. }));
    assert!(error.to_string().contains("optimized out at this pc"), "{error}");
    assert_eq!(gone.sizeof().unwrap(), 8);
    let value = gone.value(&fixture.process, &fixture.memory, &VariableLimits::default());
    assert_eq!(value.state, "optimized_out");
}

#[test]
fn arrays_elements_and_bounds() {
    let fixture = Fixture::start();
    let matrix = fixture.global("matrix");
    assert_eq!(matrix.sizeof().unwrap(), 24);
    let row = matrix.index(1, &fixture.memory).unwrap();
    assert_eq!(row.type_name(), "int [3]");
    assert_eq!(row.sizeof().unwrap(), 12);
    for (column, expected) in [4, 5, 6].into_iter().enumerate() {
        let cell = row.index(column as i64, &fixture.memory).unwrap();
        assert_eq!(cell.read_int(&fixture.memory).unwrap(), expected);
        assert_eq!(cell.path(), format!("matrix[1][{column}]"));
    }
    // Out of bounds, both ways, both dimensions.
    for (array, index) in [(&matrix, 2), (&matrix, -1), (&row, 3)] {
        let error = array.index(index, &fixture.memory).unwrap_err();
        assert!(
            matches!(error, BtError::IndexOutOfBounds { .. }),
            "{index}: {error}"
        );
        assert!(error.to_string().contains(&format!("index {index}")), "{error}");
    }
    // deref of an array is its first element; deref_at views an element type elsewhere.
    assert_eq!(
        matrix
            .deref(&fixture.memory)
            .and_then(|r| r.index(2, &fixture.memory))
            .and_then(|c| c.read_int(&fixture.memory))
            .unwrap(),
        3
    );
    let pairs = fixture.global("pairs");
    let element_size = pairs.index(0, &fixture.memory).unwrap().sizeof().unwrap();
    let base = pairs.address().unwrap();
    let third = pairs.deref_at(base + 2 * element_size).unwrap();
    assert_eq!(fixture.int(&third, &["second"]), 30);
    // Element i of an array of structs, then a member.
    let second = pairs.index(1, &fixture.memory).unwrap();
    assert_eq!(fixture.int(&second, &["first"]), 2);
    assert_eq!(second.path(), "pairs[1]");
    // Not indexable.
    let ratio = fixture.global("ratio");
    assert!(matches!(
        ratio.index(0, &fixture.memory),
        Err(BtError::NotIndexable { .. })
    ));
}

#[test]
fn strings_integers_and_floats() {
    let fixture = Fixture::start();
    let memory = &fixture.memory;
    assert_eq!(
        fixture.global("label").read_string(256, memory).unwrap(),
        "navigate"
    );
    assert_eq!(fixture.global("label").read_string(3, memory).unwrap(), "nav");
    assert_eq!(
        fixture.global("unterminated").read_string(256, memory).unwrap(),
        "abcd"
    );
    assert_eq!(
        fixture.global("wide").read_string(256, memory).unwrap(),
        "wide text"
    );
    assert_eq!(fixture.global("wide").read_string(16, memory).unwrap(), "wide");
    let nowhere = fixture.global("nowhere").read_string(64, memory).unwrap_err();
    assert!(
        matches!(nowhere, BtError::Unreadable { address: 16, .. }),
        "{nowhere}"
    );
    assert!(nowhere.to_string().contains("0x10"), "{nowhere}");
    assert_eq!(
        fixture.global("huge").read_int(memory).unwrap(),
        -((1i128 << 100) + 3)
    );
    assert_eq!(
        fixture.global("all_ones").read_uint(memory).unwrap(),
        u128::from(u64::MAX)
    );
    assert_eq!(
        fixture.global("all_ones").read_int(memory).unwrap(),
        i128::from(u64::MAX)
    );
    assert_eq!(fixture.global("minus_one").read_int(memory).unwrap(), -1);
    assert_eq!(
        fixture.global("minus_one").read_uint(memory).unwrap(),
        0xffff_ffff
    );
    assert_eq!(fixture.global("extended").read_float(memory).unwrap(), -6.25);
    assert_eq!(fixture.global("ratio").read_float(memory).unwrap(), 0.125);
    assert_eq!(
        fixture.global("third").read_float(memory).unwrap(),
        f64::from(1.0f32 / 3.0f32)
    );
    // Wrong kinds are errors naming the type.
    let error = fixture.global("ratio").read_int(memory).unwrap_err();
    assert!(matches!(error, BtError::WrongKind { .. }), "{error}");
    assert!(error.to_string().contains("double"), "{error}");
    assert!(fixture.global("minus_one").read_float(memory).is_err());
    assert!(fixture.global("minus_one").read_string(8, memory).is_err());
    assert!(fixture.global("the_holder").read_int(memory).is_err());
}

#[test]
fn opaque_null_and_view_errors() {
    let fixture = Fixture::start();
    let memory = &fixture.memory;
    // void *: no pointee type to follow.
    let opaque = fixture.global("opaque");
    let error = opaque.deref(memory).unwrap_err();
    assert!(matches!(error, BtError::OpaquePointee { .. }), "{error}");
    assert!(matches!(
        opaque.member("tag", memory),
        Err(BtError::OpaquePointee { .. })
    ));
    // ... but it can be cast to the type it points to.
    let holder_ptr = find_type(&fixture.process, "holder_ptr", None).unwrap();
    assert_eq!(fixture.int(&opaque.cast(&holder_ptr), &["as_int"]), 42);
    let holder = find_type(&fixture.process, "struct holder", Some("navigate")).unwrap();
    let viewed = opaque.view_as(&holder, fixture.global("the_holder").address().unwrap());
    assert_eq!(fixture.int(&viewed, &["f", "low"]), 5);
    // NULL: member access and deref fail naming the pointer; reading at 0 is unreadable.
    let no_pair = fixture.global("no_pair");
    for error in [
        no_pair.member("first", memory).unwrap_err(),
        no_pair.deref(memory).unwrap_err(),
    ] {
        assert!(matches!(error, BtError::NullPointer { .. }), "{error}");
        assert!(error.to_string().contains("no_pair"), "{error}");
    }
    let at_zero = no_pair.deref_at(0).unwrap();
    assert!(matches!(
        at_zero.member("first", memory).and_then(|f| f.read_int(memory)),
        Err(BtError::Unreadable { address: 0, .. })
    ));
    assert_eq!(
        at_zero
            .value(&fixture.process, memory, &VariableLimits::default())
            .state,
        "unreadable"
    );
    // Unknown types and globals.
    assert!(matches!(
        find_type(&fixture.process, "struct no_such_type", None),
        Err(BtError::Lookup(_))
    ));
    assert!(BtVariable::global(&fixture.process, "no_such_global", None, None, memory, None).is_err());
    // Every read goes through the reader given: an empty one reads nothing.
    let empty = ptrace::memory::MemorySnapshot::default();
    assert!(empty.read_u64(0).is_none());
    assert!(matches!(
        fixture.global("minus_one").read_int(&empty),
        Err(BtError::Unreadable { .. })
    ));
}
