//! Engine tests with modules written in Rust (a module language of our own, through the same
//! `ModuleInstance` trait Lua implements): order of events, filters, failure isolation,
//! insertions during a walk, ids, annotations.

use super::testdata::{frame, snapshot, thread, variable};
use super::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Callback = Box<dyn Fn(&Engine, &EventArgs) -> Result<(), CallbackFailure> + Send + Sync>;

/// A module whose callbacks are Rust closures.
#[derive(Default)]
struct RustModule {
    callbacks: Mutex<HashMap<u64, Arc<Callback>>>,
    engine: Mutex<Option<Arc<Engine>>>,
}

impl ModuleInstance for RustModule {
    fn invoke(
        &self,
        _module: ModuleKey,
        callback: CallbackId,
        _event: Event,
        args: &EventArgs,
    ) -> Result<(), CallbackFailure> {
        let cb = self.callbacks.lock().unwrap().get(&callback.0).cloned();
        let engine = self.engine.lock().unwrap().clone();
        match (cb, engine) {
            (Some(cb), Some(engine)) => cb(&engine, args),
            _ => Err(CallbackFailure::new("no such callback")),
        }
    }
    fn unload(&self, _module: ModuleKey) -> Result<(), CallbackFailure> {
        Ok(())
    }
    fn reset(&self, _module: ModuleKey) -> Result<(), CallbackFailure> {
        Ok(())
    }
}

/// Defines module `id` in `host` with one instance; returns a registration helper.
struct Defined {
    key: ModuleKey,
    module: Arc<RustModule>,
    engine: Arc<Engine>,
}

impl Defined {
    fn new(host: &PmoduleHost, id: &str) -> Self {
        let engine = host.engine().clone();
        let key = engine.define_module(id, &format!("{id}.rs")).unwrap();
        let module = Arc::new(RustModule::default());
        *module.engine.lock().unwrap() = Some(engine.clone());
        engine.attach_instance(&[key], module.clone());
        Defined { key, module, engine }
    }

    fn on(
        &self,
        event: Event,
        filter: Option<Match>,
        f: impl Fn(&Engine, &EventArgs) -> Result<(), CallbackFailure> + Send + Sync + 'static,
    ) {
        let mut callbacks = self.module.callbacks.lock().unwrap();
        let id = callbacks.len() as u64 + 1;
        callbacks.insert(id, Arc::new(Box::new(f)));
        self.engine.register(self.key, event, filter, CallbackId(id));
    }
}

fn host() -> (PmoduleHost, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::new());
    (PmoduleHost::new(ModuleOptions::new(), sink.clone()), sink)
}

/// Two threads: the first has `pause` (libc) then `recurse` x2 then `main`, each with an `n`
/// parameter and a `frame` struct local; the second is empty.
fn crash_snapshot() -> crate::snapshot::Snapshot {
    let mut frames = vec![frame("pause", "/lib/libc.so.6", "/glibc/pause.c")];
    for symbol in ["recurse", "recurse", "main"] {
        let mut f = frame(symbol, "/b/crash", "/src/crash.c");
        let mut n = variable("n", "int", "int", "ll");
        n.parameter = true;
        n.value = serde_json::json!(1);
        f.variables = vec![
            n,
            variable("frame", "struct crash_frame_info", "crash_frame_info", "tuple"),
        ];
        frames.push(f);
    }
    snapshot(100, vec![thread(100, frames), thread(101, Vec::new())])
}

fn describe(engine: &Engine, args: &EventArgs) -> String {
    engine.with_scene(|scene| match args {
        EventArgs::Backtrace => "bt".to_string(),
        EventArgs::Thread(t) => format!("thread {}", scene.thread(*t).unwrap().tid),
        EventArgs::Frame(f) => {
            let fr = scene.frame(*f).unwrap();
            format!("frame {} {}", fr.index, fr.symbol.clone().unwrap_or_default())
        }
        EventArgs::Variable { var, .. } => {
            let frame = scene
                .var_frame(var)
                .unwrap()
                .map(|f| scene.frame(f).unwrap().index);
            format!("var {:?} {}", frame, scene.var(var).unwrap().name)
        }
    })
}

