//! Build script: generates `include/pmodule.h` with cbindgen from the two C faces of the crate
//! (`src/module_abi`, what native modules call, and `src/embed`, what embedding programs call),
//! sets the shared library's SONAME and exports the CLI's symbols so native modules can bind to
//! them.

use std::path::PathBuf;

fn main() {
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    // The shared library is `libptrace.so` with SONAME `libptrace.so.0`.
    println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libptrace.so.0");
    // The cargo-built CLI (the engine linked in) exports its symbols so `cc -shared -fPIC mod.c`
    // modules resolve `pmodule_*` from it; the installed launcher gets them from libptrace.so.0.
    println!("cargo::rustc-link-arg-bins=-rdynamic");
    // Integration tests load native modules in-process too.
    println!("cargo::rustc-link-arg-tests=-rdynamic");

    println!("cargo::rerun-if-changed=src/module_abi");
    println!("cargo::rerun-if-changed=src/embed");
    println!("cargo::rerun-if-changed=cbindgen.toml");
    println!("cargo::rerun-if-changed=build.rs");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let header = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/module_abi/mod.rs"))
        .with_src(crate_dir.join("src/embed/mod.rs"))
        .generate()
        .expect("cbindgen can parse src/module_abi and src/embed");
    let generated = out_dir.join("pmodule.h");
    header.write_to_file(&generated);

    // Keep the committed header in step; a test (tests/header.rs) fails when the committed copy
    // differs from this generation, so a change to src/module_abi or src/embed must come with its
    // header.
    let committed = crate_dir.join("include/pmodule.h");
    let new_text = std::fs::read(&generated).expect("generated header is readable");
    if std::fs::read(&committed).ok().as_deref() != Some(new_text.as_slice()) {
        std::fs::write(&committed, &new_text).expect("include/pmodule.h is writable");
    }
}
