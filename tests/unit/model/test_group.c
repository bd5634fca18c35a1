// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the grouping of parked threads (user/group.c), on
 * synthetic threads: no BPF, no process to look at. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "support/fixtures.h"

#define MAX_THREADS 32

struct fixture {
	struct task_record recs[MAX_THREADS];
	struct thread_info threads[MAX_THREADS];
	struct stack *stacks[MAX_THREADS];
	int count;
	struct group *groups;
	size_t group_count;
};

/* Adds a thread; pcs NULL means no user stack.  Returns its index. */
static int add_thread(struct fixture *fx, __u32 tgid, __u32 tid, bool parked, const char *reason,
		      bool timeout, __u64 park_ns, const __u64 *pcs, int depth)
{
	int i = fx->count++;

	assert_true(i < MAX_THREADS);
	fx->recs[i].tgid = tgid;
	fx->recs[i].tid = tid;
	fx->recs[i].state = parked ? PARK_TASK_INTERRUPTIBLE : 0;
	fx->recs[i].flags = parked ? 0 : TASK_REC_ON_CPU;
	fx->threads[i].rec = &fx->recs[i];
	fx->threads[i].state = parked ? "sleeping" : "running";
	fx->threads[i].parked = parked;
	fx->threads[i].wait.reason = reason;
	fx->threads[i].wait.has_timeout = timeout;
	fx->threads[i].park_ns = park_ns;
	if (pcs) {
		fx->stacks[i] = make_stack(pcs, depth);
		fx->threads[i].stack = fx->stacks[i];
	}
	return i;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	group__free_all(fx->groups, fx->group_count);
	for (int i = 0; i < MAX_THREADS; i++)
		free(fx->stacks[i]);
	free(fx);
	return 0;
}

static void build(struct fixture *fx)
{
	assert_int_equal(group__build(fx->threads, fx->count, &fx->groups, &fx->group_count), 0);
	assert_non_null(fx->groups);
}

static const __u64 stack_a[] = { 0x7f0000001000, 0x401236, 0x401300, 0x7f0000002000 };
static const __u64 stack_b[] = { 0x7f0000001000, 0x401500, 0x401300, 0x7f0000002000 };

static void test_identical_threads_group_together(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 5; i++)
		add_thread(fx, 100, 101 + i, true, "cond wait", false, (i + 1) * SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->group_count, 1);
	assert_int_equal(fx->groups[0].count, 5);
	assert_int_equal(fx->groups[0].pid, 100);
	assert_string_equal(fx->groups[0].reason, "cond wait");
	assert_false(fx->groups[0].has_timeout);
	assert_true(fx->groups[0].oldest_park_ns == 5 * SEC);
	assert_true(fx->groups[0].signature == group__signature(&fx->threads[0]));
}

/* The reason is compared as text: equal strings at different addresses group. */
static void test_reason_compared_by_text(void **state)
{
	struct fixture *fx = *state;
	char reason_copy[] = "cond wait";

	add_thread(fx, 100, 101, true, "cond wait", false, SEC, stack_a, 4);
	add_thread(fx, 100, 102, true, reason_copy, false, SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->group_count, 1);
	assert_int_equal(fx->groups[0].count, 2);
}

