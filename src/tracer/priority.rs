//! The tracer thread's scheduling priority, raised while the target is stopped: on a busy
//! machine (where a hang is often looked at) the stop should not grow while the tracer waits
//! for a CPU. Threads the tracer starts meanwhile (the second capture worker) inherit it.

/// The nice value of the tracer thread while the target is stopped.
const BOOSTED_NICE: i32 = -10;

/// The calling thread's nice value lowered to [`BOOSTED_NICE`] while this lives; it is put back
/// when dropped.
#[derive(Debug)]
pub(crate) struct PriorityBoost {
    tid: libc::id_t,
    previous: i32,
}

impl PriorityBoost {
    /// Raises the calling thread's priority when this process may (root or `CAP_SYS_NICE`) and
    /// it is not higher already; `None` otherwise (the stop then runs as it would have).
    pub(crate) fn raise() -> Option<Self> {
        let tid = libc::id_t::try_from(nix::unistd::gettid().as_raw()).ok()?;
        // SAFETY: errno is thread-local; getpriority reads the nice value of a thread of ours.
        let previous = unsafe {
            *libc::__errno_location() = 0;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        };
        // SAFETY: as above, reading errno right after the call.
        if previous == -1 && unsafe { *libc::__errno_location() } != 0 {
            return None;
        }
        if previous <= BOOSTED_NICE {
            return None;
        }
        // SAFETY: setpriority changes the nice value of this very thread.
        let raised = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, BOOSTED_NICE) } == 0;
        raised.then_some(PriorityBoost { tid, previous })
    }
}

impl Drop for PriorityBoost {
    fn drop(&mut self) {
        // SAFETY: putting back the nice value of the thread raised (lowering a priority is
        // always allowed).
        unsafe { libc::setpriority(libc::PRIO_PROCESS, self.tid, self.previous) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_nice() -> i32 {
        let tid = nix::unistd::gettid().as_raw() as libc::id_t;
        // SAFETY: reads the nice value of this thread.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }
    }

    #[test]
    fn the_boost_lasts_as_long_as_it_lives_and_only_on_this_thread() {
        std::thread::spawn(|| {
            let before = own_nice();
            let boost = PriorityBoost::raise();
            // SAFETY: geteuid cannot fail.
            if unsafe { libc::geteuid() } == 0 {
                assert!(boost.is_some(), "root may raise it");
                assert_eq!(own_nice(), BOOSTED_NICE);
                let inherited = std::thread::spawn(own_nice).join().unwrap();
                assert_eq!(inherited, BOOSTED_NICE, "threads started meanwhile inherit it");
            }
            drop(boost);
            assert_eq!(own_nice(), before);
        })
        .join()
        .unwrap();
    }
}
