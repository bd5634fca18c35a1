/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * leaky [MS [MAX]]: a server that leaks one thread per request.
 *
 * Every MS milliseconds (default 100) the main thread "handles a request":
 * it starts a detached thread that blocks forever in handle_request() ->
 * wait_for_reply() -> pthread_cond_wait() on a reply that never comes, up to
 * MAX such threads (default 3000).  Alongside, a healthy pool of 4 threads
 * waits in worker_loop() on a work queue and gets one item every 50 ms.
 *
 * Prints READY {"pool": [tids], "main": [tid]} once the pool is parked, and
 * nothing afterwards.  Runs until killed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>

#include "target_util.h"

#define NPOOL 4
#define WORK_PERIOD_NS (50LL * 1000000LL)
#define LEAK_STACK_SIZE (128 * 1024)

static sem_t started;
static volatile int never_true;

static pthread_mutex_t reply_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reply_cond = PTHREAD_COND_INITIALIZER;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static long queue_len;
static long idle_workers; /* workers inside pthread_cond_wait, under queue_lock */
static unsigned long work_done;

static pid_t tid_pool[NPOOL], tid_main;

__attribute__((noinline)) __attribute__((noclone)) int wait_for_reply(long request)
{
	int rc = 0;

	pthread_mutex_lock(&reply_lock);
	while (!never_true) /* the reply never comes: the leak */
		rc = pthread_cond_wait(&reply_cond, &reply_lock);
	pthread_mutex_unlock(&reply_lock);
	return rc + (int)(request & 1);
}

__attribute__((noinline)) __attribute__((noclone)) int handle_request(long request)
{
	int rc = wait_for_reply(request);

	__asm__ volatile("" ::: "memory");
	return rc + 1;
}

static void *request_main(void *arg)
{
	long r = (long)handle_request((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) unsigned long worker_loop(long id)
{
	unsigned long mine = 0;

	pthread_mutex_lock(&queue_lock);
	while (!never_true) {
		idle_workers++;
		while (queue_len == 0)
			pthread_cond_wait(&queue_cond, &queue_lock);
		idle_workers--;
		queue_len--;
		work_done += (unsigned long)id;
		mine++;
	}
	pthread_mutex_unlock(&queue_lock);
	return mine;
}

static void *pool_main(void *arg)
{
	tid_pool[(long)arg] = gettid();
	sem_post(&started);
	long r = (long)worker_loop((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

/* Poll until every pool worker released queue_lock inside pthread_cond_wait. */
static void wait_pool_idle(void)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;
	long idle;

	for (;;) {
		pthread_mutex_lock(&queue_lock);
		idle = idle_workers;
		pthread_mutex_unlock(&queue_lock);
		if (idle == NPOOL)
			return;
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "leaky: only %ld of %d pool workers idle after 5 s\n", idle, NPOOL);
			exit(1);
		}
		tu_poll_pause();
	}
}

static void add_ns(struct timespec *ts, long long ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int main(int argc, char **argv)
{
	long period_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	long max_leaks = argc > 2 ? strtol(argv[2], NULL, 10) : 3000;
	struct timespec next_leak, next_work, *next;
	pthread_attr_t leak_attr;
	long leaks = 0, i;
	pthread_t th;
	int err;

	if (period_ms <= 0 || max_leaks < 0) {
		fprintf(stderr, "usage: leaky [PERIOD_MS>0 [MAX_LEAKS>=0]]\n");
		return 2;
	}
	if (sem_init(&started, 0, 0))
		tu_die("sem_init", errno);
	tid_main = gettid();
	for (i = 0; i < NPOOL; i++) {
		err = pthread_create(&th, NULL, pool_main, (void *)i);
		if (err)
			tu_die("pthread_create(pool)", err);
		pthread_detach(th);
	}
	for (i = 0; i < NPOOL; i++)
		while (sem_wait(&started) && errno == EINTR)
			;
	wait_pool_idle();
	for (i = 0; i < NPOOL; i++)
		tu_wait_blocked(tid_pool[i], "pool", 202, 202);
	{
		const struct tu_role roles[] = {
			{ "pool", tid_pool, NPOOL },
			{ "main", &tid_main, 1 },
		};
		tu_print_roles("READY", roles, 2);
	}

	tu_thread_attr(&leak_attr, LEAK_STACK_SIZE, true);
	clock_gettime(CLOCK_MONOTONIC, &next_leak);
	next_work = next_leak;
	add_ns(&next_leak, period_ms * 1000000LL);
	add_ns(&next_work, WORK_PERIOD_NS);
	for (;;) {
		int leak_due;

		next = leaks < max_leaks && before(&next_leak, &next_work) ? &next_leak : &next_work;
		leak_due = next == &next_leak;
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
		if (err && err != EINTR)
			tu_die("clock_nanosleep", err);
		if (err)
			continue;
		if (leak_due) {
			err = pthread_create(&th, &leak_attr, request_main, (void *)leaks);
			if (err) {
				fprintf(stderr, "leaky: pthread_create of request thread %ld failed: %s\n",
					leaks + 1, strerror(err));
				max_leaks = leaks; /* stop leaking, keep serving */
			} else {
				leaks++;
			}
			add_ns(&next_leak, period_ms * 1000000LL);
		} else {
			pthread_mutex_lock(&queue_lock);
			queue_len++;
			pthread_cond_signal(&queue_cond);
			pthread_mutex_unlock(&queue_lock);
			add_ns(&next_work, WORK_PERIOD_NS);
		}
	}
}
