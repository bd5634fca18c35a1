// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the open-addressing u64 -> pointer map (user/u64map.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/u64map.h"

/* Values are only compared, never dereferenced: encode the key in them. */
static void *value_for(__u64 key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

/* The map's home-slot function (user/u64map.c, slot_of), repeated here so
 * the tests can build collision chains on purpose.  If the map changes its
 * hash, test_chain_keys_really_collide says so rather than the chain tests
 * silently testing nothing. */
static size_t home_slot(__u64 key, size_t capacity)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key & (capacity - 1);
}

/* Slot where key is stored, or -1. */
static long slot_index(const struct u64map *map, __u64 key)
{
	for (size_t i = 0; i < map->capacity; i++)
		if (map->keys[i] == key)
			return (long)i;
	return -1;
}

/* n distinct non-zero keys whose home slot is `home` in a 64-slot map. */
static void keys_with_home(size_t home, __u64 *keys, size_t n, __u64 start)
{
	size_t found = 0;

	for (__u64 key = start; found < n; key++)
		if (home_slot(key, 64) == home)
			keys[found++] = key;
}

static void assert_all_present(const struct u64map *map, const __u64 *keys, const bool *present,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (present[i])
			assert_ptr_equal(u64map__get(map, keys[i]), value_for(keys[i]));
		else
			assert_null(u64map__get(map, keys[i]));
	}
}

static void test_empty_map(void **state)
{
	struct u64map map = { 0 };

	(void)state;
	assert_null(u64map__get(&map, 1));
	assert_null(u64map__get(&map, 0));
	assert_null(u64map__remove(&map, 1));
	assert_int_equal(map.count, 0);
	u64map__clear(&map);
}

static void test_put_get(void **state)
{
	struct u64map map = { 0 };
	int a, b, c;

	(void)state;
	assert_int_equal(u64map__put(&map, 1, &a), 0);
	assert_int_equal(u64map__put(&map, 2, &b), 0);
	assert_int_equal(u64map__put(&map, 0xffffffffffffffffULL, &c), 0);
	assert_int_equal(map.count, 3);
	assert_ptr_equal(u64map__get(&map, 1), &a);
	assert_ptr_equal(u64map__get(&map, 2), &b);
	assert_ptr_equal(u64map__get(&map, 0xffffffffffffffffULL), &c);
	assert_null(u64map__get(&map, 3));
	/* capacity is a power of two */
	assert_true(map.capacity >= 4);
	assert_int_equal(map.capacity & (map.capacity - 1), 0);
	u64map__clear(&map);
	assert_int_equal(map.count, 0);
	assert_int_equal(map.capacity, 0);
	assert_null(map.keys);
	assert_null(u64map__get(&map, 1));
}

static void test_replace_keeps_count(void **state)
{
	struct u64map map = { 0 };
	int a, b;

	(void)state;
	assert_int_equal(u64map__put(&map, 42, &a), 0);
	assert_int_equal(u64map__put(&map, 42, &b), 0);
	assert_int_equal(map.count, 1);
	assert_ptr_equal(u64map__get(&map, 42), &b);
	/* storing NULL is a value like any other: the key stays counted */
	assert_int_equal(u64map__put(&map, 42, NULL), 0);
	assert_int_equal(map.count, 1);
	assert_null(u64map__get(&map, 42));
	u64map__clear(&map);
}

static void test_remove(void **state)
{
	struct u64map map = { 0 };
	int a, b;

	(void)state;
	assert_int_equal(u64map__put(&map, 7, &a), 0);
	assert_int_equal(u64map__put(&map, 8, &b), 0);
	assert_ptr_equal(u64map__remove(&map, 7), &a);
	assert_int_equal(map.count, 1);
	assert_null(u64map__get(&map, 7));
	assert_ptr_equal(u64map__get(&map, 8), &b);
	/* a second removal finds nothing */
	assert_null(u64map__remove(&map, 7));
	assert_int_equal(map.count, 1);
	/* removing a key never inserted changes nothing */
	assert_null(u64map__remove(&map, 9));
	assert_int_equal(map.count, 1);
	/* and the key can come back */
	assert_int_equal(u64map__put(&map, 7, &b), 0);
	assert_ptr_equal(u64map__get(&map, 7), &b);
	assert_int_equal(map.count, 2);
	u64map__clear(&map);
}

