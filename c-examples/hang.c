/*
 * hang.c - parked helper threads and thread-local data of the `crash`
 * example target.
 *
 * Thread index 0 is the main thread, helper threads are 1 ... N. Every
 * thread that called hang_tls_init(i) holds:
 *
 *   hang_tls_counter     100 + i
 *   hang_tls_state       { .index = i, .magic = 0xbeef0000 + i,
 *                          .role = "main" | "helper", .wakeups = 0 }
 *   hang_tls_self        &hang_tls_state (of the same thread)
 *
 * Helper threads run hang_thread_main() -> hang_wait(), which blocks in
 * pthread_cond_wait() on a condition variable that is never signalled.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"

/* Per-thread state, reached through a thread-local pointer as well. */
struct hang_tls_state {
	int index;
	unsigned int magic;
	const char *role;
	unsigned long wakeups;	/* spurious wake-ups seen by hang_wait() */
};

__thread int hang_tls_counter;

/* `used`: only the debugger reads them, keep them at -O2. */
static __thread struct hang_tls_state hang_tls_state __attribute__((used));
static __thread struct hang_tls_state *hang_tls_self __attribute__((used));

/*
 * hang_lock protects everything below. hang_forever is never signalled and
 * hang_released never becomes true: helper threads wait on it for good.
 * hang_parked_cond wakes hang_wait_all_parked() each time a helper parks.
 */
static pthread_mutex_t hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_forever = PTHREAD_COND_INITIALIZER;
static pthread_cond_t hang_parked_cond = PTHREAD_COND_INITIALIZER;
static int hang_released;
static int hang_started;
static int hang_parked;

void hang_tls_init(int index)
{
	hang_tls_counter = 100 + index;
	hang_tls_state.index = index;
	hang_tls_state.magic = 0xbeef0000u + (unsigned int)index;
	hang_tls_state.role = index == 0 ? "main" : "helper";
	hang_tls_state.wakeups = 0;
	hang_tls_self = &hang_tls_state;
}

/*
 * Count this thread as parked and block forever. The count is taken under
 * the lock and pthread_cond_wait() releases that lock atomically, so once
 * hang_wait_all_parked() sees the full count every helper is inside
 * pthread_cond_wait().
 */
static KEEP_FRAME void hang_wait(struct hang_tls_state *self)
{
	pthread_mutex_lock(&hang_lock);
	hang_parked++;
	pthread_cond_broadcast(&hang_parked_cond);
	while (!hang_released) {
		pthread_cond_wait(&hang_forever, &hang_lock);
		self->wakeups++;
	}
	pthread_mutex_unlock(&hang_lock);
}

/* Entry point of helper thread number (intptr_t)arg, starting at 1. */
static KEEP_FRAME void *hang_thread_main(void *arg)
{
	int index = (int)(__INTPTR_TYPE__)arg;

	hang_tls_init(index);
	hang_wait(hang_tls_self);

	/* Not reached. */
	return NULL;
}

int hang_start_threads(int count)
{
	int i;

	for (i = 1; i <= count; i++) {
		pthread_t thread;
		int err;

		err = pthread_create(&thread, NULL, hang_thread_main,
				     (void *)(__INTPTR_TYPE__)i);
		if (err != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return -1;
		}
		pthread_detach(thread);

		pthread_mutex_lock(&hang_lock);
		hang_started++;
		pthread_mutex_unlock(&hang_lock);
	}
	return 0;
}

void hang_wait_all_parked(void)
{
	pthread_mutex_lock(&hang_lock);
	while (hang_parked < hang_started)
		pthread_cond_wait(&hang_parked_cond, &hang_lock);
	pthread_mutex_unlock(&hang_lock);
}
