/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Helpers shared by the integration test targets: check through /proc that a
 * thread really sleeps in the expected syscall, and print the READY line.
 * Every target defines _GNU_SOURCE before including this.
 */
#ifndef PARKWATCH_TARGET_UTIL_H
#define PARKWATCH_TARGET_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

/* /proc/PID/task/TID/FILE into PATH; PID 0 is this process. */
static inline void tu_task_path(char *path, size_t size, pid_t pid, pid_t tid, const char *file)
{
	if (pid)
		snprintf(path, size, "/proc/%d/task/%d/%s", (int)pid, (int)tid, file);
	else
		snprintf(path, size, "/proc/self/task/%d/%s", (int)tid, file);
}

/* State letter of /proc/PID/task/TID/stat, or 0 when unreadable. */
static inline char tu_task_state_of(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], *p;

	tu_task_path(path, sizeof(path), pid, tid, "stat");
	if (tu_read_file(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static inline char tu_task_state(pid_t tid)
{
	return tu_task_state_of(0, tid);
}

/* This process's tasks other than self in state S or D, or -1. */
static inline long tu_count_sleeping(pid_t self)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	long n = 0;
	char state;

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid <= 0 || tid == self)
			continue;
		state = tu_task_state(tid);
		if (state == 'S' || state == 'D')
			n++;
	}
	closedir(dir);
	return n;
}

/* First field of /proc/PID/task/TID/syscall: the number, -1, or -2 for "running". */
static inline long tu_task_syscall_of(pid_t pid, pid_t tid)
{
	char path[64], buf[256];

	tu_task_path(path, sizeof(path), pid, tid, "syscall");
	if (tu_read_file(path, buf, sizeof(buf)))
		return -3;
	if (!strncmp(buf, "running", 7))
		return -2;
	return strtol(buf, NULL, 10);
}

static inline long tu_task_syscall(pid_t tid)
{
	return tu_task_syscall_of(0, tid);
}

/* Wait until task TID of process PID (0: this one) sleeps (S or D) in
 * syscall nr1 or nr2; exit 1 after 5 s. */
static inline void tu_wait_blocked_of(pid_t pid, pid_t tid, const char *role, long nr1, long nr2)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	char state = 0;
	long nr = -3;

	for (;;) {
		state = tu_task_state_of(pid, tid);
		if (state == 'S' || state == 'D') {
			nr = tu_task_syscall_of(pid, tid);
			/* the thread may have woken between the two reads: re-check the state */
			if ((nr == nr1 || nr == nr2) && tu_task_state_of(pid, tid) == state)
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

/* Wait until TID sleeps (S or D) in syscall nr1 or nr2; exit 1 after 5 s. */
static inline void tu_wait_blocked(pid_t tid, const char *role, long nr1, long nr2)
{
	tu_wait_blocked_of(0, tid, role, nr1, nr2);
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

/* Thread attributes with a stack of stack_size bytes (threads by the
 * thousand), detached or not; dies on failure. */
static inline void tu_thread_attr(pthread_attr_t *attr, size_t stack_size, bool detached)
{
	int err = pthread_attr_init(attr);

	if (!err)
		err = pthread_attr_setstacksize(attr, stack_size);
	if (!err && detached)
		err = pthread_attr_setdetachstate(attr, PTHREAD_CREATE_DETACHED);
	if (err)
		tu_die("pthread_attr", err);
}

#endif /* PARKWATCH_TARGET_UTIL_H */
