// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of reading budgets (user/util/budget.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>
#include "util/budget.h"
#include "util/clock.h"

struct asked {
	bool stop;
	int times;
};

static bool ask(void *ctx)
{
	struct asked *asked = ctx;

	asked->times++;
	return asked->stop;
}

static void test_no_budget_never_cuts(void **state)
{
	struct budget none = budget__start(0, 0, NULL);

	(void)state;
	assert_false(budget__spent(NULL));
	assert_false(budget__too_big(NULL, SIZE_MAX));
	assert_false(budget__spent(&none));
	assert_false(budget__too_big(&none, SIZE_MAX));
	assert_int_equal(none.cut, BUDGET_CUT_NONE);
}

static void test_deadline(void **state)
{
	struct budget budget = budget__start(1, 0, NULL);
	struct timespec pause = { 0, 1000 };

	(void)state;
	while (clock__monotonic_ns() < budget.deadline_ns)
		nanosleep(&pause, NULL);
	assert_true(budget__spent(&budget));
	assert_int_equal(budget.cut, BUDGET_CUT_TIME);
	/* it stays spent */
	assert_true(budget__spent(&budget));
}

static void test_memory_cut_stays_first(void **state)
{
	struct budget budget = budget__start(0, 100, NULL);

	(void)state;
	assert_false(budget__too_big(&budget, 100));
	assert_true(budget__too_big(&budget, 101));
	assert_int_equal(budget.cut, BUDGET_CUT_MEMORY);
	/* a memory cut ends nothing by itself: the reader decides */
	assert_false(budget__spent(&budget));
}

/* A first part ends before the whole, and its cut leaves the whole's time
 * unspent until taken over. */
static void test_first_part(void **state)
{
	struct budget whole = budget__start(60000000000ULL, 100, NULL);
	struct budget part = budget__first_part(&whole, 50);
	struct budget no_deadline = budget__start(0, 0, NULL);

	(void)state;
	assert_true(part.deadline_ns < whole.deadline_ns);
	assert_true(part.deadline_ns > clock__monotonic_ns() + 20000000000ULL);
	assert_int_equal(part.max_bytes, 100);
	part.deadline_ns = 1;
	assert_true(budget__spent(&part));
	assert_false(budget__spent(&whole));
	budget__take_cut(&whole, &part);
	assert_int_equal(whole.cut, BUDGET_CUT_TIME);
	/* the whole's first cut stays */
	part.cut = BUDGET_CUT_MEMORY;
	budget__take_cut(&whole, &part);
	assert_int_equal(whole.cut, BUDGET_CUT_TIME);
	assert_int_equal(budget__first_part(&no_deadline, 50).deadline_ns, 0);
	budget__take_cut(NULL, &part);
}

/* The stop question is asked at once, then at most once per BUDGET_CHECK_NS. */
static void test_stop_is_asked_sparingly(void **state)
{
	struct asked asked = { 0 };
	struct stop_check stop = { ask, &asked };
	struct budget budget = budget__start(0, 0, &stop);

	(void)state;
	assert_false(budget__spent(&budget));
	assert_int_equal(asked.times, 1);
	asked.stop = true;
	for (int i = 0; i < 1000 && clock__monotonic_ns() < budget.next_check_ns; i++)
		budget__spent(&budget);
	while (!budget__spent(&budget))
		;
	assert_int_equal(budget.cut, BUDGET_CUT_STOPPED);
	assert_int_equal(asked.times, 2);
	assert_true(stop_check__requested(&stop));
	assert_false(stop_check__requested(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_budget_never_cuts),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_memory_cut_stays_first),
		cmocka_unit_test(test_stop_is_asked_sparingly),
		cmocka_unit_test(test_first_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