#[test]
fn events_follow_the_model_order_modules_then_registrations() {
    let (host, _) = host();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let a = Defined::new(&host, "a");
    let b = Defined::new(&host, "b");
    for (m, name) in [(&b, "b"), (&a, "a")] {
        for event in [Event::Variable, Event::Frame, Event::Thread] {
            let seen = seen.clone();
            m.on(event, None, move |engine, args| {
                seen.lock()
                    .unwrap()
                    .push(format!("{name}: {}", describe(engine, args)));
                Ok(())
            });
        }
    }
    // A second registration of module a, made after b's: still after a's first, before b's.
    let seen2 = seen.clone();
    a.on(Event::Thread, None, move |_, _| {
        seen2.lock().unwrap().push("a: thread again".into());
        Ok(())
    });

    let mut snap = crash_snapshot();
    snap.threads.truncate(1);
    snap.threads[0].frames.truncate(2);
    host.fire_thread_events(&mut snap, 0, &());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "a: frame 0 pause",
            "b: frame 0 pause",
            "a: var Some(1) n",
            "b: var Some(1) n",
            "a: var Some(1) frame",
            "b: var Some(1) frame",
            "a: frame 1 recurse",
            "b: frame 1 recurse",
            "a: thread 100",
            "a: thread again",
            "b: thread 100",
        ]
    );
    assert_eq!(snap.pid, 100, "the snapshot is back in place");
}

#[test]
fn filters_select_what_callbacks_see() {
    let (host, _) = host();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let m = Defined::new(&host, "m");
    let mut tuple_in_recurse = Match::new();
    tuple_in_recurse.add_object("crash", MatchType::Exact);
    tuple_in_recurse.add_file("crash.c", MatchType::Exact);
    tuple_in_recurse.add_frame_symbol("recurse", MatchType::Substr);
    tuple_in_recurse.add_variable_base_type("crash_", MatchType::Substr);
    tuple_in_recurse.add_variable_kind(VariableKind::Tuple);
    let s = seen.clone();
    m.on(Event::Variable, Some(tuple_in_recurse), move |engine, args| {
        s.lock().unwrap().push(describe(engine, args));
        Ok(())
    });
    let mut in_libc = Match::new();
    in_libc.add_object("libc", MatchType::Substr);
    let s = seen.clone();
    m.on(Event::Frame, Some(in_libc), move |engine, args| {
        s.lock().unwrap().push(describe(engine, args));
        Ok(())
    });
    let mut snap = crash_snapshot();
    host.fire_thread_events(&mut snap, 0, &());
    host.fire_thread_events(&mut snap, 1, &());
    assert_eq!(
        *seen.lock().unwrap(),
        ["frame 0 pause", "var Some(1) frame", "var Some(2) frame"]
    );
}

#[test]
fn a_failing_callback_is_logged_and_the_others_run() {
    let (host, sink) = host();
    let bad = Defined::new(&host, "bad");
    let good = Defined::new(&host, "good");
    bad.on(Event::Frame, None, |_, _| {
        Err(CallbackFailure {
            traceback: Some("stack traceback:\n\tbad.lua:3".into()),
            ..CallbackFailure::new("boom")
        })
    });
    bad.on(Event::Thread, None, |_, _| panic!("rust panic in a module"));
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    good.on(Event::Frame, None, move |_, _| {
        *c.lock().unwrap() += 1;
        Ok(())
    });
    good.on(Event::Thread, None, |engine, args| {
        let EventArgs::Thread(t) = args else {
            unreachable!()
        };
        engine
            .with_scene(|s| s.annotate(&Target::Thread(*t), AnnotationKind::Comment, "good ran"))
            .map_err(|e| CallbackFailure::new(e.to_string()))
    });
    let mut snap = crash_snapshot();
    host.fire_thread_events(&mut snap, 0, &());
    assert_eq!(*count.lock().unwrap(), 4);
    assert_eq!(snap.threads[0].annotations.len(), 1);
    let log = sink.text();
    assert!(
        log.contains("[bad] error: module bad: frame: boom\nstack traceback:\n\tbad.lua:3"),
        "{log}"
    );
    assert!(
        log.contains("module bad: thread: internal error (panic): rust panic in a module"),
        "{log}"
    );
}

