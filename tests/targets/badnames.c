/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * badnames: threads whose names any local user could set with
 * prctl(PR_SET_NAME), bytes that are not UTF-8 or that a terminal acts on:
 * one thread per name of the table below, each parked forever in
 * pthread_cond_wait(), and the main thread (the process's comm) renamed
 * too, then parked in pause().  Prints READY {"named": [tids]} in the
 * table's order once /proc shows every one asleep in futex(2).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "target_util.h"

/* At most 15 bytes each: the kernel keeps TASK_COMM_LEN - 1. */
static const char *const names[] = {
	"\xff\xfe-worker",       /* what prctl takes and no decoder does */
	"w\x80lone",             /* a lone continuation byte */
	"\xc0\xaf" "over",       /* an overlong '/' */
	"\xed\xa0\x80" "surr",   /* a UTF-16 surrogate */
	"trunc\xe6\x9d",         /* a 3-byte sequence cut short */
	"\x1b[2Jclear",          /* clears a terminal */
	"a\nthread 1 [x",        /* would forge a dump line */
	"semi;colon \"q\"",      /* a folded frame separator, a quote */
	"ok-\xe6\x9d\xb1\xe4\xba\xac", /* valid UTF-8: must stay */
};
#define NAMES ((int)(sizeof(names) / sizeof(names[0])))
#define MAIN_NAME "bad\xff\xfemain\x1b"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int signalled; /* never set */
static pid_t tids[NAMES];

__attribute__((noinline)) static void park_named(void)
{
	pthread_mutex_lock(&lock);
	while (!signalled)
		pthread_cond_wait(&never, &lock);
	pthread_mutex_unlock(&lock);
}

static void *thread_main(void *arg)
{
	long i = (long)arg;

	if (prctl(PR_SET_NAME, names[i]))
		tu_die("prctl(PR_SET_NAME)", errno);
	__atomic_store_n(&tids[i], gettid(), __ATOMIC_RELEASE);
	park_named();
	return NULL;
}

int main(void)
{
	const struct tu_role role = { "named", tids, NAMES };
	pthread_t thread;
	int err;

	for (long i = 0; i < NAMES; i++) {
		err = pthread_create(&thread, NULL, thread_main, (void *)i);
		if (err)
			tu_die("pthread_create", err);
	}
	for (int i = 0; i < NAMES; i++) {
		long long deadline = tu_now_ns() + TU_DEADLINE_NS;

		while (!__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE)) {
			if (tu_now_ns() > deadline)
				tu_die("a thread did not start", ETIMEDOUT);
			tu_poll_pause();
		}
		tu_wait_blocked(tids[i], names[i], SYS_futex, SYS_futex);
	}
	if (prctl(PR_SET_NAME, MAIN_NAME))
		tu_die("prctl(PR_SET_NAME)", errno);
	tu_print_roles("READY", &role, 1);
	for (;;)
		pause();
}
