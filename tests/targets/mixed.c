/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * mixed: one thread per kind of wait parkwatch tells apart.
 *
 *   pipe       read() on a pipe nobody writes                  syscall 0
 *   epoll      epoll_wait(-1) on one idle pipe, in a loop      syscall 232
 *   ticker     nanosleep(200 ms) in a loop                     syscall 35/230
 *   holder     holds `held` forever, waits in pthread_cond_wait
 *   mutex      3 threads in pthread_mutex_lock(&held)          syscall 202
 *   timedwait  pthread_cond_timedwait, deadline 1 hour ahead   syscall 202
 *   joined     pause() forever                                 syscall 34
 *   join       pthread_join() of the joined thread             syscall 202
 *   spin       busy loop, never blocks                         state R
 *   main       sigwaitinfo(SIGUSR1)                            syscall 128
 *
 * Prints READY {"role": [tids], ...} once /proc shows every thread where it
 * should be.  Each SIGUSR1 starts one more thread parked forever in
 * level_one() -> level_two() -> level_three() -> pthread_cond_wait() and
 * prints PARKED {"late": [tid]} once it is asleep.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>

#include "target_util.h"

#define NMUTEX 3

static sem_t started;
static volatile int never_true; /* never set: loops below never end */

static int pipe_fds[2];
static int epoll_pipe_fds[2];
static int epfd;

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER; /* normal, non-PI */
static pthread_mutex_t holder_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t holder_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t timed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timed_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t late_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t late_cond = PTHREAD_COND_INITIALIZER;

static pid_t tid_pipe, tid_epoll, tid_ticker, tid_holder, tid_mutex[NMUTEX];
static pid_t tid_timedwait, tid_join, tid_joined, tid_spin, tid_main;
static volatile pid_t tid_late;

static void publish(pid_t *slot)
{
	*slot = gettid();
	sem_post(&started);
}

static void wait_started(void)
{
	while (sem_wait(&started) && errno == EINTR)
		;
}

__attribute__((noinline)) __attribute__((noclone)) long pipe_reader(int fd)
{
	char c;
	long n = read(fd, &c, 1);

	__asm__ volatile("" ::: "memory");
	return n + 1;
}

static void *pipe_main(void *arg)
{
	(void)arg;
	publish(&tid_pipe);
	long r = (long)pipe_reader(pipe_fds[0]);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) long epoll_loop(int fd)
{
	struct epoll_event ev[4];
	long total = 0;
	int n;

	while (!never_true) {
		n = epoll_wait(fd, ev, 4, -1);
		total += n;
	}
	return total;
}

static void *epoll_main(void *arg)
{
	(void)arg;
	publish(&tid_epoll);
	long r = (long)epoll_loop(epfd);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) long ticker_loop(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	long ticks = 0;

	while (!never_true) {
		nanosleep(&ts, NULL);
		ticks++;
	}
	return ticks;
}