static void test_key_zero_rejected(void **state)
{
	struct u64map map = { 0 };
	int a;

	(void)state;
	assert_int_equal(u64map__put(&map, 0, &a), -EINVAL);
	assert_int_equal(map.count, 0);
	assert_null(u64map__get(&map, 0));
	assert_int_equal(u64map__put(&map, 5, &a), 0);
	assert_int_equal(u64map__put(&map, 0, &a), -EINVAL);
	assert_int_equal(map.count, 1);
	assert_null(u64map__get(&map, 0));
	assert_null(u64map__remove(&map, 0));
	assert_int_equal(map.count, 1);
	assert_ptr_equal(u64map__get(&map, 5), &a);
	u64map__clear(&map);
}

static void test_growth_100k(void **state)
{
	enum { N = 100000 };
	struct u64map map = { 0 };

	(void)state;
	/* sequential keys and keys differing only in high bits */
	for (__u64 i = 1; i <= N; i++) {
		assert_int_equal(u64map__put(&map, i, value_for(i)), 0);
		assert_int_equal(u64map__put(&map, i << 40, value_for(i << 40)), 0);
	}
	assert_int_equal(map.count, 2 * N);
	assert_true(map.capacity >= 2 * N);
	assert_true(map.count * 4 <= map.capacity * 3); /* load factor kept at 3/4 */
	for (__u64 i = 1; i <= N; i++) {
		assert_ptr_equal(u64map__get(&map, i), value_for(i));
		assert_ptr_equal(u64map__get(&map, i << 40), value_for(i << 40));
	}
	assert_null(u64map__get(&map, N + 1));
	assert_null(u64map__get(&map, (__u64)(N + 1) << 40));
	/* remove every other key, the rest stays reachable */
	for (__u64 i = 1; i <= N; i += 2)
		assert_ptr_equal(u64map__remove(&map, i), value_for(i));
	assert_int_equal(map.count, 2 * N - N / 2);
	for (__u64 i = 1; i <= N; i++) {
		if (i % 2)
			assert_null(u64map__get(&map, i));
		else
			assert_ptr_equal(u64map__get(&map, i), value_for(i));
		assert_ptr_equal(u64map__get(&map, i << 40), value_for(i << 40));
	}
	u64map__clear(&map);
}

static void test_chain_keys_really_collide(void **state)
{
	struct u64map map = { 0 };
	__u64 keys[5];

	(void)state;
	keys_with_home(10, keys, 5, 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(u64map__put(&map, keys[i], value_for(keys[i])), 0);
	assert_int_equal(map.capacity, 64);
	/* linear probing put them in slots 10..14 in insertion order */
	for (int i = 0; i < 5; i++)
		assert_int_equal(slot_index(&map, keys[i]), 10 + i);
	u64map__clear(&map);
}

/* Removing each position of one collision chain keeps the others reachable. */
static void test_remove_in_chain(void **state)
{
	(void)state;
	for (int victim = 0; victim < 6; victim++) {
		struct u64map map = { 0 };
		__u64 keys[6];
		bool present[6];

		keys_with_home(20, keys, 6, 1);
		for (int i = 0; i < 6; i++) {
			assert_int_equal(u64map__put(&map, keys[i], value_for(keys[i])), 0);
			present[i] = true;
		}
		assert_ptr_equal(u64map__remove(&map, keys[victim]), value_for(keys[victim]));
		present[victim] = false;
		assert_int_equal(map.count, 5);
		assert_all_present(&map, keys, present, 6);
		/* no hole was left in the chain: it now fills slots 20..24 */
		for (int i = 0; i < 6; i++)
			if (present[i])
				assert_in_range(slot_index(&map, keys[i]), 20, 24);
		u64map__clear(&map);
	}
}

/* Two interleaved chains: keys of home 30 pushed past keys of home 31, and a
 * key at its own home that must not be moved into an earlier hole. */
static void test_remove_interleaved_chains(void **state)
{
	struct u64map map = { 0 };
	__u64 a[3], b[3], c[1], all[7];
	bool present[7];

	(void)state;
	keys_with_home(30, a, 3, 1);
	keys_with_home(31, b, 3, 1);
	keys_with_home(36, c, 1, 1);
	/* a0@30 b0@31 a1@32 b1@33 a2@34 b2@35 c0@36 */
	for (int i = 0; i < 3; i++) {
		all[2 * i] = a[i];
		all[2 * i + 1] = b[i];
	}
	all[6] = c[0];
	for (int i = 0; i < 7; i++) {
		assert_int_equal(u64map__put(&map, all[i], value_for(all[i])), 0);
		present[i] = true;
	}
	assert_int_equal(slot_index(&map, c[0]), 36);
	/* remove in an order that makes holes in the middle of both chains */
	const int order[] = { 1, 2, 0, 5, 3, 6, 4 };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		assert_ptr_equal(u64map__remove(&map, all[order[k]]), value_for(all[order[k]]));
		present[order[k]] = false;
		assert_int_equal(map.count, 6 - k);
		assert_all_present(&map, all, present, 7);
	}
	u64map__clear(&map);
}

