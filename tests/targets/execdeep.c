// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A deep stack on both sides of an exec.  execdeep parks its main thread
 * DEPTH deep_frame()s down, in read() on stdin under phase_one_park(); each
 * frame has a KiB of locals, so most of the stack lies past what the BPF
 * side copies and the unwinder reads it from the process's memory.  Once
 * /proc shows it asleep there it prints
 *   PARKED {"phase": 1, "depth": DEPTH}
 * A line on stdin makes it exec itself into phase 2, which parks the same
 * way under phase_two_park() and prints PARKED {"phase": 2, "depth": DEPTH}.
 * Ends at the end of its input.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include "target_util.h"

#define DEPTH 100
#define FRAME_BYTES 1024

static pid_t main_tid;
static int phase;

static void *announce(void *arg)
{
	(void)arg;
	tu_wait_blocked(main_tid, "main", SYS_read, SYS_read);
	printf("PARKED {\"phase\": %d, \"depth\": %d}\n", phase, DEPTH);
	fflush(stdout);
	return NULL;
}

/* Waits for a line on stdin; false at its end. */
static bool park_in_read(void)
{
	pthread_t announcer;
	char c;

	if (pthread_create(&announcer, NULL, announce, NULL))
		tu_die("pthread_create", errno);
	for (;;) {
		ssize_t got = read(STDIN_FILENO, &c, 1);

		if (got < 0 && errno == EINTR)
			continue;
		/* woken before it was seen asleep: then it says nothing */
		pthread_cancel(announcer);
		pthread_join(announcer, NULL);
		return got > 0;
	}
}

__attribute__((noinline)) __attribute__((noclone)) static int phase_one_park(void)
{
	char *argv[] = { "execdeep", "2", NULL };

	if (park_in_read()) {
		execv("/proc/self/exe", argv);
		tu_die("execv", errno);
	}
	return 0;
}

__attribute__((noinline)) __attribute__((noclone)) static int phase_two_park(void)
{
	while (park_in_read())
		;
	return 0;
}

__attribute__((noinline)) __attribute__((noclone)) static int deep_frame(int left)
{
	volatile char locals[FRAME_BYTES];

	locals[0] = (char)left;
	if (left > 1)
		return deep_frame(left - 1) + locals[0]; /* not a tail call */
	return (phase == 1 ? phase_one_park() : phase_two_park()) + locals[0];
}

int main(int argc, char **argv)
{
	phase = argc > 1 && !strcmp(argv[1], "2") ? 2 : 1;
	main_tid = (pid_t)syscall(SYS_gettid);
	deep_frame(DEPTH);
	return 0;
}
