//! AFL++ target: `ptrace::fuzzing::dwarf` over each input.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ptrace::fuzzing::dwarf(data);
    });
}
