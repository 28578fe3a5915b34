/*
 * examples.h - helpers shared by the example target programs.
 */
#ifndef EXAMPLES_H
#define EXAMPLES_H

/*
 * KEEP_FRAME marks a function whose frames must show up in a backtrace
 * exactly as written, at every optimisation level: never inlined, never
 * cloned or specialised (no foo.constprop.0 / foo.isra.0 symbols), calls to
 * it never turned into jumps. GCC's `noipa` says all of that; clang has no
 * `noipa`, so use its closest equivalents there.
 */
#if defined(__clang__)
#define KEEP_FRAME __attribute__((noinline, disable_tail_calls))
#else
#define KEEP_FRAME __attribute__((noipa))
#endif

#endif /* EXAMPLES_H */
