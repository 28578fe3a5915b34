//! The bt variable navigation engine on the example programs of `c-examples`, as the pmodule
//! tutorial's `array_iter` module uses it:
//! - `crash hang 2`, read live through `ProcessMemory` without stopping it (it is parked): the
//!   `STAILQ` list of `some_struct_g`, `papa.kids[i].nppp->c` through three pointers (by index
//!   and by `deref_at` like the tutorial), strings, sizes, and the errors;
//! - `cpp_example hang`, stopped and unwound: bt variables rebuilt from the extracted frame
//!   variables, members of base classes, references, templates' argument names and `type_pp`.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{example, Target};
use ptrace::abort::AbortFlag;
use ptrace::debuginfo::{read_maps, ProcessObjects};
use ptrace::memory::{LayeredMemory, MemoryReader};
use ptrace::snapshot::Variable;
use ptrace::tracer::{ProcessMemory, StopOptions, StoppedProcess};
use ptrace::unwind::{CfiMapping, ObjectCfi, Unwinder, MAX_FRAMES};
use ptrace::variables::{
    base_type, find_type, template_arguments, template_nth_argument, type_pp, BtError, BtVariable,
    ProcessVariables, VariableLimits,
};

/// A running example with the engine over its objects.
struct Example {
    target: Target,
    objects: ProcessObjects,
    process: ProcessVariables,
    memory: ProcessMemory,
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Self {
        let target = Target::start(&example(name), args);
        let pid = target.pid();
        let memory = ProcessMemory::new(pid);
        let objects = ProcessObjects::load(&read_maps(pid).expect("maps"), &memory).expect("objects");
        for object in objects.objects() {
            object.prepare();
        }
        Self {
            target,
            process: ProcessVariables::new(&objects),
            objects,
            memory,
        }
    }