static void test_differences_split(void **state)
{
	struct fixture *fx = *state;
	int base, other_pid, other_reason, other_timeout, other_stack, shorter, no_stack;

	base = add_thread(fx, 100, 101, true, "cond wait", false, SEC, stack_a, 4);
	add_thread(fx, 100, 102, true, "cond wait", false, SEC, stack_a, 4);
	other_pid = add_thread(fx, 200, 201, true, "cond wait", false, SEC, stack_a, 4);
	other_reason = add_thread(fx, 100, 103, true, "mutex lock", false, SEC, stack_a, 4);
	other_timeout = add_thread(fx, 100, 104, true, "cond wait", true, SEC, stack_a, 4);
	other_stack = add_thread(fx, 100, 105, true, "cond wait", false, SEC, stack_b, 4);
	shorter = add_thread(fx, 100, 106, true, "cond wait", false, SEC, stack_a, 3);
	no_stack = add_thread(fx, 100, 107, true, "cond wait", false, SEC, NULL, 0);
	build(fx);
	assert_int_equal(fx->group_count, 7);
	assert_int_equal(fx->groups[0].count, 2);
	for (size_t g = 1; g < fx->group_count; g++)
		assert_int_equal(fx->groups[g].count, 1);

	__u64 base_sig = group__signature(&fx->threads[base]);
	int others[] = { other_pid, other_reason, other_timeout, other_stack, shorter, no_stack };

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_true(group__signature(&fx->threads[others[i]]) != base_sig);
	/* each split-off thread is in its own group, with its own attributes */
	for (size_t g = 1; g < fx->group_count; g++) {
		const struct thread_info *member = fx->groups[g].members[0];

		assert_int_equal(fx->groups[g].pid, member->rec->tgid);
		assert_string_equal(fx->groups[g].reason, member->wait.reason);
		assert_int_equal(fx->groups[g].has_timeout, member->wait.has_timeout);
		assert_true(fx->groups[g].signature == group__signature(member));
	}
}

static void test_sorted_by_count_then_age(void **state)
{
	struct fixture *fx = *state;

	/* 1 x stack_b (oldest of all), 3 x timeout, 2 x stack_a, 1 x pid 300 */
	add_thread(fx, 100, 101, true, "cond wait", false, 100 * SEC, stack_b, 4);
	add_thread(fx, 100, 102, true, "cond wait", false, 2 * SEC, stack_a, 4);
	add_thread(fx, 100, 103, true, "cond wait", true, 1 * SEC, stack_a, 4);
	add_thread(fx, 100, 104, true, "cond wait", true, 3 * SEC, stack_a, 4);
	add_thread(fx, 100, 105, true, "cond wait", false, 4 * SEC, stack_a, 4);
	add_thread(fx, 100, 106, true, "cond wait", true, 5 * SEC, stack_a, 4);
	add_thread(fx, 300, 301, true, "cond wait", false, 50 * SEC, stack_b, 4);
	build(fx);
	assert_int_equal(fx->group_count, 4);
	assert_int_equal(fx->groups[0].count, 3);
	assert_true(fx->groups[0].has_timeout);
	assert_true(fx->groups[0].oldest_park_ns == 5 * SEC);
	assert_int_equal(fx->groups[1].count, 2);
	assert_false(fx->groups[1].has_timeout);
	assert_true(fx->groups[1].oldest_park_ns == 4 * SEC);
	/* equal counts: the older group first */
	assert_int_equal(fx->groups[2].count, 1);
	assert_true(fx->groups[2].oldest_park_ns == 100 * SEC);
	assert_int_equal(fx->groups[2].pid, 100);
	assert_int_equal(fx->groups[3].count, 1);
	assert_int_equal(fx->groups[3].pid, 300);
	for (size_t g = 1; g < fx->group_count; g++)
		assert_true(fx->groups[g - 1].count >= fx->groups[g].count);
}

static void test_members_oldest_first(void **state)
{
	struct fixture *fx = *state;
	static const __u64 ages[] = { 3, 9, 1, 7, 7, 5 };
	static const __u32 expected_tids[] = { 12, 14, 15, 16, 11, 13 };

	for (int i = 0; i < 6; i++)
		add_thread(fx, 10, 11 + i, true, "sleep", false, ages[i] * SEC, stack_a, 2);
	build(fx);
	assert_int_equal(fx->group_count, 1);
	assert_int_equal(fx->groups[0].count, 6);
	/* park 9s, then the two 7s ones by tid, then 5s, 3s, 1s */
	for (int m = 0; m < 6; m++) {
		assert_int_equal(fx->groups[0].members[m]->rec->tid, expected_tids[m]);
		/* members point into the caller's array */
		assert_true(fx->groups[0].members[m] >= &fx->threads[0] &&
			    fx->groups[0].members[m] < &fx->threads[6]);
	}
	assert_true(fx->groups[0].oldest_park_ns == 9 * SEC);
}

