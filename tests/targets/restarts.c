/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * restarts: one thread per wait the kernel resumes differently after a stop
 * (SIGSTOP/SIGCONT, a ptrace attach).  A wait with a timeout, poll(-1) and a
 * relative sleep come back in restart_syscall (219), the wait kept in
 * task->restart_block; the others re-enter their own syscall.
 *
 *   poll_forever       poll(-1) on a pipe nobody writes               syscall 7
 *   poll_timed         poll(1 hour) on the same pipe                  syscall 7
 *   nanosleep_raw      syscall(SYS_nanosleep, 1 hour)                 syscall 35
 *   nanosleep_libc     nanosleep(1 hour): clock_nanosleep, relative   syscall 230
 *   cond_wait          pthread_cond_wait                              syscall 202
 *   cond_timedwait     pthread_cond_timedwait, deadline 1 hour ahead  syscall 202
 *   barrier            pthread_barrier_wait, the second never comes   syscall 202
 *   rwlock_read        pthread_rwlock_rdlock of a write-locked lock   syscall 202
 *   rwlock_write       pthread_rwlock_wrlock of it                    syscall 202
 *   rwlock_timedread   pthread_rwlock_timedrdlock, 1 hour             syscall 202
 *   rwlock_timedwrite  pthread_rwlock_timedwrlock, 1 hour             syscall 202
 *   poll_short         poll(2 s) in a loop: a restarted park that ends   syscall 7
 *   main               holds the rwlock for writing, pause()          syscall 34
 *
 * Prints READY {"role": [tid], ...} once /proc shows every thread asleep in
 * its syscall.  Every wait is retried if it ever returns, so a thread is
 * always in the wait its role names.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>

#include "target_util.h"

#define HOUR_S 3600

static sem_t started;
static volatile int never_true; /* never set: the loops below never end */

static int pipe_fds[2];
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;

static struct timespec hour_from_now(void)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += HOUR_S;
	return deadline;
}

__attribute__((noinline)) __attribute__((noclone)) int wait_poll(int timeout_ms)
{
	struct pollfd fd = { .fd = pipe_fds[0], .events = POLLIN };
	int n = 0;

	while (!never_true)
		n += poll(&fd, 1, timeout_ms);
	return n;
}

__attribute__((noinline)) __attribute__((noclone)) long wait_nanosleep_raw(void)
{
	struct timespec hour = { HOUR_S, 0 };
	long rc = 0;

	while (!never_true)
		rc += syscall(SYS_nanosleep, &hour, NULL);
	return rc;
}

__attribute__((noinline)) __attribute__((noclone)) int wait_nanosleep_libc(void)
{
	struct timespec hour = { HOUR_S, 0 };
	int rc = 0;

	while (!never_true)
		rc += nanosleep(&hour, NULL);
	return rc;
}

__attribute__((noinline)) __attribute__((noclone)) int wait_cond(int timed)
{
	struct timespec deadline = hour_from_now();
	int rc = 0;

	pthread_mutex_lock(&cond_lock);
	while (!never_true)
		rc += timed ? pthread_cond_timedwait(&cond, &cond_lock, &deadline)
			    : pthread_cond_wait(&cond, &cond_lock);
	pthread_mutex_unlock(&cond_lock);
	return rc;
}

__attribute__((noinline)) __attribute__((noclone)) int wait_barrier(void)
{
	int rc = 0;

	while (!never_true)
		rc += pthread_barrier_wait(&barrier);
	return rc;
}

__attribute__((noinline)) __attribute__((noclone)) int wait_rwlock(int write, int timed)
{
	struct timespec deadline = hour_from_now();
	int rc = 0;

	/* each call fails with ETIMEDOUT in an hour at the earliest: never here */
	while (!never_true) {
		if (write)
			rc = timed ? pthread_rwlock_timedwrlock(&rwlock, &deadline)
				   : pthread_rwlock_wrlock(&rwlock);
		else
			rc = timed ? pthread_rwlock_timedrdlock(&rwlock, &deadline)
				   : pthread_rwlock_rdlock(&rwlock);
		if (!rc)
			pthread_rwlock_unlock(&rwlock);
	}
	return rc;
}

