//! AFL++ target: `ptrace::fuzzing::elf` over each input.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ptrace::fuzzing::elf(data);
    });
}