static void test_not_parked_excluded(void **state)
{
	struct fixture *fx = *state;

	add_thread(fx, 100, 100, false, NULL, false, 0, NULL, 0);
	add_thread(fx, 100, 101, true, "futex", false, SEC, stack_a, 4);
	add_thread(fx, 100, 102, false, NULL, false, 0, stack_a, 4);
	add_thread(fx, 100, 103, true, "futex", false, 2 * SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->group_count, 1);
	assert_int_equal(fx->groups[0].count, 2);
	assert_int_equal(fx->groups[0].members[0]->rec->tid, 103);
	assert_int_equal(fx->groups[0].members[1]->rec->tid, 101);
}

static void test_nothing_parked(void **state)
{
	struct fixture *fx = *state;

	add_thread(fx, 100, 100, false, NULL, false, 0, NULL, 0);
	fx->group_count = 99;
	build(fx);
	assert_int_equal(fx->group_count, 0);
}

static void test_no_threads(void **state)
{
	struct fixture *fx = *state;

	fx->group_count = 99;
	build(fx);
	assert_int_equal(fx->group_count, 0);
}

static void test_signature_stable_and_pc_sensitive(void **state)
{
	struct fixture *fx = *state;
	__u64 pcs[4];
	int a, b, c;

	memcpy(pcs, stack_a, sizeof(pcs));
	a = add_thread(fx, 100, 101, true, "cond wait", false, SEC, pcs, 4);
	/* a different tid, age and lookup pcs do not matter */
	b = add_thread(fx, 100, 999, true, "cond wait", false, 77 * SEC, pcs, 4);
	fx->stacks[b]->frames[1].lookup_pc = 0x1;
	pcs[2] += 1;
	c = add_thread(fx, 100, 101, true, "cond wait", false, SEC, pcs, 4);

	__u64 sig = group__signature(&fx->threads[a]);

	assert_true(sig != 0);
	assert_true(group__signature(&fx->threads[a]) == sig);
	assert_true(group__signature(&fx->threads[b]) == sig);
	assert_true(group__signature(&fx->threads[c]) != sig);
	/* stable across builds: the same groups, the same signatures */
	build(fx);
	assert_int_equal(fx->group_count, 2);
	__u64 first[2] = { fx->groups[0].signature, fx->groups[1].signature };

	group__free_all(fx->groups, fx->group_count);
	fx->groups = NULL;
	build(fx);
	assert_int_equal(fx->group_count, 2);
	assert_true(fx->groups[0].signature == first[0]);
	assert_true(fx->groups[1].signature == first[1]);
	assert_true(fx->groups[0].signature == sig);
}

/* Every parked thread is in exactly one group. */
static void test_partition(void **state)
{
	struct fixture *fx = *state;
	int seen[MAX_THREADS] = { 0 };
	size_t total = 0;

	for (int i = 0; i < MAX_THREADS; i++)
		add_thread(fx, 100 + i % 3, 1000 + i, i % 5 != 0, i % 2 ? "futex" : "sleep", i % 7 == 0,
			   (__u64)(i * 37 % 11) * SEC, i % 4 ? stack_a : stack_b, 4);
	build(fx);
	for (size_t g = 0; g < fx->group_count; g++) {
		total += fx->groups[g].count;
		for (size_t m = 0; m < fx->groups[g].count; m++) {
			const struct thread_info *member = fx->groups[g].members[m];

			assert_true(member->parked);
			assert_true(group__signature(member) == fx->groups[g].signature);
			seen[member - fx->threads]++;
			if (m)
				assert_true(fx->groups[g].members[m - 1]->park_ns >= member->park_ns);
		}
	}
	for (int i = 0; i < MAX_THREADS; i++)
		assert_int_equal(seen[i], fx->threads[i].parked ? 1 : 0);
	assert_int_equal(total, MAX_THREADS - (MAX_THREADS + 4) / 5);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_identical_threads_group_together),
		TEST(test_reason_compared_by_text),
		TEST(test_differences_split),
		TEST(test_sorted_by_count_then_age),
		TEST(test_members_oldest_first),
		TEST(test_not_parked_excluded),
		TEST(test_nothing_parked),
		TEST(test_no_threads),
		TEST(test_signature_stable_and_pc_sensitive),
		TEST(test_partition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
