//! The committed `include/pmodule.h` is what build.rs generates from `src/module_abi` and
//! `src/embed`, and it compiles
//! as C and C++ with strict warnings.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

#[test]
fn committed_header_equals_the_generated_one() {
    let generated =
        std::fs::read_to_string(concat!(env!("OUT_DIR"), "/pmodule.h")).expect("generated header");
    let repo = common::repo();
    // What git has committed, when this is a checkout; else the file on disk.
    let committed = Command::new("git")
        .args(["show", "HEAD:include/pmodule.h"])
        .current_dir(&repo)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| {
            std::fs::read_to_string(repo.join("include/pmodule.h")).expect("include/pmodule.h")
        });
    assert!(
        committed == generated,
        "include/pmodule.h is out of date: build regenerated it from src/module_abi and src/embed; \
         commit the new header"
    );
    assert!(generated.contains("ptrace_session_snapshot_pid"));
}

#[test]
fn header_compiles_as_strict_c_and_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let include = common::repo().join("include");
    let source = dir.path().join("use.c");
    std::fs::write(
        &source,
        concat!(
            "#include <pmodule.h>\n",
            "static void on_var(ptrace_variable_t *v, bt_variable_t *bt) {\n",
            "    bt_variable_t out; bt_error_t err; char buf[16];\n",
            "    bt_variable_t *m = bt_variable_member_value_get(bt, \"x\");\n",
            "    (void)bt_variable_deref(&out, m, &err); (void)bt_variable_strncpy(buf, &out, sizeof buf);\n",
            "    (void)bt_type_pp(bt_type_base(bt_variable_bt_type(&out)), BT_TYPE_LANG_C);\n",
            "    bt_variable_deinit(&out);\n",
            "    pmodule_variable_annotate(v, PMODULE_ANNOTATION_COMMENT, \"%s %d\", \"n\", 1);\n",
            "    if (pmodule_variable_state(v) != PTRACE_VARIABLE_S_ERROR)\n",
            "        (void)pmodule_variable_state_set(v, PTRACE_VARIABLE_S_SKIP | PTRACE_VARIABLE_S_TRUNCATED);\n",
            "}\n",
            "static void on_post(ptrace_backtrace_t *bt) {\n",
            "    pmodule_variable_filter_t f = {\"crash\", NULL, NULL}; pmodule_pmap_t map;\n",
            "    const char *object, *cu; ptrace_variable_t *v; ptrace_frame_t *fr = pmodule_frame_create();\n",
            "    pmodule_variable_iterator_t *it = pmodule_backtrace_variables(bt, &f);\n",
            "    while ((v = pmodule_variable_iterator_next(it, &object, &cu)) != NULL) (void)pmodule_variable_set_cdbl(v, 1.0, 2.0);\n",
            "    pmodule_variable_iterator_free(it);\n",
            "    if (pmodule_backtrace_pmap_entry(bt, 0, &map)) (void)pmodule_pmap_permissions(&map, PMODULE_PMAP_PERMS_ALL);\n",
            "    (void)pmodule_frame_set_line(fr, 1); (void)pmodule_thread_add_frame(pmodule_backtrace_thread(bt, 0), fr, true);\n",
            "    (void)(pmodule_backtrace_process_state(bt) == PMODULE_PROCESS_STATE_TRACED);\n",
            "}\n",
            "static bool load(pmodule_t *pm) {\n",
            "    pmodule_log(pm, PMODULE_LOG_INFO, \"%d\", 1);\n",
            "    return pmodule_variable_event_add(pm, NULL, on_var) && pmodule_postattach_event_add(pm, on_post);\n",
            "}\n",
            "PMODULE_DEFINE(\"header_test\", load, NULL, NULL);\n",
            "int main(void) { ptrace_session_t *s = ptrace_session_create(); ptrace_session_free(s); return 0; }\n",
        ),
    )
    .unwrap();
    for (compiler, std) in [("cc", "-std=c99"), ("cc", "-std=c11"), ("g++", "-std=c++17")] {
        let mut cmd = Command::new(compiler);
        if compiler == "g++" {
            cmd.args(["-x", "c++"]);
        }
        let status = cmd
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
                "-I",
            ])
            .arg(&include)
            .arg(&source)
            .status()
            .expect("run the compiler");
        assert!(status.success(), "{compiler} {std} rejects include/pmodule.h");
    }
}

/// A module the way the original's are written: `<bt.h>` and `"ptrace/pmodule.h"` (here each
/// twice, in both orders, with `<pmodule.h>` too), only `<ctype.h>`, `<stddef.h>` and
/// `<stdio.h>` besides, C library functions our headers bring, and `PMODULE_DEFINE` before the
/// load function it names.
const ORIGINAL_STYLE: &str = r#"#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <bt.h>
#include "ptrace/pmodule.h"
#include "ptrace/pmodule.h"
#include <bt.h>
#include <pmodule.h>

PMODULE_DEFINE("original_style", load, NULL, NULL);

static void on_var(ptrace_variable_t *var, bt_variable_t *bt)
{
    const char *pp = bt_type_pp(bt_variable_bt_type(bt), BT_TYPE_LANG_C);
    char *text = NULL, *copy;
    size_t n;

    if (pp == NULL || strncmp(pp, "struct(", 7) != 0)
        return;
    n = strlen(pp);
    copy = (char *)calloc(n + 1, 1);
    if (copy != NULL && isprint((unsigned char)pp[0]) && asprintf(&text, "%s", pp) >= 0) {
        uint32_t flags = pmodule_variable_state(var) | PTRACE_VARIABLE_S_SKIP;
        pmodule_variable_state_set(var, flags);
        pmodule_variable_set_string(var, text);
    }
    free(copy);
}

static bool load(pmodule_t *pm)
{
    return pmodule_variable_event_add(pm, NULL, on_var);
}
"#;

#[test]
fn original_style_modules_compile_with_the_header_pair_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let include = common::repo().join("include");
    let source = dir.path().join("original.c");
    std::fs::write(&source, ORIGINAL_STYLE).unwrap();
    // The other order, and the pair alone.
    let swapped = ORIGINAL_STYLE.replacen(
        "#include <bt.h>\n#include \"ptrace/pmodule.h\"\n",
        "#include \"ptrace/pmodule.h\"\n#include <bt.h>\n",
        1,
    );
    let swapped_source = dir.path().join("swapped.c");
    std::fs::write(&swapped_source, swapped).unwrap();
    for file in [&source, &swapped_source] {
        for (compiler, language, std) in [("gcc", "c", "-std=gnu99"), ("g++", "c++", "-std=gnu++17")] {
            let output = Command::new(compiler)
                .args([
                    "-x",
                    language,
                    "-D_GNU_SOURCE",
                    std,
                    "-Wall",
                    "-W",
                    "-Werror",
                    "-O2",
                    "-fPIC",
                    "-c",
                    "-I",
                ])
                .arg(&include)
                .arg(file)
                .arg("-o")
                .arg(dir.path().join("original.o"))
                .output()
                .expect("run the compiler");
            assert!(
                output.status.success(),
                "{compiler} {}: {}",
                file.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
