/*
 * The first module of the pmodule tutorial, in C: the port of lua/examples/pmodule_lua.lua.
 * Its annotations, attributes and classifiers use the Lua module's texts, so the snapshots of
 * the two modules on the same crash compare equal.
 *
 * Build: cc -shared -fPIC -I../include tutorial.c -o tutorial.so   (no -lptrace needed: the
 * ptrace executable provides the pmodule_* functions)
 * Run:   ptrace --module-load build/modules/tutorial.so --exec -- build/crash segv
 */
#include <pmodule.h>
#include <string.h>

static pmodule_t *module;

static void frame_cb(ptrace_frame_t *fr)
{
    pmodule_siginfo_t si;
    size_t i;

    for (i = 0; i < pmodule_frame_parameter_count(fr); i++)
        pmodule_variable_annotate(pmodule_frame_parameter(fr, i), PMODULE_ANNOTATION_CRITICAL,
                                  "lua: fprm %zu", i);

    if (pmodule_frame_siginfo(fr, &si)) {
        pmodule_backtrace_annotate(pmodule_backtrace_get(), PMODULE_ANNOTATION_JSON,
                                   "{\"json\": {\"context\": \"Signal\", "
                                   "\"Reason\": \"%s\", "
                                   "\"Populated\": \"%s\", "
                                   "\"Address\": \"%llx\", "
                                   "\"Num\": \"%d\", "
                                   "\"Code\": \"%d\", "
                                   "\"String\": \"%s\"}}",
                                   si.reason, si.address_populated ? "true" : "false",
                                   (unsigned long long)si.address, si.num, si.code, si.text);
    }
}

/* The variable's value as Lua's tostring(var:value()) writes it: an integer, a float (%.14g,
 * with ".0" when it looks like an integer), the real part of a complex, or "nil". */
static const char *value_text(ptrace_variable_t *var, char *buf, size_t n)
{
    long long i;
    double x, im;
    if (pmodule_variable_value_ll(var, &i)) {
        snprintf(buf, n, "%lld", i);
        return buf;
    }
    if (!pmodule_variable_value_dbl(var, &x) && !pmodule_variable_value_cdbl(var, &x, &im))
        return "nil";
    snprintf(buf, n, "%.14g", x);
    if (buf[strspn(buf, "-0123456789")] == '\0' && strlen(buf) + 3 <= n)
        strcat(buf, ".0");
    return buf;
}

