/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * leakmix [OPTION]...: one process that mixes leaking thread groups with
 * healthy ones, for the leak-trend tests.  Every part is off unless asked for:
 *
 *   --cond RATE   leak RATE threads/s (e.g. 10): each starts in leak_cond_main()
 *                 -> spawn_leaky_request() -> leak_cond_wait() and waits in
 *                 pthread_cond_wait() for a reply that never comes (name leak-cond)
 *   --pipe RATE   leak RATE threads/s: spawn_pipe_request() -> leak_pipe_read()
 *                 blocks in read() on a pipe nobody writes (name leak-pipe)
 *   --max N       stop each leak after N threads (default 2000)
 *   --pool        8 workers in pool_worker_wait(), fed one item every 20 ms (pool)
 *   --epoll       an event loop in epoll_loop_wait() on an eventfd (epoll) and a
 *                 ticker in ticker_sleep() (nanosleep 100 ms; ticker) that writes
 *                 the eventfd every 20th tick, so the loop wakes every 2 s
 *   --mutex       4 threads in mutex_contend(): lock, hold ~5 ms (nanosleep),
 *                 unlock, 1 ms off (mutex)
 *   --burst       every 3 s, 50 short-lived threads that sleep 200 ms in
 *                 burst_nap() and exit (burst; started by the burster thread)
 *   --healthy     all of --pool --epoll --mutex --burst
 *
 * The main thread starts the leaks on an absolute schedule and otherwise waits
 * in sigtimedwait() (sigwaitinfo() with no leak) for SIGUSR1, which every
 * thread blocks.  Each SIGUSR1 prints
 *   LEAKED {"cond": N, "pipe": N, "bursts": N, "t_ns": CLOCK_MONOTONIC ns}
 * cond and pipe counting the leaked threads that have started (and are about
 * to block), bursts the bursts started.
 *
 * Prints READY {"main": [tid], "pool": [...], ...} once the healthy parts run
 * (pool, event loop and ticker seen asleep in their syscalls); the leaks start
 * right after it.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "target_util.h"

#define NPOOL 8
#define NMUTEX 4
#define NBURST 50
#define POOL_FEED_NS (20LL * 1000000LL)
#define TICK_NS (100LL * 1000000LL)
#define TICKS_PER_EVENT 20
#define HOLD_NS (5LL * 1000000LL)
#define OFF_NS (1LL * 1000000LL)
#define BURST_PERIOD_NS (3LL * 1000000000LL)
#define BURST_NAP_NS (200LL * 1000000LL)
#define SMALL_STACK (64 * 1024)

static sem_t started;
static volatile int never_true; /* never set: the loops below never end */

static pthread_mutex_t leak_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t leak_cond = PTHREAD_COND_INITIALIZER;
static int leak_pipe[2];
static long leaked_cond, leaked_pipe; /* __atomic */

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static long queue_len;
static unsigned long work_done;

static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static unsigned long contended_work;

static int epfd, evfd;
static long bursts_started; /* __atomic */

static pid_t tid_main, tid_pool[NPOOL], tid_feeder, tid_epoll, tid_ticker;
static pid_t tid_mutex[NMUTEX], tid_burster;

static pthread_attr_t small_attr; /* detached, small stack */

static void publish(pid_t *slot, const char *name)
{
	pthread_setname_np(pthread_self(), name);
	*slot = gettid();
	sem_post(&started);
}

static void wait_started(int n)
{
	for (int i = 0; i < n; i++)
		while (sem_wait(&started) && errno == EINTR)
			;
}

static void sleep_ns(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void add_ns(struct timespec *ts, long long ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

static void sleep_until(const struct timespec *when)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, when, NULL) == EINTR)
		;
}

static void start_thread(void *(*fn)(void *), void *arg, const char *what)
{
	pthread_t th;
	int err = pthread_create(&th, &small_attr, fn, arg);

	if (err)
		tu_die(what, err);
}

/* ---- (a) the condvar leak ---- */