/* A chain that wraps from the last slot to slot 0 and beyond. */
static void test_remove_wrapping_chain(void **state)
{
	(void)state;
	for (int victim = 0; victim < 6; victim++) {
		struct u64map map = { 0 };
		__u64 tail[4], zero[2], all[6];
		bool present[6];

		keys_with_home(62, tail, 4, 1); /* 62 63 0 1 */
		keys_with_home(0, zero, 2, 1);  /* pushed to 2 3 */
		memcpy(all, tail, sizeof(tail));
		memcpy(all + 4, zero, sizeof(zero));
		for (int i = 0; i < 6; i++) {
			assert_int_equal(u64map__put(&map, all[i], value_for(all[i])), 0);
			present[i] = true;
		}
		assert_int_equal(map.capacity, 64);
		assert_int_equal(slot_index(&map, tail[2]), 0);
		assert_int_equal(slot_index(&map, zero[1]), 3);
		assert_ptr_equal(u64map__remove(&map, all[victim]), value_for(all[victim]));
		present[victim] = false;
		assert_all_present(&map, all, present, 6);
		/* then empty it completely, checking at every step */
		for (int i = 0; i < 6; i++) {
			if (!present[i])
				continue;
			assert_ptr_equal(u64map__remove(&map, all[i]), value_for(all[i]));
			present[i] = false;
			assert_all_present(&map, all, present, 6);
		}
		assert_int_equal(map.count, 0);
		u64map__clear(&map);
	}
}

/* A chain homed at the last slot: the wrapped entries must move back
 * across the end of the table into the hole at their very home. */
static void test_remove_chain_homed_at_last_slot(void **state)
{
	(void)state;
	for (int victim = 0; victim < 4; victim++) {
		struct u64map map = { 0 };
		__u64 keys[4];
		bool present[4];

		keys_with_home(63, keys, 4, 1); /* slots 63 0 1 2 */
		for (int i = 0; i < 4; i++) {
			assert_int_equal(u64map__put(&map, keys[i], value_for(keys[i])), 0);
			present[i] = true;
		}
		assert_int_equal(map.capacity, 64);
		assert_int_equal(slot_index(&map, keys[0]), 63);
		assert_int_equal(slot_index(&map, keys[3]), 2);
		assert_ptr_equal(u64map__remove(&map, keys[victim]), value_for(keys[victim]));
		present[victim] = false;
		assert_all_present(&map, keys, present, 4);
		/* the survivors close up from the home slot */
		assert_int_equal(map.keys[63] != 0, 1);
		assert_int_equal(map.keys[2], 0);
		u64map__clear(&map);
	}
}

/* Dense map (just under the 3/4 load), keys removed in pseudo-random order. */
static void test_remove_random_order_dense(void **state)
{
	enum { N = 3000 };
	struct u64map map = { 0 };
	static __u64 keys[N];
	static bool present[N];
	unsigned int seed = 12345;

	(void)state;
	for (int i = 0; i < N; i++) {
		keys[i] = (__u64)i * 0x9e3779b97f4a7c15ULL + 1;
		assert_int_equal(u64map__put(&map, keys[i], value_for(keys[i])), 0);
		present[i] = true;
	}
	for (int i = N - 1; i > 0; i--) { /* shuffle */
		int j = rand_r(&seed) % (i + 1);
		__u64 key = keys[i];

		keys[i] = keys[j];
		keys[j] = key;
	}
	for (int i = 0; i < N; i++) {
		assert_ptr_equal(u64map__remove(&map, keys[i]), value_for(keys[i]));
		present[i] = false;
		if (i % 97 == 0 || i > N - 50)
			assert_all_present(&map, keys, present, N);
	}
	assert_int_equal(map.count, 0);
	for (size_t i = 0; i < map.capacity; i++)
		assert_int_equal(map.keys[i], 0);
	u64map__clear(&map);
}

struct filter_ctx {
	size_t calls;
	size_t dropped;
};

static bool keep_even(__u64 key, void *value, void *ctx)
{
	struct filter_ctx *filter = ctx;

	assert_ptr_equal(value, value_for(key));
	filter->calls++;
	filter->dropped += key % 2;
	return key % 2 == 0;
}