static void postattach_cb(ptrace_backtrace_t *bt)
{
    pmodule_match_t *m = pmodule_match_create();
    ptrace_variable_t *var;
    const char *object, *cu;
    char text[64];
    size_t t, f, v;

    pmodule_match_set_fault(m, false);

    /* Example iterators: the faulting threads and frames, their pointer variables. */
    for (t = 0; t < pmodule_backtrace_thread_count(bt); t++) {
        ptrace_thread_t *thr = pmodule_backtrace_thread(bt, t);
        if (!pmodule_match_thread(m, thr))
            continue;
        for (f = 0; f < pmodule_thread_frame_count(thr); f++) {
            ptrace_frame_t *fr = pmodule_thread_frame(thr, f);
            for (v = 0; v < pmodule_frame_variable_count(fr); v++) {
                long long value;
                var = pmodule_frame_variable(fr, v);
                if (pmodule_variable_type(var) != PMODULE_VARIABLE_TYPE_REFERENCE ||
                    !pmodule_variable_value_ll(var, &value))
                    continue;
                pmodule_variable_annotate(var, PMODULE_ANNOTATION_CRITICAL,
                                          "[%llx] %s - example annotation",
                                          (unsigned long long)value, pmodule_variable_name(var));
            }
        }
    }
    pmodule_match_free(m);

    /* Example global variable iteration. */
    pmodule_log(module, PMODULE_LOG_WARNING, "Global variables:");
    {
        pmodule_variable_filter_t filter = {"crash", "invalid_write.c", NULL};
        pmodule_variable_iterator_t *it = pmodule_backtrace_variables(bt, &filter);
        while ((var = pmodule_variable_iterator_next(it, &object, &cu)) != NULL)
            pmodule_log(module, PMODULE_LOG_WARNING, "name: %s, value: %s, object: %s, cu: %s",
                        pmodule_variable_name(var), value_text(var, text, sizeof text), object, cu);
        pmodule_variable_iterator_free(it);
    }

    /* Example TLS variable iteration. */
    for (t = 0; t < pmodule_backtrace_thread_count(bt); t++) {
        pmodule_variable_filter_t filter = {NULL, "hang", NULL};
        pmodule_variable_iterator_t *it;
        pmodule_log(module, PMODULE_LOG_WARNING, "TLS variables:");
        it = pmodule_thread_variables(pmodule_backtrace_thread(bt, t), &filter);
        while ((var = pmodule_variable_iterator_next(it, &object, &cu)) != NULL)
            pmodule_log(module, PMODULE_LOG_WARNING,
                        "name: %s, value: %s, object: %s, \n                cu: %s",
                        pmodule_variable_name(var), value_text(var, text, sizeof text), object, cu);
        pmodule_variable_iterator_free(it);
    }

    /* Example global variable lookup by name. */
    {
        pmodule_variable_filter_t filter = {NULL, NULL, "global_version"};
        pmodule_variable_iterator_t *it = pmodule_backtrace_variables(bt, &filter);
        while ((var = pmodule_variable_iterator_next(it, NULL, NULL)) != NULL) {
            long long address = 0;
            char str[256];
            pmodule_variable_value_ll(var, &address);
            pmodule_log(module, PMODULE_LOG_WARNING, "[%llx] string: %s", (unsigned long long)address,
                        pmodule_address_read_string(str, (unsigned long long)address, sizeof str) >= 0
                            ? str
                            : "nil");
        }
        pmodule_variable_iterator_free(it);
    }

    pmodule_log(module, PMODULE_LOG_WARNING, "process state: %d",
                pmodule_backtrace_process_state(bt));

    pmodule_backtrace_add_kv_int(bt, "lua_key1", 42);
    pmodule_backtrace_add_kv_string(bt, "lua_key2", "lua_value");
    pmodule_backtrace_add_classifier(bt, "lua");
}

static void struct_var_cb(ptrace_variable_t *var, bt_variable_t *btvar)
{
    (void)btvar;
    pmodule_variable_annotate_str(var, PMODULE_ANNOTATION_CRITICAL, "lua: struct var");
}

static bool pm_load(pmodule_t *pm)
{
    pmodule_match_t *m = pmodule_match_create();
    bool ok;

    module = pm;
    ok = pmodule_postattach_event_add(pm, postattach_cb);

    pmodule_match_add_object(m, "crash", PMODULE_MATCH_EXACT);
    pmodule_match_add_file(m, "crash.c", PMODULE_MATCH_EXACT);
    pmodule_match_add_frame_symbol(m, "recurse", PMODULE_MATCH_SUBSTR);
    pmodule_match_add_variable_base_type(m, "crash_", PMODULE_MATCH_SUBSTR);
    pmodule_match_add_variable_ptrace_type(m, PMODULE_VARIABLE_TYPE_TUPLE);
    ok = ok && pmodule_variable_event_add(pm, m, struct_var_cb);

    pmodule_match_reset(m);
    pmodule_match_set_fault(m, false);
    ok = ok && pmodule_frame_event_add(pm, m, frame_cb);

    pmodule_match_free(m);
    return ok;
}

static void pm_unload(pmodule_t *pm)
{
    pmodule_log(pm, PMODULE_LOG_WARNING, "pm_unload");
}

PMODULE_DEFINE("pmodule_c", pm_load, pm_unload, NULL);
