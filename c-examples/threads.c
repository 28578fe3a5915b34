/*
 * threads.c - many threads with deep stacks, all parked.
 *
 * Usage: threads N DEPTH
 *
 * Starts N threads (indexes 1 ... N). Each one calls threads_recurse(DEPTH,
 * ...), which recurses down to threads_recurse(1, ...), so every thread has
 * exactly DEPTH threads_recurse frames on its stack. The bottom frame blocks
 * in pthread_cond_wait() on a condition variable shared by all threads and
 * never signalled. Once all N threads are counted as parked, the main thread
 * prints "ready" (flushed) and blocks joining the first thread.
 *
 * Meant for measuring and checking a snapshot of many threads and frames, at
 * -O0 and -O2 alike: threads_recurse is KEEP_FRAME (gcc's noipa) and reads
 * its locals after the recursive call, so no frame is inlined, cloned or
 * turned into a jump.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples.h"

/* One per threads_recurse frame; chained to the caller's frame. */
struct threads_frame {
	int depth;
	int thread_index;
	struct threads_frame *parent;
};

/* Start parameters of a thread. */
struct threads_arg {
	int index;
	int depth;
};

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_never = PTHREAD_COND_INITIALIZER;	/* never signalled */
static pthread_cond_t threads_parked_cond = PTHREAD_COND_INITIALIZER;
static int threads_released;	/* never set */
static int threads_parked;	/* threads inside pthread_cond_wait() */

/* Written after each recursive call: keeps the calls from being tail calls. */
static volatile long threads_sink;

/*
 * Recurse until depth 1, then park. The locals are read after the recursive
 * call returns, so each frame stays a real frame at -O2.
 */
static KEEP_FRAME long threads_recurse(int depth, int index,
						   struct threads_frame *parent)
{
	int remaining = depth - 1;
	int squared = depth * depth;
	double half = depth / 2.0;
	int window[4] = { depth, depth + 1, depth + 2, depth + 3 };
	struct threads_frame frame = {
		.depth = depth,
		.thread_index = index,
		.parent = parent,
	};
	long result = 0;

	if (depth > 1) {
		result = threads_recurse(depth - 1, index, &frame);
	} else {
		/*
		 * Count this thread under the lock before waiting: the lock is
		 * released only inside pthread_cond_wait(), so main sees the
		 * full count only once every thread waits.
		 */
		pthread_mutex_lock(&threads_lock);
		threads_parked++;
		pthread_cond_signal(&threads_parked_cond);
		while (!threads_released)
			pthread_cond_wait(&threads_never, &threads_lock);
		pthread_mutex_unlock(&threads_lock);
	}

	threads_sink = result + remaining + squared + (long)half +
		       window[depth % 4] + frame.depth + frame.thread_index;
	return threads_sink;
}

static void *threads_main(void *arg)
{
	const struct threads_arg *a = arg;

	threads_recurse(a->depth, a->index, NULL);
	return NULL;
}

/* Parse an integer in [min, max]; exits with status 2 if `s` is not one. */
static int parse_int(const char *s, const char *what, long min, long max)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || value < min || value > max) {
		fprintf(stderr, "threads: invalid %s '%s' (expected %ld..%ld)\n",
			what, s, min, max);
		exit(2);
	}
	return (int)value;
}

int main(int argc, char **argv)
{
	struct threads_arg *args;
	pthread_t *threads;
	int count, depth, i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s N DEPTH\n"
			"  start N threads, each DEPTH threads_recurse frames "
			"deep, park them and print \"ready\"\n",
			argc > 0 ? argv[0] : "threads");
		return 2;
	}
	count = parse_int(argv[1], "thread count N", 0, 4096);
	depth = parse_int(argv[2], "DEPTH", 1, 100000);

	threads = calloc((size_t)count + 1, sizeof *threads);
	args = calloc((size_t)count + 1, sizeof *args);
	if (threads == NULL || args == NULL) {
		fprintf(stderr, "allocation failure\n");
		return EXIT_FAILURE;
	}

	for (i = 0; i < count; i++) {
		int err;

		args[i].index = i + 1;
		args[i].depth = depth;
		err = pthread_create(&threads[i], NULL, threads_main, &args[i]);
		if (err != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return EXIT_FAILURE;
		}
	}

	pthread_mutex_lock(&threads_lock);
	while (threads_parked < count)
		pthread_cond_wait(&threads_parked_cond, &threads_lock);
	pthread_mutex_unlock(&threads_lock);

	printf("ready\n");
	fflush(stdout);

	/* Wait for good: the threads never return. */
	if (count > 0)
		pthread_join(threads[0], NULL);
	for (;;)
		pause();
}
