/* A classifier, the C twin of classify.lua: "hang" with the number of threads parked in
 * hang_wait, "fault" with the signal's tag. */
#include <pmodule.h>

#include <stdio.h>
#include <string.h>

PMODULE_DEFINE("classify", load, NULL, NULL);

/* Whether a frame of `thr` is in function `name`. */
static bool in_function(ptrace_thread_t *thr, const char *name)
{
    size_t f;

    for (f = 0; f < pmodule_thread_frame_count(thr); f++) {
        const char *symbol = pmodule_frame_symbol(pmodule_thread_frame(thr, f));
        if (symbol != NULL && strcmp(symbol, name) == 0)
            return true;
    }
    return false;
}

static void classify(ptrace_backtrace_t *bt)
{
    pmodule_match_t *m = pmodule_match_create();
    long long waiting = 0;
    size_t t, f;

    for (t = 0; t < pmodule_backtrace_thread_count(bt); t++)
        if (in_function(pmodule_backtrace_thread(bt, t), "hang_wait"))
            waiting++;
    pmodule_backtrace_add_kv_int(bt, "waiting_threads", waiting);
    if (waiting > 0)
        pmodule_backtrace_add_classifier(bt, "hang");

    pmodule_match_set_fault(m, false);
    for (t = 0; t < pmodule_backtrace_thread_count(bt); t++) {
        ptrace_thread_t *thr = pmodule_backtrace_thread(bt, t);
        if (!pmodule_match_thread(m, thr))
            continue;
        for (f = 0; f < pmodule_thread_frame_count(thr); f++) {
            ptrace_frame_t *fr = pmodule_thread_frame(thr, f);
            pmodule_siginfo_t signal;
            char tag[32];
            if (!pmodule_match_frame(m, fr) || !pmodule_frame_siginfo(fr, &signal))
                continue;
            pmodule_backtrace_add_classifier(bt, "fault");
            snprintf(tag, sizeof tag, "signal:%d", signal.num);
            pmodule_backtrace_add_tag(bt, tag);
        }
    }
    pmodule_match_free(m);
}

static bool load(pmodule_t *pm)
{
    return pmodule_postattach_event_add(pm, classify);
}
