// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the tier-1 totals (user/model/totals.c): parks counted per
 * (process, kernel-side reason), found again, cloned. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/totals.h"

#define SEC 1000000000ULL

static void test_empty(void **state)
{
	struct pw_totals *totals = totals__new();

	(void)state;
	assert_non_null(totals);
	assert_int_equal(totals->count, 0);
	assert_false(totals->has_hists);
	assert_null(totals__find(totals, 1, PARK_REASON_FUTEX));
	assert_null(totals__find(totals, 0, PARK_REASON_NONE));
	totals__free(totals);
	totals__free(NULL);
}

static void test_add_and_find(void **state)
{
	struct pw_totals *totals = totals__new();
	const struct pw_park_total *found;

	(void)state;
	assert_non_null(totals);
	assert_int_equal(totals__add(totals, 100, PARK_REASON_FUTEX, 3, 30 * SEC), 0);
	assert_int_equal(totals->count, 1);
	found = totals__find(totals, 100, PARK_REASON_FUTEX);
	assert_non_null(found);
	assert_int_equal(found->pid, 100);
	assert_int_equal(found->reason, PARK_REASON_FUTEX);
	assert_int_equal(found->count, 3);
	assert_true(found->total_ns == 30 * SEC);
	/* the same key accumulates, in place */
	assert_int_equal(totals__add(totals, 100, PARK_REASON_FUTEX, 2, 5 * SEC), 0);
	assert_int_equal(totals->count, 1);
	assert_int_equal(found->count, 5);
	assert_true(found->total_ns == 35 * SEC);
	/* nothing to add still makes the key known (the windows list every key) */
	assert_int_equal(totals__add(totals, 100, PARK_REASON_SLEEP, 0, 0), 0);
	found = totals__find(totals, 100, PARK_REASON_SLEEP);
	assert_non_null(found);
	assert_int_equal(found->count, 0);
	assert_int_equal(totals->count, 2);
	/* another reason, another process: other keys */
	assert_null(totals__find(totals, 100, PARK_REASON_IO));
	assert_null(totals__find(totals, 101, PARK_REASON_FUTEX));
	assert_null(totals__find(totals, 99, PARK_REASON_FUTEX));
	totals__free(totals);
}

/* Keys never collide: pids that differ in any bit, reasons in any value,
 * the pid 0 of exited threads whose process is unknown, the largest pid. */
static void test_keys_distinct(void **state)
{
	static const pid_t pids[] = { 0, 1, 2, 255, 256, 257, 65535, 65536, 4194304,
				      0x7fffffff, -1 };
	const size_t npids = sizeof(pids) / sizeof(pids[0]);
	struct pw_totals *totals = totals__new();

	(void)state;
	assert_non_null(totals);
	for (size_t p = 0; p < npids; p++)
		for (int r = 0; r < PARK_REASON__COUNT; r++)
			assert_int_equal(totals__add(totals, pids[p], r, p * 100 + r + 1, r * SEC),
					 0);
	assert_int_equal(totals->count, npids * PARK_REASON__COUNT);
	for (size_t p = 0; p < npids; p++) {
		for (int r = 0; r < PARK_REASON__COUNT; r++) {
			const struct pw_park_total *found = totals__find(totals, pids[p], r);

			assert_non_null(found);
			assert_int_equal(found->pid, pids[p]);
			assert_int_equal(found->reason, r);
			assert_int_equal(found->count, p * 100 + r + 1);
			assert_true(found->total_ns == r * SEC);
		}
	}
	totals__free(totals);
}

/* Thousands of keys: the entries grow past their first block, and every
 * one is still found (the index holds positions, not pointers). */
static void test_many(void **state)
{
	struct pw_totals *totals = totals__new();

	(void)state;
	assert_non_null(totals);
	for (pid_t pid = 1; pid <= 5000; pid++)
		assert_int_equal(totals__add(totals, pid, (enum park_reason)(pid % PARK_REASON__COUNT),
					     pid, (__u64)pid * 10),
				 0);
	for (pid_t pid = 5000; pid >= 1; pid--)
		assert_int_equal(totals__add(totals, pid, (enum park_reason)(pid % PARK_REASON__COUNT),
					     1, 1),
				 0);
	assert_int_equal(totals->count, 5000);
	assert_true(totals->capacity >= 5000);
	for (pid_t pid = 1; pid <= 5000; pid++) {
		const struct pw_park_total *found =
			totals__find(totals, pid, (enum park_reason)(pid % PARK_REASON__COUNT));

		assert_non_null(found);
		assert_int_equal(found->count, (__u64)pid + 1);
		assert_true(found->total_ns == (__u64)pid * 10 + 1);
		assert_null(totals__find(totals, pid,
					 (enum park_reason)((pid + 1) % PARK_REASON__COUNT)));
	}
	totals__free(totals);
}

