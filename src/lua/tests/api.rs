//! The API surface: every object and function, and wrong argument types to each of them.

use super::*;
use std::path::PathBuf;

/// Runs `body` (Lua, with `bt` in scope) in a postattach callback of module `api`.
fn run_postattach(t: &TestHost, body: &str) -> Snapshot {
    let source = format!(
        "pmodule.define{{ id = \"api\", load = function()\n pmodule.register(pmodule.event.postattach, function(bt)\n{body}\nend)\nend }}"
    );
    t.load("api.lua", &source).unwrap();
    let mut snap = crash_snapshot(true);
    t.host.fire_postattach(&mut snap);
    snap
}

fn text(snap: &Snapshot, key: &str) -> String {
    match snap.attributes.get(key) {
        Some(crate::snapshot::AttributeValue::Text(s)) => s.clone(),
        Some(crate::snapshot::AttributeValue::Int(i)) => i.to_string(),
        None => panic!("no attribute {key}: {:?}", snap.attributes),
    }
}

#[test]
fn objects_iterators_and_reads() {
    let mut module_options = ModuleOptions::new();
    module_options.add_argument("api:depth,3,name,x").unwrap();
    let t = TestHost::new(LuaOptions::default(), module_options);
    let snap = run_postattach(
        &t,
        r#"
    local r = {}
    local function put(k, v) bt:add_kv_string(k, tostring(v)) end
    put("pid", bt:pid()); put("app", bt:application_name())
    put("state", bt:process_state() == pmodule.process_state.sleeping)
    put("opt", pmodule.config_option("depth")); put("nopt", pmodule.config_option("missing"))
    local threads, frames, vars = 0, 0, 0
    for thr in bt do
        threads = threads + 1
        for fr in thr do
            frames = frames + 1
            for var in fr do vars = vars + 1 end
        end
    end
    put("counts", threads .. "/" .. frames .. "/" .. vars)
    local m = pmodule.match(); m:set_fault(true)
    local n = 0
    for thr in bt, m do n = n + 1; put("fault_tid", thr:tid()); put("fault", thr:fault()) end
    put("fault_threads", n)
    local thr = bt(nil, nil)
    local fr = thr(nil, nil)
    put("frame", fr:symbol() .. "@" .. fr:line() .. " " .. fr:path() .. " " .. fr:object_file())
    put("resolved", fr:line_resolved())
    put("n_frames", thr:n_frames() .. "/" .. thr:n_kframes())
    local si = fr:siginfo()
    local reason, kill = si:reason()
    put("si", reason .. "|" .. tostring(kill) .. "|" .. si:num() .. "|" .. si:code() .. "|" ..
        string.format("%x", si:address()) .. "|" .. tostring(si:address_populated()))
    put("si_text", tostring(si))
    put("no_si", thr(nil, fr):siginfo() == nil)
    local params = {}
    for v, i in fr:fprm() do params[#params + 1] = i .. "=" .. v:name() end
    put("params", table.concat(params, ","))
    put("fprm_at", fr:fprm_at(1):name() .. "," .. tostring(fr:fprm_at(5)))
    local ctx = fr:fprm_at(1)
    put("ctx", ctx:type() == pmodule.variable_type.reference and ctx:value() == 0x7ffc0000)
    put("ctx_type", ctx:type_name() .. "|" .. ctx:base_type() .. "|" .. ctx:fprm_offset())
    put("ctx_up", ctx:frame():symbol() .. "|" .. ctx:thread():tid() .. "|" .. ctx:backtrace():pid())
    local local_var = fr(nil, ctx)
    put("local", local_var:name() .. "|" .. local_var:fprm_offset() .. "|" .. tostring(local_var:resolved()))
    -- globals and TLS, reads
    local g = {}
    for var, object, cu in bt:variables(), {cu = "invalid_write"} do g[#g + 1] = var:name() .. "=" .. tostring(var:value()) end
    put("globals", table.concat(g, ","))
    for var in bt:variables(), {name = "invalid_write_message"} do put("message", var:symbol() .. "|" .. tostring(var:is_string())) end
    local tls = {}
    for thr in bt do for var in thr:variables() do tls[#tls + 1] = thr:tid() .. ":" .. var:value() end end
    put("tls", table.concat(tls, ","))
    local addr = pmodule.symbol_address("global_version")
    put("symbol", pmodule.address_symbol(addr) .. "|" .. pmodule.address_read_string(string.unpack("<I8", pmodule.address_read_raw(addr, 8)), 64))
    put("symbol_read", pmodule.symbol_read_string("invalid_write_message", "crash", 64) .. "|" .. #pmodule.symbol_read_raw("invalid_write_counter", nil, 4))
    put("unreadable", tostring(pmodule.address_read_raw(0x10, 4)) .. "|" .. tostring(pmodule.symbol_address("nope")))
    put("pmap", tostring(pmodule.pmap_enabled()) .. "|" .. tostring(pmodule.pmap_cached()) .. "|" ..
        tostring(bt:pmap_entry(addr):permissions(pmodule.pmap_perms.rd, pmodule.pmap_perms.wr)) .. "|" ..
        tostring(bt:pmap_entry(addr):permissions(pmodule.pmap_perms.ex)) .. "|" .. tostring(bt:pmap_entry(1)))
    -- bt variables
    local s = pmodule.bt_query("some_struct_g", "crash", "crash.c")
    put("bt", pmodule.variable_from_bt(s.nppp.c):value() .. "|" .. pmodule.variable_from_bt(s.np):type() .. "|" ..
        pmodule.sizeof(pmodule.deref(s)) .. "|" .. pmodule.variable_from_bt(pmodule.bt_query("papa").kids[3].a):value())
    local ok, err = pcall(function() return s.missing end)
    put("bt_missing", err)
    put("bt_none", tostring(pmodule.bt_query("nope")))
    -- logging: a lone format is used as is
    pmodule.log(pmodule.log_level.info, "100% literal %d")
    pmodule.log(pmodule.log_level.debug, "%s=%d", "x", 5)
    print("printed", 1, nil)
"#,
    );
    let log = t.log();
    assert!(!log.contains("error"), "{log}");
    assert_eq!(text(&snap, "pid"), "100");
    assert_eq!(text(&snap, "app"), "crash");
    assert_eq!(text(&snap, "state"), "true");
    assert_eq!(text(&snap, "opt"), "3");
    assert_eq!(text(&snap, "nopt"), "nil");
    assert_eq!(text(&snap, "counts"), "2/9/18");
    assert_eq!(text(&snap, "fault_threads"), "1");
    assert_eq!(text(&snap, "fault_tid"), "100");
    assert_eq!(text(&snap, "fault"), "true");
    assert_eq!(
        text(&snap, "frame"),
        format!("recurse@10 {} {}", double::CRASH_C, double::EXE)
    );
    assert_eq!(text(&snap, "resolved"), "true");
    assert_eq!(text(&snap, "n_frames"), "7/0");
    assert_eq!(
        text(&snap, "si"),
        "address not mapped to object|false|11|1|10|true"
    );
    assert_eq!(
        text(&snap, "si_text"),
        "SIGSEGV (11): address not mapped to object, code 1, address 0x10"
    );
    assert_eq!(text(&snap, "no_si"), "true");
    assert_eq!(text(&snap, "params"), "0=n,1=ctx");
    assert_eq!(text(&snap, "fprm_at"), "ctx,nil");
    assert_eq!(text(&snap, "ctx"), "true");
    assert_eq!(text(&snap, "ctx_type"), "struct(crash_ctx) *|crash_ctx|1");
    assert_eq!(text(&snap, "ctx_up"), "recurse|100|100");
    assert_eq!(text(&snap, "local"), "frame|-1|true");
    assert_eq!(
        text(&snap, "globals"),
        "invalid_write_counter=41,invalid_write_ratio=2.5,invalid_write_message=nil"
    );
    assert_eq!(text(&snap, "message"), "invalid write ahead|true");
    assert_eq!(text(&snap, "tls"), "100:100,101:101");
    assert_eq!(text(&snap, "symbol"), "global_version|crash 1.0.0");
    assert_eq!(text(&snap, "symbol_read"), "invalid write ahead|4");
    assert_eq!(text(&snap, "unreadable"), "nil|nil");
    assert_eq!(text(&snap, "pmap"), "true|false|true|false|nil");
    assert_eq!(text(&snap, "bt"), "6|14|72|12");
    assert!(text(&snap, "bt_missing").contains("no member 'missing' in type 'struct somestruct'"));
    assert_eq!(text(&snap, "bt_none"), "nil");
    assert!(log.contains("[api] info: 100% literal %d"), "{log}");
    assert!(log.contains("[api] debug: x=5"), "{log}");
    assert!(log.contains("[api] info: printed\t1\tnil"), "{log}");
}

#[test]
fn synthesis_setters_annotations_and_json_validation() {
    let t = TestHost::default();
    let snap = run_postattach(
        &t,
        r#"
    local thr = bt(nil, nil)
    local fr = thr(nil, nil)
    -- Handles are positions: annotate before frames are inserted in front of this one.
    fr:annotate(pmodule.annotation.critical, "50% done")
    local v = pmodule.create_variable("struct crash", "synth", 0x1234, -1)
    v:set_ll(-7)
    fr:add_variable(v)
    v:annotate(pmodule.annotation.warning, "added %s", "later")
    local first = pmodule.create_variable("double", "first", 0, -1)
    first:set_dbl(1.5)
    fr:add_variable(first, false)
    local owner
    for var in fr do if var:name() == "frame" then owner = var end end
    local child = pmodule.create_variable("char *", "child", 0, -1, owner)
    child:set_string("hello")
    fr:add_variable(child)
    local setters = {}
    for _, set in ipairs({
        function(x) x:set_ull(-1) end, function(x) x:set_enum(2, "TWO") end,
        function(x) x:set_ref(0x10, "sym") end, function(x) x:set_cdbl(1, 2) end,
        function(x) x:set_function("main") end, function(x) x:set_struct() end, function(x) x:set_array() end,
    }) do
        local x = pmodule.create_variable("int", "", 0, #setters)
        set(x)
        fr:add_variable(x)
        setters[#setters + 1] = x:type() .. ":" .. tostring(x:value()) .. ":" .. tostring(x:symbol()) .. ":" .. x:name()
    end
    bt:add_kv_string("setters", table.concat(setters, ","))
    local newfr = pmodule.create_frame()
    newfr:set_symbol("synthetic")
    newfr:set_path("/a/b/c.c")
    newfr:set_basename("d.c")
    newfr:set_line(9)
    thr:add_frame(newfr)
    newfr:set_decl_line(3)
    bt:add_kv_string("newfr", newfr:symbol() .. "|" .. newfr:path() .. "|" .. newfr:line() .. "|" .. newfr:decl_line() ..
        "|" .. newfr:thread():tid())
    local after = pmodule.create_frame()
    after:set_symbol("after_main")
    local last = nil
    for f in thr do last = f end
    last:add_frame(after, true)
    thr:set_name("renamed")
    thr:annotate(pmodule.annotation.comment, "thread %d", thr:tid())
    bt:annotate(pmodule.annotation.json, '{"json": {"context": "Ok", "n": %d}}', 3)
    bt:annotate(pmodule.annotation.json, '{"not": "wrapped"}')
    bt:annotate(pmodule.annotation.json, 'not json')
    bt:add_tag("t1"); bt:add_classifier("c1")
    local copy = pmodule.variable_from_bt(pmodule.bt_query("papa"))
    local ok, err = pcall(function() fr:add_variable(copy) end)
    bt:add_kv_string("copy", tostring(err))
    ok, err = pcall(function() fr:add_variable(v) end)
    bt:add_kv_string("twice", tostring(err))
"#,
    );
    let log = t.log();
    let thread = &snap.threads[0];
    assert_eq!(thread.name, "renamed");
    assert_eq!(thread.frames[0].symbol.as_deref(), Some("synthetic"));
    assert_eq!(thread.frames[0].file.as_deref(), Some("/a/b/d.c"));
    assert_eq!(
        thread.frames.last().unwrap().symbol.as_deref(),
        Some("after_main")
    );
    assert!(thread.frames.iter().enumerate().all(|(i, f)| f.index == i));
    assert_eq!(text(&snap, "newfr"), "synthetic|/a/b/d.c|9|3|100");
    let fr = &thread.frames[1];
    let names: Vec<&str> = fr.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["first", "n", "ctx", "frame", "synth", "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]"]
    );
    assert_eq!(
        fr.variables[3].children.last().unwrap().name,
        "child",
        "added under its owner"
    );
    assert_eq!(
        fr.variables[3].children.last().unwrap().symbol.as_deref(),
        Some("hello")
    );
    let synth = &fr.variables[4];
    assert_eq!((synth.kind.name(), &synth.value), ("ll", &serde_json::json!(-7)));
    assert_eq!(synth.base_type, "crash");
    assert_eq!(synth.address, Some(Address(0x1234)));
    assert_eq!(
        serde_json::to_value(&synth.annotations).unwrap(),
        serde_json::json!([{"level": "warning", "text": "added later"}])
    );
    assert_eq!(
        text(&snap, "setters"),
        "1:-1:nil:[0],9:2:TWO:[1],14:16:sym:[2],6:1.0:nil:[3],13:nil:main:[4],10:nil:nil:[5],11:nil:nil:[6]"
    );
    assert_eq!(fr.variables[7].value, serde_json::json!("0x10"));
    assert_eq!(fr.variables[0].value, serde_json::json!(1.5));
    assert_eq!(
        serde_json::to_value(&snap.annotations).unwrap(),
        serde_json::json!([{"level": "json", "json": {"context": "Ok", "n": 3}}])
    );
    assert_eq!(log.matches("bt:annotate: json annotation").count(), 2, "{log}");
    assert_eq!(thread.annotations.len(), 1);
    assert_eq!(
        serde_json::to_value(&fr.annotations).unwrap(),
        serde_json::json!([{"level": "critical", "text": "50% done"}])
    );
    assert_eq!(snap.tags, ["t1"]);
    assert_eq!(snap.classifiers, ["c1"]);
    assert!(text(&snap, "copy").contains("cannot be added"));
    assert!(text(&snap, "twice").contains("already added"));
}

/// Every function and method, called with arguments of the wrong type: each raises a Lua error
/// that names it and the argument; none panics; the module and the engine go on.
#[test]
fn wrong_argument_types_give_errors_naming_function_and_argument() {
    let t = TestHost::default();
    let calls = [
        ("pmodule.define", "pmodule.define(42)"),
        ("pmodule.define", "pmodule.define{ id = 'x' }"),
        ("pmodule.register", "pmodule.register('nope', function() end)"),
        ("pmodule.register", "pmodule.register(pmodule.event.frame, 42)"),
        (
            "pmodule.register",
            "pmodule.register(pmodule.event.frame, function() end, 'm')",
        ),
        (
            "pmodule.event_register",
            "pmodule.event_register(99, function() end)",
        ),
        ("pmodule.log", "pmodule.log('x', 'y')"),
        ("pmodule.log", "pmodule.log(99, 'y')"),
        ("pmodule.log", "pmodule.log(pmodule.log_level.info, {})"),
        ("pmodule.log", "pmodule.log(pmodule.log_level.info, '%d', 'x')"),
        ("pmodule.config_option", "pmodule.config_option({})"),
        ("pmodule.address_read_raw", "pmodule.address_read_raw('a', 1)"),
        ("pmodule.address_read_raw", "pmodule.address_read_raw(1, -1)"),
        ("pmodule.address_read_raw", "pmodule.address_read_raw(1, 1 << 40)"),
        ("pmodule.address_read_raw", "pmodule.address_read_raw(1.5, 1)"),
        (
            "pmodule.address_read_string",
            "pmodule.address_read_string(1, 'x')",
        ),
        ("pmodule.symbol_address", "pmodule.symbol_address(nil)"),
        ("pmodule.symbol_address", "pmodule.symbol_address('x', {})"),
        ("pmodule.address_symbol", "pmodule.address_symbol('x')"),
        (
            "pmodule.symbol_read_raw",
            "pmodule.symbol_read_raw('x', nil, 'y')",
        ),
        (
            "pmodule.symbol_read_string",
            "pmodule.symbol_read_string({}, nil, 1)",
        ),
        ("pmodule.bt_query", "pmodule.bt_query({})"),
        ("pmodule.variable_from_bt", "pmodule.variable_from_bt(1)"),
        (
            "pmodule.variable_from_bt",
            "pmodule.variable_from_bt(pmodule.match())",
        ),
        ("pmodule.deref", "pmodule.deref('x')"),
        ("pmodule.deref", "pmodule.deref(pmodule.bt_query('papa'))"),
        (
            "pmodule.deref",
            "pmodule.deref(pmodule.bt_query('some_struct_g'), 'x')",
        ),
        ("pmodule.sizeof", "pmodule.sizeof(nil)"),
        ("pmodule.create_variable", "pmodule.create_variable(1, 2, 'x', 0)"),
        (
            "pmodule.create_variable",
            "pmodule.create_variable('int', 'x', 0, 0, 5)",
        ),
        ("match:add_object", "pmodule.match():add_object({})"),
        ("match:add_file", "pmodule.match():add_file('x', 7)"),
        ("match:add_frame_symbol", "pmodule.match():add_frame_symbol(nil)"),
        (
            "match:add_variable_base_type",
            "pmodule.match():add_variable_base_type('x', 'exact')",
        ),
        ("match:add_base_type", "pmodule.match():add_base_type({})"),
        (
            "match:add_variable_ptrace_type",
            "pmodule.match():add_variable_ptrace_type(99)",
        ),
        (
            "match:add_variable_name",
            "pmodule.match():add_variable_name(true)",
        ),
        ("match:set_fault", "pmodule.match():set_fault('yes')"),
        ("bt:pmap_entry", "bt:pmap_entry('x')"),
        ("bt:add_kv_int", "bt:add_kv_int('k', 'v')"),
        ("bt:add_kv_string", "bt:add_kv_string({}, 'v')"),
        ("bt:add_classifier", "bt:add_classifier(nil)"),
        ("bt:add_tag", "bt:add_tag({})"),
        ("bt:annotate", "bt:annotate('critical', 'x')"),
        ("bt:annotate", "bt:annotate(99, 'x')"),
        ("bt iterator", "bt('m', nil)"),
        ("bt iterator", "bt(nil, 5)"),
        ("bt:variables", "bt:variables()(5)"),
        ("bt:variables", "bt:variables()({cu = 5})"),
        ("thread:set_name", "bt(nil, nil):set_name({})"),
        ("thread:add_frame", "bt(nil, nil):add_frame('f')"),
        (
            "thread:add_frame",
            "bt(nil, nil):add_frame(pmodule.create_frame(), 'first')",
        ),
        (
            "thread:add_frame",
            "local t = bt(nil, nil); t:add_frame(t(nil, nil))",
        ),
        (
            "thread:annotate",
            "bt(nil, nil):annotate(pmodule.annotation.comment)",
        ),
        ("thread iterator", "local t = bt(nil, nil); t(nil, 'x')"),
        ("thread:variables", "bt(nil, nil):variables()(true)"),
        ("frame:fprm_at", "bt(nil, nil)(nil, nil):fprm_at('x')"),
        ("frame:set_symbol", "bt(nil, nil)(nil, nil):set_symbol(nil)"),
        ("frame:set_basename", "bt(nil, nil)(nil, nil):set_basename({})"),
        (
            "frame:set_directory",
            "bt(nil, nil)(nil, nil):set_directory(false)",
        ),
        ("frame:set_path", "bt(nil, nil)(nil, nil):set_path({})"),
        ("frame:set_line", "bt(nil, nil)(nil, nil):set_line('x')"),
        ("frame:set_line", "bt(nil, nil)(nil, nil):set_line(-1)"),
        ("frame:set_decl_line", "bt(nil, nil)(nil, nil):set_decl_line({})"),
        ("frame:add_variable", "bt(nil, nil)(nil, nil):add_variable('v')"),
        (
            "frame:add_variable",
            "bt(nil, nil)(nil, nil):add_variable(pmodule.create_variable('int', 'x', 0, 0), 1)",
        ),
        ("frame:add_frame", "bt(nil, nil)(nil, nil):add_frame(3)"),
        ("frame:annotate", "bt(nil, nil)(nil, nil):annotate(nil, 'x')"),
        ("frame iterator", "local f = bt(nil, nil)(nil, nil); f(nil, f)"),
        (
            "variable:set_function",
            "pmodule.create_variable('int', 'x', 0, 0):set_function({})",
        ),
        (
            "variable:set_string",
            "pmodule.create_variable('int', 'x', 0, 0):set_string(nil)",
        ),
        (
            "variable:set_enum",
            "pmodule.create_variable('int', 'x', 0, 0):set_enum('x')",
        ),
        (
            "variable:set_ref",
            "pmodule.create_variable('int', 'x', 0, 0):set_ref({})",
        ),
        (
            "variable:set_ll",
            "pmodule.create_variable('int', 'x', 0, 0):set_ll(1.5)",
        ),
        (
            "variable:set_ull",
            "pmodule.create_variable('int', 'x', 0, 0):set_ull('x')",
        ),
        (
            "variable:set_dbl",
            "pmodule.create_variable('int', 'x', 0, 0):set_dbl('x')",
        ),
        (
            "variable:set_cdbl",
            "pmodule.create_variable('int', 'x', 0, 0):set_cdbl(1)",
        ),
        (
            "variable:annotate",
            "pmodule.create_variable('int', 'x', 0, 0):annotate({}, 'x')",
        ),
        (
            "pmap:permissions",
            "bt:pmap_entry(pmodule.symbol_address('papa')):permissions()",
        ),
        (
            "pmap:permissions",
            "bt:pmap_entry(pmodule.symbol_address('papa')):permissions(99)",
        ),
        ("bt variable", "return pmodule.bt_query('papa')[{}]"),
        ("bt variable", "return pmodule.bt_query('papa').len.x"),
        ("bt variable", "return pmodule.bt_query('papa')[1]"),
    ];
    let mut body = String::from("local results = {}\n");
    for (i, (_, code)) in calls.iter().enumerate() {
        body.push_str(&format!(
            "do local ok, err = pcall(function() {code} end); results[{}] = ok and 'NO ERROR' or tostring(err) end\n",
            i + 1
        ));
    }
    body.push_str("for i, r in ipairs(results) do bt:add_kv_string(string.format('r%03d', i), r) end\n");
    let snap = run_postattach(&t, &body);
    assert!(!t.log().contains("error:"), "{}", t.log());
    for (i, (function, code)) in calls.iter().enumerate() {
        let result = text(&snap, &format!("r{:03}", i + 1));
        assert_ne!(result, "NO ERROR", "{code} raised nothing");
        assert!(
            result.contains(function),
            "{code}: the error does not name {function}: {result}"
        );
        assert!(!result.contains("panic"), "{code}: {result}");
    }
    // Calls that name an argument say which.
    assert!(text(&snap, "r012")
        .contains("bad argument #1 to 'pmodule.address_read_raw' (addr): integer expected, got string"));
    assert!(text(&snap, "r040")
        .contains("bad argument #2 to 'bt:add_kv_int' (value): integer expected, got string"));
    // The engine goes on.
    let mut snap = crash_snapshot(false);
    t.host.fire_postattach(&mut snap);
    assert_eq!(snap.attributes.len(), calls.len());
}

/// `lua/pmodule.d.lua` declares every function and enumeration of the `pmodule` table.
#[test]
fn editor_stubs_cover_the_pmodule_table() {
    let stubs =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua/pmodule.d.lua")).unwrap();
    assert!(stubs.starts_with("---@meta"));
    let t = TestHost::default();
    let snap = run_postattach(
        &t,
        r#"
    local names = {}
    for k in pairs(pmodule) do names[#names + 1] = k end
    table.sort(names)
    bt:add_kv_string("names", table.concat(names, ","))
"#,
    );
    let names = text(&snap, "names");
    assert!(names.split(',').count() >= 29, "{names}");
    for name in names.split(',') {
        assert!(
            stubs.contains(&format!("function pmodule.{name}("))
                || stubs.contains(&format!("pmodule.{name} =")),
            "pmodule.{name} is missing from lua/pmodule.d.lua"
        );
    }
    for method in [
        "Backtrace:variables",
        "Thread:variables",
        "Frame:fprm",
        "Frame:siginfo",
        "Variable:set_cdbl",
        "Match:set_fault",
        "SigInfo:reason",
        "Pmap:permissions",
    ] {
        assert!(stubs.contains(&format!("function {method}(")), "{method}");
    }
}
