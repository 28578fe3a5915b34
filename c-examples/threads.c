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
 * With THREADS_PAUSE_FILE=PATH in the environment, one more thread (the
 * "ticker") timestamps itself in a loop (every ~20 us) and keeps the longest
 * gap it saw, in nanoseconds, as a little-endian int64 at the start of PATH
 * (mapped shared). A benchmark writes 0 there before a snapshot and reads it
 * after: the longest stretch the target could not run, seen from inside it.
 *
 * Meant for measuring and checking a snapshot of many threads and frames, at
 * -O0 and -O2 alike: threads_recurse is KEEP_FRAME (gcc's noipa) and reads
 * its locals after the recursive call, so no frame is inlined, cloned or
 * turned into a jump.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples.h"

/* One per threads_recurse frame; chained to the caller's frame. */
struct threads_frame {
	int depth;
	int thread_index;
	const char *label;	/* "thread <index>": one string per thread, never freed */
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

/* A new "thread <index>" string (the thread never ends: never freed). */
static char *threads_label(int index)
{
	char *label = malloc(24);

	if (label)
		snprintf(label, 24, "thread %d", index);
	return label;
}

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
		.label = parent ? parent->label : threads_label(index),
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

/* The ticker's shared counter: the longest gap seen, in nanoseconds. */
static volatile int64_t *threads_pause_ns;

static int64_t threads_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Timestamps itself in a loop and records the longest gap between two ticks. */
static void *threads_ticker(void *arg)
{
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 20000 };
	int64_t last = threads_now_ns();

	(void)arg;
	for (;;) {
		int64_t now;

		nanosleep(&nap, NULL);
		now = threads_now_ns();
		if (now - last > *threads_pause_ns)
			*threads_pause_ns = now - last;
		last = now;
	}
	return NULL;
}

/* Starts the ticker when THREADS_PAUSE_FILE names a file to report into. */
static void threads_start_ticker(void)
{
	const char *path = getenv("THREADS_PAUSE_FILE");
	pthread_t ticker;
	void *map;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, 4096) != 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		exit(EXIT_FAILURE);
	}
	close(fd);
	threads_pause_ns = map;
	*threads_pause_ns = 0;
	if (pthread_create(&ticker, NULL, threads_ticker, NULL) != 0) {
		fprintf(stderr, "cannot start the ticker thread\n");
		exit(EXIT_FAILURE);
	}
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

	threads_start_ticker();
	printf("ready\n");
	fflush(stdout);

	/* Wait for good: the threads never return. */
	if (count > 0)
		pthread_join(threads[0], NULL);
	for (;;)
		pause();
}
