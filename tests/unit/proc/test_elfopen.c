// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of opening files through a process's root (user/proc/elfopen.c)
 * on this process, whose root is the host's: only regular files open, a
 * FIFO neither blocks nor opens, magic links are not followed.  Roots other
 * than "/" are the integration tests' (they need namespaces, so root).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/elfopen.h"

static char dir[] = "/tmp/pw-elfopen-XXXXXX";
static char path[PATH_MAX];

static const char *in_dir(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void test_regular_file(void **state)
{
	struct stat by_path, by_fd;
	int fd;

	(void)state;
	fd = elfopen__in_root(getpid(), in_dir("file"));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &by_fd), 0);
	assert_int_equal(stat(in_dir("file"), &by_path), 0);
	assert_true(by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
}

/* open(2) of a FIFO blocks until a writer comes: it must not be opened */
static void test_fifo(void **state)
{
	(void)state;
	assert_int_equal(elfopen__in_root(getpid(), in_dir("fifo")), -EINVAL);
}

static void test_not_regular(void **state)
{
	(void)state;
	assert_int_equal(elfopen__in_root(getpid(), dir), -EINVAL);
	assert_int_equal(elfopen__in_root(getpid(), "/dev/null"), -EINVAL);
	assert_int_equal(elfopen__in_root(getpid(), in_dir("missing")), -ENOENT);
	assert_int_equal(elfopen__in_root(getpid(), "relative/path"), -EINVAL);
	assert_int_equal(elfopen__in_root(0x7ffffff0, in_dir("file")), -ENOENT);
}

/* /proc/PID/... links lead anywhere: not followed inside a root */
static void test_magic_link(void **state)
{
	(void)state;
	assert_int_equal(elfopen__in_root(getpid(), "/proc/self/exe"), -ELOOP);
}

/* an ordinary symlink inside the root is followed, within it */
static void test_symlink(void **state)
{
	int fd;

	(void)state;
	fd = elfopen__in_root(getpid(), in_dir("link"));
	assert_true(fd >= 0);
	close(fd);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	fd = open(in_dir("file"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "\177ELF", 4) != 4 || close(fd))
		return -1;
	if (mkfifo(in_dir("fifo"), 0600))
		return -1;
	return symlink("file", in_dir("link"));
}

static int teardown(void **state)
{
	(void)state;
	unlink(in_dir("file"));
	unlink(in_dir("fifo"));
	unlink(in_dir("link"));
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_magic_link),
		cmocka_unit_test(test_symlink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
