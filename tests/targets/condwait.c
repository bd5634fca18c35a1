/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * condwait [N]: N threads (default 100) with 64 KiB stacks, each parked
 * forever in level_one() -> level_two() -> level_three() ->
 * pthread_cond_wait() on a condition variable nobody signals.  Prints
 * READY {"cond": [tids]} once /proc shows every one of them asleep in
 * futex(2) (past 1000 threads: all asleep, and a sample of them in futex,
 * which is cheaper than 10k syscall files); then the main thread waits in
 * pause() until killed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>

#include "target_util.h"

#define STACK_SIZE (64 * 1024)
#define CHECK_EACH_MAX 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int signalled; /* never set */
static long in_wait; /* threads inside pthread_cond_wait, under lock */
static pid_t *tids;
static sem_t started;

__attribute__((noinline)) __attribute__((noclone)) int level_three(int depth)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	in_wait++;
	while (!signalled)
		rc = pthread_cond_wait(&never, &lock);
	pthread_mutex_unlock(&lock);
	return rc + depth;
}

__attribute__((noinline)) __attribute__((noclone)) int level_two(int depth)
{
	int rc = level_three(depth + 1);

	__asm__ volatile("" ::: "memory");
	return rc + 1;
}

__attribute__((noinline)) __attribute__((noclone)) int level_one(int depth)
{
	int rc = level_two(depth + 1);

	__asm__ volatile("" ::: "memory");
	return rc + 1;
}

/* Poll until all n threads released the lock inside pthread_cond_wait. */
static void wait_in_cond_wait(long n)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	long seen;

	for (;;) {
		pthread_mutex_lock(&lock);
		seen = in_wait;
		pthread_mutex_unlock(&lock);
		if (seen >= n)
			return;
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "target: only %ld of %ld threads reached pthread_cond_wait after 5 s\n",
				seen, n);
			exit(1);
		}
		tu_poll_pause();
	}
}

static void *thread_main(void *arg)
{
	long i = (long)arg;

	tids[i] = gettid();
	sem_post(&started);
	long r = (long)level_one((int)i);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

static void wait_all_asleep(long n)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	long asleep;

	while ((asleep = tu_count_sleeping(gettid())) < n) {
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "condwait: only %ld of %ld threads asleep after 5 s\n", asleep, n);
			exit(1);
		}
		tu_poll_pause();
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	pthread_attr_t attr;
	struct tu_role role;
	pthread_t th;
	long i;
	int err;

	if (n <= 0) {
		fprintf(stderr, "usage: condwait [N>0]\n");
		return 2;
	}
	tids = calloc(n, sizeof(*tids));
	if (!tids || sem_init(&started, 0, 0))
		tu_die("setup", errno);
	tu_thread_attr(&attr, STACK_SIZE, true);
	for (i = 0; i < n; i++) {
		err = pthread_create(&th, &attr, thread_main, (void *)i);
		if (err) {
			fprintf(stderr, "condwait: pthread_create of thread %ld/%ld failed: %s "
				"(check ulimit -u, kernel.threads-max, kernel.pid_max, vm.max_map_count)\n",
				i + 1, n, strerror(err));
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		while (sem_wait(&started) && errno == EINTR)
			;
	wait_in_cond_wait(n);
	if (n <= CHECK_EACH_MAX) {
		for (i = 0; i < n; i++)
			tu_wait_blocked(tids[i], "cond", 202, 202);
	} else {
		wait_all_asleep(n);
		tu_wait_blocked(tids[0], "cond", 202, 202);
		tu_wait_blocked(tids[n / 2], "cond", 202, 202);
		tu_wait_blocked(tids[n - 1], "cond", 202, 202);
	}

	role.name = "cond";
	role.tids = tids;
	role.n = (int)n;
	tu_print_roles("READY", &role, 1);
	for (;;)
		pause();
}
