/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * lockfarm HOLDERS WAITERS mutex|cond: the benchmark of lock owners
 * (tools/bench/lock_owners.sh).  HOLDERS threads each park forever in
 * read(2) on a pipe nobody writes; with "mutex" each holds its own mutex
 * first, and WAITERS threads per holder wait in pthread_mutex_lock for it
 * (a convoy each); with "cond" the waiters wait on the holder's condition
 * variable instead (no owner to read).  Threads have 64 KiB stacks.
 * Prints READY once every waiter sleeps (/proc: all asleep, a sample in
 * futex(2)), then the main thread waits in pause() until killed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

#include "target_util.h"

#define STACK_SIZE (64 * 1024)

struct holder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pipe[2];
};

static struct holder *holders;
static pid_t *waiter_tids;
static bool use_cond;
static sem_t started;

static void *hold(void *arg)
{
	struct holder *holder = arg;
	char byte;

	if (!use_cond)
		pthread_mutex_lock(&holder->lock);
	sem_post(&started);
	return read(holder->pipe[0], &byte, 1) == 1 ? NULL : arg; /* never written */
}

static void *wait_for_holder(void *arg)
{
	long i = (long)arg;
	struct holder *holder = &holders[i >> 32];

	waiter_tids[i & 0xffffffff] = gettid();
	sem_post(&started);
	pthread_mutex_lock(&holder->lock);
	if (use_cond)
		pthread_cond_wait(&holder->cond, &holder->lock); /* never signalled */
	pthread_mutex_unlock(&holder->lock);
	return NULL;
}

static void start(pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	pthread_t th;
	int err = pthread_create(&th, attr, fn, arg);

	if (err) {
		fprintf(stderr, "lockfarm: pthread_create failed: %s (check ulimit -u, "
			"kernel.threads-max, kernel.pid_max, vm.max_map_count)\n", strerror(err));
		exit(1);
	}
	while (sem_wait(&started) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	long n_holders = argc > 2 ? strtol(argv[1], NULL, 10) : 0;
	long n_waiters = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	long long deadline;
	pthread_attr_t attr;
	long total, asleep;

	if (argc != 4 || n_holders <= 0 || n_waiters <= 0 || n_holders * n_waiters > (1L << 24) ||
	    (strcmp(argv[3], "mutex") && strcmp(argv[3], "cond"))) {
		fprintf(stderr, "usage: lockfarm HOLDERS WAITERS mutex|cond\n");
		return 2;
	}
	use_cond = !strcmp(argv[3], "cond");
	total = n_holders * n_waiters;
	holders = calloc(n_holders, sizeof(*holders));
	waiter_tids = calloc(total, sizeof(*waiter_tids));
	if (!holders || !waiter_tids || sem_init(&started, 0, 0))
		tu_die("setup", errno);
	tu_thread_attr(&attr, STACK_SIZE, true);
	for (long h = 0; h < n_holders; h++) {
		pthread_mutex_init(&holders[h].lock, NULL);
		pthread_cond_init(&holders[h].cond, NULL);
		if (pipe(holders[h].pipe))
			tu_die("pipe", errno);
		start(&attr, hold, &holders[h]);
	}
	for (long h = 0; h < n_holders; h++)
		for (long w = 0; w < n_waiters; w++)
			start(&attr, wait_for_holder, (void *)((h << 32) | (h * n_waiters + w)));
	deadline = tu_now_ns() + 60 * 1000000000LL;
	while ((asleep = tu_count_sleeping(gettid())) < total + n_holders) {
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "lockfarm: only %ld of %ld threads asleep after 60 s\n", asleep,
				total + n_holders);
			return 1;
		}
		tu_poll_pause();
	}
	tu_wait_blocked(waiter_tids[0], "waiter", 202, 202);
	tu_wait_blocked(waiter_tids[total - 1], "waiter", 202, 202);
	printf("READY %ld holders, %ld waiters on %s\n", n_holders, total, argv[3]);
	fflush(stdout);
	for (;;)
		pause();
}
