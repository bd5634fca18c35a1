// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of perf map reading (user/proc/perfmap.c) on crafted files in
 * a private temporary directory: good, malformed, huge, unsorted and
 * overlapping maps, changes between reads, files that must not be read
 * (another owner, a link, a FIFO), and this process's own
 * /tmp/perf-PID.map found through /proc.  No root needed.
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
#include "proc/perfmap.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 16];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct perfmap *read_map(const char *text)
{
	struct perfmap *map;

	write_file(text);
	map = perfmap__new_path(path, geteuid(), "[perf-42.map]");
	assert_non_null(map);
	assert_int_equal(perfmap__refresh(map), 1);
	return map;
}

static const char *name_at(const struct perfmap *map, __u64 pc)
{
	const struct perfmap_entry *entry = perfmap__find(map, pc);

	return entry ? entry->name : NULL;
}

/* The JVM's format (0x, names with spaces) and perf's own (bare hex). */
static void test_good(void **state)
{
	struct perfmap *map = read_map(
		"0x00007f0000001000 0x0000000000000100 long JitLeak.take(JitLeak$Slot)\n"
		"7f0000002000 80 Interpreter\n"
		"7f0000003000\t10\tLazyCompile:~main /srv/app.js:3\r\n");
	struct symbol *symbol;

	(void)state;
	assert_int_equal(perfmap__count(map), 3);
	assert_int_equal(perfmap__skipped(map), 0);
	assert_string_equal(name_at(map, 0x7f0000001000), "long JitLeak.take(JitLeak$Slot)");
	assert_string_equal(name_at(map, 0x7f00000010ff), "long JitLeak.take(JitLeak$Slot)");
	assert_null(name_at(map, 0x7f0000001100));
	assert_null(name_at(map, 0x7f0000000fff));
	assert_string_equal(name_at(map, 0x7f0000002040), "Interpreter");
	assert_string_equal(name_at(map, 0x7f000000300f), "LazyCompile:~main /srv/app.js:3");
	assert_null(name_at(map, 0x7f0000003010));
	assert_null(name_at(map, 0));
	assert_null(name_at(map, ~0ULL));

	symbol = perfmap__symbol(map, 0x7f0000001042);
	assert_non_null(symbol);
	assert_int_equal(symbol->frame_count, 1);
	assert_string_equal(symbol->frames[0].function, "long JitLeak.take(JitLeak$Slot)");
	assert_int_equal(symbol->frames[0].function_offset, 0x42);
	assert_false(symbol->frames[0].inlined);
	assert_null(symbol->frames[0].file);
	assert_string_equal(symbol->module, "[perf-42.map]");
	assert_true(perfmap__is_jit_symbol(symbol));
	/* one mapping for all of the map's code */
	assert_int_equal(symbol->module_start, 0x7f0000001000);
	assert_int_equal(symbol->module_end, 0x7f0000003010);
	symbol__put(symbol);
	assert_null(perfmap__symbol(map, 0x7f0000001100));
	assert_null(perfmap__symbol(NULL, 0x7f0000001000));
	assert_null(perfmap__find(NULL, 0x7f0000001000));
	perfmap__free(map);
	perfmap__free(NULL);
}

static void test_malformed(void **state)
{
	struct perfmap *map = read_map(
		"\n"
		"garbage\n"
		"zz00 10 not hex\n"
		"1000 0 empty code\n"
		"0 10 at zero\n"
		"2000 10\n"
		"2000 10 \n"
		"3000 10 a\x01name\n"
		"ffffffffffffff00 1000 wraps around\n"
		"10000000000000000 10 seventeen digits\n"
		"4000 10x trailing junk\n"
		"-5000 10 negative\n"
		"5000 10 good one\n"
		"6000 10 not ended");
	struct symbol plain = { .module = "/usr/lib/libc.so.6" };

	(void)state;
	assert_int_equal(perfmap__count(map), 1);
	assert_int_equal(perfmap__skipped(map), 12);
	assert_string_equal(name_at(map, 0x5008), "good one");
	assert_null(name_at(map, 0x2000));
	assert_null(name_at(map, 0x3000));
	/* a line still being written is read next time */
	assert_null(name_at(map, 0x6000));
	assert_false(perfmap__is_jit_symbol(&plain));
	assert_false(perfmap__is_jit_symbol(NULL));
	perfmap__free(map);
}

