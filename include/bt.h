/*
 * bt.h: the bt variable and type part of libptrace's C API (bt_variable_t, struct bt_type,
 * bt_error_t, bt_variable_*, bt_type_*), under the name modules written for Backtrace's ptrace
 * include it by. The whole API is in pmodule.h, which this file includes: `#include <bt.h>`
 * and `#include "ptrace/pmodule.h"` together, in either order and any number of times, are
 * the same as `#include <pmodule.h>`. Not generated: it only forwards.
 */
#ifndef PTRACE_BT_H
#define PTRACE_BT_H

#include "pmodule.h"

#endif /* PTRACE_BT_H */
