/*
 * A pretty-printer for the C++ example (cpp_example.cpp): libstdc++'s std::string and the
 * class template shop::inventory::Ring<T, N>.
 *
 * - Every std::string variable of Auditor::walk (`step`, and `note`, an rvalue reference to
 *   one) gets its text as its value: `_M_dataplus._M_p` is followed with
 *   bt_variable_member_value_get and its characters copied with bt_variable_strncpy.
 * - `shelf` (a const Shelf &) is followed with bt_variable_deref; for each of its Ring members
 *   the type's text (bt_type_pp) gives the template arguments
 *   (pmodule_cpp_template_nth_argument), and a child variable `<member>.summary` is
 *   synthesized (pmodule_variable_create + pmodule_frame_add_variable), set to a string such
 *   as "Ring<int, 4>: 4 of 4 slots used" and dispatched (pmodule_variable_dispatch) so that
 *   modules listening to variables see it too. The shelf's label gets its text as an
 *   annotation.
 *
 * Build: make -C c-examples modules   (cc -shared -fPIC -I../include, no -lptrace)
 * Run:   ptrace --module-load build/modules/cpp_printer.so $(pidof cpp_example)
 */
#include <pmodule.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pmodule_t *module;

/* The text of a libstdc++ std::string bt variable, copied into `dst`; -1 when it is none. */
static ssize_t std_string_text(bt_variable_t *str, char *dst, size_t n)
{
    bt_variable_t *plus = bt_variable_member_value_get(str, "_M_dataplus");
    bt_variable_t *p = plus ? bt_variable_member_value_get(plus, "_M_p") : NULL;

    return p ? bt_variable_strncpy(dst, p, n) : -1;
}

/* Whether the type of `bt` (references and const removed) is std::string. */
static bool is_std_string(bt_variable_t *bt)
{
    bt_type *base = bt_type_base(bt_variable_bt_type(bt));
    const char *text = base ? bt_type_pp(base, BT_TYPE_LANG_C) : NULL;

    return text != NULL && (strstr(text, "std::__cxx11::basic_string<char") != NULL ||
                            strstr(text, "std::string") != NULL);
}

/* A copy of `text` from malloc (pmodule_variable_set_string takes ownership). */
static char *owned(const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);

    if (copy != NULL)
        memcpy(copy, text, len + 1);
    return copy;
}

static void string_cb(ptrace_variable_t *var, bt_variable_t *bt)
{
    char text[256];

    if (bt == NULL || !is_std_string(bt))
        return;
    if (std_string_text(bt, text, sizeof text) < 0) {
        pmodule_variable_annotate_str(var, PMODULE_ANNOTATION_WARNING,
                                      "cpp_printer: unreadable std::string");
        return;
    }
    pmodule_variable_set_string(var, owned(text));
}

/* Synthesizes `<owner>.<member>.summary` for the Ring member `member` of `shelf`. */
static void summarize_ring(ptrace_variable_t *owner, bt_variable_t *shelf, const char *member)
{
    bt_variable_t *ring = bt_variable_member_value_get(shelf, member);
    bt_variable_t *count = ring ? bt_variable_member_value_get(ring, "count_") : NULL;
    const char *type = ring ? bt_type_pp(bt_variable_bt_type(ring), BT_TYPE_LANG_C) : NULL;
    char *t = NULL, *n = NULL, name[64], text[256];
    ptrace_variable_t *child;
    long long used = -1;

    if (type == NULL || !pmodule_cpp_template_nth_argument(&t, type, 0) ||
        !pmodule_cpp_template_nth_argument(&n, type, 1)) {
        pmodule_log(module, PMODULE_LOG_WARNING, "%s: not a Ring<T, N> (%s)", member,
                    type ? type : "no type");
        free(t);
        return;
    }
    if (count != NULL && bt_variable_value(count))
        used = bt_variable_ll(count);
    snprintf(text, sizeof text, "Ring<%s, %s>: %lld of %s slots used", t, n, used, n);
    snprintf(name, sizeof name, "%s.summary", member);
    free(t);
    free(n);

    child = pmodule_variable_create("std::string", name, 0, -1, owner);
    if (child == NULL || !pmodule_variable_set_string(child, owned(text)) ||
        !pmodule_frame_add_variable(pmodule_variable_frame(owner), child, true)) {
        pmodule_log(module, PMODULE_LOG_ERROR, "cannot add %s", name);
        return;
    }
    pmodule_variable_dispatch(child, NULL);
}

static void shelf_cb(ptrace_variable_t *var, bt_variable_t *bt)
{
    bt_variable_t shelf;
    bt_error_t err;
    bt_variable_t *label;
    char text[256];

    if (bt == NULL)
        return;
    if (!bt_variable_deref(&shelf, bt, &err)) {
        pmodule_log(module, PMODULE_LOG_WARNING, "shelf: %s", err.message);
        return;
    }
    label = bt_variable_member_value_get(&shelf, "label");
    if (label != NULL && std_string_text(label, text, sizeof text) >= 0)
        pmodule_variable_annotate(var, PMODULE_ANNOTATION_COMMENT, "label: %s", text);
    summarize_ring(var, &shelf, "recent_counts");
    summarize_ring(var, &shelf, "recent_prices");
    bt_variable_deinit(&shelf);
}

/* Sees the synthesized summaries (dispatched to every module's variable callbacks). */
static void summary_cb(ptrace_variable_t *var, bt_variable_t *bt)
{
    (void)bt;
    pmodule_variable_annotate(var, PMODULE_ANNOTATION_COMMENT, "synthesized by cpp_printer");
}

static bool pm_load(pmodule_t *pm)
{
    pmodule_match_t *m = pmodule_match_create();
    bool ok;

    module = pm;
    pmodule_match_add_frame_symbol(m, "Auditor::walk", PMODULE_MATCH_SUBSTR);
    pmodule_match_add_variable_name(m, "step", PMODULE_MATCH_EXACT);
    pmodule_match_add_variable_name(m, "note", PMODULE_MATCH_EXACT);
    ok = pmodule_variable_event_add(pm, m, string_cb);

    pmodule_match_reset(m);
    pmodule_match_add_frame_symbol(m, "Auditor::walk", PMODULE_MATCH_SUBSTR);
    pmodule_match_add_variable_name(m, "shelf", PMODULE_MATCH_EXACT);
    ok = ok && pmodule_variable_event_add(pm, m, shelf_cb);

    pmodule_match_reset(m);
    pmodule_match_add_variable_name(m, ".summary", PMODULE_MATCH_SUBSTR);
    ok = ok && pmodule_variable_event_add(pm, m, summary_cb);

    pmodule_match_free(m);
    return ok;
}

PMODULE_DEFINE("cpp_printer", pm_load, NULL, NULL);
