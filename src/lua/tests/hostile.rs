//! Hostile modules: each fails alone, is logged, and leaves the engine usable and the other
//! modules running.

use super::*;
use crate::pmodule::Event;

/// A well-behaved module that counts its postattach calls in a kv attribute.
const GOOD: &str = r#"
local calls = 0
pmodule.define{ id = "good", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        calls = calls + 1
        bt:add_kv_int("good_calls", calls)
    end)
end }
"#;

fn good_calls(snap: &Snapshot) -> Option<&crate::snapshot::AttributeValue> {
    snap.attributes.get("good_calls")
}

fn small_limits() -> LuaOptions {
    LuaOptions {
        instruction_budget: 200_000,
        memory_limit: 4 << 20,
        ..LuaOptions::default()
    }
}

#[test]
fn endless_loops_exceed_the_budget_even_under_pcall_and_in_coroutines() {
    let t = TestHost::new(small_limits(), ModuleOptions::new());
    t.load(
        "loops.lua",
        r#"
pmodule.define{ id = "loops", load = function()
    pmodule.register(pmodule.event.postattach, function() while true do end end)
    pmodule.register(pmodule.event.postattach, function()
        while true do pcall(function() while true do end end) end
    end)
    pmodule.register(pmodule.event.postattach, function()
        local co = coroutine.wrap(function() while true do end end)
        co()
    end)
    pmodule.register(pmodule.event.postattach, function()
        while true do
            local co = coroutine.create(function() local x = 0 while true do x = x + 1 end end)
            coroutine.resume(co)
        end
    end)
end }
"#,
    )
    .unwrap();
    t.load("good.lua", GOOD).unwrap();
    let engine = t.host.engine();
    engine.begin_snapshot();
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    // The same failure four times: logged once (with where), counted four times.
    let log = t.log();
    assert_eq!(
        log.matches("module loops: postattach: instruction budget of 200000 exceeded")
            .count(),
        1,
        "{log}"
    );
    let failures = engine.take_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].count, failures[0].skipped),
        (4, 0),
        "not benched after the stop"
    );
    assert!(
        t.log()
            .contains("module loops: 4 failed callbacks in this snapshot"),
        "{}",
        t.log()
    );
    assert_eq!(good_calls(&snap), Some(&crate::snapshot::AttributeValue::Int(1)));
    // The engine goes on: a second snapshot runs every callback again.
    engine.begin_snapshot();
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    assert_eq!(good_calls(&snap), Some(&crate::snapshot::AttributeValue::Int(2)));
    assert_eq!(engine.take_failures()[0].count, 4);
    let first_reports = t
        .sink
        .records()
        .iter()
        .filter(|r| r.text.starts_with("module loops: postattach: instruction budget"))
        .count();
    assert_eq!(first_reports, 2, "once per snapshot: {}", t.log());
}

#[test]
fn a_module_out_of_budget_while_stopped_gets_no_more_events_until_the_resume() {
    let t = TestHost::new(small_limits(), ModuleOptions::new());
    t.load(
        "spin.lua",
        r#"
local attach_calls = 0
pmodule.define{ id = "spin", load = function()
    pmodule.register(pmodule.event.attach, function()
        attach_calls = attach_calls + 1
        while true do end
    end)
    pmodule.register(pmodule.event.attach, function() attach_calls = attach_calls + 1 end)
    pmodule.register(pmodule.event.postattach, function(bt)
        bt:add_kv_int("spin_attach_calls", attach_calls)
    end)
end }
"#,
    )
    .unwrap();
    t.load("good.lua", GOOD).unwrap();
    let engine = t.host.engine();
    engine.begin_snapshot();
    engine
        .cutoff()
        .begin_stop(std::time::Instant::now(), None, std::time::Duration::ZERO);
    let mut snap = crash_snapshot(false);
    for _ in 0..3 {
        t.host.fire_attach(&mut snap);
    }
    engine.cutoff().end_stop();
    engine.lift_benches();
    t.host.fire_postattach(&mut snap);
    // The first attach callback ran out; nothing of the module ran again while stopped, and
    // everything runs again after the resume.
    assert_eq!(
        snap.attributes.get("spin_attach_calls"),
        Some(&crate::snapshot::AttributeValue::Int(1))
    );
    assert_eq!(good_calls(&snap), Some(&crate::snapshot::AttributeValue::Int(1)));
    let failures = engine.take_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].count, 1);
    assert_eq!(
        failures[0].skipped, 5,
        "2 callbacks of 3 attach events, less the one that failed"
    );
    let log = t.log();
    assert!(
        log.contains("no more events for it while the target is stopped"),
        "{log}"
    );
    assert!(
        log.contains("5 callbacks not run while the target was stopped"),
        "{log}"
    );
}

