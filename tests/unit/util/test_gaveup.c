// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the userspace give-up counters (user/util/gaveup.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "util/gaveup.h"

/* Every reason has a label Prometheus accepts and words for people. */
static void test_every_reason_is_named(void **state)
{
	(void)state;
	for (int i = 0; i < GAVEUP__COUNT; i++) {
		const char *r = gaveup_names[i].reason;

		assert_non_null(r);
		assert_non_null(gaveup_names[i].one);
		assert_non_null(gaveup_names[i].many);
		assert_true(strspn(r, "abcdefghijklmnopqrstuvwxyz_") == strlen(r));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(r, gaveup_names[j].reason);
	}
}

static void test_summary_names_only_what_happened(void **state)
{
	char buf[256];

	(void)state;
	assert_false(gaveup__summary(buf, sizeof(buf)));
	assert_string_equal(buf, "");
	gaveup__count(GAVEUP_PROCESS_UNREADABLE);
	assert_true(gaveup__summary(buf, sizeof(buf)));
	assert_string_equal(buf, "1 unreadable process");
	gaveup__add(GAVEUP_PROCESS_UNREADABLE, 2);
	assert_int_equal(gaveup__value(GAVEUP_PROCESS_UNREADABLE), 3);
	assert_true(gaveup__summary(buf, sizeof(buf)));
	assert_string_equal(buf, "3 unreadable processes");
	/* a short buffer is cut, terminated */
	assert_true(gaveup__summary(buf, 5));
	assert_string_equal(buf, "3 un");
	/* an out-of-range reason is ignored, not written past the array */
	gaveup__count(GAVEUP__COUNT);
	assert_int_equal(gaveup__value(GAVEUP__COUNT), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reason_is_named),
		cmocka_unit_test(test_summary_names_only_what_happened),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
