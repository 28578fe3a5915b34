//! [`ThreadTls`]: the TLS blocks of one stopped thread, for the variables engine — an adapter
//! from the process-wide [`tls::TlsResolver`](crate::tls::TlsResolver) (prepared before the stop)
//! to the per-thread [`variables::TlsResolver`](crate::variables::TlsResolver) trait, with the
//! thread's thread pointer (`fs_base`).

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;

use crate::debuginfo::{LoadedObject, ProcessObjects};
use crate::memory::{MemoryReader, MemorySnapshot};
use crate::tls;
use crate::variables;

/// The TLS blocks of one thread, each looked up once (a thread's variables of one object share
/// its block).
pub struct ThreadTls<'a> {
    resolver: &'a tls::TlsResolver,
    thread_pointer: u64,
    memory: &'a dyn MemoryReader,
    /// Blocks found so far, by the object's `(base, bias)`.
    blocks: RefCell<HashMap<(u64, u64), Option<u64>>>,
}

impl<'a> ThreadTls<'a> {
    /// The thread whose thread pointer (`fs_base` on x86-64) is `thread_pointer`, its blocks
    /// located by `resolver` in `memory` (the stopped process).
    pub fn new(resolver: &'a tls::TlsResolver, thread_pointer: u64, memory: &'a dyn MemoryReader) -> Self {
        Self {
            resolver,
            thread_pointer,
            memory,
            blocks: RefCell::new(HashMap::default()),
        }
    }
}

/// Blocks bigger than this are not copied (their variables are read where they are).
const MAX_BLOCK_COPY: u64 = 64 * 1024;

impl ThreadTls<'_> {
    /// Copies of the thread's TLS blocks of the objects of `objects` that have one (one read
    /// each, up to [`MAX_BLOCK_COPY`] bytes): its thread-local variables are then read from
    /// these rather than one read each. A block that cannot be located or read is left out.
    pub fn block_copies(&self, objects: &ProcessObjects) -> Vec<MemorySnapshot> {
        objects
            .objects()
            .iter()
            .filter_map(|object| {
                let size = self.resolver.module(object)?.segment?.mem_size;
                if size == 0 || size > MAX_BLOCK_COPY {
                    return None;
                }
                let base = variables::TlsResolver::tls_block(self, object)?;
                let mut bytes = vec![0u8; usize::try_from(size).ok()?];
                let read = self.memory.read_at(base, &mut bytes);
                bytes.truncate(read);
                (!bytes.is_empty()).then_some(MemorySnapshot { base, bytes })
            })
            .collect()
    }
}

impl variables::TlsResolver for ThreadTls<'_> {
    fn tls_block(&self, object: &LoadedObject) -> Option<u64> {
        let key = (object.base, object.bias);
        if let Some(found) = self.blocks.borrow().get(&key) {
            return *found;
        }
        let block = self
            .resolver
            .block_address(object, self.thread_pointer, self.memory);
        self.blocks.borrow_mut().insert(key, block);
        block
    }
}
