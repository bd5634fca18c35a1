// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of -o's file output (user/cli/output.c): what a shell's `>`
 * would do to modes, symlinks and FIFOs, and no temporary name in sight. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "cli/output.h"

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/pw-output-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static const char *in_dir(const char *name)
{
	static char path[4][128];
	static int next;

	next = (next + 1) % 4;
	snprintf(path[next], sizeof(path[next]), "%s/%s", dir, name);
	return path[next];
}

static int entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *entry;
	int count = 0;

	assert_non_null(d);
	while ((entry = readdir(d)))
		count += strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..");
	closedir(d);
	return count;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_content(const char *path, const char *text)
{
	char buf[256] = "";
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, text);
}

static int write_output(const char *path, const char *text)
{
	struct output out;
	int err = output__open(&out, path, true);

	if (err)
		return err;
	fputs(text, out.stream);
	return output__commit(&out);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

/* A new file gets 0666 less the umask, as `>` gives it. */
static void test_new_file_honours_umask(void **state)
{
	mode_t saved = umask(027);

	(void)state;
	assert_int_equal(write_output(in_dir("a"), "one\n"), 0);
	umask(0);
	assert_int_equal(write_output(in_dir("b"), "two\n"), 0);
	umask(saved);
	assert_int_equal(mode_of(in_dir("a")) & 07777, 0640);
	assert_int_equal(mode_of(in_dir("b")) & 07777, 0666);
	expect_content(in_dir("a"), "one\n");
}

/* Replacing a file keeps its mode. */
static void test_replaced_file_keeps_mode(void **state)
{
	(void)state;
	write_file(in_dir("kept"), "old\n", 0600);
	assert_int_equal(write_output(in_dir("kept"), "new\n"), 0);
	assert_int_equal(mode_of(in_dir("kept")) & 07777, 0600);
	expect_content(in_dir("kept"), "new\n");
	assert_int_equal(entries(dir), 1);
}

/* A symlink stays; the file it names is replaced in its own directory. */
static void test_symlink_target_replaced(void **state)
{
	char target[64] = "";

	(void)state;
	assert_int_equal(mkdir(in_dir("sub"), 0755), 0);
	write_file(in_dir("sub/real"), "old\n", 0644);
	assert_int_equal(symlink("sub/real", in_dir("link")), 0);
	assert_int_equal(write_output(in_dir("link"), "new\n"), 0);
	assert_true(S_ISLNK(mode_of(in_dir("link"))));
	assert_true(readlink(in_dir("link"), target, sizeof(target) - 1) > 0);
	assert_string_equal(target, "sub/real");
	expect_content(in_dir("sub/real"), "new\n");
	assert_int_equal(entries(dir), 2);
	assert_int_equal(entries(in_dir("sub")), 1);
}

/* A dangling symlink: `>` creates the file it names. */
static void test_dangling_symlink_creates_target(void **state)
{
	(void)state;
	assert_int_equal(symlink("made", in_dir("dangling")), 0);
	assert_int_equal(write_output(in_dir("dangling"), "made\n"), 0);
	assert_true(S_ISLNK(mode_of(in_dir("dangling"))));
	expect_content(in_dir("made"), "made\n");
}

/* A FIFO is written through to its reader, and stays a FIFO. */
static void test_fifo_written_through(void **state)
{
	char buf[64] = "";
	int reader;

	(void)state;
	assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
	reader = open(in_dir("fifo"), O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	assert_int_equal(write_output(in_dir("fifo"), "through\n"), 0);
	assert_int_equal(read(reader, buf, sizeof(buf) - 1), 8);
	close(reader);
	assert_string_equal(buf, "through\n");
	assert_true(S_ISFIFO(mode_of(in_dir("fifo"))));
	assert_int_equal(entries(dir), 1);
}

/* No reader: an error at once, not a wait that no signal ends. */
static void test_fifo_without_reader(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
	assert_int_equal(write_output(in_dir("fifo"), "lost\n"), -ENXIO);
	assert_true(S_ISFIFO(mode_of(in_dir("fifo"))));
}

/* While the file is written nothing but the old file is in the directory:
 * a kill at any moment leaves no temporary file behind. */
static void test_no_temporary_name(void **state)
{
	struct output out;

	(void)state;
	assert_int_equal(output__open(&out, in_dir("new"), true), 0);
	fputs("first\n", out.stream);
	fflush(out.stream);
	assert_int_equal(entries(dir), 0);
	assert_int_equal(output__commit(&out), 0);
	assert_int_equal(output__open(&out, in_dir("new"), true), 0);
	fputs("second\n", out.stream);
	fflush(out.stream);
	assert_int_equal(entries(dir), 1);
	expect_content(in_dir("new"), "first\n");
	assert_int_equal(output__commit(&out), 0);
	expect_content(in_dir("new"), "second\n");
	assert_int_equal(entries(dir), 1);
}

/* Another user's link in a sticky world-writable directory is not
 * followed (fs.protected_symlinks), nor replaced. */
static void test_foreign_link_in_sticky_dir(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 01777), 0);
	write_file(in_dir("precious"), "keep\n", 0600);
	assert_int_equal(symlink("precious", in_dir("trap")), 0);
	assert_int_equal(lchown(in_dir("trap"), 4321, 4321), 0);
	assert_int_equal(write_output(in_dir("trap"), "overwrite\n"), -EACCES);
	expect_content(in_dir("precious"), "keep\n");
	assert_true(S_ISLNK(mode_of(in_dir("trap"))));
	assert_int_equal(entries(dir), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file_honours_umask, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_replaced_file_keeps_mode, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_symlink_target_replaced, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_dangling_symlink_creates_target, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(test_fifo_written_through, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_fifo_without_reader, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_no_temporary_name, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_foreign_link_in_sticky_dir, make_dir,
						remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
