//! The C API called from Rust: outside any callback and with NULL, stale, freed or foreign
//! pointers, every function returns its error value (no crash); inside a context, handles made
//! during it become stale when it ends.

use super::btvar::*;
use super::context::{self, ptrace_frame_t};
use super::edit::*;
use super::events::*;
use super::matchobj::*;
use super::memory::*;
use super::objects::*;
use super::*;
use crate::pmodule::testdata::{frame, snapshot, thread};
use crate::pmodule::{Engine, FrameRef, MemorySink, ModuleOptions};
use std::ffi::CString;
use std::sync::Arc;

#[test]
fn constants_match_the_engine_enumerations() {
    use crate::pmodule::{AnnotationKind, LogLevel, MatchType, VariableKind};
    assert_eq!(PMODULE_ANNOTATION_JSON as i64, AnnotationKind::Json.value());
    assert_eq!(PMODULE_LOG_ERROR as i64, LogLevel::Error.value());
    assert_eq!(PMODULE_MATCH_SUBSTR as i64, MatchType::Substr.value());
    assert_eq!(
        PMODULE_VARIABLE_TYPE_REFERENCE as i64,
        VariableKind::Reference.value()
    );
    assert_eq!(PMODULE_VARIABLE_TYPE_TUPLE as i64, VariableKind::Tuple.value());
    assert_eq!(pmodule_abi_version(), PMODULE_ABI_MAJOR << 16 | PMODULE_ABI_MINOR);
}