#[test]
fn inserted_frames_and_variables_get_no_events_and_keep_the_walk_in_place() {
    let (host, _) = host();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let m = Defined::new(&host, "m");
    let s = seen.clone();
    m.on(Event::Variable, None, move |engine, args| {
        s.lock().unwrap().push(describe(engine, args));
        let EventArgs::Variable { var, .. } = args else {
            unreachable!()
        };
        engine.with_scene(|scene| {
            // Before every extracted variable, insert one at the front of its frame.
            let frame = scene.var_frame(var).unwrap().unwrap();
            let new = scene.create_variable("int", "synth", 0, -1, None).unwrap();
            scene.set_var_value(&new, VarValue::Ll(7)).unwrap();
            scene.frame_add_variable(frame, &new, false).unwrap();
        });
        Ok(())
    });
    let s = seen.clone();
    m.on(Event::Frame, None, move |engine, args| {
        s.lock().unwrap().push(describe(engine, args));
        let EventArgs::Frame(f) = args else { unreachable!() };
        engine.with_scene(|scene| {
            // A synthesized frame before (inner to) every frame.
            let new = scene.create_frame();
            scene
                .set_frame_field(new, FrameField::Symbol("synth".into()))
                .unwrap();
            scene.frame_add_frame(*f, new, false).unwrap();
        });
        Ok(())
    });
    let mut snap = crash_snapshot();
    host.fire_thread_events(&mut snap, 0, &());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            // Each frame event sees its frame before its own synthesized frame goes in.
            "frame 0 pause",
            "var Some(2) n",
            "var Some(2) frame",
            "frame 2 recurse",
            "var Some(4) n",
            "var Some(4) frame",
            "frame 4 recurse",
            "var Some(6) n",
            "var Some(6) frame",
            "frame 6 main",
        ]
    );
    let symbols: Vec<_> = snap.threads[0]
        .frames
        .iter()
        .map(|f| f.symbol.clone().unwrap())
        .collect();
    assert_eq!(
        symbols,
        ["synth", "pause", "synth", "recurse", "synth", "recurse", "synth", "main"]
    );
    assert!(snap.threads[0]
        .frames
        .iter()
        .enumerate()
        .all(|(i, f)| f.index == i));
    let names: Vec<_> = snap.threads[0].frames[3]
        .variables
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(names, ["synth", "synth", "n", "frame"]);
    assert_eq!(snap.threads[0].frames[3].variables[0].value, serde_json::json!(7));
}

#[test]
fn detached_objects_die_with_their_callback_and_bt_copies_cannot_be_added() {
    let (host, _) = host();
    let m = Defined::new(&host, "m");
    let kept = Arc::new(Mutex::new(None::<VarRef>));
    let k = kept.clone();
    m.on(Event::Attach, None, move |engine, _| {
        engine.with_scene(|scene| {
            let copy =
                scene.detached_variable(variable("papa", "struct array_struct", "array_struct", "tuple"));
            let frame = FrameRef::Node { thread: 0, frame: 1 };
            let err = scene.frame_add_variable(frame, &copy, true).unwrap_err();
            assert!(err.to_string().contains("variable_from_bt"), "{err}");
            let created = scene.create_variable("int", "x", 0, -1, None).unwrap();
            scene.frame_add_variable(frame, &created, true).unwrap();
            let again = scene.frame_add_variable(frame, &created, true).unwrap_err();
            assert!(again.to_string().contains("already added"));
            // The handle follows the variable to its place.
            scene.set_var_value(&created, VarValue::Ull(5)).unwrap();
            *k.lock().unwrap() = Some(copy);
        });
        Ok(())
    });
    let mut snap = crash_snapshot();
    host.fire_attach(&mut snap);
    assert_eq!(snap.threads[0].frames[1].variables[2].name, "x");
    assert_eq!(snap.threads[0].frames[1].variables[2].kind, "ull");
    let stale = kept.lock().unwrap().clone().unwrap();
    let mut snap2 = crash_snapshot();
    let engine = host.engine().clone();
    let m2 = Defined::new(&host, "m2");
    let result = Arc::new(Mutex::new(String::new()));
    let r = result.clone();
    m2.on(Event::Postattach, None, move |_, _| {
        *r.lock().unwrap() = engine.with_scene(|s| s.var(&stale).unwrap_err().to_string());
        Ok(())
    });
    host.fire_postattach(&mut snap2);
    assert!(result.lock().unwrap().contains("no longer valid"));
}

