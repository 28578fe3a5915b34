/*
 * crash.c - main compilation unit of the `crash` example target.
 *
 * Usage: crash hang [threads] | segv | abort | sighandler
 *
 * Every mode first builds the data structures of the plugin tutorial
 * (`papa`, `some_struct_g`), then descends through recurse(5) ... recurse(0).
 * What happens at the bottom (depth 0) depends on the mode:
 *
 *   hang        wait until the helper threads of hang.c are parked, print
 *               "ready" and park forever in pause()
 *   segv        invalid write, inline in recurse() (the marked line)
 *   abort       abort()
 *   sighandler  raise(SIGUSR1); the handler (invalid_write.c) faults
 *
 * Unknown or missing mode: usage on stderr, exit status 2.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "crash.h"

/*
 * The version string looked up by name in the tutorial. Not static, so it is
 * a global symbol of the executable.
 */
const char *global_version = "crash 1.0.0";

/*
 * The tutorial's globals. Nothing in the program reads them back, so they
 * are marked `used`: the optimiser must keep them (and the stores that fill
 * them) at -O2 as well, since the debugger is their only reader.
 */
static struct somestruct *some_struct_g __attribute__((used));
static struct array_struct papa __attribute__((used));

/*
 * An address in the unmapped first page. Going through a volatile pointer
 * keeps the compiler from reasoning about (and warning on) the constant
 * address, and guarantees the store is emitted.
 */
static volatile int *volatile crash_bad_address = (volatile int *)16;

/* Report an allocation failure the way the tutorial does, and exit. */
static void alloc_failure(void)
{
	fprintf(stderr, "allocation failure");
	exit(EXIT_FAILURE);
}

/*
 * Fill `papa` and `some_struct_g` exactly as the tutorial's population code
 * does: ten children in papa.kids with a = b = n.c = 9 + z and s = "papa";
 * some_struct_g with a = 4, b = 5, n.c = 6, the pointer chain np -> n,
 * npp -> np, nppp -> npp, s = "kids" and a ten element list v = 0 ... 9.
 */
static void populate_tutorial_data(void)
{
	int z;

	papa.kids = calloc(10, sizeof(struct somestruct));
	if (papa.kids == NULL)
		alloc_failure();
	papa.len = 10;

	some_struct_g = calloc(1, sizeof *some_struct_g);
	if (some_struct_g == NULL)
		alloc_failure();

	STAILQ_INIT(&some_struct_g->list);
	for (z = 0; z < 10; ++z) {
		struct linkedstruct *l;

		l = calloc(1, sizeof *l);
		if (l == NULL)
			alloc_failure();

		l->v = z;

		STAILQ_INSERT_TAIL(&some_struct_g->list, l, linkage);
	}

	some_struct_g->a = 4;
	some_struct_g->b = 5;
	some_struct_g->n.c = 6;
	some_struct_g->np = &some_struct_g->n;
	some_struct_g->npp = &some_struct_g->np;
	some_struct_g->nppp = &some_struct_g->npp;
	some_struct_g->s = "kids";
	for (z = 0; z < 10; ++z) {
		papa.kids[z].a = 9 + z;
		papa.kids[z].b = 9 + z;
		papa.kids[z].n.c = 9 + z;
		papa.kids[z].np = &papa.kids[z].n;
		papa.kids[z].npp = &papa.kids[z].np;
		papa.kids[z].nppp = &papa.kids[z].npp;
		papa.kids[z].s = "papa";
	}
}

/*
 * Descend n + 1 frames deep (recurse(n) ... recurse(0)) and act according
 * to ctx->mode at the bottom.
 *
 * Each frame owns a `struct crash_frame_info` local whose address is
 * published in ctx->innermost, and which is read again after the recursive
 * call returns: the call is therefore never a tail call and the local lives
 * in the frame at every optimisation level. KEEP_FRAME (gcc's noipa)
 * forbids inlining, cloning (no recurse.constprop.0 / .isra.0) and other
 * interprocedural changes, so the symbol and the parameters stay as written
 * at -O2 too.
 */
