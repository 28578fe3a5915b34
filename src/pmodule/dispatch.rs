//! Running the callbacks of one event: filters tested in Rust (a callback whose match fails
//! costs no call into the module), module order then registration order, failure isolation
//! (an error or a panic is recorded — logged as `module <id>: <event>: <message>` with the
//! traceback the first time — and the next callback runs), no callback once the run is aborted
//! or the stop limit reached, none of a benched module's while the target is stopped, detached
//! objects freed after each callback, and handles kept in place across the insertions modules
//! make.

use super::engine::{Engine, Listener};
use super::handles::{FrameRef, VarOwner, VarRef};
use super::kinds::Event;
use super::module::{CallbackFailure, EventArgs};
use super::scene::{Insertion, Scene};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// Whether the registration filter passes for `args`.
fn filter_passes(scene: &Scene, filter: &super::matcher::Match, args: &EventArgs) -> bool {
    match args {
        EventArgs::Backtrace => true,
        EventArgs::Thread(t) => scene.thread(*t).is_ok_and(|t| filter.matches_thread(t)),
        EventArgs::Frame(FrameRef::Node { thread, frame }) => scene
            .snapshot()
            .ok()
            .and_then(|s| s.threads.get(*thread))
            .and_then(|t| t.frames.get(*frame).map(|f| filter.matches_frame(t, f)))
            .unwrap_or(false),
        EventArgs::Frame(FrameRef::Temp(_)) => false,
        EventArgs::Variable { var, .. } => scene.var_matches(var, filter).unwrap_or(false),
    }
}

/// Moves the handle in `args` past `insertion` when it shifted it.
pub(crate) fn shift_args(args: &mut EventArgs, insertion: &Insertion) {
    let frame_slot = match args {
        EventArgs::Frame(FrameRef::Node { thread, frame }) => Some((*thread, frame)),
        EventArgs::Variable {
            var: VarRef::Node(path),
            ..
        } => match &mut path.owner {
            VarOwner::Frame { thread, frame } => Some((*thread, frame)),
            _ => None,
        },
        _ => None,
    };
    match insertion {
        Insertion::Frame { thread: t, at } => {
            if let Some((thread, frame)) = frame_slot {
                if thread == *t && *at <= *frame {
                    *frame += 1;
                }
            }
        }
        Insertion::Variable { owner, at } => {
            if let EventArgs::Variable {
                var: VarRef::Node(path),
                ..
            } = args
            {
                let first = path.indices.first_mut().filter(|_| path.owner == *owner);
                if let Some(first) = first {
                    if *at <= *first {
                        *first += 1;
                    }
                }
            }
        }
    }
}

/// Runs every callback registered for `event` whose filter passes. Returns the insertions the
/// callbacks made (in order). The snapshot must be in the scene.
pub fn dispatch(engine: &Engine, event: Event, args: EventArgs) -> Vec<Insertion> {
    dispatch_to(engine, &engine.ready_listeners(event), event, args)
}

/// [`dispatch`] to `listeners` (those [`Engine::ready_listeners`] gave for `event`).
pub fn dispatch_to(
    engine: &Engine,
    listeners: &[Listener],
    event: Event,
    mut args: EventArgs,
) -> Vec<Insertion> {
    let mut all = Vec::new();
    for listener in listeners {
        // Once the run is aborted or the stop limit is reached, no more callbacks run while the
        // target is stopped (after the resume, only the abort ends them).
        if engine.callback_cutoff().is_some() {
            engine.note_cut_events(1);
            break;
        }
        let registration = &listener.registration;
        if engine.skip_benched(registration.module) {
            continue;
        }
        let passes = registration
            .filter
            .as_ref()
            .is_none_or(|f| engine.with_scene(|scene| filter_passes(scene, f, &args)));
        if !passes {
            continue;
        }
        let Some(instance) = &listener.instance else {
            continue;
        };
        let started = engine.time_this_callback().then(Instant::now);
        let result = catch_unwind(AssertUnwindSafe(|| {
            instance.invoke(registration.module, registration.callback, event, &args)
        }))
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(CallbackFailure::new(format!("internal error (panic): {message}")))
        });
        if let Some(started) = started {
            engine.note_callback_time(started.elapsed());
        }
        if let Err(failure) = result {
            engine.record_failure(registration.module, event.name(), &failure);
        }
        let insertions = engine.with_scene(|scene| {
            scene.end_callback();
            scene.take_insertions()
        });
        for insertion in &insertions {
            shift_args(&mut args, insertion);
        }
        all.extend(insertions);
    }
    all
}
