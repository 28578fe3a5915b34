/*
 * ptrace/pmodule.h: libptrace's C API under the path modules written for Backtrace's ptrace
 * include it by (`#include "ptrace/pmodule.h"`, with the include folder on the -I path). It is
 * the generated ../pmodule.h; including both, either first, any number of times, is the same as
 * including one. Not generated: it only forwards.
 */
#ifndef PTRACE_PTRACE_PMODULE_H
#define PTRACE_PTRACE_PMODULE_H

#include "../pmodule.h"

#endif /* PTRACE_PTRACE_PMODULE_H */
