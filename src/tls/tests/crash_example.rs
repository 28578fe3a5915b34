//! `c-examples/build/crash hang 2`: `hang_tls_counter` is 100 on the main thread, 101 and 102 on
//! the helpers; `hang_tls_state.index` is the same index and `hang_tls_self` points to that
//! thread's own `hang_tls_state`.

use std::collections::BTreeSet;

use super::gdb::tls_addresses;
use super::target::{object_named, tls_symbol_offset, Target};
use crate::abort::AbortFlag;
use crate::memory::MemoryReader;
use crate::tls::TlsResolver;
use crate::tracer::{StopOptions, StoppedProcess};

#[test]
fn hang_tls_counter_in_every_thread() {
    let build = tempfile::tempdir().unwrap();
    let program = crate::test_support::build_example(build.path(), "crash");

    let target = Target::start(&program, &["hang", "2"]);
    let pid = target.pid();
    let objects = target.objects();
    let resolver = TlsResolver::new(&objects, &target.memory()).expect("resolver");
    let executable = object_named(&objects, "crash");
    assert_eq!(resolver.module(executable).map(|m| m.modid), Some(1));
    let counter_offset = tls_symbol_offset(&program, "hang_tls_counter");
    let state_offset = tls_symbol_offset(&program, "hang_tls_state");
    let self_offset = tls_symbol_offset(&program, "hang_tls_self");

    let stopped = StoppedProcess::stop(pid, &StopOptions::default(), &AbortFlag::new()).expect("stop");
    let memory = stopped.memory();
    let mut helpers = BTreeSet::new();
    let mut ours = Vec::new();
    for thread in stopped.threads() {
        let block = resolver
            .block_address(executable, thread.user_regs.fs_base, memory)
            .expect("the executable's TLS is static: every thread has it");
        let read_i32 = |address: u64| {
            let bytes = memory.read_exact(address, 4).expect("readable");
            i32::from_le_bytes(bytes.try_into().unwrap())
        };
        let counter = read_i32(block + counter_offset);
        // struct hang_tls_state starts with `int index`.
        assert_eq!(read_i32(block + state_offset), counter - 100);
        assert_eq!(memory.read_u64(block + self_offset), Some(block + state_offset));
        if thread.tid == pid {
            assert_eq!(counter, 100, "main thread");
        } else {
            helpers.insert(counter);
        }
        ours.push((thread.tid, block + counter_offset));
    }
    assert_eq!(helpers, BTreeSet::from([101, 102]));
    stopped.resume().expect("resume");

    let gdb = tls_addresses(pid, &["hang_tls_counter"], build.path());
    for (tid, address) in ours {
        assert_eq!(
            gdb.get(&(tid, "hang_tls_counter".to_string())),
            Some(&Some(address)),
            "thread {tid}"
        );
    }
}
