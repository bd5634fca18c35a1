/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Helpers shared by the integration test targets: check through /proc that a
 * thread really sleeps in the expected syscall, and print the READY line.
 * Every target defines _GNU_SOURCE before including this.
 */
#ifndef PARKWATCH_TARGET_UTIL_H
#define PARKWATCH_TARGET_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TU_DEADLINE_NS (5LL * 1000000000LL)

struct tu_role {
	const char *name;
	const pid_t *tids;
	int n;
};

static inline long long tu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The poll interval of the verification loops: the only sleep the targets use. */
static inline void tu_poll_pause(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

static inline int tu_read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* State letter of /proc/self/task/TID/stat, or 0 when unreadable. */
static inline char tu_task_state(pid_t tid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (tu_read_file(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* First field of /proc/self/task/TID/syscall: the number, -1, or -2 for "running". */
static inline long tu_task_syscall(pid_t tid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (tu_read_file(path, buf, sizeof(buf)))
		return -3;
	if (!strncmp(buf, "running", 7))
		return -2;
	return strtol(buf, NULL, 10);
}

/* Wait until TID sleeps (S or D) in syscall nr1 or nr2; exit 1 after 5 s. */
static inline void tu_wait_blocked(pid_t tid, const char *role, long nr1, long nr2)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	char state = 0;
	long nr = -3;

	for (;;) {
		state = tu_task_state(tid);
		if (state == 'S' || state == 'D') {
			nr = tu_task_syscall(tid);
			/* the thread may have woken between the two reads: re-check the state */
			if ((nr == nr1 || nr == nr2) && tu_task_state(tid) == state)
				return;
		}
		if (tu_now_ns() > deadline)
			break;
		tu_poll_pause();
	}
	fprintf(stderr, "target: %s thread %d not blocked in syscall %ld after 5 s "
		"(state %c, syscall %ld)\n", role, (int)tid, nr1, state ? state : '?', nr);
	exit(1);
}

/* Wait until TID is seen in state R; exit 1 after 5 s. */
static inline void tu_wait_running(pid_t tid, const char *role)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	char state = 0;

	for (;;) {
		state = tu_task_state(tid);
		if (state == 'R')
			return;
		if (tu_now_ns() > deadline)
			break;
		tu_poll_pause();
	}
	fprintf(stderr, "target: %s thread %d not running after 5 s (state %c)\n",
		role, (int)tid, state ? state : '?');
	exit(1);
}

/* Print "PREFIX {"role": [tid, ...], ...}" as one line and flush it. */
static inline void tu_print_roles(const char *prefix, const struct tu_role *roles, int nroles)
{
	int i, j;

	printf("%s {", prefix);
	for (i = 0; i < nroles; i++) {
		printf("%s\"%s\": [", i ? ", " : "", roles[i].name);
		for (j = 0; j < roles[i].n; j++)
			printf("%s%d", j ? ", " : "", (int)roles[i].tids[j]);
		printf("]");
	}
	printf("}\n");
	if (fflush(stdout)) {
		fprintf(stderr, "target: cannot write to stdout: %s\n", strerror(errno));
		exit(1);
	}
}

static inline void tu_die(const char *what, int err)
{
	fprintf(stderr, "target: %s: %s\n", what, strerror(err));
	exit(1);
}

#endif /* PARKWATCH_TARGET_UTIL_H */
