/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * hammer: healthy locking, for as long as it runs; nothing here ever
 * deadlocks or abandons a lock.
 *
 *   hammer     8 threads take hammer_lock in a loop, hold it ~1 us, spin
 *              ~1 us outside it: they park in futex(2) all the time, and the
 *              owner changes hands between any two reads
 *   producer   2 threads put an item into a 16-slot queue under pool_lock
 *              every 50 us (signalling pool_not_empty; waiting on
 *              pool_not_full when it is full)
 *   consumer   4 threads take items, waiting on pool_not_empty when the
 *              queue is empty, and spin ~5 us per item
 *   main       pause()
 *
 * Prints READY {"hammer": [tids], "producer": [...], "consumer": [...],
 * "hammer_lock": "0x...", "pool_lock": "0x..."} once every thread went
 * round its loop a few times.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "target_util.h"

#define HAMMERS 8
#define PRODUCERS 2
#define CONSUMERS 4
#define QUEUE_SLOTS 16
#define HOLD_NS 1000
#define OUTSIDE_NS 1000
#define PRODUCE_EVERY_NS 50000
#define CONSUME_NS 5000
#define ROUNDS_BEFORE_READY 100

static pthread_mutex_t hammer_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long hammer_total; /* under hammer_lock */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_not_full = PTHREAD_COND_INITIALIZER;
static unsigned long queue[QUEUE_SLOTS]; /* a ring, under pool_lock */
static unsigned int queue_head, queue_count;

struct worker {
	const char *role;
	void *(*loop)(struct worker *);
	pid_t tid;                  /* atomic */
	unsigned long rounds;       /* atomic: loops done */
	unsigned long last_item;    /* a consumer's: the item it took last */
};

static struct worker workers[HAMMERS + PRODUCERS + CONSUMERS];

static void spin_ns(long long ns)
{
	long long until = tu_now_ns() + ns;

	while (tu_now_ns() < until)
		;
}

static void count_round(struct worker *worker)
{
	__atomic_add_fetch(&worker->rounds, 1, __ATOMIC_RELAXED);
}

static void *hammer_loop(struct worker *worker)
{
	for (;;) {
		pthread_mutex_lock(&hammer_lock);
		spin_ns(HOLD_NS);
		hammer_total++;
		pthread_mutex_unlock(&hammer_lock);
		count_round(worker);
		spin_ns(OUTSIDE_NS);
	}
	return NULL;
}

static void *producer_loop(struct worker *worker)
{
	struct timespec pause_between = { 0, PRODUCE_EVERY_NS };
	unsigned long item = 0;

	for (;;) {
		pthread_mutex_lock(&pool_lock);
		while (queue_count == QUEUE_SLOTS)
			pthread_cond_wait(&pool_not_full, &pool_lock);
		queue[(queue_head + queue_count++) % QUEUE_SLOTS] = item++;
		pthread_cond_signal(&pool_not_empty);
		pthread_mutex_unlock(&pool_lock);
		count_round(worker);
		nanosleep(&pause_between, NULL);
	}
	return NULL;
}

static void *consumer_loop(struct worker *worker)
{
	unsigned long item;

	for (;;) {
		pthread_mutex_lock(&pool_lock);
		while (!queue_count)
			pthread_cond_wait(&pool_not_empty, &pool_lock);
		item = queue[queue_head];
		queue_head = (queue_head + 1) % QUEUE_SLOTS;
		queue_count--;
		pthread_cond_signal(&pool_not_full);
		pthread_mutex_unlock(&pool_lock);
		count_round(worker);
		worker->last_item = item;
		spin_ns(CONSUME_NS);
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *worker = arg;

	pthread_setname_np(pthread_self(), worker->role);
	__atomic_store_n(&worker->tid, gettid(), __ATOMIC_RELEASE);
	return worker->loop(worker);
}

static void wait_rounds(const struct worker *worker)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;

	while (__atomic_load_n(&worker->rounds, __ATOMIC_RELAXED) < ROUNDS_BEFORE_READY) {
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "target: %s thread did not go round %d times in 5 s\n",
				worker->role, ROUNDS_BEFORE_READY);
			exit(1);
		}
		tu_poll_pause();
	}
}

static void print_ready(void)
{
	static const char *const roles[] = { "hammer", "producer", "consumer" };
	size_t n = sizeof(workers) / sizeof(workers[0]);

	printf("READY {");
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		int printed = 0;

		printf("\"%s\": [", roles[r]);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(workers[i].role, roles[r]))
				printf("%s%d", printed++ ? ", " : "", (int)workers[i].tid);
		printf("], ");
	}
	printf("\"hammer_lock\": \"%p\", \"pool_lock\": \"%p\"}\n", (void *)&hammer_lock,
	       (void *)&pool_lock);
	if (fflush(stdout)) {
		fprintf(stderr, "target: cannot write to stdout: %s\n", strerror(errno));
		exit(1);
	}
}

int main(void)
{
	size_t n = sizeof(workers) / sizeof(workers[0]);
	pthread_t thread;
	int err;

	for (size_t i = 0; i < n; i++) {
		struct worker *worker = &workers[i];

		if (i < HAMMERS) {
			worker->role = "hammer";
			worker->loop = hammer_loop;
		} else if (i < HAMMERS + PRODUCERS) {
			worker->role = "producer";
			worker->loop = producer_loop;
		} else {
			worker->role = "consumer";
			worker->loop = consumer_loop;
		}
		err = pthread_create(&thread, NULL, worker_main, worker);
		if (err)
			tu_die("pthread_create", err);
	}
	for (size_t i = 0; i < n; i++)
		wait_rounds(&workers[i]);
	print_ready();
	for (;;)
		pause();
}