static void test_filter_subset(void **state)
{
	enum { N = 5000 };
	struct u64map map = { 0 };
	struct filter_ctx ctx = { 0 };

	(void)state;
	for (__u64 i = 1; i <= N; i++)
		assert_int_equal(u64map__put(&map, i, value_for(i)), 0);
	u64map__filter(&map, keep_even, &ctx);
	/* every key was offered, each odd one dropped exactly once (once
	 * removed it can't be offered again) */
	assert_true(ctx.calls >= N);
	assert_int_equal(ctx.dropped, N / 2);
	assert_int_equal(map.count, N / 2);
	for (__u64 i = 1; i <= N; i++) {
		if (i % 2)
			assert_null(u64map__get(&map, i));
		else
			assert_ptr_equal(u64map__get(&map, i), value_for(i));
	}
	u64map__clear(&map);
}

static bool drop_all(__u64 key, void *value, void *ctx)
{
	(void)key;
	(void)value;
	++*(size_t *)ctx;
	return false;
}

static void test_filter_remove_all(void **state)
{
	struct u64map map = { 0 };
	size_t calls = 0;

	(void)state;
	for (__u64 i = 1; i <= 1000; i++)
		assert_int_equal(u64map__put(&map, i * 7919, value_for(i * 7919)), 0);
	u64map__filter(&map, drop_all, &calls);
	/* every entry was offered exactly once: each was removed at its first visit */
	assert_int_equal(calls, 1000);
	assert_int_equal(map.count, 0);
	for (__u64 i = 1; i <= 1000; i++)
		assert_null(u64map__get(&map, i * 7919));
	u64map__clear(&map);
}

/*
 * A kept entry must be offered to keep() once: callers prune with side
 * effects (procs__end prunes each process's stacks from keep_if_seen).
 * Fails while u64map__filter scans from slot 0: a removal near the end of
 * the table shifts wrapped entries, already visited at the start, back
 * into unvisited slots.
 */
struct once_ctx {
	__u64 keys[64];
	int visits[64];
	int n;
};

static bool keep_some_count_visits(__u64 key, void *value, void *ctx)
{
	struct once_ctx *once = ctx;

	(void)value;
	for (int i = 0; i < once->n; i++) {
		if (once->keys[i] == key) {
			once->visits[i]++;
			break;
		}
	}
	return key != once->keys[0] && key != once->keys[1];
}

static void test_filter_visits_each_entry_once(void **state)
{
	struct u64map map = { 0 };
	struct once_ctx ctx = { 0 };
	__u64 tail[4], head[1];

	(void)state;
	/* tail chain wraps: homes 62,62,62,62 -> slots 62 63 0 1; a slot-0 key
	 * is pushed to slot 2.  Removing at slot 62 and 63 shifts the wrapped
	 * entries (already visited at slots 0..2) back to the end. */
	keys_with_home(62, tail, 4, 1);
	keys_with_home(0, head, 1, 1);
	ctx.keys[0] = tail[0];
	ctx.keys[1] = tail[1];
	ctx.keys[2] = tail[2];
	ctx.keys[3] = tail[3];
	ctx.keys[4] = head[0];
	ctx.n = 5;
	for (int i = 0; i < ctx.n; i++)
		assert_int_equal(u64map__put(&map, ctx.keys[i], value_for(ctx.keys[i])), 0);
	assert_int_equal(slot_index(&map, tail[0]), 62);
	assert_int_equal(slot_index(&map, tail[2]), 0);
	u64map__filter(&map, keep_some_count_visits, &ctx);
	assert_int_equal(map.count, 3);
	assert_null(u64map__get(&map, tail[0]));
	assert_null(u64map__get(&map, tail[1]));
	assert_ptr_equal(u64map__get(&map, tail[2]), value_for(tail[2]));
	assert_ptr_equal(u64map__get(&map, tail[3]), value_for(tail[3]));
	assert_ptr_equal(u64map__get(&map, head[0]), value_for(head[0]));
	u64map__clear(&map);
	for (int i = 0; i < ctx.n; i++) {
		if (ctx.visits[i] != 1)
			print_message("key %d offered to keep() %d times\n", i, ctx.visits[i]);
		assert_int_equal(ctx.visits[i], 1);
	}
}

struct random_filter {
	size_t dropped;
};

static bool keep_by_bit(__u64 key, void *value, void *ctx)
{
	struct random_filter *filter = ctx;

	assert_ptr_equal(value, value_for(key));
	filter->dropped += (key >> 7) & 1;
	return !((key >> 7) & 1);
}