static void test_clone(void **state)
{
	struct pw_totals *totals = totals__new(), *copy;
	const struct pw_park_total *found;

	(void)state;
	assert_non_null(totals);
	for (pid_t pid = 1; pid <= 100; pid++)
		assert_int_equal(totals__add(totals, pid, PARK_REASON_EPOLL, pid, pid * SEC), 0);
	totals->hists[PARK_REASON_EPOLL].count = 5050;
	totals->hists[PARK_REASON_EPOLL].total_ns = 5050 * SEC;
	totals->hists[PARK_REASON_EPOLL].slots[PARK_HIST_SLOTS - 1] = 7;
	totals->has_hists = true;
	totals->exited_entries = 12;
	totals->exited_capacity = 4096;
	copy = totals__clone(totals);
	assert_non_null(copy);
	assert_ptr_not_equal(copy->entries, totals->entries);
	assert_int_equal(copy->count, 100);
	assert_memory_equal(copy->hists, totals->hists, sizeof(totals->hists));
	assert_true(copy->has_hists);
	assert_int_equal(copy->exited_entries, 12);
	assert_int_equal(copy->exited_capacity, 4096);
	for (pid_t pid = 1; pid <= 100; pid++) {
		found = totals__find(copy, pid, PARK_REASON_EPOLL);
		assert_non_null(found);
		assert_int_equal(found->count, pid);
		assert_true(found->total_ns == (__u64)pid * SEC);
	}
	/* each goes its own way */
	assert_int_equal(totals__add(copy, 1, PARK_REASON_EPOLL, 10, 0), 0);
	assert_int_equal(totals__add(copy, 1000, PARK_REASON_IO, 1, 0), 0);
	assert_int_equal(totals__find(totals, 1, PARK_REASON_EPOLL)->count, 1);
	assert_null(totals__find(totals, 1000, PARK_REASON_IO));
	totals__free(totals);
	assert_int_equal(totals__find(copy, 1, PARK_REASON_EPOLL)->count, 11);
	totals__free(copy);

	/* an empty set clones to an empty set */
	totals = totals__new();
	assert_non_null(totals);
	copy = totals__clone(totals);
	assert_non_null(copy);
	assert_int_equal(copy->count, 0);
	assert_false(copy->has_hists);
	totals__free(copy);
	totals__free(totals);
}

/* Folding keeps the newest entries as they were and adds the older ones,
 * per reason, into the folded pid: no park is lost, only its process. */
static void test_fold_oldest(void **state)
{
	struct pw_totals *totals = totals__new();
	const struct pw_park_total *found;
	size_t folded = 99;

	(void)state;
	assert_non_null(totals);
	for (pid_t pid = 1; pid <= 10; pid++)
		assert_int_equal(totals__add(totals, pid, pid % 2 ? PARK_REASON_FUTEX :
								PARK_REASON_IO, pid, pid * SEC), 0);
	assert_int_equal(totals__fold_oldest(totals, 10, &folded), 0);
	assert_int_equal(folded, 0);
	assert_int_equal(totals->count, 10);

	assert_int_equal(totals__fold_oldest(totals, 4, &folded), 0);
	assert_int_equal(folded, 6);
	/* pids 1..6 went: futex 1+3+5, io 2+4+6 */
	assert_int_equal(totals->count, 2 + 4);
	for (pid_t pid = 1; pid <= 6; pid++)
		assert_null(totals__find(totals, pid, pid % 2 ? PARK_REASON_FUTEX : PARK_REASON_IO));
	found = totals__find(totals, TOTALS_FOLDED_PID, PARK_REASON_FUTEX);
	assert_non_null(found);
	assert_int_equal(found->count, 9);
	assert_true(found->total_ns == 9 * SEC);
	assert_int_equal(totals__find(totals, TOTALS_FOLDED_PID, PARK_REASON_IO)->count, 12);
	for (pid_t pid = 7; pid <= 10; pid++)
		assert_int_equal(totals__find(totals, pid, pid % 2 ? PARK_REASON_FUTEX :
							      PARK_REASON_IO)->count, pid);

	/* folding again adds into the same entries, the oldest */
	assert_int_equal(totals__fold_oldest(totals, 2, &folded), 0);
	assert_int_equal(folded, 4);
	assert_int_equal(totals->count, 4);
	assert_int_equal(totals__find(totals, TOTALS_FOLDED_PID, PARK_REASON_FUTEX)->count, 9 + 7);
	assert_int_equal(totals__find(totals, TOTALS_FOLDED_PID, PARK_REASON_IO)->count, 12 + 8);
	assert_int_equal(totals__find(totals, 9, PARK_REASON_FUTEX)->count, 9);
	assert_int_equal(totals__find(totals, 10, PARK_REASON_IO)->count, 10);
	assert_int_equal(totals__fold_oldest(totals, 0, NULL), 0);
	assert_int_equal(totals->count, 2);
	assert_int_equal(totals__find(totals, TOTALS_FOLDED_PID, PARK_REASON_FUTEX)->count, 25);
	totals__free(totals);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_fold_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
