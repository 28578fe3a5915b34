//! Before the stop: the DWARF the stop will most likely read, read now. Each thread blocked in
//! the kernel is looked at while it runs (its pc, and its stack read racily); its pc and every
//! word of its stack that points into code (the return addresses among them) name the functions
//! its frames will be in. For each, the function tables and call sites of its unit, the
//! variables in scope with their plans and types, and its call sites are read and cached, so
//! that the stop itself mostly reads target memory. A guess that misses costs only time before
//! the stop; the stop reads whatever was not guessed.

use std::collections::HashSet;

use super::prepare::PreparedProcess;
use crate::tracer::{peek_threads, PeekedThread};
use crate::variables::VariableLimits;

/// At most this many threads are looked at.
const MAX_THREADS: usize = 4096;

/// At most this many distinct code addresses are prepared.
const MAX_ADDRESSES: usize = 4096;

/// What [`prepare_stopped_code`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Threads seen blocked.
    pub threads: usize,
    /// Distinct code addresses found on their stacks (and their pcs).
    pub addresses: usize,
    /// Those in a function with DWARF, now prepared.
    pub functions: usize,
}

/// Looks at the threads of `pid` (at most `stack_limit` bytes of each stack) and prepares what
/// extracting their frames' variables with `limits` will read of the DWARF.
pub fn prepare_stopped_code(
    pid: i32,
    prepared: &PreparedProcess,
    limits: &VariableLimits,
    stack_limit: usize,
) -> Prepared {
    let mut lookups = CodeAddresses::default();
    let threads = peek_threads(pid, stack_limit, MAX_THREADS, |thread| {
        lookups.add_thread(&thread, prepared);
    });
    let mut functions = 0;
    for &lookup in &lookups.found {
        if let Some(object) = prepared.objects.find(lookup) {
            // The call sites of its unit: the tail-call search reads them.
            object.function_entry(lookup);
        }
        if prepared.variables.prepare_at(lookup, limits) {
            functions += 1;
        }
    }
    Prepared {
        threads,
        addresses: lookups.found.len(),
        functions,
    }
}

/// The lookup pcs the frames of the threads seen will likely have: each thread's pc, and for
/// each aligned stack word inside an object's executable mapping, that word - 1 (a return
/// address is looked up at the call before it). In order of discovery, without repeats.
#[derive(Default)]
struct CodeAddresses {
    seen: HashSet<u64>,
    found: Vec<u64>,
}

impl CodeAddresses {
    fn add(&mut self, lookup: u64) {
        if self.found.len() < MAX_ADDRESSES && self.seen.insert(lookup) {
            self.found.push(lookup);
        }
    }

    /// Adds the pc of `thread` and the code addresses on its stack.
    fn add_thread(&mut self, thread: &PeekedThread, prepared: &PreparedProcess) {
        if is_code(prepared, thread.pc) {
            self.add(thread.pc);
        }
        let Some(start) = thread.stack.base.checked_next_multiple_of(8) else {
            return;
        };
        let skip = usize::try_from(start - thread.stack.base).unwrap_or(usize::MAX);
        for word in thread.stack.bytes.get(skip..).unwrap_or_default().chunks_exact(8) {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(word);
            let value = u64::from_le_bytes(raw);
            if value > 0 && is_code(prepared, value) {
                self.add(value - 1);
            }
        }
    }
}

/// Whether `address` lies in the executable mapping of an object of the process.
fn is_code(prepared: &PreparedProcess, address: u64) -> bool {
    prepared
        .objects
        .find(address)
        .is_some_and(|object| object.is_executable_address(address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    #[test]
    fn the_code_on_parked_threads_stacks_is_prepared_before_the_stop() {
        let build = tempfile::tempdir().expect("temp dir");
        let program = crate::test_support::build_example(build.path(), "threads-O2");
        let mut child = Command::new(&program)
            .args(["3", "5"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start threads");
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let pid = child.id() as i32;
        let prepared = PreparedProcess::load(
            pid,
            &crate::session::SessionOptions::default().debug_search(pid),
            &crate::debuginfo::debuginfod::Settings::off(),
        );
        let limits = VariableLimits::default();
        let result = prepared.as_ref().map(|p| {
            (
                p.variables.planned_scopes(),
                prepare_stopped_code(pid, p, &limits, 1 << 20),
            )
        });
        let after = prepared.as_ref().map(|p| p.variables.planned_scopes());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(line.trim(), "ready");
        let (before, done) = result.expect("the process loads");
        // The main thread and three parked threads, each five threads_recurse frames deep (the
        // same return address), inside pthread_cond_wait / pthread_join.
        assert!(done.threads >= 4, "{done:?}");
        assert!(done.functions >= 3, "{done:?}");
        assert_eq!(before, 0);
        assert!(after.unwrap_or(0) >= done.functions, "{done:?} planned {after:?}");
    }
}