#[test]
fn module_ids_are_unique_and_failed_files_leave_nothing() {
    let (host, _) = host();
    let engine = host.engine();
    let first = engine.define_module("dup", "one.lua").unwrap();
    let err = engine.define_module("dup", "two.lua").unwrap_err();
    assert_eq!(
        err.to_string(),
        "module id 'dup' is already defined by one.lua; the module of two.lua is refused"
    );
    assert!(engine.define_module("", "x.lua").is_err());
    assert!(engine.define_module("a b", "x.lua").is_err());
    engine.register(first, Event::Frame, None, CallbackId(1));
    assert!(host.wants(Event::Frame));
    engine.remove_modules(&[first]);
    assert!(!host.wants(Event::Frame));
    assert!(
        engine.define_module("dup", "three.lua").is_ok(),
        "the id is free again"
    );
}

#[test]
fn annotations_kv_classifiers_tags_and_setters_land_in_the_snapshot() {
    let (host, sink) = host();
    let m = Defined::new(&host, "m");
    m.on(Event::Postattach, None, |engine, _| {
        engine.with_scene(|s| {
            s.annotate(
                &Target::Backtrace,
                AnnotationKind::Json,
                "{\"json\": {\"context\": \"T\", \"k\": 1}}",
            )
            .unwrap();
            let bad = s
                .annotate(&Target::Backtrace, AnnotationKind::Json, "{\"k\": 1}")
                .unwrap_err();
            assert!(matches!(bad, SceneError::Annotation(_)));
            s.annotate(
                &Target::Frame(FrameRef::Node { thread: 0, frame: 1 }),
                AnnotationKind::Warning,
                "w",
            )
            .unwrap();
            let var = VarRef::Node(VarPath::top(VarOwner::Frame { thread: 0, frame: 1 }, 1));
            s.annotate(&Target::Variable(var), AnnotationKind::Critical, "c")
                .unwrap();
            s.add_attribute("lua_key1", crate::snapshot::AttributeValue::Int(42))
                .unwrap();
            s.add_attribute(
                "lua_key2",
                crate::snapshot::AttributeValue::Text("lua_value".into()),
            )
            .unwrap();
            s.add_classifier("lua").unwrap();
            s.add_classifier("lua").unwrap();
            s.add_tag("t").unwrap();
            s.set_thread_name(ThreadRef(1), "renamed").unwrap();
            let f = FrameRef::Node { thread: 0, frame: 2 };
            s.set_frame_field(f, FrameField::Basename("other.c".into()))
                .unwrap();
            s.set_frame_field(f, FrameField::Directory("/new/dir/".into()))
                .unwrap();
            s.set_frame_field(f, FrameField::Line(77)).unwrap();
            s.set_frame_field(f, FrameField::DeclLine(70)).unwrap();
            assert_eq!(s.decl_line(f).unwrap(), Some(70));
        });
        Ok(())
    });
    let mut snap = crash_snapshot();
    host.fire_postattach(&mut snap);
    assert!(sink.records().is_empty(), "{}", sink.text());
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(
        json["annotations"],
        serde_json::json!([{"level": "json", "json": {"context": "T", "k": 1}}])
    );
    assert_eq!(
        json["attributes"],
        serde_json::json!({"lua_key1": 42, "lua_key2": "lua_value"})
    );
    assert_eq!(json["classifiers"], serde_json::json!(["lua"]));
    assert_eq!(json["tags"], serde_json::json!(["t"]));
    assert_eq!(json["threads"][1]["name"], "renamed");
    assert_eq!(
        json["threads"][0]["frames"][1]["annotations"][0]["level"],
        "warning"
    );
    assert_eq!(
        json["threads"][0]["frames"][1]["variables"][1]["annotations"][0]["text"],
        "c"
    );
    assert_eq!(json["threads"][0]["frames"][2]["file"], "/new/dir/other.c");
    assert_eq!(json["threads"][0]["frames"][2]["line"], 77);
}