__attribute__((noinline)) __attribute__((noclone)) int leak_cond_wait(long request)
{
	int rc = 0;

	pthread_mutex_lock(&leak_lock);
	while (!never_true) /* the reply never comes: the leak */
		rc = pthread_cond_wait(&leak_cond, &leak_lock);
	pthread_mutex_unlock(&leak_lock);
	return rc + (int)(request & 1);
}

__attribute__((noinline)) __attribute__((noclone)) int spawn_leaky_request(long request)
{
	int rc = leak_cond_wait(request);

	__asm__ volatile("" ::: "memory");
	return rc + 1;
}

static void *leak_cond_main(void *arg)
{
	pthread_setname_np(pthread_self(), "leak-cond");
	__atomic_add_fetch(&leaked_cond, 1, __ATOMIC_SEQ_CST);
	long r = (long)spawn_leaky_request((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

/* ---- (b) the pipe-read leak ---- */

__attribute__((noinline)) __attribute__((noclone)) long leak_pipe_read(int fd)
{
	char c;
	long n = read(fd, &c, 1); /* nobody ever writes: the leak */

	__asm__ volatile("" ::: "memory");
	return n + 1;
}

__attribute__((noinline)) __attribute__((noclone)) long spawn_pipe_request(long request)
{
	long n = leak_pipe_read(leak_pipe[0]);

	__asm__ volatile("" ::: "memory");
	return n + request;
}

static void *leak_pipe_main(void *arg)
{
	pthread_setname_np(pthread_self(), "leak-pipe");
	__atomic_add_fetch(&leaked_pipe, 1, __ATOMIC_SEQ_CST);
	long r = spawn_pipe_request((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

/* ---- (c) a fixed pool fed steadily ---- */

__attribute__((noinline)) __attribute__((noclone)) unsigned long pool_worker_wait(long id)
{
	unsigned long mine = 0;

	pthread_mutex_lock(&queue_lock);
	while (!never_true) {
		while (queue_len == 0)
			pthread_cond_wait(&queue_cond, &queue_lock);
		queue_len--;
		work_done += (unsigned long)id;
		mine++;
	}
	pthread_mutex_unlock(&queue_lock);
	return mine;
}

static void *pool_main(void *arg)
{
	publish(&tid_pool[(long)arg], "pool");
	long r = (long)pool_worker_wait((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) void pool_feeder(void)
{
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!never_true) {
		add_ns(&next, POOL_FEED_NS);
		sleep_until(&next);
		pthread_mutex_lock(&queue_lock);
		if (queue_len < NPOOL) /* a backlog stays bounded */
			queue_len++;
		pthread_cond_signal(&queue_cond);
		pthread_mutex_unlock(&queue_lock);
	}
}

static void *feeder_main(void *arg)
{
	(void)arg;
	publish(&tid_feeder, "feeder");
	pool_feeder();
	__asm__ volatile("" ::: "memory");
	return NULL;
}

/* ---- (d) an event loop and a sleeping ticker ---- */

__attribute__((noinline)) __attribute__((noclone)) long epoll_loop_wait(int fd)
{
	struct epoll_event ev[4];
	uint64_t value;
	long total = 0;

	while (!never_true) {
		int n = epoll_wait(fd, ev, 4, -1);

		if (n > 0 && read(evfd, &value, sizeof(value)) == sizeof(value))
			total += (long)value;
	}
	return total;
}

static void *epoll_main(void *arg)
{
	(void)arg;
	publish(&tid_epoll, "epoll");
	long r = epoll_loop_wait(epfd);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) long ticker_sleep(long long tick_ns)
{
	uint64_t one = 1;
	long ticks = 0;

	while (!never_true) {
		sleep_ns(tick_ns);
		if (++ticks % TICKS_PER_EVENT == 0 && write(evfd, &one, sizeof(one)) < 0)
			tu_die("write(eventfd)", errno);
	}
	return ticks;
}

static void *ticker_main(void *arg)
{
	(void)arg;
	publish(&tid_ticker, "ticker");
	long r = ticker_sleep(TICK_NS);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

/* ---- (e) mutex contention ---- */

__attribute__((noinline)) __attribute__((noclone)) unsigned long mutex_contend(long id)
{
	unsigned long mine = 0;

	while (!never_true) {
		pthread_mutex_lock(&contended);
		sleep_ns(HOLD_NS); /* the critical section */
		contended_work += (unsigned long)id;
		pthread_mutex_unlock(&contended);
		mine++;
		sleep_ns(OFF_NS);
	}
	return mine;
}

static void *mutex_main(void *arg)
{
	publish(&tid_mutex[(long)arg], "mutex");
	long r = (long)mutex_contend((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

/* ---- (f) bursts of short-lived threads ---- */

__attribute__((noinline)) __attribute__((noclone)) long burst_nap(long id)
{
	sleep_ns(BURST_NAP_NS);
	__asm__ volatile("" ::: "memory");
	return id;
}

static void *burst_main(void *arg)
{
	pthread_setname_np(pthread_self(), "burst");
	long r = burst_nap((long)arg);

	__asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
	return (void *)r;
}

__attribute__((noinline)) __attribute__((noclone)) void burster_loop(void)
{
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!never_true) {
		for (long i = 0; i < NBURST; i++) {
			pthread_t th;
			int err = pthread_create(&th, &small_attr, burst_main, (void *)i);

			if (err) /* under memory pressure: skip, the next burst tries again */
				break;
		}
		__atomic_add_fetch(&bursts_started, 1, __ATOMIC_SEQ_CST);
		add_ns(&next, BURST_PERIOD_NS);
		sleep_until(&next);
	}
}

static void *burster_main(void *arg)
{
	(void)arg;
	publish(&tid_burster, "burster");
	burster_loop();
	__asm__ volatile("" ::: "memory");
	return NULL;
}

/* ---- main ---- */

static void print_leaked(void)
{
	printf("LEAKED {\"cond\": %ld, \"pipe\": %ld, \"bursts\": %ld, \"t_ns\": %lld}\n",
	       __atomic_load_n(&leaked_cond, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&leaked_pipe, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&bursts_started, __ATOMIC_SEQ_CST), tu_now_ns());
	if (fflush(stdout))
		tu_die("stdout", errno);
}

static double parse_rate(const char *arg)
{
	char *end;
	double rate = strtod(arg, &end);

	if (*end || !(rate > 0 && rate <= 1000)) {
		fprintf(stderr, "leakmix: bad rate '%s' (threads per second, 0 < RATE <= 1000)\n",
			arg);
		exit(2);
	}
	return rate;
}

static void usage(void)
{
	fprintf(stderr, "usage: leakmix [--cond RATE] [--pipe RATE] [--max N] [--pool] [--epoll] "
			"[--mutex] [--burst] [--healthy]\n");
	exit(2);
}

static struct timespec ts_from_ns(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	return ts;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cond", required_argument, NULL, 'c' },
		{ "pipe", required_argument, NULL, 'p' },
		{ "max", required_argument, NULL, 'm' },
		{ "pool", no_argument, NULL, 'P' },
		{ "epoll", no_argument, NULL, 'E' },
		{ "mutex", no_argument, NULL, 'M' },
		{ "burst", no_argument, NULL, 'B' },
		{ "healthy", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	double cond_rate = 0, pipe_rate = 0;
	long max_leaks = 2000, i;
	int pool = 0, ev = 0, mutex = 0, burst = 0, opt, nthreads = 0;
	long long cond_period = 0, pipe_period = 0, next_cond = 0, next_pipe = 0;
	long ncond = 0, npipe = 0;
	struct epoll_event event = { .events = EPOLLIN };
	sigset_t usr1;
	char *end;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cond_rate = parse_rate(optarg); break;
		case 'p': pipe_rate = parse_rate(optarg); break;
		case 'm':
			max_leaks = strtol(optarg, &end, 10);
			if (*end || max_leaks < 0)
				usage();
			break;
		case 'P': pool = 1; break;
		case 'E': ev = 1; break;
		case 'M': mutex = 1; break;
		case 'B': burst = 1; break;
		case 'H': pool = ev = mutex = burst = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	/* SIGUSR1 stays pending until the main thread takes it in sigtimedwait */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &usr1, NULL))
		tu_die("pthread_sigmask", EINVAL);
	if (sem_init(&started, 0, 0))
		tu_die("sem_init", errno);
	tu_thread_attr(&small_attr, SMALL_STACK, true);
	if (pipe(leak_pipe))
		tu_die("pipe", errno);
	tid_main = gettid();

	if (pool) {
		for (i = 0; i < NPOOL; i++)
			start_thread(pool_main, (void *)i, "pthread_create(pool)");
		wait_started(NPOOL);
		for (i = 0; i < NPOOL; i++)
			tu_wait_blocked(tid_pool[i], "pool", 202, 202);
		start_thread(feeder_main, NULL, "pthread_create(feeder)");
		nthreads++;
	}
	if (ev) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (epfd < 0 || evfd < 0)
			tu_die("epoll/eventfd", errno);
		event.data.fd = evfd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &event))
			tu_die("epoll_ctl", errno);
		start_thread(epoll_main, NULL, "pthread_create(epoll)");
		start_thread(ticker_main, NULL, "pthread_create(ticker)");
		nthreads += 2;
	}
	if (mutex) {
		for (i = 0; i < NMUTEX; i++)
			start_thread(mutex_main, (void *)i, "pthread_create(mutex)");
		nthreads += NMUTEX;
	}
	if (burst) {
		start_thread(burster_main, NULL, "pthread_create(burster)");
		nthreads++;
	}
	wait_started(nthreads);
	if (ev) {
		tu_wait_blocked(tid_epoll, "epoll", 232, 281);
		tu_wait_blocked(tid_ticker, "ticker", 35, 230);
	}
	{
		const struct tu_role roles[] = {
			{ "main", &tid_main, 1 },
			{ "pool", tid_pool, pool ? NPOOL : 0 },
			{ "feeder", &tid_feeder, pool },
			{ "epoll", &tid_epoll, ev },
			{ "ticker", &tid_ticker, ev },
			{ "mutex", tid_mutex, mutex ? NMUTEX : 0 },
			{ "burster", &tid_burster, burst },
		};
		tu_print_roles("READY", roles, 7);
	}

	if (cond_rate > 0)
		cond_period = (long long)(1e9 / cond_rate);
	if (pipe_rate > 0)
		pipe_period = (long long)(1e9 / pipe_rate);
	next_cond = next_pipe = tu_now_ns();
	for (;;) {
		int want_cond = cond_period && ncond < max_leaks;
		int want_pipe = pipe_period && npipe < max_leaks;
		long long due, now;
		int sig;

		if (!want_cond && !want_pipe) {
			sig = sigwaitinfo(&usr1, NULL);
			if (sig == SIGUSR1)
				print_leaked();
			continue;
		}
		due = !want_pipe || (want_cond && next_cond <= next_pipe) ? next_cond : next_pipe;
		now = tu_now_ns();
		if (due > now) {
			struct timespec left = ts_from_ns(due - now);

			sig = sigtimedwait(&usr1, NULL, &left);
			if (sig == SIGUSR1)
				print_leaked();
			continue; /* EAGAIN (due now), EINTR or a report: look again */
		}
		if (want_cond && next_cond <= now) {
			pthread_t th;
			int err = pthread_create(&th, &small_attr, leak_cond_main, (void *)ncond);

			if (err) {
				fprintf(stderr, "leakmix: cond leak thread %ld: %s\n", ncond + 1,
					strerror(err));
				cond_period = 0; /* stop leaking, keep the rest running */
			}
			ncond++;
			next_cond += cond_period;
		}
		if (want_pipe && next_pipe <= now) {
			pthread_t th;
			int err = pthread_create(&th, &small_attr, leak_pipe_main, (void *)npipe);

			if (err) {
				fprintf(stderr, "leakmix: pipe leak thread %ld: %s\n", npipe + 1,
					strerror(err));
				pipe_period = 0;
			}
			npipe++;
			next_pipe += pipe_period;
		}
	}
}
