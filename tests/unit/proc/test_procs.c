// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the process cache (user/proc/procs.c): its fds stay within
 * the budget the soft RLIMIT_NOFILE gives, the least recently used process
 * giving up its own; a pid is known again by its start time.  On child
 * processes of this test: no root, no BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/procs.h"

#define CHILDREN 4
#define LOW_NOFILE 64

static pid_t children[CHILDREN];
static pid_t parent;                /* set before the children are forked */

static void start_children(void)
{
	parent = getpid();
	for (int i = 0; i < CHILDREN; i++) {
		children[i] = fork();
		assert_true(children[i] >= 0);
		if (!children[i]) {
			/* a failed assertion skips stop_children: gone with the test */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
}

static void stop_children(void)
{
	for (int i = 0; i < CHILDREN; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
}

static void test_budget_from_limit(void **state)
{
	(void)state;
	/* a quarter of what is left is the shared sessions' */
	assert_int_equal(procs__fd_budget(1024), (1024 - 96) - (1024 - 96) / 4);
	assert_int_equal(procs__fd_budget(LOW_NOFILE), LOW_NOFILE / 2 - LOW_NOFILE / 2 / 4);
	assert_int_equal(procs__fd_budget(0), 0);
}

/* What one child's session and memory fd count for (its modules vary
 * with the build: a sanitized one maps more libraries). */
static size_t fds_of_one_child(void)
{
	struct procs *procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	__u64 word;
	size_t held;

	assert_non_null(procs);
	procs__begin(procs);
	assert_non_null(procs__dwfl(procs__get(procs, children[0])));
	assert_true(procs__read_word(procs__get(procs, children[0]), (__u64)(uintptr_t)&parent,
				     &word));
	held = procs__fds_held(procs);
	procs__end(procs);
	procs__free(procs);
	return held;
}

/* Sessions of every child in turn, with a budget for two: the fds held
 * stay within it, the oldest's go first, and a closed session is built
 * again on use. */
static void test_least_recently_used_closed(void **state)
{
	struct rlimit saved, low;
	struct procs *procs;
	struct proc *procs_of[CHILDREN];
	size_t budget;
	rlim_t nofile = 1;
	__u64 word;

	(void)state;
	start_children();
	budget = 2 * fds_of_one_child() + 1;
	while (procs__fd_budget(nofile) < budget)
		nofile++;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = (struct rlimit){ nofile, saved.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_non_null(procs);
	procs__begin(procs);
	for (int i = 0; i < CHILDREN; i++) {
		procs_of[i] = procs__get(procs, children[i]);
		assert_non_null(procs_of[i]);
		assert_non_null(procs__dwfl(procs_of[i]));
		assert_true(procs__read_word(procs_of[i], (__u64)(uintptr_t)&parent, &word));
		assert_int_equal((pid_t)word, getpid()); /* the child's copy of this page */
		assert_true(procs__fds_held(procs) <= budget);
	}
	assert_null(procs_of[0]->dwfl);
	assert_int_equal(procs_of[0]->mem_fd, -1);
	assert_non_null(procs_of[CHILDREN - 1]->dwfl);
	assert_true(procs_of[CHILDREN - 1]->mem_fd >= 0);
	/* used again: open again, and another one's go */
	assert_non_null(procs__dwfl(procs_of[0]));
	assert_true(procs__fds_held(procs) <= budget);
	assert_null(procs_of[2]->dwfl);
	assert_non_null(procs_of[3]->dwfl);
	procs__end(procs);
	procs__free(procs);
	stop_children();
}

/* A pid whose process started at another time is a new entry. */
static void test_same_pid_other_process(void **state)
{
	struct procs *procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct proc *proc;

	(void)state;
	assert_non_null(procs);
	start_children();
	procs__begin(procs);
	proc = procs__get(procs, children[0]);
	assert_non_null(proc);
	assert_true(proc->start_ticks > 0);
	procs__end(procs);
	/* what the entry would hold had the pid been another process's */
	proc->start_ticks++;
	proc->maps_hash = 42;
	procs__begin(procs);
	proc = procs__get(procs, children[0]);
	assert_int_not_equal(proc->maps_hash, 42);
	procs__end(procs);
	procs__free(procs);
	stop_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_from_limit),
		cmocka_unit_test(test_least_recently_used_closed),
		cmocka_unit_test(test_same_pid_other_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
