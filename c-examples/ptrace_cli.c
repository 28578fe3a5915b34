/*
 * The installed `ptrace` command: the command line runs in libptrace.so.0 (ptrace_cli_main),
 * which this executable links, so the CLI and every native module it loads share the one
 * engine of that library, whether or not a module was itself linked with -lptrace. Built by
 * `make install` with an rpath of $ORIGIN/../lib: it finds the library of its own prefix.
 */
#include <pmodule.h>

int main(int argc, char **argv)
{
    return ptrace_cli_main(argc, (const char *const *)argv);
}
