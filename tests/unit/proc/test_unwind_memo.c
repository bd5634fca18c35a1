// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the memo of unwound stacks (user/proc/unwind_memo.c): a
 * walk recorded on one thread's capture is given to another thread only
 * when every word the walk depended on is the same there, stack pointers
 * compared by their offset from the stack pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "proc/unwind_memo.h"

#define STACK_WORDS 16
#define RETURN_PC 0x401234ULL
#define LEAF_PC 0x7f0000001000ULL
#define SAVED_BP_SLOT 2           /* words from the stack pointer */
#define RETURN_SLOT 3
#define SAVED_DATA_SLOT 5         /* a callee-saved register's value */

/* One parked thread: its stack at sp, a frame-pointer chain in it. */
struct thread_copy {
	__u64 regs[PARK_NREGS];
	__u64 words[STACK_WORDS];
	struct memo_capture capture;
};

static void make_thread(struct thread_copy *t, __u64 sp, __u64 data)
{
	memset(t, 0, sizeof(*t));
	t->regs[PW_REG_SP] = sp;
	t->regs[PW_REG_IP] = LEAF_PC;
	t->regs[PW_REG_BP] = sp + 8 * SAVED_BP_SLOT;
	t->regs[PW_REG_BX] = data; /* the thread's own data, in a register too */
	t->words[SAVED_BP_SLOT] = sp + 8 * 8; /* the caller's frame, higher up */
	t->words[RETURN_SLOT] = RETURN_PC;
	t->words[SAVED_DATA_SLOT] = data;
	t->capture = (struct memo_capture){ t->regs, (const __u8 *)t->words, sizeof(t->words) };
}

static const struct stack_frame frames[] = {
	{ LEAF_PC, LEAF_PC },
	{ RETURN_PC, RETURN_PC - 1 },
};

/* The walk a CFI unwinder makes on t: the saved bp, the return address,
 * and the callee-saved register it restores. */
static void record_walk(struct unwind_memo *memo, const struct thread_copy *t, bool vary_alike,
			bool read_outside)
{
	static struct unwind_trace trace;
	__u64 sp = t->regs[PW_REG_SP];
	const int slots[] = { SAVED_BP_SLOT, RETURN_SLOT, SAVED_DATA_SLOT };

	unwind_memo__trace_start(&trace);
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		unwind_memo__read(&trace, &t->capture, sp + 8 * slots[i], t->words[slots[i]], true);
	if (read_outside)
		unwind_memo__read(&trace, &t->capture, 0x1000, 42, false);
	unwind_memo__add(memo, &t->capture, &trace, frames, 2, false, vary_alike);
}

static int find(struct unwind_memo *memo, const struct thread_copy *t)
{
	struct stack_frame found[4];
	bool truncated = true;
	int depth = unwind_memo__find(memo, &t->capture, found, &truncated);

	if (depth == 2) {
		assert_memory_equal(found, frames, sizeof(frames));
		assert_false(truncated);
	}
	return depth;
}

static void test_same_stack_elsewhere_matches(void **state)
{
	struct unwind_memo memo = { 0 };
	struct thread_copy first, other;

	(void)state;
	make_thread(&first, 0x7ffd0000, 7);
	make_thread(&other, 0x7ffe4000, 8);
	record_walk(&memo, &first, true, false);
	/* another stack address, another datum the frames don't depend on */
	assert_int_equal(find(&memo, &other), 2);
	unwind_memo__clear(&memo);
	assert_int_equal(find(&memo, &other), -1);
}

static void test_data_matters_unless_shown_not_to(void **state)
{
	struct unwind_memo memo = { 0 };
	struct thread_copy first, other;

	(void)state;
	make_thread(&first, 0x7ffd0000, 7);
	make_thread(&other, 0x7ffe4000, 8);
	record_walk(&memo, &first, false, false);
	assert_int_equal(find(&memo, &other), -1);
	make_thread(&other, 0x7ffe4000, 7);
	assert_int_equal(find(&memo, &other), 2);
	unwind_memo__clear(&memo);
}

static void test_return_address_and_frame_chain_matter(void **state)
{
	struct unwind_memo memo = { 0 };
	struct thread_copy first, other;

	(void)state;
	make_thread(&first, 0x7ffd0000, 7);
	record_walk(&memo, &first, true, false);
	make_thread(&other, 0x7ffe4000, 7);
	other.words[RETURN_SLOT] = RETURN_PC + 0x10;
	assert_int_equal(find(&memo, &other), -1);
	make_thread(&other, 0x7ffe4000, 7);
	other.words[SAVED_BP_SLOT] += 8; /* the caller's frame elsewhere in the stack */
	assert_int_equal(find(&memo, &other), -1);
	make_thread(&other, 0x7ffe4000, 7);
	other.regs[PW_REG_IP] += 4;
	assert_int_equal(find(&memo, &other), -1);
	make_thread(&other, 0x7ffe4000, 7);
	other.capture.ustack_bytes = 8 * RETURN_SLOT; /* a shorter copy */
	assert_int_equal(find(&memo, &other), -1);
	unwind_memo__clear(&memo);
}

static void test_walk_outside_the_copy_is_not_kept(void **state)
{
	struct unwind_memo memo = { 0 };
	struct thread_copy first;

	(void)state;
	make_thread(&first, 0x7ffd0000, 7);
	record_walk(&memo, &first, true, true);
	assert_int_equal(find(&memo, &first), -1);
	unwind_memo__clear(&memo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_stack_elsewhere_matches),
		cmocka_unit_test(test_data_matters_unless_shown_not_to),
		cmocka_unit_test(test_return_address_and_frame_chain_matter),
		cmocka_unit_test(test_walk_outside_the_copy_is_not_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
