//! AFL++ target: `ptrace::fuzzing::cfi` over each input.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ptrace::fuzzing::cfi(data);
    });
}
