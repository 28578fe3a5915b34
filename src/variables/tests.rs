//! Tests of the variables engine on a real running program (`tests/fixtures/variables/types.c`):
//! type names in C declarator syntax, value encoding, bit fields, strings, unreadable memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use super::*;
use crate::debuginfo::{read_maps, ProcessObjects};
use crate::memory::{MemoryReader, MemorySnapshot};
use crate::snapshot::Variable;
use crate::tracer::ProcessMemory;

/// The fixture, compiled and running; killed when dropped.
struct Running {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles `tests/fixtures/variables/<source>` with `compiler` and `flags` into a temp dir.
fn compile(source: &str, compiler: &str, flags: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let binary = dir.path().join("fixture");
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/variables")
        .join(source);
    let output = Command::new(compiler)
        .args(["-g", "-Wall", "-Wextra", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("the compiler runs");
    assert!(
        output.status.success(),
        "{compiler} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, binary)
}

/// Starts the C fixture and waits for its `ready` line.
fn start_types() -> Running {
    let (dir, binary) = compile("types.c", "cc", &["-O0", "-std=gnu11"]);
    let mut child = Command::new(&binary)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the fixture starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the fixture's stdout");
    assert_eq!(line.trim(), "ready");
    Running { child, _dir: dir }
}

/// The variables engine over the fixture's objects.
struct Engine {
    variables: ProcessVariables,
    memory: ProcessMemory,
}

impl Engine {
    fn new(pid: i32) -> Self {
        let maps = read_maps(pid).expect("maps");
        let memory = ProcessMemory::new(pid);
        let objects = ProcessObjects::load(&maps, &memory).expect("objects");
        Self {
            variables: ProcessVariables::new(&objects),
            memory,
        }
    }

    fn global(&self, name: &str) -> GlobalVariable {
        self.variables
            .find_global(name, Some("fixture"), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn read(&self, name: &str) -> Variable {
        self.read_with(name, &self.memory)
    }

    fn read_with(&self, name: &str, memory: &dyn MemoryReader) -> Variable {
        let global = self.global(name);
        self.variables
            .read_global(&global, memory, None, &VariableLimits::default())
    }
}

fn child<'a>(variable: &'a Variable, name: &str) -> &'a Variable {
    variable
        .children
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{} has no member {name}: {variable:?}", variable.name))
}

#[test]
fn type_names_follow_c_declarator_syntax() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let cases = [
        ("matrix", "int [2][3]", "int", "array"),
        ("pointer_to_array", "int (*)[3]", "int", "reference"),
        ("function_pointer", "int (*)(int)", "int (int)", "fn"),
        ("function_pointers", "int (*[2])(int)", "int (int)", "array"),
        ("text", "char [6]", "char", "string"),
        ("const_pointer", "char *const", "char", "reference"),
        ("greeting", "const char *const", "char", "reference"),
        (
            "pointer_to_const_pointer",
            "const char *const *",
            "char",
            "reference",
        ),
        ("cv_int", "const volatile int", "int", "ll"),
        ("names", "char [2][8]", "char", "array"),
        ("origin", "point_t", "point_t", "tuple"),
        ("origin_ptr", "point_ptr", "point_t", "reference"),
        ("first", "struct node", "node", "tuple"),
        ("anon", "struct with_anon", "with_anon", "tuple"),
        ("yes", "_Bool", "_Bool", "ull"),
        ("letter", "char", "char", "ll"),
        ("byte", "unsigned char", "unsigned char", "ull"),
        ("wide", "wchar_t", "int", "ll"),
        ("c16", "char16_t", "short unsigned int", "ull"),
        ("big", "long long unsigned int", "long long unsigned int", "ull"),
        ("huge", "__int128", "__int128", "ll"),
        ("single", "float", "float", "flt"),
        ("dbl", "double", "double", "dbl"),
        ("extended", "long double", "long double", "ldbl"),
        ("complex_float", "complex float", "complex float", "cflt"),
        ("complex_double", "complex double", "complex double", "cdbl"),
        (
            "complex_long_double",
            "complex long double",
            "complex long double",
            "cldbl",
        ),
        ("favorite", "enum color", "color", "enum"),
        ("nothing", "void *", "void", "reference"),
    ];
    for (name, type_name, base_type, kind) in cases {
        let variable = engine.read(name);
        assert_eq!(variable.type_name, type_name, "type of {name}");
        assert_eq!(variable.base_type, base_type, "base type of {name}");
        assert_eq!(variable.kind, kind, "kind of {name}");
        assert_eq!(variable.state, "ok", "{name}: {variable:?}");
    }
    // The type model agrees with the names.
    let matrix = engine.global("matrix").ty();
    assert_eq!(matrix.size(), Some(24));
    let row = matrix.target().expect("an element type");
    assert_eq!(row.name(), "int [3]");
    assert_eq!(row.element_count(), Some(3));
    assert_eq!(row.target().map(|t| t.name()).as_deref(), Some("int"));
    let origin = engine.global("origin_ptr").ty();
    assert_eq!(origin.kind(), TypeKind::Typedef);
    let pointee = origin.strip_typedefs().target().expect("pointee");
    assert_eq!(pointee.name(), "point_t");
    let members: Vec<_> = pointee
        .members()
        .into_iter()
        .map(|m| (m.name, m.offset))
        .collect();
    assert_eq!(
        members,
        vec![(Some("x".into()), Some(0)), (Some("y".into()), Some(4))]
    );
    let found = engine
        .variables
        .find_type("struct node", None)
        .expect("struct node");
    assert_eq!(found.size(), Some(16));
    assert_eq!(
        found.member("next").map(|m| m.ty.name()).as_deref(),
        Some("struct node *")
    );
    assert!(engine.variables.find_type("point_t", Some("fixture")).is_ok());
    // A typed view of memory: `second` read through `first.next`'s address as a struct node.
    let next = engine.read("first");
    let address = u64::from_str_radix(
        child(&next, "next")
            .value
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let viewed = engine.variables.read_typed(
        "*next",
        &found,
        address,
        &engine.memory,
        &VariableLimits::default(),
    );
    assert_eq!(viewed.type_name, "struct node");
    assert_eq!(child(&viewed, "value").value, json!(2));
    assert!(engine.variables.find_type("struct no_such_struct", None).is_err());
}

#[test]
fn values_are_encoded_as_the_format_says() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let value = |name: &str| engine.read(name).value;
    assert_eq!(value("yes"), json!(1));
    assert_eq!(value("letter"), json!(65));
    assert_eq!(value("small"), json!(-5));
    assert_eq!(value("byte"), json!(200));
    assert_eq!(value("wide"), json!(90));
    assert_eq!(value("c16"), json!(120));
    assert_eq!(value("c32"), json!(121));
    assert_eq!(value("negative_short"), json!(-300));
    assert_eq!(value("cv_int"), json!(7));
    // The 53-bit rule: beyond it, decimal strings.
    assert_eq!(value("big"), json!("18446744073709551615"));
    assert_eq!(value("below_safe"), json!("-9007199254740993"));
    assert_eq!(value("safe"), json!(9007199254740991i64));
    assert_eq!(value("huge"), json!("1267650600228229401496703205381"));
    // Floats, with NaN and infinities as strings.
    assert_eq!(value("single"), json!(1.5));
    assert_eq!(value("dbl"), json!(-2.25));
    assert_eq!(value("extended"), json!(3.5));
    assert_eq!(value("not_a_number"), json!("nan"));
    assert_eq!(value("infinity"), json!("inf"));
    assert_eq!(value("minus_infinity"), json!("-inf"));
    assert_eq!(value("complex_float"), json!([1.0, 2.0]));
    assert_eq!(value("complex_double"), json!([-1.5, 0.5]));
    assert_eq!(value("complex_long_double"), json!([2.0, -3.0]));
    // Enums: value and label; a value with no label has none.
    let favorite = engine.read("favorite");
    assert_eq!(
        (favorite.value, favorite.symbol.as_deref()),
        (json!(2), Some("GREEN"))
    );
    let mixed = engine.read("mixed");
    assert_eq!((mixed.value, mixed.symbol), (json!(3), None));
    let negative = engine.read("negative");
    assert_eq!(
        (negative.value, negative.symbol.as_deref()),
        (json!(-3), Some("NEG"))
    );
    // Pointers: hex addresses; strings and function names in `symbol`.
    let function_pointer = engine.read("function_pointer");
    assert_eq!(function_pointer.symbol.as_deref(), Some("square"));
    assert!(function_pointer.value.as_str().unwrap().starts_with("0x"));
    assert_eq!(engine.read("greeting").symbol.as_deref(), Some("hi"));
    assert_eq!(engine.read("const_pointer").symbol.as_deref(), Some("hello"));
    assert_eq!(engine.read("wide_string").symbol.as_deref(), Some("wide"));
    assert_eq!(engine.read("u16_string").symbol.as_deref(), Some("sixteen"));
    assert_eq!(engine.read("u32_string").symbol.as_deref(), Some("thirty-two"));
    assert_eq!(engine.read("nothing").value, json!("0x0"));
    let pointers = engine.read("function_pointers");
    assert_eq!(pointers.children[0].symbol.as_deref(), Some("square"));
    assert_eq!(pointers.children[1].value, json!("0x0"));
    // Arrays: elements as children, multi-dimensional, bounded.
    let matrix = engine.read("matrix");
    let rows: Vec<Vec<Value>> = matrix
        .children
        .iter()
        .map(|row| row.children.iter().map(|e| e.value.clone()).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![json!(1), json!(2), json!(3)],
            vec![json!(4), json!(5), json!(6)]
        ]
    );
    assert_eq!(matrix.children[1].name, "[1]");
    assert_eq!(matrix.children[1].type_name, "int [3]");
    let names = engine.read("names");
    assert_eq!(names.children[1].kind, "string");
    assert_eq!(names.children[1].symbol.as_deref(), Some("cd"));
    let big_array = engine.read("big_array");
    assert_eq!(big_array.state, "truncated");
    assert_eq!(big_array.children.len(), VariableLimits::default().max_elements);
    assert_eq!(big_array.children[99].value, json!(99));
    // Structs: members with their addresses; pointers not followed.
    let first = engine.read("first");
    assert_eq!(child(&first, "value").value, json!(1));
    let next = child(&first, "next");
    assert_eq!(next.kind, "reference");
    assert!(next.children.is_empty());
    assert_eq!(
        next.value,
        json!(format!(
            "{:#x}",
            engine.global("second").address(&engine.memory, None).unwrap()
        ))
    );
    let origin = engine.read("origin");
    assert_eq!(
        (
            child(&origin, "x").value.clone(),
            child(&origin, "y").value.clone()
        ),
        (json!(3), json!(-4))
    );
    let base = origin.address.unwrap().0;
    assert_eq!(child(&origin, "y").address.unwrap().0, base + 4);
}

#[test]
fn bit_fields_and_anonymous_members() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let bits = engine.read("bit_fields");
    assert_eq!(child(&bits, "low").value, json!(5));
    assert_eq!(child(&bits, "neg").value, json!(-7));
    assert_eq!(child(&bits, "straddle").value, json!(0xabc));
    assert_eq!(child(&bits, "flag").value, json!(1));
    let col = child(&bits, "col");
    assert_eq!(
        (col.value.clone(), col.symbol.as_deref()),
        (json!(4), Some("BLUE"))
    );
    assert_eq!(col.kind, "enum");
    let ty = engine.global("bit_fields").ty();
    let straddle = ty.member("straddle").expect("member");
    assert_eq!(
        straddle.bit_field,
        Some(BitField {
            bit_offset: 8,
            bit_size: 12
        })
    );

    let anon = engine.read("anon");
    assert_eq!(child(&anon, "tag").value, json!(9));
    let unnamed: Vec<&Variable> = anon.children.iter().filter(|c| c.name.is_empty()).collect();
    assert_eq!(unnamed.len(), 2, "{anon:?}");
    assert_eq!(child(unnamed[0], "as_int").value, json!(42));
    assert_eq!(unnamed[0].kind, "tuple");
    assert_eq!(child(unnamed[1], "b").value, json!(2));
    // Members of anonymous members are found by name through the type.
    let ty = engine.global("anon").ty();
    assert_eq!(ty.member("b").and_then(|m| m.offset), Some(10));
}

#[test]
fn unreadable_memory_is_a_state_not_a_failure() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    // Pointers to unmapped memory: the pointer is fine, the string is just not there.
    let unreadable = engine.read("unreadable_string");
    assert_eq!(unreadable.value, json!("0x10"));
    assert_eq!(unreadable.symbol, None);
    assert_eq!(unreadable.state, "ok");
    // The variables themselves in memory that cannot be read.
    let nowhere = MemorySnapshot::default();
    for name in [
        "origin",
        "big",
        "text",
        "matrix",
        "bit_fields",
        "greeting",
        "extended",
    ] {
        let variable = engine.read_with(name, &nowhere);
        assert_eq!(variable.state, "unreadable", "{name}: {variable:?}");
        assert_eq!(variable.value, Value::Null);
        assert!(variable.children.is_empty());
        assert!(!variable.annotations.is_empty(), "the reason is given");
    }
    // Memory that ends in the middle of a struct: the members before the end are read.
    let origin = engine.global("origin");
    let address = origin.address(&engine.memory, None).expect("an address");
    let half = MemorySnapshot {
        base: address,
        bytes: engine.memory.read_exact(address, 4).expect("readable"),
    };
    let variable = engine
        .variables
        .read_global(&origin, &half, None, &VariableLimits::default());
    assert_eq!(child(&variable, "x").value, json!(3));
    assert_eq!(child(&variable, "y").state, "unreadable");
}