static void *ticker_main(void *arg)
{
	(void)arg;
	publish(&tid_ticker);
	long r = (long)ticker_loop(200);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int lock_holder(void)
{
	int rc = 0;

	pthread_mutex_lock(&held); /* never released */
	pthread_mutex_lock(&holder_lock);
	publish(&tid_holder);
	while (!never_true)
		rc = pthread_cond_wait(&holder_cond, &holder_lock);
	pthread_mutex_unlock(&holder_lock);
	return rc + 1;
}

static void *holder_main(void *arg)
{
	(void)arg;
	long r = (long)lock_holder();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int mutex_waiter(void)
{
	int rc = pthread_mutex_lock(&held);

	__asm__ volatile("" ::: "memory");
	if (!rc)
		pthread_mutex_unlock(&held);
	return rc + 1;
}

static void *mutex_main(void *arg)
{
	publish(&tid_mutex[(long)arg]);
	long r = (long)mutex_waiter();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int timed_waiter(void)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 3600;
	pthread_mutex_lock(&timed_lock);
	while (!never_true && rc == 0)
		rc = pthread_cond_timedwait(&timed_cond, &timed_lock, &deadline);
	pthread_mutex_unlock(&timed_lock);
	return rc + 1;
}

static void *timedwait_main(void *arg)
{
	(void)arg;
	publish(&tid_timedwait);
	long r = (long)timed_waiter();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int joined_pauser(void)
{
	int rc = 0;

	while (!never_true)
		rc += pause();
	return rc;
}

static void *joined_main(void *arg)
{
	(void)arg;
	publish(&tid_joined);
	long r = (long)joined_pauser();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int joiner(void)
{
	pthread_t th;
	void *ret = NULL;
	int err;

	err = pthread_create(&th, NULL, joined_main, NULL);
	if (err)
		tu_die("pthread_create(joined)", err);
	err = pthread_join(th, &ret);
	return err + (ret != NULL);
}

static void *join_main(void *arg)
{
	(void)arg;
	publish(&tid_join);
	long r = (long)joiner();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) unsigned long spinner(void)
{
	volatile unsigned long x = 0;

	while (!never_true)
		x++;
	return x;
}

static void *spin_main(void *arg)
{
	(void)arg;
	publish(&tid_spin);
	long r = (long)spinner();

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) int level_three(int depth)
{
	int rc = 0;

	pthread_mutex_lock(&late_lock);
	while (!never_true)
		rc = pthread_cond_wait(&late_cond, &late_lock);
	pthread_mutex_unlock(&late_lock);
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

static void *late_main(void *arg)
{
	(void)arg;
	tid_late = gettid();
	sem_post(&started);
	long r = (long)level_one(1);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

static void start(void *(*fn)(void *), void *arg, const char *role)
{
	pthread_t th;
	int err = pthread_create(&th, NULL, fn, arg);

	if (err)
		tu_die(role, err);
	pthread_detach(th);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;
	siginfo_t si;
	long i;
	int err;

	/* Block SIGUSR1 before any thread exists, so all inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (err)
		tu_die("pthread_sigmask", err);
	if (sem_init(&started, 0, 0) || pipe(pipe_fds) || pipe(epoll_pipe_fds))
		tu_die("setup", errno);
	epfd = epoll_create1(0);
	if (epfd < 0)
		tu_die("epoll_create1", errno);
	ev.data.fd = epoll_pipe_fds[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, epoll_pipe_fds[0], &ev))
		tu_die("epoll_ctl", errno);
	tid_main = gettid();

	/* The holder must own `held` before the mutex waiters start. */
	start(holder_main, NULL, "holder");
	wait_started();
	start(pipe_main, NULL, "pipe");
	start(epoll_main, NULL, "epoll");
	start(ticker_main, NULL, "ticker");
	for (i = 0; i < NMUTEX; i++)
		start(mutex_main, (void *)i, "mutex");
	start(timedwait_main, NULL, "timedwait");
	start(join_main, NULL, "join");
	start(spin_main, NULL, "spin");
	for (i = 0; i < 7 + NMUTEX; i++) /* the 9 threads above and joined */
		wait_started();

	tu_wait_blocked(tid_holder, "holder", 202, 202);
	tu_wait_blocked(tid_pipe, "pipe", 0, 0);
	tu_wait_blocked(tid_epoll, "epoll", 232, 232);
	tu_wait_blocked(tid_ticker, "ticker", 35, 230);
	for (i = 0; i < NMUTEX; i++)
		tu_wait_blocked(tid_mutex[i], "mutex", 202, 202);
	tu_wait_blocked(tid_timedwait, "timedwait", 202, 202);
	tu_wait_blocked(tid_joined, "joined", 34, 34);
	tu_wait_blocked(tid_join, "join", 202, 202);
	tu_wait_running(tid_spin, "spin");

	{
		const struct tu_role roles[] = {
			{ "pipe", &tid_pipe, 1 },
			{ "epoll", &tid_epoll, 1 },
			{ "ticker", &tid_ticker, 1 },
			{ "mutex", tid_mutex, NMUTEX },
			{ "holder", &tid_holder, 1 },
			{ "timedwait", &tid_timedwait, 1 },
			{ "join", &tid_join, 1 },
			{ "joined", &tid_joined, 1 },
			{ "spin", &tid_spin, 1 },
			{ "main", &tid_main, 1 },
		};
		tu_print_roles("READY", roles, (int)(sizeof(roles) / sizeof(roles[0])));
	}

	for (;;) {
		if (sigwaitinfo(&set, &si) < 0) {
			if (errno == EINTR)
				continue;
			tu_die("sigwaitinfo", errno);
		}
		start(late_main, NULL, "late");
		wait_started();
		{
			pid_t tid = tid_late;
			const struct tu_role late = { "late", &tid, 1 };

			tu_wait_blocked(tid, "late", 202, 202);
			tu_print_roles("PARKED", &late, 1);
		}
	}
}
