//! AFL++ target: `ptrace::fuzzing::snapshot_json` over each input.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ptrace::fuzzing::snapshot_json(data);
    });
}