#[test]
fn null_arguments_give_error_results_outside_callbacks() {
    let text = CString::new("x").unwrap();
    let mut buf = [0 as std::ffi::c_char; 8];
    // SAFETY: every pointer is NULL or valid; the calls must reject them without touching them.
    unsafe {
        assert!(pmodule_backtrace_get().is_null(), "no callback runs");
        assert!(!pmodule_variable_event_add(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            None
        ));
        assert!(!pmodule_postattach_event_add(std::ptr::null_mut(), None));
        assert!(!pmodule_variable_annotate_str(
            std::ptr::null_mut(),
            0,
            text.as_ptr()
        ));
        assert!(!pmodule_backtrace_add_kv_int(
            std::ptr::null_mut(),
            text.as_ptr(),
            1
        ));
        assert!(!pmodule_log_str(std::ptr::null_mut(), 0, text.as_ptr()));
        assert!(pmodule_config_option(std::ptr::null_mut(), text.as_ptr()).is_null());
        assert_eq!(pmodule_thread_tid(std::ptr::null_mut()), -1);
        assert!(pmodule_thread_frame(std::ptr::null_mut(), 0).is_null());
        assert!(pmodule_frame_symbol(std::ptr::null_mut()).is_null());
        assert_eq!(pmodule_variable_type(std::ptr::null_mut()), -1);
        assert_eq!(pmodule_variable_depth(std::ptr::null_mut()), -1);
        assert!(pmodule_variable_create(text.as_ptr(), text.as_ptr(), 0, -1, std::ptr::null_mut()).is_null());
        assert!(!pmodule_frame_add_variable(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            true
        ));
        pmodule_variable_dispatch(std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(pmodule_address_read_raw(buf.as_mut_ptr().cast(), 0x1000, 8), -1);
        assert_eq!(pmodule_address_read_string(std::ptr::null_mut(), 0x1000, 8), -1);
        assert!(pmodule_address_symbol(0x1000).is_null());
        assert_eq!(bt_variable_ll(std::ptr::null_mut()), 0);
        assert_eq!(bt_variable_sizeof(std::ptr::null_mut()), -1);
        assert_eq!(bt_variable_strncpy(buf.as_mut_ptr(), std::ptr::null_mut(), 8), -1);
        assert!(bt_type_pp(std::ptr::null_mut(), BT_TYPE_LANG_C).is_null());
        bt_variable_deinit(std::ptr::null_mut());
        let mut out: *mut std::ffi::c_char = std::ptr::null_mut();
        assert!(!pmodule_cpp_template_nth_argument(&mut out, std::ptr::null(), 0));
        // A malloc'd string given to set_string is freed even when the variable is NULL.
        let owned = super::guard::malloc_string("freed");
        assert!(!pmodule_variable_set_string(std::ptr::null_mut(), owned));
    }
}

#[test]
fn template_arguments_are_malloced_for_the_caller() {
    let name = CString::new("std::map<int, std::vector<int> >").unwrap();
    let mut out: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: valid pointers; the result is freed with free as documented.
    unsafe {
        assert!(pmodule_cpp_template_nth_argument(&mut out, name.as_ptr(), 1));
        assert_eq!(
            std::ffi::CStr::from_ptr(out).to_str().unwrap(),
            "std::vector<int>"
        );
        libc::free(out.cast());
        assert!(!pmodule_cpp_template_nth_argument(&mut out, name.as_ptr(), 2));
        assert!(out.is_null());
        assert!(!pmodule_cpp_template_nth_argument(&mut out, name.as_ptr(), -1));
    }
}

#[test]
fn matches_are_checked_and_freed_ones_are_refused() {
    let text = CString::new("crash").unwrap();
    let m = pmodule_match_create();
    // SAFETY: m is live until freed; afterwards it is only passed, never dereferenced by us.
    unsafe {
        assert!(pmodule_match_add_object(m, text.as_ptr(), PMODULE_MATCH_EXACT));
        assert!(
            !pmodule_match_add_object(m, text.as_ptr(), 7),
            "unknown match type"
        );
        assert!(!pmodule_match_add_variable_ptrace_type(m, 99), "unknown kind");
        assert!(pmodule_match_set_fault(m, true));
        pmodule_match_free(m);
        assert!(!pmodule_match_reset(m), "freed");
        pmodule_match_free(m);
        // A pointer of another type is not a match.
        let frame = live::register(
            ptrace_frame_t {
                frame: FrameRef::Node { thread: 0, frame: 0 },
            },
            live::PERMANENT,
        );
        assert!(!pmodule_match_reset(frame.cast()));
        assert!(live::free(frame));
    }
}

#[test]
fn handles_made_in_a_context_go_stale_when_it_ends() {
    let engine = Engine::new(ModuleOptions::new(), Arc::new(MemorySink::new()));
    let mut snap = snapshot(42, vec![thread(42, vec![frame("main", "/bin/prog", "prog.c")])]);
    engine.with_scene(|s| s.snapshot = Some(std::mem::replace(&mut snap, snapshot(0, vec![]))));
    let key = engine.define_module("m", "test").unwrap();
    let kept;
    {
        let _guard = context::enter(engine.clone(), key);
        let bt = pmodule_backtrace_get();
        // SAFETY: handles made in this context, used while it lasts.
        unsafe {
            assert_eq!(pmodule_backtrace_pid(bt), 42);
            assert_eq!(pmodule_backtrace_thread_count(bt), 1);
            let thr = pmodule_backtrace_thread(bt, 0);
            assert_eq!(pmodule_thread_tid(thr), 42);
            let fr = pmodule_thread_frame(thr, 0);
            let symbol = std::ffi::CStr::from_ptr(pmodule_frame_symbol(fr));
            assert_eq!(symbol.to_str().unwrap(), "main");
            let note = CString::new("seen").unwrap();
            assert!(pmodule_frame_annotate_str(
                fr,
                PMODULE_ANNOTATION_COMMENT,
                note.as_ptr()
            ));
            let bad_json = CString::new("{\"json\": 1}").unwrap();
            assert!(!pmodule_frame_annotate_str(
                fr,
                PMODULE_ANNOTATION_JSON,
                bad_json.as_ptr()
            ));
            let ty = CString::new("int").unwrap();
            let name = CString::new("synth").unwrap();
            let var = pmodule_variable_create(ty.as_ptr(), name.as_ptr(), 0, -1, std::ptr::null_mut());
            assert!(pmodule_variable_set_ll(var, -3));
            assert!(pmodule_frame_add_variable(fr, var, true));
            assert_eq!(pmodule_variable_depth(var), 0);
            let mut value = 0;
            assert!(pmodule_variable_value_ll(
                pmodule_frame_variable(fr, 0),
                &mut value
            ));
            assert_eq!(value, -3);
            kept = fr;
        }
    }
    // SAFETY: `kept` is stale: it is only looked up, never dereferenced.
    unsafe {
        assert!(!live::is_live(kept));
        assert!(pmodule_frame_symbol(kept).is_null());
        assert!(!pmodule_frame_annotate_str(kept, 0, c"x".as_ptr()));
    }
    let snap = engine.with_scene(|s| s.snapshot.take()).unwrap();
    let f = &snap.threads[0].frames[0];
    assert_eq!(f.annotations.len(), 1);
    assert_eq!(f.variables[0].name, "synth");
}

#[test]
fn handle_addresses_are_never_reused_and_freed_slots_are_refused() {
    let mut seen = std::collections::HashSet::new();
    for round in 0..200 {
        let token = live::register(round, 7_000_000 + round as u64);
        let slot = live::register_slot(round as u64, (), 7_000_000 + round as u64);
        assert!(!token.is_null() && !slot.is_null());
        assert!(live::in_token_space(token) && !live::in_slot_space(token));
        assert!(live::in_slot_space(slot) && !live::in_token_space(slot));
        assert!(
            seen.insert(token as usize) && seen.insert(slot as usize),
            "reused"
        );
        assert_eq!(live::get(token), Some(round));
        assert_eq!(
            live::with_slot(slot, |v: &mut u64, _: &mut ()| *v),
            Some(round as u64)
        );
        // The wrong view of a handle is refused.
        assert!(live::with(slot, |_| ()).is_none());
        assert!(live::with_slot(token, |_: &mut i32, _: &mut ()| ()).is_none());
        live::free_scope(7_000_000 + round as u64);
        assert!(live::get(token).is_none());
        assert!(live::with_slot(slot, |v: &mut u64, _: &mut ()| *v).is_none());
    }
}

#[test]
fn new_functions_give_error_results_outside_callbacks() {
    use super::frames::*;
    use super::iterate::*;
    use super::pmap::*;
    use super::variables::*;
    let text = CString::new("x").unwrap();
    let mut buf = [0 as std::ffi::c_char; 8];
    // SAFETY: every pointer is NULL or valid; the calls must reject them without touching them.
    unsafe {
        assert_eq!(
            pmodule_variable_state(std::ptr::null_mut()),
            PTRACE_VARIABLE_S_ERROR
        );
        assert!(!pmodule_variable_state_set(
            std::ptr::null_mut(),
            PTRACE_VARIABLE_S_SKIP
        ));
        assert!(!pmodule_variable_set_enum(std::ptr::null_mut(), 1, text.as_ptr()));
        assert!(!pmodule_variable_set_cdbl(std::ptr::null_mut(), 1.0, 2.0));
        assert!(pmodule_frame_create().is_null(), "no callback runs");
        assert!(!pmodule_frame_set_symbol(std::ptr::null_mut(), text.as_ptr()));
        assert!(!pmodule_thread_set_name(std::ptr::null_mut(), text.as_ptr()));
        assert!(!pmodule_pmap_enabled());
        assert!(!pmodule_pmap_cached());
        assert_eq!(
            pmodule_symbol_read_string(buf.as_mut_ptr(), text.as_ptr(), std::ptr::null(), buf.len()),
            -1
        );
        assert!(pmodule_backtrace_variables(std::ptr::null_mut(), std::ptr::null()).is_null());
        assert!(pmodule_variable_iterator_next(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut()
        )
        .is_null());
    }
}

#[test]
fn process_state_and_pmap_constants_match_the_engine() {
    use crate::pmodule::{PmapPerm, ProcessState};
    assert_eq!(PMODULE_PROCESS_STATE_TRACED as i64, ProcessState::Traced.value());
    assert_eq!(
        PMODULE_PROCESS_STATE_UNKNOWN as i64,
        ProcessState::Unknown.value()
    );
    assert_eq!(PMODULE_PROCESS_STATE_CORE as i64, ProcessState::Core.value());
    assert_eq!(super::pmap::PMODULE_PMAP_PERMS_SH, PmapPerm::Sh.bits());
    assert_eq!(super::pmap::PMODULE_PMAP_PERMS_ALL, PmapPerm::All.bits());
}
