// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Short-lived processes on demand, each with threads that park a known
 * number of times: for every line "N" on stdin, churn runs N children one
 * after another; each starts THREADS threads that each sleep SLEEPS times
 * in nanosleep (1 ms), joins them and exits.  Once they are reaped, prints
 *   BATCH {"sleeps": {"pid": parks, ...}}
 * parks: how often the child's threads really went to sleep in nanosleep,
 * by their own count of voluntary context switches in it (a sleep that ran
 * out while its thread was preempted parks none): the oracle of its exited
 * threads' totals.  Prints READY {} first; ends at end of input.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "target_util.h"

#define THREADS 3
#define SLEEPS 4
#define BATCH_MAX 1024

static atomic_long parks;

static long voluntary_switches(void)
{
	struct rusage usage;

	if (getrusage(RUSAGE_THREAD, &usage))
		_exit(1);
	return usage.ru_nvcsw;
}

/* Only the switches inside nanosleep: one that faults a page in elsewhere
 * parks for another reason. */
static void *sleeper(void *arg)
{
	long slept = 0;

	(void)arg;
	for (int i = 0; i < SLEEPS; i++) {
		struct timespec ms = { 0, 1000000 };
		long before = voluntary_switches();

		while (nanosleep(&ms, &ms) && errno == EINTR)
			;
		slept += voluntary_switches() - before;
	}
	atomic_fetch_add(&parks, slept);
	return NULL;
}

/* Tells the parent on report how often its threads slept, then exits. */
static void child(int report)
{
	pthread_t threads[THREADS];
	long total;

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, sleeper, NULL))
			_exit(1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	total = atomic_load(&parks);
	_exit(write(report, &total, sizeof(total)) == sizeof(total) ? 0 : 1);
}

int main(void)
{
	static pid_t pids[BATCH_MAX];
	static long sleeps[BATCH_MAX];
	char line[64];
	int report[2];

	printf("READY {}\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int count = atoi(line), status;

		if (count <= 0 || count > BATCH_MAX)
			tu_die("batch size", EINVAL);
		for (int i = 0; i < count; i++) {
			if (pipe(report))
				tu_die("pipe", errno);
			pids[i] = fork();
			if (pids[i] < 0)
				tu_die("fork", errno);
			if (!pids[i])
				child(report[1]);
			close(report[1]);
			if (read(report[0], &sleeps[i], sizeof(sleeps[i])) != sizeof(sleeps[i]))
				tu_die("reading a child's count", EIO);
			close(report[0]);
			if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
			    WEXITSTATUS(status))
				tu_die("child", ECHILD);
		}
		printf("BATCH {\"sleeps\": {");
		for (int i = 0; i < count; i++)
			printf("%s\"%d\": %ld", i ? ", " : "", (int)pids[i], sleeps[i]);
		printf("}}\n");
		fflush(stdout);
	}
	return 0;
}
