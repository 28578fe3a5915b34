/*
 * invalid_write.c - globals with known values and the faulting SIGUSR1
 * handler of the `crash` example target.
 *
 * The globals below are what the tutorial's "global variable iteration"
 * (cu = "invalid_write.c") lists. Their values never change, except
 * invalid_write_counter which the handler increments once:
 *
 *   invalid_write_counter   41 (42 inside the SIGUSR1 handler)
 *   invalid_write_ratio     2.5
 *   invalid_write_message   "invalid write ahead"
 *   invalid_write_target    { .id = 7, .flags = 0x5, .name = "low page",
 *                             .address = 0x10 }
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"

/* Describes where the handler writes. */
struct invalid_write_spot {
	int id;
	unsigned short flags;
	const char *name;
	volatile int *address;
};

int invalid_write_counter = 41;

/* `used`: only the debugger reads these, keep them at -O2. */
static double invalid_write_ratio __attribute__((used)) = 2.5;

char invalid_write_message[32] = "invalid write ahead";

/*
 * Not const and written nowhere but here; the handler reads the address
 * through a volatile access so the compiler cannot fold it to a constant.
 */
static struct invalid_write_spot invalid_write_target __attribute__((used)) = {
	.id = 7,
	.flags = 0x5,
	.name = "low page",
	.address = (volatile int *)0x10,
};

/*
 * SIGUSR1 handler: writes to an address in the unmapped first page, so the
 * process dies of SIGSEGV while the handler frame, the signal trampoline
 * and the interrupted frames (raise, recurse ..., main) are on the stack.
 * SIGSEGV is not blocked during the handler, so it is delivered at once.
 */
static void invalid_write_handler(int signo, siginfo_t *info, void *ucontext)
{
	volatile int *volatile *spot = &invalid_write_target.address;

	(void)ucontext;
	invalid_write_counter++;
	**spot = signo + (info != NULL ? info->si_code : 0); /* HANDLER WRITE */
}

void invalid_write_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = invalid_write_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0) {
		perror("sigaction(SIGUSR1)");
		exit(EXIT_FAILURE);
	}
}
