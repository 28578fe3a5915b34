//! Tests of the unwinder on real programs and hand-made stacks.

mod cfi_cases;
mod fixture;
mod gdb_oracle;
mod objects;
mod real_programs;
mod robustness;
mod vdso;
