//! How variable callbacks are called: which ones receive the bt variable, and registrations made
//! while events fire.

use super::double::Fake;
use super::*;
use crate::pmodule::{VarOwner, VarPath};
use crate::snapshot::AttributeValue;

fn int(snap: &Snapshot, key: &str) -> i64 {
    match snap.attributes.get(key) {
        Some(AttributeValue::Int(n)) => *n,
        other => panic!("attribute {key}: {other:?}"),
    }
}

#[test]
fn variadic_and_two_parameter_variable_callbacks_get_the_bt_variable() {
    let t = TestHost::default();
    t.load(
        "one.lua",
        r#"
local calls = 0
pmodule.define{ id = "one", load = function()
    pmodule.register(pmodule.event.variable, function(var) calls = calls + 1 end)
    pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_int("one", calls) end)
end }
"#,
    )
    .unwrap();
    // Only a callback that cannot see a second argument: no bt variable is needed.
    assert!(!t.host.wants_variable_bt());
    t.load(
        "two.lua",
        r#"
local two, args, vararg_bt = 0, 0, 0
pmodule.define{ id = "two", load = function()
    pmodule.register(pmodule.event.variable, function(var, bt)
        if bt ~= nil and tostring(bt):find("some_struct_g") then two = two + 1 end
    end)
    pmodule.register(pmodule.event.variable, function(...)
        args = select('#', ...)
        local _, bt = ...
        if bt ~= nil then vararg_bt = vararg_bt + 1 end
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("two", two)
        bt:add_kv_int("args", args)
        bt:add_kv_int("vararg_bt", vararg_bt)
    end)
end }
"#,
    )
    .unwrap();
    assert!(t.host.wants_variable_bt());
    let fake = Fake::tutorial(&[100, 101]);
    let mut snap = crash_snapshot(false);
    snap.globals.push(fake.global_variable("some_struct_g"));
    t.host.fire_variable(
        &mut snap,
        VarPath::top(VarOwner::Global, 0),
        Some(fake.global_bt("some_struct_g")),
    );
    t.host.fire_postattach(&mut snap);
    assert!(!t.log().contains("error"), "{}", t.log());
    assert_eq!(int(&snap, "one"), 1);
    assert_eq!(int(&snap, "two"), 1);
    assert_eq!(int(&snap, "args"), 2);
    assert_eq!(int(&snap, "vararg_bt"), 1);
}

#[test]
fn a_variable_callback_registered_during_the_events_runs_for_the_next_variables() {
    let t = TestHost::default();
    t.load(
        "late.lua",
        r#"
local seen, late = 0, 0
pmodule.define{ id = "late", load = function()
    pmodule.register(pmodule.event.variable, function(var)
        seen = seen + 1
        if seen == 1 then
            pmodule.register(pmodule.event.variable, function(var, bt) late = late + 1 end)
        end
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("seen", seen)
        bt:add_kv_int("late", late)
    end)
end }
"#,
    )
    .unwrap();
    let mut snap = crash_snapshot(false);
    t.host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        t.host.fire_thread_events(&mut snap, thread, &());
    }
    t.host.fire_postattach(&mut snap);
    assert!(!t.log().contains("error"), "{}", t.log());
    let seen = int(&snap, "seen");
    assert_eq!(seen, 18, "three variables in each of six frames");
    // Registered during the first variable's event: called for every later one.
    assert_eq!(int(&snap, "late"), seen - 1);
}

/// Measures what one callback of `bench/every_variable.lua` costs on ~60k variables (run with
/// `cargo test --release --lib every_variable_callback_cost -- --ignored --nocapture`); prints,
/// asserts nothing about time.
#[test]
#[ignore]
fn every_variable_callback_cost() {
    let t = TestHost::default();
    let module = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/every_variable.lua");
    t.host.load_file(&module).unwrap();
    let mut template = Vec::new();
    for f in 0..12 {
        let mut frame = frame("work", "/b/threads", "threads.c");
        for v in 0..20 {
            let mut var = variable(&format!("v{f}_{v}"), "int", "int", "ll");
            var.value = serde_json::json!(v);
            frame.variables.push(var);
        }
        template.push(frame);
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut snap = snapshot(1, (0..256).map(|tid| thread(tid, template.clone())).collect());
        let count: usize = snap
            .threads
            .iter()
            .flat_map(|t| &t.frames)
            .map(|f| f.variables.len())
            .sum();
        // CPU time of this thread: the machine may be busy with other work.
        let start = thread_cpu_ns();
        for thread in 0..snap.threads.len() {
            t.host.fire_thread_events(&mut snap, thread, &());
        }
        let ns = (thread_cpu_ns() - start) as f64 / count as f64;
        best = best.min(ns);
        println!("{count} callbacks: {ns:.0} ns each");
    }
    println!("best: {best:.0} ns per callback");
}

/// The CPU time this thread used so far, in nanoseconds.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

