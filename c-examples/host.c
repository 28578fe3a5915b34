/*
 * A C program that takes snapshots itself with libptrace (the embedding API of pmodule.h):
 * it starts `crash hang`, snapshots it with a module loaded, prints the JSON's size and a few
 * fields, writes the snapshot to a file, then runs `crash segv` under libptrace and catches it;
 * given a core file too, snapshots the core.
 *
 * Build: make -C c-examples host              (against ../target/release: cargo build --release)
 *        make -C c-examples host PREFIX=/usr  (against an installed libptrace)
 *        cc host.c $(pkg-config --cflags --libs libptrace) -o host
 * Run:   build/host build/crash [MODULE.so [OUTPUT-DIR [CORE]]]
 */
#include <pmodule.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts `program hang 1` and waits for its "ready" line; returns its pid, or -1. */
static pid_t start_hang(const char *program)
{
    int fds[2];
    char line[16] = {0};
    FILE *out;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(program, program, "hang", "1", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (pid < 0 || out == NULL || fgets(line, sizeof line, out) == NULL ||
        strncmp(line, "ready", 5) != 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        if (out != NULL)
            fclose(out);
        return -1;
    }
    fclose(out);
    return pid;
}

/* Prints the value that follows `"key":` in `json` (up to the next comma or brace). */
static void print_field(const char *json, const char *key)
{
    char pattern[64];
    const char *at;
    size_t len;

    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    at = strstr(json, pattern);
    if (at == NULL) {
        printf("  %s: (absent)\n", key);
        return;
    }
    at += strlen(pattern);
    while (*at == ' ')
        at++;
    printf("  %s: ", key);
    if (*at == '[') {
        /* An array: its items on one line. */
        for (; *at != '\0' && *at != ']'; at++)
            if (*at != ' ' && *at != '\n')
                putchar(*at);
        puts("]");
        return;
    }
    len = strcspn(at, ",}\n");
    printf("%.*s\n", (int)len, at);
}

static int fail(ptrace_session_t *s, const char *what)
{
    fprintf(stderr, "host: %s: %s\n", what, ptrace_session_last_error(s));
    return 1;
}

int main(int argc, char **argv)
{
    ptrace_session_t *s;
    char *json = NULL, *path = NULL;
    char *segv[] = {NULL, "segv", NULL};
    size_t modules = 0;
    int status = 0, rc;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CRASH-PROGRAM [MODULE.so [OUTPUT-DIR [CORE]]]\n", argv[0]);
        return 2;
    }
    s = ptrace_session_create();
    if (s == NULL)
        return 1;
    /* The CLI's options, by their names. */
    if (ptrace_session_set_option(s, "application", "host-example") != PTRACE_OK ||
        ptrace_session_set_option(s, "kv", "host:c,answer:42") != PTRACE_OK ||
        ptrace_session_set_option(s, "classifier", "embedded") != PTRACE_OK ||
        ptrace_session_set_option(s, "depth", "2") != PTRACE_OK)
        return fail(s, "set_option");
    if (ptrace_session_set_option(s, "no-such-option", "x") == PTRACE_OK)
        return fail(s, "an unknown option was accepted");
    if (argc > 2 && ptrace_session_set_option(s, "module-load", argv[2]) != PTRACE_OK)
        return fail(s, "module-load");
    if (ptrace_session_load_modules(s, &modules) != PTRACE_OK)
        return fail(s, "load_modules");
    printf("modules loaded: %zu\n", modules);

    pid = start_hang(argv[1]);
    if (pid < 0) {
        fprintf(stderr, "host: cannot start %s hang\n", argv[1]);
        return 1;
    }
    rc = ptrace_session_snapshot_pid(s, pid, &json);
    if (rc == PTRACE_OK) {
        printf("snapshot of %d: %zu bytes\n", (int)pid, strlen(json));
        print_field(json, "application");
        print_field(json, "pid");
        print_field(json, "answer");
        print_field(json, "lua_key1");
        print_field(json, "classifiers");
        ptrace_string_free(json);
        json = NULL;
    }
    if (rc == PTRACE_OK && argc > 3) {
        rc = ptrace_session_snapshot_pid_to_file(s, pid, argv[3], &path);
        if (rc == PTRACE_OK)
            printf("written: %s\n", path);
        ptrace_string_free(path);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (rc != PTRACE_OK)
        return fail(s, "snapshot");

    segv[0] = argv[1];
    if (ptrace_session_run_and_catch(s, (const char *const *)segv, &json, &status) != PTRACE_OK)
        return fail(s, "run_and_catch");
    if (json != NULL) {
        printf("caught %s segv: %zu bytes, exit status %d\n", argv[1], strlen(json), status);
        print_field(json, "signal_name");
        print_field(json, "lua_key1");
    } else {
        printf("%s segv ended without a fatal signal, exit status %d\n", argv[1], status);
    }
    ptrace_string_free(json);
    json = NULL;

    if (argc > 4) {
        /* A core file: the executable it names is found from the core itself. */
        if (ptrace_session_snapshot_core(s, argv[4], NULL, &json) != PTRACE_OK)
            return fail(s, "snapshot_core");
        printf("core %s: %zu bytes\n", argv[4], strlen(json));
        print_field(json, "process_state");
        print_field(json, "lua_key1");
        ptrace_string_free(json);
    }
    ptrace_session_free(s);
    return 0;
}