/* Dense maps of random keys: after a filter exactly the kept keys remain,
 * whatever the chains and their wrap-around look like. */
static void test_filter_random_dense(void **state)
{
	enum { N = 47 }; /* just under 3/4 of 64 slots: long chains, wraps */
	unsigned int seed = 777;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct u64map map = { 0 };
		__u64 keys[N];
		bool present[N];
		struct random_filter filter = { 0 };
		size_t expect_dropped = 0;

		for (int i = 0; i < N; i++) {
			do {
				keys[i] = ((__u64)rand_r(&seed) << 32 | (__u64)rand_r(&seed)) + 1;
			} while (u64map__get(&map, keys[i]));
			assert_int_equal(u64map__put(&map, keys[i], value_for(keys[i])), 0);
			present[i] = !((keys[i] >> 7) & 1);
			expect_dropped += !present[i];
		}
		assert_int_equal(map.capacity, 64);
		u64map__filter(&map, keep_by_bit, &filter);
		assert_int_equal(filter.dropped, expect_dropped);
		assert_int_equal(map.count, N - expect_dropped);
		assert_all_present(&map, keys, present, N);
		u64map__clear(&map);
	}
}

static void test_clear_then_reuse(void **state)
{
	struct u64map map = { 0 };
	int a;

	(void)state;
	for (__u64 i = 1; i <= 100; i++)
		assert_int_equal(u64map__put(&map, i, &a), 0);
	u64map__clear(&map);
	assert_null(u64map__get(&map, 50));
	assert_int_equal(u64map__put(&map, 50, &a), 0);
	assert_ptr_equal(u64map__get(&map, 50), &a);
	assert_int_equal(map.count, 1);
	u64map__clear(&map);
}

/* A reserved map takes its entries without growing, keeps those it had,
 * and a reserve below what it holds changes nothing. */
static void test_reserve(void **state)
{
	struct u64map map = { 0 };
	size_t capacity;

	(void)state;
	assert_int_equal(u64map__put(&map, 7, value_for(7)), 0);
	assert_int_equal(u64map__reserve(&map, 10000), 0);
	capacity = map.capacity;
	assert_true(capacity * 3 >= 10000 * 4);
	for (__u64 key = 1; key <= 10000; key++)
		assert_int_equal(u64map__put(&map, key, value_for(key)), 0);
	assert_int_equal(map.capacity, capacity);
	assert_int_equal(map.count, 10000);
	for (__u64 key = 1; key <= 10000; key++)
		assert_ptr_equal(u64map__get(&map, key), value_for(key));
	assert_int_equal(u64map__reserve(&map, 10), 0);
	assert_int_equal(map.capacity, capacity);
	u64map__clear(&map);
}

static void test_hash_bytes(void **state)
{
	const char text[] = "parkwatch";
	__u64 zero = 0;

	(void)state;
	/* deterministic, seed and content sensitive, never 0 (0 is the empty key) */
	assert_true(hash__bytes(text, sizeof(text), 0) == hash__bytes(text, sizeof(text), 0));
	assert_true(hash__bytes(text, sizeof(text), 0) != hash__bytes(text, sizeof(text), 1));
	assert_true(hash__bytes(text, sizeof(text) - 1, 0) != hash__bytes(text, sizeof(text), 0));
	assert_true(hash__bytes("a", 1, 0) != hash__bytes("b", 1, 0));
	assert_true(hash__bytes(NULL, 0, 0) != 0);
	assert_true(hash__bytes(&zero, sizeof(zero), 0) != 0);
	/* chaining: hashing in two parts with the first as seed is stable */
	assert_true(hash__bytes("kwatch", 6, hash__bytes("par", 3, 0)) ==
		    hash__bytes("kwatch", 6, hash__bytes("par", 3, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_replace_keeps_count),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_key_zero_rejected),
		cmocka_unit_test(test_growth_100k),
		cmocka_unit_test(test_chain_keys_really_collide),
		cmocka_unit_test(test_remove_in_chain),
		cmocka_unit_test(test_remove_interleaved_chains),
		cmocka_unit_test(test_remove_wrapping_chain),
		cmocka_unit_test(test_remove_chain_homed_at_last_slot),
		cmocka_unit_test(test_remove_random_order_dense),
		cmocka_unit_test(test_filter_subset),
		cmocka_unit_test(test_filter_remove_all),
		cmocka_unit_test(test_filter_random_dense),
		cmocka_unit_test(test_filter_visits_each_entry_once),
		cmocka_unit_test(test_clear_then_reuse),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_hash_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
