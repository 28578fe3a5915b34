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

static void postattach_cb(ptrace_backtrace_t *bt)
{
    pmodule_match_t *m = pmodule_match_create();
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
                ptrace_variable_t *var = pmodule_frame_variable(fr, v);
                long long value;
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
    for (v = 0; v < pmodule_backtrace_global_count(bt); v++) {
        ptrace_variable_t *var = pmodule_backtrace_global(bt, v);
        pmodule_log(module, PMODULE_LOG_WARNING, "name: %s", pmodule_variable_name(var));
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
