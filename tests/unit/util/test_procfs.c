// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the small /proc reads (user/util/procfs.c), on this process,
 * its threads and its children: no root. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "util/procfs.h"

#define NO_SUCH_PID 0x7ffffff0
#define NAME "pw-procfs-test" /* this process's name while the tests run */

static char original_name[16];

static void test_exe_path_self(void **state)
{
	char expected[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", expected, sizeof(expected) - 1);
	char *exe = procfs__exe_path(getpid());

	(void)state;
	assert_true(len > 0);
	expected[len] = '\0';
	assert_non_null(exe);
	assert_string_equal(exe, expected);
	assert_true(exe[0] == '/');
	assert_non_null(strstr(exe, "/test_procfs"));
	assert_string_equal(exe + strlen(exe) - strlen("/test_procfs"), "/test_procfs");
	free(exe);
}

/* A child that execs sleep: its executable, with the links resolved (/bin
 * is /usr/bin on a merged /usr); gone once it has exited. */
static void test_exe_path_child(void **state)
{
	char expected[PATH_MAX], *exe = NULL;
	pid_t child;
	int status;

	(void)state;
	assert_non_null(realpath("/bin/sleep", expected));
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* until the exec is done the child is still this binary */
	for (int i = 0; i < 500; i++) {
		free(exe);
		exe = procfs__exe_path(child);
		if (exe && !strcmp(exe, expected))
			break;
		usleep(10000);
	}
	assert_non_null(exe);
	assert_string_equal(exe, expected);
	free(exe);
	kill(child, SIGKILL);
	/* a zombie: no executable any more */
	for (int i = 0; i < 500; i++) {
		char path[64], stat[256] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", child);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(stat, sizeof(stat), f))
				stat[0] = '\0';
			fclose(f);
		}
		if (strstr(stat, ") Z "))
			break;
		usleep(10000);
	}
	assert_null(procfs__exe_path(child));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_null(procfs__exe_path(child));
}

static void test_exe_path_missing(void **state)
{
	(void)state;
	assert_null(procfs__exe_path(NO_SUCH_PID));
	assert_null(procfs__exe_path(0));
	assert_null(procfs__exe_path(-1));
}

static void test_comm_self(void **state)
{
	char comm[16] = "xxxxxxxxxxxxxxx";

	(void)state;
	procfs__comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, NAME);
	/* renamed: the kernel keeps 15 bytes, and no newline comes back */
	assert_int_equal(prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"), 0);
	procfs__comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, "abcdefghijklmno");
	assert_int_equal(prctl(PR_SET_NAME, "pw worker"), 0);
	procfs__comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, "pw worker");
	assert_int_equal(prctl(PR_SET_NAME, NAME), 0);
}

/* The buffer bounds the read: a short one gets the start of the name. */
static void test_comm_short_buffer(void **state)
{
	char comm[16];

	(void)state;
	memset(comm, 'x', sizeof(comm));
	procfs__comm(getpid(), comm, 5);
	assert_string_equal(comm, "pw-p");
	assert_true(comm[5] == 'x'); /* nothing written past the buffer */
	memset(comm, 'x', sizeof(comm));
	procfs__comm(getpid(), comm, 1);
	assert_string_equal(comm, "");
	assert_true(comm[1] == 'x');
}

static void test_comm_missing(void **state)
{
	char comm[16] = "stale";

	(void)state;
	procfs__comm(NO_SUCH_PID, comm, sizeof(comm));
	assert_string_equal(comm, "");
	strcpy(comm, "stale");
	procfs__comm(-1, comm, sizeof(comm));
	assert_string_equal(comm, "");
}

static pthread_barrier_t named;
static pid_t named_tid;

static void *named_thread(void *arg)
{
	(void)arg;
	named_tid = gettid();
	pthread_setname_np(pthread_self(), "pw-named");
	pthread_barrier_wait(&named);
	pthread_barrier_wait(&named);
	return NULL;
}

/* A thread's own name, by its tid (/proc/TID works for any thread). */
static void test_comm_thread(void **state)
{
	pthread_t thread;
	char comm[16];

	(void)state;
	assert_int_equal(pthread_barrier_init(&named, NULL, 2), 0);
	assert_int_equal(pthread_create(&thread, NULL, named_thread, NULL), 0);
	pthread_barrier_wait(&named);
	procfs__comm(named_tid, comm, sizeof(comm));
	assert_string_equal(comm, "pw-named");
	/* the process is still named after its main thread */
	procfs__comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, NAME);
	pthread_barrier_wait(&named);
	assert_int_equal(pthread_join(thread, NULL), 0);
	pthread_barrier_destroy(&named);
}

