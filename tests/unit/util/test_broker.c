// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the privileged broker (user/util/broker.c): which paths and
 * flags it serves, how it parses a request off the wire, and a real round
 * trip with a forked server (no privileges needed: it opens this test's own
 * /proc files). */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "util/broker.h"

static bool allowed(const char *path, int flags)
{
	return broker__check_path(path, strlen(path), flags);
}

static void test_reading_paths_allowed(void **state)
{
	(void)state;
	assert_true(allowed("/proc/123/maps", O_RDONLY));
	assert_true(allowed("/proc/123/mem", O_RDONLY | O_CLOEXEC));
	assert_true(allowed("/proc/123/exe", O_RDONLY));
	assert_true(allowed("/proc/123/status", O_RDONLY));
	assert_true(allowed("/proc/1/task/45/fdinfo/3", O_RDONLY));
	assert_true(allowed("/proc/1/task/45/syscall", O_RDONLY));
	assert_true(allowed("/proc/1/task/45/net/tcp6", O_RDONLY));
	assert_true(allowed("/proc/1/fd", O_RDONLY | O_DIRECTORY));
	assert_true(allowed("/proc/1/task", O_RDONLY | O_DIRECTORY));
	assert_true(allowed("/proc/1/root", O_PATH | O_DIRECTORY));
	assert_true(allowed("/proc/1/ns/pid", O_PATH));
	assert_true(allowed("/proc/1/task/2/ns/net", O_PATH));
	assert_true(allowed("/proc/1/task/2/fd/17", O_PATH));
	assert_true(allowed("/proc/1/map_files/7f0012340000-7f0012350000", O_RDONLY));
	assert_true(allowed("/proc/2147483647/maps", O_RDONLY));
}

/* Magic links lead anywhere: served only as handles, never read through. */
static void test_links_out_of_proc_refused(void **state)
{
	(void)state;
	assert_false(allowed("/proc/1/root", O_RDONLY | O_DIRECTORY));
	assert_false(allowed("/proc/1/root/etc/shadow", O_RDONLY));
	assert_false(allowed("/proc/1/root/etc/shadow", O_PATH));
	assert_false(allowed("/proc/1/fd/3", O_RDONLY));
	assert_false(allowed("/proc/1/ns/pid", O_RDONLY));
	assert_false(allowed("/proc/1/cwd", O_PATH));
	assert_false(allowed("/proc/1/cwd/x", O_RDONLY));
	assert_false(allowed("/proc/1/environ", O_RDONLY));
	assert_false(allowed("/proc/1/map_files/../../../etc/shadow", O_RDONLY));
	assert_false(allowed("/proc/1/map_files/7f00-7f10/x", O_RDONLY));
	assert_false(allowed("/proc/1/ns/../root", O_PATH));
	assert_false(allowed("/proc/1/net/../root", O_RDONLY));
	assert_false(allowed("/proc/1/fd/3/x", O_PATH));
	assert_false(allowed("/proc/1/task/2/task/3/maps", O_RDONLY));
	assert_false(allowed("/proc/1/maps", O_RDONLY | O_DIRECTORY));
	assert_false(allowed("/proc/1/fd", O_RDONLY));
}

