// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of kernel symbol lookup (user/ksyms.c) on fake kallsyms files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "util/ksyms.h"

static char path[64];

/* Writes text to a fresh temporary file; its name is left in path. */
static void write_kallsyms(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/parkwatch-ksyms-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static struct ksyms *load(const char *text)
{
	struct ksyms *ksyms = NULL;

	int err;

	write_kallsyms(text);
	err = ksyms__load(path, &ksyms);
	unlink(path);
	assert_int_equal(err, 0);
	assert_non_null(ksyms);
	return ksyms;
}

/* Out of address order on purpose, with data symbols and a module symbol. */
static const char fake[] =
	"ffffffff81002000 T schedule\n"
	"ffffffff81000000 T _stext\n"
	"ffffffff81001800 d some_data\n"
	"ffffffff81001000 t futex_wait_queue\n"
	"ffffffff81003000 D jiffies_like\n"
	"ffffffff81004000 W weak_function\n"
	"ffffffff81005000 r rodata_thing\n"
	"ffffffff81006000 b bss_thing\n"
	"ffffffffc0001000 t mod_function\t[some_module]\n"
	"ffffffffc0002000 A absolute_sym\n";

static void expect_symbol(const struct ksyms *ksyms, __u64 addr, const char *name, __u64 offset)
{
	__u64 got = 0xdead;
	const char *found = ksyms__map_addr(ksyms, addr, &got);

	if (!found || strcmp(found, name) || got != offset)
		print_message("0x%llx -> %s+0x%llx, expected %s+0x%llx\n", addr,
			      found ? found : "NULL", got, name, offset);
	assert_non_null(found);
	assert_string_equal(found, name);
	assert_true(got == offset);
}

static void test_lookups(void **state)
{
	struct ksyms *ksyms = load(fake);

	(void)state;
	/* at a symbol, inside it, and in the gap before the next one */
	expect_symbol(ksyms, 0xffffffff81000000, "_stext", 0);
	expect_symbol(ksyms, 0xffffffff81000010, "_stext", 0x10);
	expect_symbol(ksyms, 0xffffffff81000fff, "_stext", 0xfff);
	expect_symbol(ksyms, 0xffffffff81001000, "futex_wait_queue", 0);
	expect_symbol(ksyms, 0xffffffff81001010, "futex_wait_queue", 0x10);
	/* the data symbol at ...1800 is not a function: still futex_wait_queue */
	expect_symbol(ksyms, 0xffffffff81001800, "futex_wait_queue", 0x800);
	expect_symbol(ksyms, 0xffffffff81002abc, "schedule", 0xabc);
	/* D at ...3000 ignored */
	expect_symbol(ksyms, 0xffffffff81003004, "schedule", 0x1004);
	expect_symbol(ksyms, 0xffffffff81004008, "weak_function", 8);
	/* r and b ignored */
	expect_symbol(ksyms, 0xffffffff81006000, "weak_function", 0x2000);
	/* module symbols carry their module column; the name is the symbol */
	expect_symbol(ksyms, 0xffffffffc0001004, "mod_function", 4);
	ksyms__free(ksyms);
}

static void test_before_first_symbol(void **state)
{
	struct ksyms *ksyms = load(fake);
	__u64 offset = 0x1234;

	(void)state;
	assert_null(ksyms__map_addr(ksyms, 0xffffffff80ffffff, &offset));
	assert_null(ksyms__map_addr(ksyms, 0, &offset));
	assert_null(ksyms__map_addr(ksyms, 0x1000, &offset));
	assert_true(offset == 0x1234);
	ksyms__free(ksyms);
}

static void test_data_symbols_never_named(void **state)
{
	struct ksyms *ksyms = load(fake);
	static const char *const data[] = { "some_data", "jiffies_like", "rodata_thing", "bss_thing",
					    "absolute_sym" };
	__u64 offset;

	(void)state;
	for (__u64 addr = 0xffffffff80fff000ULL; addr < 0xffffffff81008000ULL; addr += 0x100) {
		const char *name = ksyms__map_addr(ksyms, addr, &offset);

		for (size_t i = 0; name && i < sizeof(data) / sizeof(data[0]); i++)
			assert_string_not_equal(name, data[i]);
	}
	ksyms__free(ksyms);
}

static void test_single_symbol(void **state)
{
	struct ksyms *ksyms = load("ffffffff81000000 T only\n");

	(void)state;
	expect_symbol(ksyms, 0xffffffff81000000, "only", 0);
	expect_symbol(ksyms, 0xffffffff81000042, "only", 0x42);
	assert_null(ksyms__map_addr(ksyms, 0xffffffff80000000, &(__u64){ 0 }));
	ksyms__free(ksyms);
}

/* Many symbols: the binary search finds each one. */
static void test_many_symbols(void **state)
{
	enum { N = 100000 };
	size_t size = (size_t)N * 48;
	char *text = malloc(size), *p = text;
	struct ksyms *ksyms;
	char name[32];

	(void)state;
	assert_non_null(text);
	/* written in reverse order: ksyms__load sorts */
	for (int i = N - 1; i >= 0; i--)
		p += sprintf(p, "%llx %c sym_%d\n", 0xffffffff81000000ULL + 0x40ULL * i,
			     i % 3 ? 't' : 'T', i);
	ksyms = load(text);
	free(text);
	for (int i = 0; i < N; i += 997) {
		snprintf(name, sizeof(name), "sym_%d", i);
		expect_symbol(ksyms, 0xffffffff81000000ULL + 0x40ULL * i + 0x3f, name, 0x3f);
		expect_symbol(ksyms, 0xffffffff81000000ULL + 0x40ULL * i, name, 0);
	}
	expect_symbol(ksyms, 0xffffffff81000000ULL + 0x40ULL * (N - 1) + 5, "sym_99999", 5);
	ksyms__free(ksyms);
}

/* kptr_restrict: every address reads as zero. */
static void test_all_zero_addresses(void **state)
{
	struct ksyms *ksyms = (struct ksyms *)0x1;
	int err;

	(void)state;
	write_kallsyms("0000000000000000 T _stext\n"
		       "0000000000000000 t futex_wait_queue\n"
		       "0000000000000000 T schedule\n");
	err = ksyms__load(path, &ksyms);
	unlink(path);
	assert_int_equal(err, -EPERM);
	assert_ptr_equal(ksyms, (struct ksyms *)0x1); /* untouched on failure */
}

static void test_only_data_symbols(void **state)
{
	struct ksyms *ksyms = NULL;
	int err;

	(void)state;
	write_kallsyms("ffffffff81001800 d some_data\nffffffff81003000 D jiffies_like\n");
	err = ksyms__load(path, &ksyms);
	unlink(path);
	assert_int_equal(err, -EPERM);
	assert_null(ksyms);
}

static void test_missing_file(void **state)
{
	struct ksyms *ksyms = NULL;

	(void)state;
	assert_int_equal(ksyms__load("/nonexistent/parkwatch/kallsyms", &ksyms), -ENOENT);
	assert_null(ksyms);
}

static void test_garbage_lines_skipped(void **state)
{
	struct ksyms *ksyms = load("not a kallsyms line\n"
				   "\n"
				   "zzzz T bad_address\n"
				   "ffffffff81000000 T good\n"
				   "ffffffff81001000\n");

	(void)state;
	expect_symbol(ksyms, 0xffffffff81000100, "good", 0x100);
	expect_symbol(ksyms, 0xffffffff81001100, "good", 0x1100);
	ksyms__free(ksyms);
}

static void test_null_ksyms(void **state)
{
	__u64 offset = 7;

	(void)state;
	assert_null(ksyms__map_addr(NULL, 0xffffffff81000000, &offset));
	assert_true(offset == 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_before_first_symbol),
		cmocka_unit_test(test_data_symbols_never_named),
		cmocka_unit_test(test_single_symbol),
		cmocka_unit_test(test_many_symbols),
		cmocka_unit_test(test_all_zero_addresses),
		cmocka_unit_test(test_only_data_symbols),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_garbage_lines_skipped),
		cmocka_unit_test(test_null_ksyms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