enum role {
	POLL_FOREVER,
	POLL_TIMED,
	NANOSLEEP_RAW,
	NANOSLEEP_LIBC,
	COND_WAIT,
	COND_TIMEDWAIT,
	BARRIER,
	RWLOCK_READ,
	RWLOCK_WRITE,
	RWLOCK_TIMEDREAD,
	RWLOCK_TIMEDWRITE,
	POLL_SHORT,
	NROLES,
};

static const struct {
	const char *name;
	long syscall_nr;
} roles[NROLES] = {
	[POLL_FOREVER] = { "poll_forever", SYS_poll },
	[POLL_TIMED] = { "poll_timed", SYS_poll },
	[NANOSLEEP_RAW] = { "nanosleep_raw", SYS_nanosleep },
	[NANOSLEEP_LIBC] = { "nanosleep_libc", SYS_clock_nanosleep },
	[COND_WAIT] = { "cond_wait", SYS_futex },
	[COND_TIMEDWAIT] = { "cond_timedwait", SYS_futex },
	[BARRIER] = { "barrier", SYS_futex },
	[RWLOCK_READ] = { "rwlock_read", SYS_futex },
	[RWLOCK_WRITE] = { "rwlock_write", SYS_futex },
	[RWLOCK_TIMEDREAD] = { "rwlock_timedread", SYS_futex },
	[RWLOCK_TIMEDWRITE] = { "rwlock_timedwrite", SYS_futex },
	[POLL_SHORT] = { "poll_short", SYS_poll },
};

static pid_t tids[NROLES];

static long run_role(enum role role)
{
	switch (role) {
	case POLL_FOREVER:
		return wait_poll(-1);
	case POLL_TIMED:
		return wait_poll(HOUR_S * 1000);
	case NANOSLEEP_RAW:
		return wait_nanosleep_raw();
	case NANOSLEEP_LIBC:
		return wait_nanosleep_libc();
	case COND_WAIT:
		return wait_cond(0);
	case COND_TIMEDWAIT:
		return wait_cond(1);
	case BARRIER:
		return wait_barrier();
	case RWLOCK_READ:
		return wait_rwlock(0, 0);
	case RWLOCK_WRITE:
		return wait_rwlock(1, 0);
	case RWLOCK_TIMEDREAD:
		return wait_rwlock(0, 1);
	case RWLOCK_TIMEDWRITE:
		return wait_rwlock(1, 1);
	case POLL_SHORT:
		return wait_poll(2000);
	default:
		return 0;
	}
}

static void *role_main(void *arg)
{
	enum role role = (enum role)(long)arg;
	long r;

	tids[role] = gettid();
	sem_post(&started);
	r = run_role(role);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

int main(void)
{
	struct tu_role printed[NROLES + 1];
	pid_t tid_main = gettid();
	pthread_t th;
	int err;

	if (pipe(pipe_fds))
		tu_die("pipe", errno);
	if (sem_init(&started, 0, 0))
		tu_die("sem_init", errno);
	/* a barrier for two that only one thread ever reaches */
	err = pthread_barrier_init(&barrier, NULL, 2);
	if (err)
		tu_die("pthread_barrier_init", err);
	/* held for writing for ever: every rwlock role waits */
	err = pthread_rwlock_wrlock(&rwlock);
	if (err)
		tu_die("pthread_rwlock_wrlock", err);

	for (long role = 0; role < NROLES; role++) {
		err = pthread_create(&th, NULL, role_main, (void *)role);
		if (err)
			tu_die("pthread_create", err);
		while (sem_wait(&started) && errno == EINTR)
			;
	}
	for (int role = 0; role < NROLES; role++) {
		tu_wait_blocked(tids[role], roles[role].name, roles[role].syscall_nr,
				roles[role].syscall_nr);
		printed[role] = (struct tu_role){ roles[role].name, &tids[role], 1 };
	}
	printed[NROLES] = (struct tu_role){ "main", &tid_main, 1 };
	tu_print_roles("READY", printed, NROLES + 1);

	while (!never_true)
		pause();
	return 0;
}