#[test]
fn the_event_variable_answers_every_method_and_is_no_longer_valid_after_its_callback() {
    let t = TestHost::default();
    t.load(
        "kept.lua",
        r#"
local kept, same, later, forwarded = nil, 0, "", 0
pmodule.define{ id = "kept", load = function()
    pmodule.register(pmodule.event.variable, function(var)
        if kept == nil then
            kept = var
        else
            local ok, err = pcall(function() return kept:name() end)
            if not ok then later = tostring(err) end
        end
        local text = tostring(var)
        if type(var) == "userdata" and var:type_name() ~= nil and var:resolved() ~= nil
            and text:find(var:name(), 1, true) and var:frame() ~= nil then
            forwarded = forwarded + 1
        end
        if var == var then same = same + 1 end
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        local ok, err = pcall(function() return kept:type_name() end)
        bt:add_kv_int("kept_ok", ok and 1 or 0)
        bt:add_kv_string("kept_err", tostring(err))
        bt:add_kv_string("later", later)
        bt:add_kv_string("kept_text", tostring(kept))
        bt:add_kv_int("forwarded", forwarded)
        bt:add_kv_int("same", same)
    end)
end }
"#,
    )
    .unwrap();
    let mut snap = crash_snapshot(false);
    for thread in 0..snap.threads.len() {
        t.host.fire_thread_events(&mut snap, thread, &());
    }
    t.host.fire_postattach(&mut snap);
    assert!(!t.log().contains("error"), "{}", t.log());
    assert_eq!(int(&snap, "forwarded"), 18);
    assert_eq!(int(&snap, "same"), 18);
    assert_eq!(int(&snap, "kept_ok"), 0);
    let text = |key: &str| match snap.attributes.get(key) {
        Some(AttributeValue::Text(s)) => s.clone(),
        other => panic!("attribute {key}: {other:?}"),
    };
    assert!(
        text("kept_err").contains("no longer valid"),
        "{}",
        text("kept_err")
    );
    assert!(
        text("later").contains("variable:name: the variable is no longer valid"),
        "{}",
        text("later")
    );
    assert_eq!(text("kept_text"), "variable (stale)");
}

#[test]
fn the_event_variable_answers_name_type_and_value_as_the_full_variable_does() {
    let t = TestHost::default();
    t.load(
        "answers.lua",
        r##"
local same, differ, bad_arg = 0, "", ""
pmodule.define{ id = "answers", load = function()
    pmodule.register(pmodule.event.variable, function(var)
        local ok, err = pcall(var.name, 42)
        if ok then bad_arg = "no error" elseif bad_arg == "" then bad_arg = tostring(err) end
        for p in var:frame():fprm() do
            if p:name() == var:name(1, 2) then
                local a1, a2 = var:value()
                local b1, b2 = p:value()
                local n = select("#", var:value())
                if p:type() == var:type() and a1 == b1 and a2 == b2 and n == select("#", p:value())
                    and math.type(a1) == math.type(b1) then
                    same = same + 1
                else
                    differ = differ .. var:name() .. " "
                end
            end
        end
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("same", same)
        bt:add_kv_string("differ", differ)
        bt:add_kv_string("bad_arg", bad_arg)
    end)
end }
"##,
    )
    .unwrap();
    let long_name = "a_parameter_name_longer_than_the_inline_copy_of_forty_eight_bytes";
    let mut params = vec![
        (long_name, "int", "ll", serde_json::json!(-7), "ok"),
        (
            "c",
            "double _Complex",
            "cdbl",
            serde_json::json!([1.5, -2.0]),
            "ok",
        ),
        ("d", "double", "dbl", serde_json::json!(0.25), "ok"),
        (
            "p",
            "char *",
            "reference",
            serde_json::json!("0xfffffffffffffff0"),
            "ok",
        ),
        ("gone", "long", "ll", serde_json::Value::Null, "optimized_out"),
        ("s", "struct s", "tuple", serde_json::Value::Null, "ok"),
    ]
    .into_iter()
    .map(|(name, type_name, kind, value, state)| {
        let mut v = variable(name, type_name, type_name, kind);
        v.parameter = true;
        v.value = value;
        v.state = crate::snapshot::VariableState::from_word(state).expect("a variable state");
        v
    })
    .collect::<Vec<_>>();
    let mut snap = crash_snapshot(true);
    snap.threads[0].frames[0].variables.append(&mut params);
    let count = snap.threads[0].frames[0].variables.len();
    t.host.fire_thread_events(&mut snap, 0, &());
    t.host.fire_postattach(&mut snap);
    assert!(!t.log().contains("error"), "{}", t.log());
    let text = |key: &str| match snap.attributes.get(key) {
        Some(AttributeValue::Text(s)) => s.clone(),
        other => panic!("attribute {key}: {other:?}"),
    };
    assert_eq!(text("differ"), "");
    assert!(text("bad_arg").contains("bad argument #1"), "{}", text("bad_arg"));
    // Every parameter of the thread's frames: the crash snapshot's own (`n`, `ctx`) and the
    // added ones.
    let parameters = snap.threads[0]
        .frames
        .iter()
        .flat_map(|f| &f.variables)
        .filter(|v| v.parameter)
        .count();
    assert_eq!(parameters, 6 * 2 + count - 3);
    assert_eq!(int(&snap, "same") as usize, parameters);
}