#[test]
fn globals_selected_by_name_and_their_events() {
    let (host, _) = host();
    let m = Defined::new(&host, "array_iter");
    let mut papa = Match::new();
    papa.add_object("crash", MatchType::Exact);
    papa.add_file("crash.c", MatchType::Exact);
    papa.add_variable_base_type("array_struct", MatchType::Substr);
    papa.add_variable_kind(VariableKind::Tuple);
    papa.add_variable_name("papa", MatchType::Substr);
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    m.on(Event::Variable, Some(papa), move |engine, args| {
        let EventArgs::Variable { var, bt } = args else {
            unreachable!()
        };
        let name = engine.with_scene(|sc| sc.var(var).unwrap().name.clone());
        s.lock().unwrap().push(format!(
            "{name} {}",
            bt.as_ref().map(|b| b.type_name.as_str()).unwrap_or("-")
        ));
        Ok(())
    });
    assert!(host.wants_variable_events());
    assert!(host.selects_global("papa", "/b/crash", "/src/crash.c"));
    assert!(!host.selects_global("papa", "/lib/libc.so.6", "/src/crash.c"));
    assert!(!host.selects_global("some_struct_g", "/b/crash", "/src/crash.c"));

    let mut snap = crash_snapshot();
    snap.globals
        .push(variable("papa", "struct array_struct", "array_struct", "tuple"));
    snap.globals
        .push(variable("papa", "struct array_struct", "array_struct", "tuple"));
    let bt = BtVar {
        name: "papa".into(),
        type_name: "struct array_struct".into(),
        address: Some(0x4040),
        handle: BtHandle::new(()),
    };
    let origin = |object: &str| Origin {
        object: object.into(),
        cu: "/src/crash.c".into(),
    };
    host.fire_global(&mut snap, 0, origin("/b/crash"), Some(bt));
    host.fire_global(&mut snap, 1, origin("/lib/libother.so"), None);
    assert_eq!(*seen.lock().unwrap(), ["papa struct array_struct"]);
}

#[test]
fn one_slow_callback_does_not_hold_back_the_rest_of_the_stop() {
    let (host, _) = host();
    let engine = host.engine();
    let cutoff = engine.cutoff();
    cutoff.begin_stop(
        std::time::Instant::now(),
        Some(std::time::Duration::from_secs(30)),
        std::time::Duration::ZERO,
    );
    assert_eq!(engine.callback_cutoff(), None);
    // A module's first callback sets itself up for 40 seconds: the next would likely end past
    // the deadline, but no more than a tenth of the limit is given up for it.
    engine.note_callback_time(std::time::Duration::from_secs(40));
    assert_eq!(engine.callback_cutoff(), None);
    cutoff.begin_stop(
        std::time::Instant::now() - std::time::Duration::from_secs(28),
        Some(std::time::Duration::from_secs(30)),
        std::time::Duration::ZERO,
    );
    assert!(engine.callback_cutoff().is_some(), "2 s left, 3 s given up");
    // Quick callbacks after it: the estimate comes down.
    for _ in 0..40 {
        engine.note_callback_time(std::time::Duration::from_micros(5));
    }
    assert_eq!(engine.callback_cutoff(), None);
    cutoff.end_stop();
}

#[test]
#[ignore]
fn callback_checks_cost() {
    let (host, _) = host();
    let engine = host.engine();
    engine.cutoff().begin_stop(
        std::time::Instant::now(),
        Some(std::time::Duration::from_secs(60)),
        std::time::Duration::ZERO,
    );
    let started = std::time::Instant::now();
    let mut cut = 0;
    for _ in 0..10_000_000 {
        if engine.callback_cutoff().is_some() || engine.skip_benched(crate::pmodule::ModuleKey(0)) {
            cut += 1;
        }
        if engine.time_this_callback() {
            cut += 1;
        }
    }
    eprintln!("{:?} per callback ({cut})", started.elapsed() / 10_000_000);
}