/* A map with no entry, empty or all malformed: none found (and, under
 * UBSan, no qsort of a NULL array: a finding of tests/fuzz/fuzz_perfmap). */
static void test_no_entries(void **state)
{
	static const char *const texts[] = { "", "not a perf map line\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct perfmap *map = read_map(texts[i]);

		assert_int_equal(perfmap__count(map), 0);
		assert_null(perfmap__find(map, 0));
		assert_null(perfmap__symbol(map, 0x7f0000001000));
		perfmap__free(map);
	}
}

static void test_unsorted(void **state)
{
	struct perfmap *map = read_map("9000 100 nine\n1000 100 one\n5000 100 five\n3000 100 three\n");

	(void)state;
	assert_int_equal(perfmap__count(map), 4);
	assert_string_equal(name_at(map, 0x1000), "one");
	assert_string_equal(name_at(map, 0x30ff), "three");
	assert_string_equal(name_at(map, 0x5080), "five");
	assert_string_equal(name_at(map, 0x9000), "nine");
	assert_null(name_at(map, 0x2000));
	assert_null(name_at(map, 0x9100));
	perfmap__free(map);
}

/* Code freed and reused: the line written later names the bytes. */
static void test_overlapping(void **state)
{
	struct perfmap *map = read_map(
		"1000 1000 old\n"        /* 0x1000-0x2000 */
		"1800 100 new inside\n"  /* over the middle of old */
		"3000 100 covered\n"
		"2f00 400 covers\n"      /* over all of covered */
		"5000 100 later\n"
		"5080 100 earlier tail\n" /* written after: wins its bytes */
		"1800 100 same start\n"); /* last for 0x1800 */

	(void)state;
	assert_string_equal(name_at(map, 0x1000), "old");
	assert_string_equal(name_at(map, 0x17ff), "old");
	assert_string_equal(name_at(map, 0x1800), "same start");
	assert_string_equal(name_at(map, 0x18ff), "same start");
	assert_string_equal(name_at(map, 0x3000), "covers");
	assert_string_equal(name_at(map, 0x2f00), "covers");
	assert_string_equal(name_at(map, 0x32ff), "covers");
	assert_string_equal(name_at(map, 0x507f), "later");
	assert_string_equal(name_at(map, 0x5080), "earlier tail");
	assert_string_equal(name_at(map, 0x517f), "earlier tail");
	/* what remains is sorted and disjoint: every byte has one name */
	for (__u64 pc = 0x1000; pc < 0x5200; pc += 0x10) {
		const struct perfmap_entry *entry = perfmap__find(map, pc);

		if (entry)
			assert_true(entry->start <= pc && pc < entry->end);
	}
	perfmap__free(map);
}

static void test_huge(void **state)
{
	FILE *f = fopen(path, "w");
	char long_name[PERFMAP_MAX_NAME + 2];
	struct perfmap *map;

	(void)state;
	assert_non_null(f);
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	fprintf(f, "100 10 %s\n", long_name);
	long_name[PERFMAP_MAX_NAME] = '\0';
	fprintf(f, "200 10 %s\n", long_name);
	for (unsigned int i = 0; i < PERFMAP_MAX_ENTRIES + 10; i++)
		fprintf(f, "%x 10 f%u\n", 0x10000 + i * 0x10, i);
	assert_int_equal(fclose(f), 0);
	map = perfmap__new_path(path, geteuid(), "[perf-42.map]");
	assert_int_equal(perfmap__refresh(map), 1);
	assert_int_equal(perfmap__count(map), PERFMAP_MAX_ENTRIES);
	assert_int_equal(perfmap__skipped(map), 1 + 11);
	assert_null(name_at(map, 0x100));
	assert_int_equal(strlen(name_at(map, 0x200)), PERFMAP_MAX_NAME);
	assert_string_equal(name_at(map, 0x10000), "f0");
	assert_string_equal(name_at(map, 0x10000 + (PERFMAP_MAX_ENTRIES - 2) * 0x10ULL), "f1048574");
	assert_null(name_at(map, 0x10000 + (PERFMAP_MAX_ENTRIES - 1) * 0x10ULL));
	perfmap__free(map);

	/* past the byte bound, the rest of the file is not read */
	assert_int_equal(truncate(path, PERFMAP_MAX_BYTES + 4096), 0);
	map = perfmap__new_path(path, geteuid(), "[perf-42.map]");
	assert_int_equal(perfmap__refresh(map), 1);
	assert_true(perfmap__count(map) <= PERFMAP_MAX_ENTRIES);
	assert_true(perfmap__skipped(map) >= 1);
	perfmap__free(map);
}