#[test]
fn globals_are_enumerated_lazily_with_filters() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let filter = GlobalFilter {
        object: Some("fixture".into()),
        cu: Some("types.c".into()),
        ..GlobalFilter::default()
    };
    let mut iter = engine.variables.globals(filter);
    let first = iter.next().expect("a global");
    assert_eq!(first.name(), "matrix");
    assert!(first.object_path().ends_with("fixture"));
    assert!(first.cu_name().unwrap().ends_with("types.c"));
    let names: Vec<String> = iter.map(|g| g.name().to_string()).collect();
    assert!(names.contains(&"big_array".to_string()));
    assert!(!names.iter().any(|n| n == "square"), "functions are not globals");
    // An exact name filter, and one that matches nothing.
    let only = engine.variables.globals(GlobalFilter {
        name: Some("origin".into()),
        object: Some("fixture".into()),
        ..GlobalFilter::default()
    });
    assert_eq!(only.count(), 1);
    let none = engine.variables.globals(GlobalFilter {
        cu: Some("no-such-unit.c".into()),
        ..GlobalFilter::default()
    });
    assert_eq!(none.count(), 0);
    // Globals of other objects (libc) are found too.
    let environ = engine.variables.find_global("__environ", Some("libc"), None);
    assert!(environ.is_ok(), "{environ:?}");
}