    /// `pmodule.bt_query(name, "crash", "crash.c")`.
    fn query(&self, name: &str, cu: &str) -> BtVariable {
        BtVariable::global(&self.process, name, Some("crash"), Some(cu), &self.memory, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// An unwinder over every object's CFI (what the session prepares before a stop).
    fn unwinder(&self) -> Unwinder {
        let mut mappings = Vec::new();
        for object in self.objects.objects() {
            let Some(elf) = &object.elf else { continue };
            let Ok(cfi) = ObjectCfi::parse(elf, object.debug.as_ref()) else {
                continue;
            };
            let cfi = Arc::new(cfi);
            for range in &object.executable_ranges {
                mappings.push(CfiMapping {
                    range: range.clone(),
                    bias: object.bias,
                    cfi: cfi.clone(),
                });
            }
        }
        Unwinder::new(mappings)
    }
}

/// `variable.member(a).member(b)...`, panicking with the engine's message.
fn walk(variable: &BtVariable, path: &[&str], memory: &dyn MemoryReader) -> BtVariable {
    path.iter().fold(variable.clone(), |v, member| {
        v.member(member, memory)
            .unwrap_or_else(|e| panic!("{member}: {e}"))
    })
}

fn int(variable: &BtVariable, path: &[&str], memory: &dyn MemoryReader) -> i128 {
    walk(variable, path, memory)
        .read_int(memory)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn crash_list_walk_reads_v_in_order() {
    let example = Example::start("crash", &["hang", "2"]);
    let memory = &example.memory;
    let limits = VariableLimits::default();
    // The tutorial's attach_cb, step by step.
    let cached_ref_var = example.query("some_struct_g", "crash.c");
    assert_eq!(cached_ref_var.type_pp(), "struct(somestruct) *");
    let mut n = walk(&cached_ref_var, &["list", "stqh_first"], memory);
    assert_eq!(n.path(), "some_struct_g->list.stqh_first");
    let mut seen = Vec::new();
    loop {
        // pmodule.variable_from_bt(n):value() is the pointer's address.
        let v = n.value(&example.process, memory, &limits);
        assert_eq!(v.kind, "reference");
        let address = n.read_address(memory).expect("the link is readable");
        assert_eq!(v.value, serde_json::json!(format!("{address:#x}")));
        if address == 0 {
            break;
        }
        let val = n.member("v", memory).expect("member v");
        let snapshot: Variable = val.value(&example.process, memory, &limits);
        assert_eq!(snapshot.name, "v");
        assert_eq!(snapshot.kind, "ll");
        assert_eq!(snapshot.address.map(|a| a.0), val.address());
        // v lies inside the node the link points to.
        let offset = val.address().unwrap() - address;
        assert!(offset < n.deref(memory).unwrap().sizeof().unwrap());
        seen.push(val.read_int(memory).unwrap());
        assert_eq!(snapshot.value, serde_json::json!(*seen.last().unwrap() as i64));
        n = walk(&n, &["linkage", "stqe_next"], memory);
        assert!(seen.len() <= 10, "the list does not end: {seen:?}");
    }
    assert_eq!(seen, (0..10).collect::<Vec<i128>>());
    // The list head's last pointer points at the last node's link field.
    let last = walk(&cached_ref_var, &["list", "stqh_last"], memory)
        .read_address(memory)
        .unwrap();
    assert_eq!(Some(last), n.address());
    // At the end: the NULL link. Following it is an error, never a crash.
    let error = n.member("v", memory).unwrap_err();
    assert!(matches!(error, BtError::NullPointer { .. }), "{error}");
    assert!(error.to_string().contains("stqe_next"), "{error}");
    let error = n.deref(memory).unwrap_err();
    assert!(matches!(error, BtError::NullPointer { .. }), "{error}");
    // The other members of some_struct_g: pointers chained to its own `n`.
    assert_eq!(int(&cached_ref_var, &["a"], memory), 4);
    assert_eq!(
        walk(&cached_ref_var, &["b"], memory).read_float(memory).unwrap(),
        5.0
    );
    assert_eq!(int(&cached_ref_var, &["nppp", "c"], memory), 6);
    assert_eq!(
        walk(&cached_ref_var, &["np"], memory).read_address(memory).ok(),
        walk(&cached_ref_var, &["n"], memory).address()
    );
    assert_eq!(
        walk(&cached_ref_var, &["s"], memory)
            .read_string(256, memory)
            .unwrap(),
        "kids"
    );
}

#[test]
fn crash_kids_through_three_pointers() {
    let example = Example::start("crash", &["hang", "2"]);
    let memory = &example.memory;
    let limits = VariableLimits::default();
    let papa = example.query("papa", "crash.c");
    assert_eq!(papa.type_pp(), "struct(array_struct)");
    assert_eq!(papa.kind(), "tuple");
    let len = walk(&papa, &["len"], memory);
    assert_eq!(len.read_int(memory).unwrap(), 10);
    let kids = walk(&papa, &["kids"], memory);
    // The member is not followed: `papa.kids` is the pointer, its value an address.
    assert_eq!(kids.kind(), "reference");
    assert_eq!(kids.sizeof().unwrap(), 8);
    let kids_address = kids.read_address(memory).unwrap();
    let kids_value = kids.value(&example.process, memory, &limits);
    assert_eq!(kids_value.value, serde_json::json!(format!("{kids_address:#x}")));
    // Member access through the pointer reaches kids[0].
    assert_eq!(int(&papa, &["kids", "a"], memory), 9);

    // The tutorial's variable_cb: the struct size from the deref'd cached pointer, then
    // pmodule.deref(cached_ref_var, addr + i * size).
    let cached_ref_var = example.query("some_struct_g", "crash.c");
    let size = cached_ref_var.deref(memory).unwrap().sizeof().unwrap();
    assert_eq!(cached_ref_var.sizeof().unwrap(), 8);
    for i in 0..10u64 {
        let expected = 9 + i as i128;
        let by_index = kids.index(i as i64, memory).unwrap();
        assert_eq!(by_index.path(), format!("papa.kids[{i}]"));
        let element = cached_ref_var.deref_at(kids_address + i * size).unwrap();
        assert_eq!(element.address(), by_index.address());
        for elem in [&by_index, &element] {
            let c = walk(elem, &["nppp", "c"], memory);
            assert_eq!(c.read_int(memory).unwrap(), expected, "kids[{i}].nppp->c");
            assert_eq!(int(elem, &["a"], memory), expected);
            assert_eq!(
                walk(elem, &["b"], memory).read_float(memory).unwrap(),
                expected as f64
            );
            // Three pointers followed land on the element's own `n`.
            assert_eq!(c.address(), walk(elem, &["n", "c"], memory).address());
            assert_eq!(
                walk(elem, &["s"], memory).read_string(256, memory).unwrap(),
                "papa"
            );
        }
        let c = walk(&by_index, &["nppp", "c"], memory);
        assert_eq!(c.path(), format!("(**papa.kids[{i}].nppp)->c"));
        let snapshot = c.value(&example.process, memory, &limits);
        assert_eq!(snapshot.value, serde_json::json!(expected as i64));
    }
    // Elements are `size` bytes apart.
    let second = kids.index(1, memory).unwrap().address().unwrap();
    assert_eq!(second - kids_address, size);

    // global_version: a `const char *` with its string.
    let version = example.query("global_version", "crash.c");
    assert_eq!(version.type_pp(), "const char *");
    assert_eq!(version.read_string(256, memory).unwrap(), "crash 1.0.0");
    assert_eq!(version.read_string(5, memory).unwrap(), "crash");
    let snapshot = version.value(&example.process, memory, &limits);
    assert_eq!(snapshot.symbol.as_deref(), Some("crash 1.0.0"));
}

#[test]
fn crash_errors_name_what_went_wrong() {
    let example = Example::start("crash", &["hang", "2"]);
    let memory = &example.memory;
    let cached_ref_var = example.query("some_struct_g", "crash.c");
    let papa = example.query("papa", "crash.c");

    // A missing member names the member and the type.
    let error = cached_ref_var.member("no_such_member", memory).unwrap_err();
    assert!(matches!(error, BtError::NoMember { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("no_such_member") && text.contains("struct somestruct"),
        "{text}"
    );
    // A member of an int: the module APIs' words, naming the variable and its type; the
    // expression reached is in the error.
    let error = walk(&papa, &["len"], memory).member("x", memory).unwrap_err();
    assert!(
        matches!(&error, BtError::NotAStruct { path, .. } if path == "papa.len"),
        "{error:?}"
    );
    assert!(error.to_string().contains("'len' has type 'int'"), "{error}");
    // deref of a non-pointer.
    let error = walk(&papa, &["len"], memory).deref(memory).unwrap_err();
    assert!(matches!(error, BtError::NotAPointer { .. }), "{error}");
    assert!(error.to_string().contains("int"), "{error}");
    assert!(papa.deref(memory).is_err());
    assert!(papa.deref_at(0x1000).is_err());
    // NULL: a view at address 0 reads as unreadable, naming the address.
    let null_view = cached_ref_var.deref_at(0).unwrap();
    let error = int_error(&null_view, "a", memory);
    assert!(matches!(error, BtError::Unreadable { address: 0, .. }), "{error}");
    assert!(error.to_string().contains("0x0"), "{error}");
    // An index far out of the mapped range: an unreadable element, not a crash.
    let kids = walk(&papa, &["kids"], memory);
    for index in [1i64 << 40, -(1i64 << 40)] {
        let far = kids.index(index, memory).unwrap();
        let error = int_error(&far, "a", memory);
        assert!(matches!(error, BtError::Unreadable { .. }), "{error}");
        let address = far.address().unwrap();
        assert!(error.to_string().contains(&format!("{address:#x}")), "{error}");
    }
    // Index overflowing the address space.
    let error = kids.index(i64::MAX, memory).unwrap_err();
    assert!(matches!(error, BtError::AddressOverflow { .. }), "{error}");
    // Reading the wrong kind.
    let error = kids.read_float(memory).unwrap_err();
    assert!(matches!(error, BtError::WrongKind { .. }), "{error}");
    assert!(cached_ref_var.read_string(16, memory).is_err());
    // Lookups that find nothing.
    assert!(BtVariable::global(
        &example.process,
        "papa",
        Some("crash"),
        Some("hang.c"),
        memory,
        None
    )
    .is_err());
    assert!(matches!(
        find_type(&example.process, "struct no_such_struct", None),
        Err(BtError::Lookup(_))
    ));
    // What was found by name has the expected layout.
    let somestruct = find_type(&example.process, "struct somestruct", Some("crash")).unwrap();
    assert_eq!(
        Some(somestruct.size().unwrap()),
        cached_ref_var.deref(memory).unwrap().sizeof().ok()
    );
    assert_eq!(type_pp(&somestruct), "struct(somestruct)");
    let linkage = walk(
        &example.query("some_struct_g", "crash.c"),
        &["list", "stqh_first", "linkage"],
        memory,
    );
    assert_eq!(linkage.type_pp(), "struct(<anonymous>)");
    assert_eq!(
        walk(&cached_ref_var, &["nppp"], memory).type_pp(),
        "struct(nested) ***"
    );
    assert_eq!(
        type_pp(&base_type(walk(&cached_ref_var, &["nppp"], memory).ty())),
        "struct(nested)"
    );
}

fn int_error(variable: &BtVariable, member: &str, memory: &dyn MemoryReader) -> BtError {
    variable
        .member(member, memory)
        .and_then(|m| m.read_int(memory))
        .unwrap_err()
}

/// The bt variables of the deepest `walk` frame (depth 0) of the C++ example, extracted while
/// it is stopped.
fn walk_frame_variables(example: &Example) -> Vec<(Variable, BtVariable)> {
    let unwinder = example.unwinder();
    let stopped =
        StoppedProcess::stop(example.target.pid(), &StopOptions::default(), &AbortFlag::new()).expect("stop");
    let thread = stopped
        .threads()
        .iter()
        .find(|t| t.tid == example.target.pid())
        .expect("the main thread");
    let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
    let frames = unwinder.unwind(&thread.regs, &memory, MAX_FRAMES);
    let all =
        example
            .process
            .thread_variables_with_bt(&frames, &[], &memory, None, &VariableLimits::default());
    let found = all
        .frames
        .into_iter()
        .flatten()
        .find(|level| {
            level
                .iter()
                .any(|(v, _)| v.name == "depth" && v.parameter && v.value == serde_json::json!(0))
        })
        .expect("a walk frame with depth 0");
    // Navigation works while stopped, through the stack copy.
    let (_, step) = found.iter().find(|(v, _)| v.name == "step").expect("step");
    assert_eq!(
        walk(step, &["_M_dataplus", "_M_p"], &memory)
            .read_string(64, &memory)
            .unwrap(),
        "audit/3/2/1/0"
    );
    stopped.resume().expect("resume");
    found
}

#[test]
fn cpp_members_of_base_classes_references_and_templates() {
    let example = Example::start("cpp_example", &["hang"]);
    let variables = walk_frame_variables(&example);
    // Read again after the resume: live memory (the frame is parked in pause()).
    let memory = &example.memory;
    let bt = |name: &str| {
        variables
            .iter()
            .find(|(v, _)| v.name == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    for (snapshot, navigable) in &variables {
        assert_eq!(snapshot.type_name, navigable.type_name(), "{}", snapshot.name);
        assert_eq!(
            snapshot.address.map(|a| a.0),
            navigable.address(),
            "{}",
            snapshot.name
        );
    }

    // `Item &item` is `drill`: a reference followed by member access.
    let item = bt("item");
    assert_eq!(item.type_pp(), "struct(shop::inventory::Item) &");
    assert_eq!(int(&item, &["serial_"], memory), 2);
    assert_eq!(int(&item, &["quantity_"], memory), 1);
    assert_eq!(
        walk(&item, &["name_", "_M_dataplus", "_M_p"], memory)
            .read_string(64, memory)
            .unwrap(),
        "drill"
    );
    // The same object as the derived class: base-class members and its own.
    let tool_type = item.find_type(&example.process, "shop::inventory::Tool").unwrap();
    assert_eq!(type_pp(&tool_type), "struct(shop::inventory::Tool)");
    let drill = item.view_as(&tool_type, item.read_address(memory).unwrap());
    assert_eq!(int(&drill, &["quantity_"], memory), 1);
    assert_eq!(
        walk(&drill, &["unit_price_"], memory).read_float(memory).unwrap(),
        89.99
    );
    assert_eq!(int(&drill, &["powered_"], memory), 1);
    assert_eq!(int(&drill, &["grade_"], memory), i128::from(b'B'));
    assert_eq!(
        walk(&drill, &["weight_kg_"], memory).read_float(memory).unwrap(),
        1.5
    );
    // std::vector<int>: _M_impl is in the base _Vector_base, _M_start in _M_impl's base.
    let start = walk(&drill, &["sizes_mm_", "_M_impl", "_M_start"], memory);
    let sizes: Vec<i128> = (0..2)
        .map(|i| start.index(i, memory).unwrap().read_int(memory).unwrap())
        .collect();
    assert_eq!(sizes, vec![6, 8]);
    let missing = drill.member("no_such_member", memory).unwrap_err();
    assert!(missing.to_string().contains("shop::inventory::Tool"), "{missing}");

    // `const Shelf &shelf`: templates' members, a function pointer.
    let shelf = bt("shelf");
    assert_eq!(shelf.type_pp(), "const struct(shop::inventory::Shelf) &");
    let counts = walk(&shelf, &["recent_counts"], memory);
    let slots: Vec<i128> = (0..4)
        .map(|i| {
            walk(&counts, &["slots_"], memory)
                .index(i, memory)
                .unwrap()
                .read_int(memory)
                .unwrap()
        })
        .collect();
    assert_eq!(slots, vec![9, 6, 7, 8]);
    assert!(walk(&counts, &["slots_"], memory).index(4, memory).is_err());
    let counts_name = counts.type_name();
    assert_eq!(counts_name, "shop::inventory::Ring<int, 4>");
    assert_eq!(counts.type_pp(), "struct(shop::inventory::Ring<int, 4>)");
    assert_eq!(template_nth_argument(&counts_name, 0).as_deref(), Some("int"));
    assert_eq!(template_nth_argument(&counts_name, 1).as_deref(), Some("4"));
    assert_eq!(template_nth_argument(&counts_name, 2), None);
    let prices = walk(&shelf, &["recent_prices"], memory);
    assert_eq!(
        template_arguments(&prices.type_name()),
        Some(vec!["double".to_string(), "3".to_string()])
    );
    let pricing = walk(&shelf, &["pricing"], memory);
    assert_eq!(pricing.type_pp(), "shop::inventory::PriceRule");
    assert_eq!(type_pp(&pricing.ty().resolved()), "double (*)(double)");
    let target = pricing.read_address(memory).unwrap();
    let symbol = example.process.symbolize_function(target).unwrap_or_default();
    assert!(symbol.contains("discount_ten_percent"), "{symbol}");
    let snapshot = pricing.value(&example.process, memory, &VariableLimits::default());
    assert_eq!(snapshot.kind, "fn");
    assert_eq!(snapshot.symbol.as_deref(), Some(symbol.as_str()));
    // Member access follows pointers to data, not function pointers (as the module APIs do).
    let error = pricing.member("x", memory).unwrap_err();
    assert!(
        matches!(&error, BtError::NotAStruct { path, .. } if path == pricing.path()),
        "{error:?}"
    );

    // std::vector<std::string>: the element type named by the first template argument is a
    // type of the program, the one `label` (a std::string) has.
    let tags = walk(&shelf, &["tags"], memory);
    let tags_name = tags.type_name();
    let element_name = template_nth_argument(&tags_name, 0).expect("an element type");
    assert!(
        element_name.starts_with("std::__cxx11::basic_string<char"),
        "{element_name}"
    );
    let element = item.find_type(&example.process, &element_name).unwrap();
    let label = walk(&shelf, &["label"], memory);
    assert!(element.same_as(&label.ty().resolved()), "{element_name}");
    assert_eq!(Some(element.size().unwrap()), label.sizeof().ok());
    // The allocator argument wraps the same type.
    let allocator = template_nth_argument(&tags_name, 1).unwrap();
    assert_eq!(
        template_nth_argument(&allocator, 0).as_deref(),
        Some(element_name.as_str())
    );
    // The tags themselves, through the vector's storage.
    let first_tag = walk(&tags, &["_M_impl", "_M_start"], memory);
    let tag_texts: Vec<String> = (0..2)
        .map(|i| {
            walk(
                &first_tag.index(i, memory).unwrap(),
                &["_M_dataplus", "_M_p"],
                memory,
            )
            .read_string(64, memory)
            .unwrap()
        })
        .collect();
    assert_eq!(tag_texts, ["sale", "heavy"]);
    // A template name in another spelling finds gcc's.
    let tight = find_type(&example.process, "std::vector<int,std::allocator<int>>", None).unwrap();
    assert_eq!(tight.name(), "std::vector<int, std::allocator<int> >");
    assert!(tight.same_as(&walk(&drill, &["sizes_mm_"], memory).ty().resolved()));

    // `this` and an enum class member.
    let this = bt("this");
    assert_eq!(int(&this, &["visits_"], memory), 4);
    let focus = walk(&this, &["focus_"], memory);
    assert_eq!(focus.type_pp(), "enum(shop::inventory::Category)");
    assert_eq!(focus.read_int(memory).unwrap(), 1);
    // `std::string &&note`: an rvalue reference followed like a pointer.
    let note = bt("note");
    assert_eq!(note.kind(), "reference");
    assert_eq!(
        walk(&note, &["_M_dataplus", "_M_p"], memory)
            .read_string(64, memory)
            .unwrap(),
        "audit/3/2/1"
    );
}

#[test]
fn extracted_variables_at_o2_navigate_from_registers_and_memory() {
    let example = Example::start("crash-O2", &["hang", "2"]);
    let unwinder = example.unwinder();
    let pid = example.target.pid();
    let stopped = StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect("stop");
    let mut compared = 0;
    let mut held = 0;
    let mut contexts = Vec::new();
    for thread in stopped.threads() {
        let memory = LayeredMemory::new(std::slice::from_ref(&thread.stack), Some(stopped.memory()));
        let frames = unwinder.unwind(&thread.regs, &memory, MAX_FRAMES);
        let all =
            example
                .process
                .thread_variables_with_bt(&frames, &[], &memory, None, &VariableLimits::default());
        for (snapshot, navigable) in all.frames.into_iter().flatten().flatten() {
            assert_eq!(snapshot.type_name, navigable.type_name(), "{}", snapshot.name);
            if snapshot.state == "optimized_out" {
                assert!(!navigable.is_available(), "{}: {navigable:?}", snapshot.name);
                continue;
            }
            if snapshot.state != "ok" {
                continue;
            }
            if navigable.address().is_none() && navigable.is_available() {
                held += 1;
            }
            // The value extraction read agrees with the engine's reads of the same variable.
            match snapshot.kind.name() {
                "ll" | "ull" | "enum" if snapshot.value.is_i64() => {
                    let read = navigable.read_int(&memory).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(Some(read as i64), snapshot.value.as_i64(), "{}", snapshot.name);
                    compared += 1;
                }
                "reference" => {
                    let read = navigable.read_address(&memory).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(
                        snapshot.value.as_str(),
                        Some(format!("{read:#x}").as_str()),
                        "{}",
                        snapshot.name
                    );
                    compared += 1;
                }
                _ => {}
            }
            if snapshot.name == "ctx" && snapshot.parameter {
                let max_depth = navigable
                    .member("max_depth", &memory)
                    .and_then(|m| m.read_int(&memory))
                    .unwrap_or_else(|e| panic!("{e}"));
                contexts.push(max_depth);
            }
        }
    }
    stopped.resume().expect("resume");
    assert!(compared > 10, "only {compared} values compared");
    assert!(held > 0, "no variable held in registers at -O2");
    assert!(
        !contexts.is_empty() && contexts.iter().all(|d| *d == 5),
        "{contexts:?}"
    );
}