static void test_other_paths_refused(void **state)
{
	char long_path[BROKER_PATH_MAX + 8];

	(void)state;
	assert_false(allowed("/etc/shadow", O_RDONLY));
	assert_false(allowed("/proc/self/maps", O_RDONLY));
	assert_false(allowed("/proc/thread-self/maps", O_RDONLY));
	assert_false(allowed("/proc/../etc/shadow", O_RDONLY));
	assert_false(allowed("/proc/1/../../etc/shadow", O_RDONLY));
	assert_false(allowed("/proc/01/maps", O_RDONLY));
	assert_false(allowed("/proc/12345678901/maps", O_RDONLY));
	assert_false(allowed("/proc//1/maps", O_RDONLY));
	assert_false(allowed("/proc/1//maps", O_RDONLY));
	assert_false(allowed("/proc/1/maps/", O_RDONLY));
	assert_false(allowed("/proc/1", O_RDONLY | O_DIRECTORY));
	assert_false(allowed("/proc/1/", O_RDONLY | O_DIRECTORY));
	assert_false(allowed("/proc/", O_RDONLY));
	assert_false(allowed("proc/1/maps", O_RDONLY));
	assert_false(allowed("", O_RDONLY));
	assert_false(broker__check_path("/proc/1/maps\0x", 14, O_RDONLY));
	memset(long_path, 0, sizeof(long_path));
	strcpy(long_path, "/proc/1/task/2/fdinfo/");
	memset(long_path + strlen(long_path), '1', sizeof(long_path) - 1 - strlen(long_path));
	assert_false(broker__check_path(long_path, strlen(long_path), O_RDONLY));
}

static void test_writing_flags_refused(void **state)
{
	(void)state;
	assert_false(allowed("/proc/1/mem", O_RDWR));
	assert_false(allowed("/proc/1/mem", O_WRONLY));
	assert_false(allowed("/proc/1/mem", O_RDONLY | O_CREAT));
	assert_false(allowed("/proc/1/mem", O_RDONLY | O_TRUNC));
	assert_false(allowed("/proc/1/mem", O_RDONLY | O_APPEND));
	assert_false(allowed("/proc/1/fd", O_TMPFILE | O_RDONLY));
	assert_false(allowed("/proc/1/mem", O_RDONLY | O_ASYNC));
}

/* A request as it comes off the socket: header, then an unterminated path. */
static size_t wire(struct broker_request *request, uint32_t op, int flags, const char *path,
		   size_t path_len)
{
	memset(request, 'x', sizeof(*request));
	request->op = op;
	request->flags = flags;
	memcpy(request->path, path, path_len);
	return offsetof(struct broker_request, path) + path_len;
}

static void test_parse_request(void **state)
{
	struct broker_request message, request;
	size_t len;

	(void)state;
	len = wire(&message, BROKER_OPEN, O_RDONLY, "/proc/7/maps", 12);
	assert_int_equal(broker__parse_request(&message, len, &request), 0);
	assert_string_equal(request.path, "/proc/7/maps"); /* terminated */
	/* a readlink is checked as a handle would be */
	len = wire(&message, BROKER_READLINK, O_RDWR, "/proc/7/fd/3", 12);
	assert_int_equal(broker__parse_request(&message, len, &request), 0);
	assert_int_equal(request.flags, O_PATH);
	len = wire(&message, BROKER_OPEN, O_RDWR, "/proc/7/mem", 11);
	assert_int_equal(broker__parse_request(&message, len, &request), -EINVAL);
	len = wire(&message, 9, O_RDONLY, "/proc/7/maps", 12);
	assert_int_equal(broker__parse_request(&message, len, &request), -EINVAL);
	len = wire(&message, BROKER_COMMIT, 1, "", 1);
	assert_int_equal(broker__parse_request(&message, len, &request), 0);
	len = wire(&message, BROKER_COMMIT, 1, "/x", 2);
	assert_int_equal(broker__parse_request(&message, len, &request), -EINVAL);
	/* too short for a header, or longer than any request */
	assert_int_equal(broker__parse_request(&message, 3, &request), -EINVAL);
	assert_int_equal(broker__parse_request(&message, offsetof(struct broker_request, path),
					       &request), -EINVAL);
	assert_int_equal(broker__parse_request(&message, sizeof(message) + 1, &request), -EINVAL);
	/* a path filling the whole field has no room for its terminator */
	len = wire(&message, BROKER_OPEN, O_RDONLY, "/proc/7/maps", 12);
	memset(message.path + 12, 'a', BROKER_PATH_MAX - 12);
	assert_int_equal(broker__parse_request(&message, sizeof(message), &request), -EINVAL);
}

static int commits;