static void test_refresh(void **state)
{
	struct perfmap *map = read_map("1000 10 first\n");
	struct timespec times[2] = { { 0, 0 }, { 1, 0 } };
	int fd;

	(void)state;
	assert_int_equal(perfmap__refresh(map), 0);
	assert_string_equal(name_at(map, 0x1000), "first");
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "2000 10 second\n", 15), 15);
	close(fd);
	assert_int_equal(perfmap__refresh(map), 1);
	assert_string_equal(name_at(map, 0x2000), "second");
	assert_string_equal(name_at(map, 0x1000), "first");
	/* same size, other bytes and time: read again */
	write_file("3000 10 third\n2000 10 again\n");
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	assert_int_equal(perfmap__refresh(map), 1);
	assert_null(name_at(map, 0x1000));
	assert_string_equal(name_at(map, 0x2000), "again");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(perfmap__refresh(map), 1);
	assert_int_equal(perfmap__count(map), 0);
	assert_null(name_at(map, 0x2000));
	assert_int_equal(perfmap__refresh(map), 0);
	perfmap__free(map);
}

/* Anyone may write /tmp: a map owned by another user is not the target's. */
static void test_refused(void **state)
{
	char link_path[PATH_MAX + 32], fifo_path[PATH_MAX + 32];
	uid_t other = geteuid() == 12345 ? 12346 : 12345;
	struct perfmap *map;

	(void)state;
	write_file("1000 10 first\n");
	map = perfmap__new_path(path, other, "[perf-42.map]");
	if (geteuid() == 0)  /* root's files are accepted: give it to someone else */
		assert_int_equal(chown(path, 54321, 54321), 0);
	assert_int_equal(perfmap__refresh(map), 0);
	assert_int_equal(perfmap__count(map), 0);
	perfmap__free(map);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 0, 0), 0);

	snprintf(link_path, sizeof(link_path), "%s/link.map", dir);
	assert_int_equal(symlink(path, link_path), 0);
	map = perfmap__new_path(link_path, geteuid(), "[perf-42.map]");
	assert_int_equal(perfmap__refresh(map), 0);
	assert_int_equal(perfmap__count(map), 0);
	perfmap__free(map);
	unlink(link_path);

	snprintf(fifo_path, sizeof(fifo_path), "%s/fifo.map", dir);
	assert_int_equal(mkfifo(fifo_path, 0600), 0);
	map = perfmap__new_path(fifo_path, geteuid(), "[perf-42.map]");
	assert_int_equal(perfmap__refresh(map), 0);  /* without blocking */
	perfmap__free(map);
	unlink(fifo_path);
}

/* A process's own map, found through /proc/PID/root and its NSpid. */
static void test_process(void **state)
{
	char own[64], module[32];
	struct perfmap *map = perfmap__new(getpid());
	struct symbol *symbol;
	FILE *f;

	(void)state;
	assert_non_null(map);
	snprintf(own, sizeof(own), "/tmp/perf-%d.map", getpid());
	snprintf(module, sizeof(module), "[perf-%d.map]", getpid());
	assert_int_equal(perfmap__refresh(map), 0);  /* none yet */
	f = fopen(own, "w");
	assert_non_null(f);
	fprintf(f, "%llx 40 own_jit_code\n", (unsigned long long)(uintptr_t)&test_process);
	fclose(f);
	assert_int_equal(perfmap__refresh(map), 1);
	symbol = perfmap__symbol(map, (uintptr_t)&test_process + 8);
	unlink(own);
	assert_non_null(symbol);
	assert_string_equal(symbol->frames[0].function, "own_jit_code");
	assert_string_equal(symbol->module, module);
	symbol__put(symbol);
	perfmap__free(map);
	/* a process that is gone has no map */
	map = perfmap__new(0x7ffffff0);
	assert_int_equal(perfmap__refresh(map), 0);
	perfmap__free(map);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pw-perfmap-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/perf.map", dir);
	return 0;
}

static int teardown(void **state)
{
	char own[64];

	(void)state;
	snprintf(own, sizeof(own), "/tmp/perf-%d.map", getpid());
	unlink(own);  /* test_process's, should it have failed */
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_no_entries),
		cmocka_unit_test(test_unsorted),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_process),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