static KEEP_FRAME unsigned long recurse(int n, struct crash_ctx *ctx)
{
	struct crash_frame_info frame = {
		.depth = n,
		.tag = 0xc0de + n,
		.outer = ctx->innermost,
	};

	ctx->innermost = &frame;

	if (n > 0) {
		recurse(n - 1, ctx);
	} else {
		switch (ctx->mode) {
		case CRASH_MODE_HANG:
			/* Only announce once every helper thread is parked. */
			hang_wait_all_parked();
			printf("ready\n");
			fflush(stdout);
			for (;;)
				pause();
			break;
		case CRASH_MODE_SEGV:
			*crash_bad_address = 1; /* INVALID WRITE */
			break;
		case CRASH_MODE_ABORT:
			abort();
			break;
		case CRASH_MODE_SIGHANDLER:
			raise(SIGUSR1);
			break;
		}
	}

	/*
	 * Using the local (and n) after the call keeps the recursion real. At
	 * -O2 it also keeps n alive in a callee-saved register across the
	 * call, so a debugger must recover that register in outer frames.
	 */
	ctx->checksum += frame.tag + (unsigned long)n;
	ctx->innermost = frame.outer;
	return ctx->checksum;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s MODE\n"
		"modes:\n"
		"  hang [threads]  park `threads` helper threads (default %d) and\n"
		"                  the main thread, print \"ready\" once all are parked\n"
		"  segv            invalid write at the bottom of recurse()\n"
		"  abort           abort() at the bottom of recurse()\n"
		"  sighandler      raise SIGUSR1 whose handler does an invalid write\n",
		argv0, CRASH_DEFAULT_THREADS);
}

/* Parse a non-negative thread count; returns -1 if `s` is not one. */
static int parse_thread_count(const char *s)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || value < 0 || value > 1024)
		return -1;
	return (int)value;
}

int main(int argc, char **argv)
{
	struct crash_ctx ctx = {
		.threads = 0,
		.max_depth = CRASH_DEFAULT_DEPTH,
		.innermost = NULL,
		.checksum = 0,
	};
	const char *argv0 = argc > 0 ? argv[0] : "crash";

	if (argc < 2) {
		usage(argv0);
		return 2;
	}

	ctx.mode_name = argv[1];
	if (strcmp(argv[1], "hang") == 0 && argc <= 3) {
		ctx.mode = CRASH_MODE_HANG;
		ctx.threads = CRASH_DEFAULT_THREADS;
		if (argc == 3) {
			ctx.threads = parse_thread_count(argv[2]);
			if (ctx.threads < 0) {
				fprintf(stderr, "%s: invalid thread count '%s'\n",
					argv0, argv[2]);
				usage(argv0);
				return 2;
			}
		}
	} else if (strcmp(argv[1], "segv") == 0 && argc == 2) {
		ctx.mode = CRASH_MODE_SEGV;
	} else if (strcmp(argv[1], "abort") == 0 && argc == 2) {
		ctx.mode = CRASH_MODE_ABORT;
	} else if (strcmp(argv[1], "sighandler") == 0 && argc == 2) {
		ctx.mode = CRASH_MODE_SIGHANDLER;
	} else {
		usage(argv0);
		return 2;
	}

	populate_tutorial_data();

	/* The main thread is TLS index 0: hang_tls_counter == 100. */
	hang_tls_init(0);

	if (ctx.mode == CRASH_MODE_HANG && hang_start_threads(ctx.threads) != 0)
		return EXIT_FAILURE;
	if (ctx.mode == CRASH_MODE_SIGHANDLER)
		invalid_write_install_handler();

	recurse(ctx.max_depth, &ctx);

	/* Not reached: every mode parks or dies at the bottom. */
	fprintf(stderr, "%s: mode '%s' returned (checksum %lu)\n", argv0,
		ctx.mode_name, ctx.checksum);
	return EXIT_FAILURE;
}
