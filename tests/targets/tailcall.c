/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * tailcall: threads whose functions end in a tail call into a wait, so
 * that the function is on no machine stack (its `call` became a `jmp`) and
 * only DWARF call-site information says it was there.
 *
 *   pipe     pipe_worker -> read_reply -jmp-> read             syscall 0
 *   cond     cond_worker -> wait_event -jmp-> wait_signal
 *                          -jmp-> pthread_cond_wait            syscall 202
 *   sleep    sleep_worker -> nap -jmp-> nanosleep              syscall 35/230
 *   poll     poll_worker -> wait_readable -jmp-> poll          syscall 7
 *   main     pause()                                           syscall 34
 *
 * Built with -O2 -g as users build: gcc turns each `return f(...)` of the
 * functions in the middle into a jump.  Prints READY {"role": [tid], ...}
 * once /proc shows every thread asleep in its syscall.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>

#include "target_util.h"

#define NOINLINE __attribute__((noinline)) __attribute__((noclone))

static sem_t started;
static int pipe_fds[2];
static int poll_pipe_fds[2];
static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t event_cond = PTHREAD_COND_INITIALIZER;
static pid_t tid_pipe, tid_cond, tid_sleep, tid_poll;

static void publish(pid_t *slot)
{
	*slot = gettid();
	sem_post(&started);
}

/* Each wait below is the function's last act: gcc emits a jmp. */
NOINLINE ssize_t read_reply(int fd, char *buf, size_t size)
{
	return read(fd, buf, size);
}

NOINLINE int wait_signal(pthread_cond_t *cond, pthread_mutex_t *lock)
{
	return pthread_cond_wait(cond, lock);
}

NOINLINE int wait_event(pthread_cond_t *cond, pthread_mutex_t *lock)
{
	return wait_signal(cond, lock);
}

NOINLINE int nap(const struct timespec *length)
{
	return nanosleep(length, NULL);
}

NOINLINE int wait_readable(struct pollfd *pfd)
{
	return poll(pfd, 1, -1);
}

/* The workers call normally and use the result: their frames stay. */
static void *pipe_worker(void *arg)
{
	char buf[16];
	ssize_t n;

	(void)arg;
	publish(&tid_pipe);
	n = read_reply(pipe_fds[0], buf, sizeof(buf));
	fprintf(stderr, "tailcall: pipe read returned %zd\n", n);
	return NULL;
}

static void *cond_worker(void *arg)
{
	int rc;

	(void)arg;
	publish(&tid_cond);
	pthread_mutex_lock(&event_lock);
	for (;;) {
		rc = wait_event(&event_cond, &event_lock);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&event_lock);
	return NULL;
}

static void *sleep_worker(void *arg)
{
	struct timespec hour = { 3600, 0 };
	int rc;

	(void)arg;
	publish(&tid_sleep);
	for (;;) {
		rc = nap(&hour);
		if (rc)
			break;
	}
	return NULL;
}

static void *poll_worker(void *arg)
{
	struct pollfd pfd = { .fd = poll_pipe_fds[0], .events = POLLIN };
	int rc;

	(void)arg;
	publish(&tid_poll);
	rc = wait_readable(&pfd);
	fprintf(stderr, "tailcall: poll returned %d\n", rc);
	return NULL;
}

int main(void)
{
	void *(*const workers[])(void *) = { pipe_worker, cond_worker, sleep_worker, poll_worker };
	struct tu_role roles[4] = {
		{ "pipe", &tid_pipe, 1 },
		{ "cond", &tid_cond, 1 },
		{ "sleep", &tid_sleep, 1 },
		{ "poll", &tid_poll, 1 },
	};
	pthread_t th;
	int err;

	if (sem_init(&started, 0, 0) || pipe(pipe_fds) || pipe(poll_pipe_fds))
		tu_die("setup", errno);
	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		err = pthread_create(&th, NULL, workers[i], NULL);
		if (err)
			tu_die("pthread_create", err);
	}
	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		while (sem_wait(&started) && errno == EINTR)
			;
	tu_wait_blocked(tid_pipe, "pipe", 0, 0);
	tu_wait_blocked(tid_cond, "cond", 202, 202);
	tu_wait_blocked(tid_sleep, "sleep", 35, 230);
	tu_wait_blocked(tid_poll, "poll", 7, 7);
	tu_print_roles("READY", roles, 4);
	for (;;)
		pause();
}