/* A whole small file, terminated; a short buffer cuts it and says so by
 * its length; a missing process gives -ENOENT. */
static void test_read(void **state)
{
	char buf[64], small[8];
	ssize_t len;

	(void)state;
	len = procfs__read(getpid(), "comm", buf, sizeof(buf));
	assert_int_equal(len, strlen(NAME) + 1);
	assert_string_equal(buf, NAME "\n");
	len = procfs__read(getpid(), "comm", small, sizeof(small));
	assert_int_equal(len, sizeof(small) - 1);
	assert_memory_equal(small, NAME, sizeof(small) - 1);
	assert_int_equal(small[sizeof(small) - 1], '\0');
	assert_int_equal(procfs__read(NO_SUCH_PID, "comm", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(procfs__read(getpid(), "comm", buf, 0), -EINVAL);
}

/* In this test's own PID namespace a pid is itself: 0.  (A process in
 * another namespace is the integration tests', which need root.) */
static void test_ns_pid_same_namespace(void **state)
{
	(void)state;
	assert_int_equal(procfs__ns_pid(getpid()), 0);
	assert_int_equal(procfs__ns_pid(NO_SUCH_PID), 0);
}

/* This test's uids are all the same user's; a gone pid is an error. */
static void test_owner_uid(void **state)
{
	uid_t uid = (uid_t)-1;

	(void)state;
	assert_int_equal(procfs__owner_uid(getpid(), &uid), 0);
	assert_int_equal(uid, getuid());
	assert_int_equal(procfs__owner_uid(NO_SUCH_PID, &uid), -ENOENT);
}

/* The NSpid line of a status text: its last pid, when that is not the
 * process's own and is a pid at all. */
static void test_parse_ns_pid(void **state)
{
	static const struct {
		const char *status;
		pid_t expected;
	} cases[] = {
		{ "Name:\tapp\nTgid:\t4242\nNSpid:\t4242\t17\nNSpgid:\t4242\t17\n", 17 },
		{ "Name:\tapp\nNSpid:\t4242\t300\t17", 17 },          /* nested, no newline */
		{ "Name:\tapp\nNSpid:\t4242\n", 0 },                 /* its own */
		{ "Name:\tapp\nNSpid:\n", 0 },
		{ "Name:\tapp\nNSpid:\t4242\t17x\n", 0 },
		{ "Name:\tapp\nNSpid:\t4242\t99999999999\n", 0 },
		{ "Name:\tapp\nNSpid:\t4242\t-5\n", 0 },
		{ "NSpid:\t4242\t17\n", 0 },                          /* not a line of its own */
		{ "Name:\tNSpid: 1 17\nTgid:\t4242\n", 0 },            /* in a name */
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char status[128];

		snprintf(status, sizeof(status), "%s", cases[i].status);
		assert_int_equal(procfs__parse_ns_pid(status, 4242), cases[i].expected);
	}
}

static double boottime_ticks(void)
{
	struct timespec now;

	assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &now), 0);
	return (now.tv_sec + now.tv_nsec / 1e9) * sysconf(_SC_CLK_TCK);
}

/* A child's start time is when it was forked, by the boot-time clock, even
 * with a name made to shift the fields after it. */
static void test_start_ticks(void **state)
{
	int ready[2], status;
	double before, after;
	unsigned long long ticks;
	pid_t child;
	char c;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	before = boottime_ticks();
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		prctl(PR_SET_NAME, "a) 1 2 3 (b");
		_exit(write(ready[1], "x", 1) == 1 ? pause() : 1);
	}
	after = boottime_ticks();
	assert_int_equal(read(ready[0], &c, 1), 1);
	ticks = procfs__start_ticks(child);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(ready[0]);
	close(ready[1]);
	assert_true(ticks + 1 >= before && ticks <= after + 1);
	assert_true(procfs__start_ticks(getpid()) > 0);
	assert_int_equal(procfs__start_ticks(NO_SUCH_PID), 0);
}

static int group_setup(void **state)
{
	(void)state;
	if (prctl(PR_GET_NAME, original_name))
		return -1;
	return prctl(PR_SET_NAME, NAME);
}

static int group_teardown(void **state)
{
	(void)state;
	return prctl(PR_SET_NAME, original_name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_path_self),
		cmocka_unit_test(test_exe_path_child),
		cmocka_unit_test(test_exe_path_missing),
		cmocka_unit_test(test_comm_self),
		cmocka_unit_test(test_comm_short_buffer),
		cmocka_unit_test(test_comm_missing),
		cmocka_unit_test(test_comm_thread),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_ns_pid_same_namespace),
		cmocka_unit_test(test_owner_uid),
		cmocka_unit_test(test_parse_ns_pid),
		cmocka_unit_test(test_start_ticks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