#[test]
fn the_cutoff_ends_a_callback_at_once_even_under_pcall_and_no_more_run() {
    let options = LuaOptions {
        instruction_budget: u64::MAX / 2,
        ..LuaOptions::default()
    };
    let t = TestHost::new(options, ModuleOptions::new());
    t.load(
        "forever.lua",
        r#"
pmodule.define{ id = "forever", load = function()
    pmodule.register(pmodule.event.attach, function()
        while true do pcall(function() while true do end end) end
    end)
    pmodule.register(pmodule.event.attach, function()
        while true do coroutine.resume(coroutine.create(function() while true do end end)) end
    end)
end }
"#,
    )
    .unwrap();
    let engine = t.host.engine();
    engine.begin_snapshot();
    let limit = std::time::Duration::from_millis(150);
    let started = std::time::Instant::now();
    engine
        .cutoff()
        .begin_stop(started, Some(limit), std::time::Duration::ZERO);
    let mut snap = crash_snapshot(false);
    t.host.fire_attach(&mut snap);
    let took = started.elapsed();
    engine.cutoff().end_stop();
    assert!(
        took < limit * 3,
        "the callbacks ran {took:?} past a limit of {limit:?}"
    );
    let failures = engine.take_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0]
            .message
            .contains("the stop limit of 150 ms was reached"),
        "{failures:?}"
    );
    assert_eq!(engine.cut_events(), 1, "the second callback never ran");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let t = TestHost::new(small_limits(), ModuleOptions::new());
    t.load(
        "hog.lua",
        r#"
pmodule.define{ id = "hog", load = function()
    pmodule.register(pmodule.event.attach, function()
        local t = {}
        local s = "x"
        for i = 1, 100 do s = s .. s; t[#t + 1] = s end
    end)
    pmodule.register(pmodule.event.attach, function()
        local co = coroutine.wrap(function() return string.rep("y", 1 << 30) end)
        co()
    end)
    pmodule.register(pmodule.event.postattach, function(bt)
        -- After the failures the state still works.
        bt:add_tag("hog_alive")
    end)
end }
"#,
    )
    .unwrap();
    t.load("good.lua", GOOD).unwrap();
    let mut snap = crash_snapshot(false);
    t.host.fire_attach(&mut snap);
    t.host.fire_postattach(&mut snap);
    let log = t.log();
    assert!(
        log.contains("module hog: attach: memory limit exceeded (lua_memory_limit)"),
        "{log}"
    );
    let failures = t.host.engine().take_failures();
    assert_eq!(failures.iter().map(|f| f.count).sum::<u64>(), 2, "{failures:?}");
    assert_eq!(snap.tags, ["hog_alive"]);
    assert_eq!(good_calls(&snap), Some(&crate::snapshot::AttributeValue::Int(1)));
}

#[test]
fn errors_in_every_event_are_logged_with_the_event_and_the_walk_goes_on() {
    let t = TestHost::default();
    t.load(
        "broken.lua",
        r#"
local function fail(what) return function() error("broken " .. what) end end
pmodule.define{ id = "broken", load = function()
    for name, value in pairs(pmodule.event) do
        pmodule.register(value, fail(name))
    end
end }
"#,
    )
    .unwrap();
    t.load(
        "counter.lua",
        r#"
local frames = 0
pmodule.define{ id = "counter", load = function()
    pmodule.register(pmodule.event.frame, function() frames = frames + 1 end)
    pmodule.register(pmodule.event.postattach, function(bt) bt:add_kv_int("frames", frames) end)
end }
"#,
    )
    .unwrap();
    let mut snap = crash_snapshot(true);
    t.host.fire_preattach(&mut snap);
    t.host.fire_attach(&mut snap);
    for thread in 0..snap.threads.len() {
        t.host.fire_thread_events(&mut snap, thread, &());
    }
    t.host.fire_postattach(&mut snap);
    let log = t.log();
    for event in Event::ALL {
        assert!(
            log.contains(&format!("module broken: {event}: ")) && log.contains(&format!("broken {event}")),
            "no failure logged for {event}:\n{log}"
        );
    }
    assert!(
        log.contains("broken.lua:2"),
        "the traceback names the line: {log}"
    );
    let frames: usize = snap.threads.iter().map(|t| t.frames.len()).sum();
    assert_eq!(
        snap.attributes["frames"],
        crate::snapshot::AttributeValue::Int(frames as i64)
    );
}