#[test]
fn thread_locals_are_listed_without_building_the_name_index() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let wanted = |path: &str| path.ends_with("fixture") || path.contains("libc.so");
    let listed: Vec<(String, String)> = engine
        .variables
        .thread_locals(&|object| wanted(&object.path))
        .iter()
        .map(|g| (g.object_path().to_string(), g.name().to_string()))
        .collect();
    // The light walk finds what the full enumeration finds, in the same order.
    let enumerated: Vec<(String, String)> = engine
        .variables
        .globals(GlobalFilter {
            thread_local: Some(true),
            ..GlobalFilter::default()
        })
        .filter(|g| wanted(g.object_path()))
        .map(|g| (g.object_path().to_string(), g.name().to_string()))
        .collect();
    assert_eq!(listed, enumerated);
    let names: Vec<&str> = listed.iter().map(|(_, name)| name.as_str()).collect();
    assert!(names.starts_with(&["tls_counter", "tls_node"]), "{names:?}");
    assert!(names.contains(&"errno"), "libc's thread-locals: {names:?}");
    assert!(
        engine.variables.debug_objects().all(|debug| !debug.names_built()),
        "listing thread-locals built a name index"
    );
}

/// A TLS resolver that puts every object's TLS block at one address.
struct FixedTls(u64);

