//! Lua host tests: the tutorial's modules, every API function, the sandbox and hostile modules,
//! run by the real engine on snapshots built here (and on a real one of `crash`), with the test
//! typed memory of [`double`].

mod api;
mod dispatch;
mod double;
mod hostile;
mod real;
mod tutorial;

use super::{LuaLoader, LuaOptions};
use crate::pmodule::testdata::{frame, snapshot, thread, variable};
use crate::pmodule::{MemorySink, ModuleOptions, PmoduleHost};
use crate::snapshot::{Address, Fault, Snapshot};
use double::Fake;
use std::path::PathBuf;
use std::sync::Arc;

/// A host with the Lua loader and the tutorial's typed memory and process access.
pub struct TestHost {
    pub host: PmoduleHost,
    pub sink: Arc<MemorySink>,
    pub dir: tempfile::TempDir,
}

impl TestHost {
    pub fn new(options: LuaOptions, module_options: ModuleOptions) -> Self {
        let sink = Arc::new(MemorySink::new());
        let mut host = PmoduleHost::new(module_options, sink.clone());
        host.add_loader(Box::new(LuaLoader::new(options)));
        let fake = Arc::new(Fake::tutorial(&[100, 101]));
        host.set_typed_memory(Some(fake.clone()));
        host.set_process_access(Some(fake));
        TestHost {
            host,
            sink,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn default() -> Self {
        Self::new(LuaOptions::default(), ModuleOptions::new())
    }

    /// Writes `source` as module file `name` and loads it.
    pub fn load(&self, name: &str, source: &str) -> Result<Vec<String>, crate::pmodule::LoadError> {
        let path = self.write(name, source);
        self.host.load_file(&path)
    }

    pub fn write(&self, name: &str, source: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, source).expect("write module");
        path
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.sink.text()
    }
}

/// The repository's `lua/examples/NAME`.
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("lua/examples")
        .join(name)
}

/// A snapshot shaped like `crash segv` (or `crash hang` with `fault = false`): thread 100 with
/// `recurse(0)` ... `recurse(5)` (parameters `n`, `ctx`; local `frame`) and `main`, the first
/// frame faulting with SIGSEGV at 0x10; thread 101 parked in libc and `hang_wait`.
pub fn crash_snapshot(fault: bool) -> Snapshot {
    let mut frames = Vec::new();
    if !fault {
        frames.push(frame(
            "pause",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "../sysdeps/unix/sysv/linux/pause.c",
        ));
    }
    for n in 0..6 {
        let mut f = frame("recurse", double::EXE, double::CRASH_C);
        let mut p_n = variable("n", "int", "int", "ll");
        p_n.parameter = true;
        p_n.value = serde_json::json!(n);
        let mut ctx = variable("ctx", "struct crash_ctx *", "crash_ctx", "reference");
        ctx.parameter = true;
        ctx.value = serde_json::json!("0x7ffc0000");
        let mut local = variable("frame", "struct crash_frame_info", "crash_frame_info", "tuple");
        local.children = vec![variable("depth", "int", "int", "ll")];
        f.variables = vec![p_n, ctx, local];
        frames.push(f);
    }
    frames.push(frame("main", double::EXE, double::CRASH_C));
    let mut main = thread(100, frames);
    let mut helper = thread(
        101,
        vec![
            frame(
                "__futex_abstimed_wait_common",
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "futex-internal.c",
            ),
            frame("hang_wait", double::EXE, double::HANG_C),
        ],
    );
    helper.name = "crash".into();
    let mut snap = snapshot(100, vec![]);
    if fault {
        main.fault = true;
        main.frames[0].fault = true;
        snap.fault = Some(Fault {
            tid: 100,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: Some(Address(0x10)),
            reason: "address not mapped to object".into(),
        });
    }
    snap.threads = vec![main, helper];
    snap
}
