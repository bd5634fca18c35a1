// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the byte-budgeted LRU cache (user/util/bytelru.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/bytelru.h"

/* Values are keys' records of being freed: freed[key] counts frees. */
static int freed[16];

static void note_freed(void *value)
{
	freed[(uintptr_t)value]++;
}

static void reset(struct bytelru *lru, size_t limit)
{
	memset(freed, 0, sizeof(freed));
	bytelru__init(lru, limit, 8, note_freed);
}

/* key added with bytes charged, released, then the cache trimmed. */
static void add_sized(struct bytelru *lru, __u64 key, size_t bytes)
{
	struct bytelru_entry *entry = bytelru__add(lru, key, (void *)(uintptr_t)key);

	assert_non_null(entry);
	bytelru__charge(lru, entry, (ssize_t)bytes);
	bytelru__release(entry);
	bytelru__trim(lru);
}

static bool present(struct bytelru *lru, __u64 key)
{
	return u64map__get(&lru->by_key, key) != NULL;
}

static void test_least_recently_used_goes_first(void **state)
{
	struct bytelru lru;
	struct bytelru_entry *entry;

	(void)state;
	reset(&lru, 300);
	add_sized(&lru, 1, 100);
	add_sized(&lru, 2, 100);
	add_sized(&lru, 3, 100);
	/* 1 used again: 2 is now the least recently used */
	entry = bytelru__hold(&lru, 1);
	assert_non_null(entry);
	bytelru__release(entry);
	add_sized(&lru, 4, 100);
	assert_false(present(&lru, 2));
	assert_int_equal(freed[2], 1);
	assert_true(present(&lru, 1));
	assert_true(present(&lru, 3));
	assert_true(present(&lru, 4));
	add_sized(&lru, 5, 100);
	assert_false(present(&lru, 3));
	assert_true(present(&lru, 1));
	assert_int_equal(lru.evictions, 2);
	bytelru__fini(&lru);
}

static void test_budget_respected(void **state)
{
	struct bytelru lru;

	(void)state;
	reset(&lru, 1000);
	for (__u64 key = 1; key < 16; key++) {
		add_sized(&lru, key, 150 + key * 10);
		assert_true(lru.bytes <= 1000);
	}
	/* the newest stay: 15 (300), 14 (290), 13 (280) fill 870 of 1000 */
	assert_true(present(&lru, 15));
	assert_true(present(&lru, 14));
	assert_true(present(&lru, 13));
	assert_false(present(&lru, 12));
	assert_int_equal(lru.bytes, 870);
	bytelru__fini(&lru);
	for (int key = 1; key < 16; key++)
		assert_int_equal(freed[key], 1);
}

static void test_held_entry_never_evicted(void **state)
{
	struct bytelru lru;
	struct bytelru_entry *held, *entry;

	(void)state;
	reset(&lru, 200);
	held = bytelru__add(&lru, 1, (void *)1);
	assert_non_null(held);
	bytelru__charge(&lru, held, 150);
	/* 1 is the oldest and over the budget with 2, but held */
	add_sized(&lru, 2, 100);
	assert_true(present(&lru, 1));
	assert_false(present(&lru, 2));
	entry = bytelru__add(&lru, 3, (void *)3);
	bytelru__charge(&lru, entry, 500);
	/* no eviction before the trim: work in progress keeps what it read */
	assert_true(present(&lru, 3));
	bytelru__trim(&lru);
	assert_true(present(&lru, 3));
	/* once released, 3 alone is past the budget: it goes, 1 stays held */
	bytelru__release(entry);
	bytelru__trim(&lru);
	assert_false(present(&lru, 3));
	assert_true(present(&lru, 1));
	assert_int_equal(freed[1], 0);
	bytelru__release(held);
	assert_true(present(&lru, 1));
	assert_int_equal(lru.bytes, 150);
	bytelru__fini(&lru);
	assert_int_equal(freed[1], 1);
}

static void test_hits_misses_and_charges(void **state)
{
	struct bytelru lru;
	struct bytelru_entry *entry;
	struct bytelru_stats stats;

	(void)state;
	reset(&lru, 1000);
	assert_null(bytelru__hold(&lru, 7));
	add_sized(&lru, 7, 100);
	entry = bytelru__hold(&lru, 7);
	assert_non_null(entry);
	/* freed memory is given back, never below nothing */
	bytelru__charge(&lru, entry, -40);
	bytelru__charge(&lru, entry, -400);
	bytelru__release(entry);
	bytelru__stats(&lru, &stats);
	assert_int_equal(stats.hits, 1);
	assert_int_equal(stats.misses, 1);
	assert_int_equal(stats.entries, 1);
	assert_int_equal(stats.bytes, 0);
	assert_int_equal(stats.limit_bytes, 1000);
	bytelru__fini(&lru);
}

static void test_entry_count_capped(void **state)
{
	struct bytelru lru;

	(void)state;
	reset(&lru, 100000);
	for (__u64 key = 1; key <= 10; key++)
		add_sized(&lru, key, 10);
	/* 8 at most: the two oldest went */
	assert_int_equal(lru.by_key.count, 8);
	assert_false(present(&lru, 1));
	assert_false(present(&lru, 2));
	assert_true(present(&lru, 3));
	assert_int_equal(lru.evictions, 2);
	bytelru__fini(&lru);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_least_recently_used_goes_first),
		cmocka_unit_test(test_budget_respected),
		cmocka_unit_test(test_held_entry_never_evicted),
		cmocka_unit_test(test_hits_misses_and_charges),
		cmocka_unit_test(test_entry_count_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