impl TlsResolver for FixedTls {
    fn tls_block(&self, _object: &crate::debuginfo::LoadedObject) -> Option<u64> {
        Some(self.0)
    }
}

#[test]
fn thread_local_variables_go_through_the_tls_resolver() {
    let running = start_types();
    let engine = Engine::new(running.child.id() as i32);
    let locals: Vec<String> = engine
        .variables
        .globals(GlobalFilter {
            object: Some("fixture".into()),
            thread_local: Some(true),
            ..GlobalFilter::default()
        })
        .map(|g| g.name().to_string())
        .collect();
    assert_eq!(locals, ["tls_counter", "tls_node"]);
    assert!(!engine.global("origin").is_thread_local());

    // Without a resolver: optimized out, and why.
    let counter = engine.global("tls_counter");
    assert!(counter.is_thread_local());
    let unknown = engine
        .variables
        .read_global(&counter, &engine.memory, None, &VariableLimits::default());
    assert_eq!(unknown.state, "optimized_out");
    assert!(format!("{:?}", unknown.annotations).contains("TLS unavailable"));
    assert_eq!(counter.address(&engine.memory, None), None);

    // With one: the variable is at the block plus its offset, and read there.
    let block = 0x10000;
    let tls = FixedTls(block);
    let address = counter.address(&engine.memory, Some(&tls)).expect("an address");
    assert!(address >= block && address < block + 4096, "{address:#x}");
    let memory = MemorySnapshot {
        base: address,
        bytes: 42i32.to_le_bytes().to_vec(),
    };
    let read = engine
        .variables
        .read_global(&counter, &memory, Some(&tls), &VariableLimits::default());
    assert_eq!(read.value, json!(42));
    assert_eq!(read.address.map(|a| a.0), Some(address));
}