static int count_commit(void *ctx, bool keep)
{
	(void)ctx;
	commits++;
	return keep ? 0 : -ECANCELED;
}

static int blocker_pipe[2];
static volatile int blocker_tid;

static void *block_in_read(void *arg)
{
	char byte;

	(void)arg;
	blocker_tid = (int)gettid();
	(void)!read(blocker_pipe[0], &byte, 1);
	return NULL;
}

static int blocker_tid_wait(void)
{
	for (int tries = 0; tries < 5000 && !blocker_tid; tries++)
		usleep(1000); /* poll interval of a deadline loop */
	assert_true(blocker_tid > 0);
	return blocker_tid;
}

/* Whether the file, read directly, starts with prefix. */
static bool starts_with_file(const char *path, const char *prefix)
{
	char line[64] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	(void)!fgets(line, sizeof(line), f);
	fclose(f);
	return !strncmp(line, prefix, strlen(prefix));
}

static void test_round_trip(void **state)
{
	pthread_t blocker;
	char path[64], expected[PATH_MAX], got_link[PATH_MAX], text[64];
	int pair[2], fd, status;
	ssize_t len;
	pid_t server;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	server = fork();
	assert_true(server >= 0);
	if (!server) {
		close(pair[0]);
		commits = 0;
		broker__serve(pair[1], count_commit, NULL);
		_exit(commits == 1 ? 0 : 10 + commits);
	}
	close(pair[1]);
	broker__connect(pair[0]);
	assert_true(broker__connected());

	snprintf(path, sizeof(path), "/proc/%d/comm", getpid());
	fd = broker__open(path, O_RDONLY);
	assert_true(fd >= 0);
	len = read(fd, text, sizeof(text) - 1);
	assert_true(len > 0);
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/mem", getpid());
	assert_int_equal(broker__open(path, O_RDWR), -EPERM);
	fd = broker__open(path, O_RDONLY);
	assert_true(fd >= 0);
	/* what the broker handed out can't write */
	assert_int_equal(pwrite(fd, "x", 1, (off_t)(uintptr_t)&commits), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
	assert_int_equal(broker__open("/etc/passwd", O_RDONLY), -EPERM);

	snprintf(path, sizeof(path), "/proc/%d/exe", getpid());
	len = readlink("/proc/self/exe", expected, sizeof(expected) - 1);
	assert_true(len > 0);
	expected[len] = '\0';
	assert_int_equal(broker__readlink(path, got_link, sizeof(got_link)), len);
	assert_string_equal(got_link, expected);
	/* cut to the buffer, terminated */
	assert_int_equal(broker__readlink(path, got_link, 4), 3);
	assert_int_equal(strlen(got_link), 3);

	/* a thread asleep in read(2): the broker's copy of its syscall line
	 * names read, as the kernel shows it to this process directly */
	assert_int_equal(pipe(blocker_pipe), 0);
	assert_int_equal(pthread_create(&blocker, NULL, block_in_read, NULL), 0);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", getpid(), blocker_tid_wait());
	snprintf(expected, sizeof(expected), "%d ", (int)SYS_read);
	for (int tries = 0; tries < 5000 && !starts_with_file(path, expected); tries++)
		usleep(1000); /* poll interval of a deadline loop */
	assert_true(starts_with_file(path, expected));
	len = broker__read(path, text, sizeof(text));
	assert_true(len > 0);
	assert_memory_equal(text, expected, strlen(expected));
	assert_int_equal(write(blocker_pipe[1], "x", 1), 1);
	assert_int_equal(pthread_join(blocker, NULL), 0);

	assert_int_equal(broker__commit(true), 0);
	assert_int_equal(broker__commit(true), -EALREADY); /* once only */

	broker__connect(-1);
	close(pair[0]);
	assert_int_equal(waitpid(server, &status, 0), server);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reading_paths_allowed),
		cmocka_unit_test(test_links_out_of_proc_refused),
		cmocka_unit_test(test_other_paths_refused),
		cmocka_unit_test(test_writing_flags_refused),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
