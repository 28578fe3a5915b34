/*
 * crash.h - shared declarations of the `crash` example target.
 *
 * The `crash` program is made of three compilation units:
 *   crash.c          main(), the data of the plugin tutorial, the recursion
 *   invalid_write.c  plain globals with known values, the SIGUSR1 handler
 *   hang.c           the parked helper threads and their thread-local data
 *
 * The structure layouts below are the ones the pmodule tutorial walks through
 * (see "Plugins for ptrace", full example), so snapshot tests and example
 * modules can rely on them field by field.
 */
#ifndef CRASH_H
#define CRASH_H

#include <sys/queue.h>

#include "examples.h"

/* ---- Data of the plugin tutorial --------------------------------------- */

struct nested {
	int c;
};

struct linkedstruct {
	STAILQ_ENTRY(linkedstruct) linkage;
	int v;
};

struct somestruct {
	int a;
	double b;
	struct nested n;
	struct nested *np;
	struct nested **npp;
	struct nested ***nppp;
	STAILQ_HEAD(, linkedstruct) list;
	const char *s;
};

struct array_struct {
	struct somestruct *kids;
	int len;
};

/* ---- The recursion ------------------------------------------------------ */

/* What the bottom of the recursion does. */
enum crash_mode {
	CRASH_MODE_HANG,	/* park forever (pause loop) */
	CRASH_MODE_SEGV,	/* invalid write, inline in recurse() */
	CRASH_MODE_ABORT,	/* abort() */
	CRASH_MODE_SIGHANDLER,	/* raise(SIGUSR1); the handler faults */
};

/* The local that every recurse() frame carries (matched by "crash_"). */
struct crash_frame_info {
	int depth;			/* the value of n in this frame */
	unsigned int tag;		/* 0xc0de + depth */
	struct crash_frame_info *outer;	/* the same local one frame up */
};

/* The context passed down the recursion by pointer. */
struct crash_ctx {
	enum crash_mode mode;
	const char *mode_name;
	int threads;			/* helper threads (hang mode only) */
	int max_depth;			/* n of the outermost recurse() call */
	struct crash_frame_info *innermost;	/* deepest frame reached */
	unsigned long checksum;		/* folded on the way back up */
};

/* Default depth: recurse(5) ... recurse(0), six frames. */
#define CRASH_DEFAULT_DEPTH 5

/* Default number of helper threads in hang mode. */
#define CRASH_DEFAULT_THREADS 2

/* ---- invalid_write.c ---------------------------------------------------- */

/* Incremented each time the SIGUSR1 handler is entered. */
extern int invalid_write_counter;

/* Install the SIGUSR1 handler that performs an invalid write. */
void invalid_write_install_handler(void);

/* ---- hang.c ------------------------------------------------------------- */

/* Per-thread counter: 100 on the main thread, 100 + i on helper thread i. */
extern __thread int hang_tls_counter;

/* Set the thread-local values of the calling thread (index 0 = main). */
void hang_tls_init(int index);

/*
 * Start `count` helper threads that park in hang_wait(). Returns 0 on
 * success, -1 (with a message on stderr) on failure.
 */
int hang_start_threads(int count);

/* Block until every helper thread started by hang_start_threads() is parked. */
void hang_wait_all_parked(void);

#endif /* CRASH_H */
