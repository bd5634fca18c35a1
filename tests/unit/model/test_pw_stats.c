// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the names of the BPF side's give-up counters
 * (user/model/pw_stats.c): the /metrics labels and the exit line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "model/pw_stats.h"

/* Every field of struct pw_stats has exactly one name, in field order. */
static void test_every_field_named(void **state)
{
	(void)state;
	assert_int_equal(PW_STATS_COUNT, 7);
	for (size_t i = 0; i < PW_STATS_COUNT; i++) {
		assert_non_null(pw_stat_names[i].reason);
		assert_non_null(pw_stat_names[i].one);
		assert_non_null(pw_stat_names[i].many);
		assert_int_equal(pw_stat_names[i].offset, i * sizeof(__u64));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(pw_stat_names[i].reason, pw_stat_names[j].reason);
	}
	assert_string_equal(pw_stat_names[0].reason, "dropped_no_storage");
	assert_string_equal(pw_stat_names[PW_STATS_COUNT - 1].reason, "unexpected");
}

static void test_value(void **state)
{
	struct pw_stats stats = { .exited_dropped = 5, .unexpected = 9 };

	(void)state;
	assert_true(pw_stats__value(&stats, 1) == 5);
	assert_true(pw_stats__value(&stats, PW_STATS_COUNT - 1) == 9);
	assert_true(pw_stats__value(&stats, 0) == 0);
}

static void test_summary_nothing_lost(void **state)
{
	struct pw_stats stats = { 0 };
	char line[256] = "stale";

	(void)state;
	assert_false(pw_stats__summary(&stats, line, sizeof(line)));
	assert_string_equal(line, "");
	/* a rewritten record loses nothing: no line for it alone */
	stats.records_rewritten = 40;
	assert_false(pw_stats__summary(&stats, line, sizeof(line)));
	assert_string_equal(line, "");
	/* nor a copy raced by a wakeup: the dump says so for the thread */
	stats.stack_copy_raced = 3;
	assert_false(pw_stats__summary(&stats, line, sizeof(line)));
	assert_string_equal(line, "");
}

static void test_summary(void **state)
{
	struct pw_stats stats = { .dropped_no_storage = 3, .stack_copy_failed = 1,
				  .records_rewritten = 12, .exited_dropped = 2 };
	char line[256];

	(void)state;
	assert_true(pw_stats__summary(&stats, line, sizeof(line)));
	assert_string_equal(line, "3 task-storage allocations, 2 exited-thread totals (map full), "
				  "1 stack copy");
}

/* Cut to the buffer, never past it. */
static void test_summary_truncated(void **state)
{
	struct pw_stats stats = { .dropped_no_storage = 3, .stack_copy_failed = 1,
				  .kstack_failed = 7, .unexpected = 1 };
	char line[16];

	(void)state;
	memset(line, 'x', sizeof(line));
	assert_true(pw_stats__summary(&stats, line, sizeof(line)));
	assert_int_equal(strlen(line), sizeof(line) - 1);
	assert_memory_equal(line, "3 task-storage ", sizeof(line) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_named),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_summary_nothing_lost),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
