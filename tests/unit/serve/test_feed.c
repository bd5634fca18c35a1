// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the feed's readiness (user/serve/feed.c), what /readyz
 * answers: attached, a picture, and one no older than two intervals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "serve/feed.h"

#define SEC 1000000000ULL

static void test_ready_when_current(void **state)
{
	struct feed feed;
	char why[160] = "";

	(void)state;
	assert_int_equal(feed__init(&feed), 0);
	feed.interval_ns = 5 * SEC;
	assert_false(feed__ready(&feed, 100 * SEC, why, sizeof(why)));
	assert_string_equal(why, "the BPF programs are not attached");

	feed.bpf_attached = true;
	assert_false(feed__ready(&feed, 100 * SEC, why, sizeof(why)));
	assert_string_equal(why, "no picture taken yet");

	feed__publish(&feed, picture__new(), 100 * SEC);
	assert_true(feed__ready(&feed, 100 * SEC, why, sizeof(why)));
	/* two intervals is still current, a moment more is not */
	assert_true(feed__ready(&feed, 110 * SEC, why, sizeof(why)));
	assert_false(feed__ready(&feed, 110 * SEC + 1, why, sizeof(why)));
	assert_string_equal(why, "the last picture is 10.0 s old, more than two intervals (10.0 s)");
	assert_false(feed__ready(&feed, 131 * SEC, why, sizeof(why)));
	assert_string_equal(why, "the last picture is 31.0 s old, more than two intervals (10.0 s)");

	/* a new picture makes it current again */
	feed__publish(&feed, picture__new(), 131 * SEC);
	assert_true(feed__ready(&feed, 132 * SEC, why, sizeof(why)));
	feed__destroy(&feed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_when_current),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