#[test]
fn io_os_require_and_bytecode_are_refused_by_default() {
    let t = TestHost::default();
    let probe = r#"
pmodule.define{ id = "probe", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        local function try(name, f)
            local ok, err = pcall(f)
            bt:add_kv_string(name, ok and "allowed" or tostring(err))
        end
        try("io", function() return io.open("/etc/hostname") end)
        try("os", function() return os.execute("true") end)
        try("require", function() return require("helper") end)
        try("load", function() return load("return 1")() end)
        try("dofile", function() return dofile("/dev/null") end)
        try("debug", function() return debug.getinfo(1) end)
        try("bytecode", function()
            local f, err = load(string.dump(function() return 1 end))
            if not f then error(err) end
            return f()
        end)
        try("collectgarbage_stop", function() collectgarbage("stop") end)
        try("collectgarbage_count", function() return collectgarbage("count") end)
    end)
end }
"#;
    t.load("probe.lua", probe).unwrap();
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    let get = |k: &str| match snap.attributes.get(k) {
        Some(crate::snapshot::AttributeValue::Text(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    for name in ["io", "os", "require", "load", "dofile", "debug", "bytecode"] {
        let text = get(name);
        assert!(text.contains("nil value"), "{name} not refused: {text}");
    }
    assert!(get("collectgarbage_stop").contains("not allowed in the sandbox"));
    assert_eq!(get("collectgarbage_count"), "allowed");
}

#[test]
fn whitelisted_libraries_open_and_bytecode_stays_refused() {
    let mut options = LuaOptions::default();
    options.add_whitelist("io,os,package,load").unwrap();
    let t = TestHost::new(options, ModuleOptions::new());
    t.write("helper.lua", "return { answer = 42 }");
    t.write("data.txt", "file contents");
    let dir = t.dir.path().display().to_string();
    let probe = format!(
        r#"
package.path = "{dir}/?.lua"
pmodule.define{{ id = "probe", load = function()
    pmodule.register(pmodule.event.postattach, function(bt)
        local function try(name, f)
            local ok, err = pcall(f)
            bt:add_kv_string(name, ok and tostring(err) or ("error: " .. tostring(err)))
        end
        try("io", function() local f = io.open("{dir}/data.txt") local s = f:read("a") f:close() return s end)
        try("os", function() return os.getenv("HOME") ~= nil end)
        try("require", function() return require("helper").answer end)
        try("load", function() return load("return 1 + 1")() end)
        try("bytecode", function()
            local f, err = load(string.dump(function() return 1 end))
            if not f then error(err) end
            return f()
        end)
    end)
end }}
"#
    );
    t.load("probe.lua", &probe).unwrap();
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    let get = |k: &str| match snap.attributes.get(k) {
        Some(crate::snapshot::AttributeValue::Text(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(get("io"), "file contents");
    assert_eq!(get("os"), "true");
    assert_eq!(get("require"), "42");
    assert_eq!(get("load"), "2");
    assert!(get("bytecode").contains("binary chunk"), "{}", get("bytecode"));
}

#[test]
fn broken_files_are_reported_and_skipped_the_others_load() {
    let t = TestHost::new(small_limits(), ModuleOptions::new());
    t.write("a_syntax.lua", "pmodule.define{ id = ");
    t.write("b_loop.lua", "while true do end");
    t.write("c_good.lua", GOOD);
    t.write("d_dup.lua", GOOD);
    t.write("e_nodefine.lua", "local x = 1");
    t.write(
        "f_loadfails.lua",
        r#"pmodule.define{ id = "lf", load = function()
        pmodule.register(pmodule.event.frame, function() end)
        error("cannot load")
    end }"#,
    );
    t.write("g_bytecode.lua", "\x1bLua rest");
    t.write("h_badid.lua", "pmodule.define{ id = 42, load = function() end }");
    t.write("not_a_module.txt", "ignored");
    let failures = t.host.load_path(t.dir.path()).unwrap();
    assert_eq!(failures.len(), 7, "{failures:?}");
    assert_eq!(t.host.module_ids(), ["good"]);
    assert!(
        !t.host.wants(Event::Frame),
        "the failed file's registrations are gone"
    );
    let log = t.log();
    assert!(log.contains("module id 'good' is already defined by"), "{log}");
    assert!(log.contains("instruction budget"), "{log}");
    assert!(log.contains("defines no module"), "{log}");
    assert!(log.contains("cannot load"), "{log}");
    assert!(log.contains("bytecode"), "{log}");
    assert!(log.contains("field 'id' must be a string"), "{log}");
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    assert_eq!(good_calls(&snap), Some(&crate::snapshot::AttributeValue::Int(1)));
}
