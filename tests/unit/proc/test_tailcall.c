// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of tail-call frames (user/proc/tailcall.c): the search for
 * the one chain of tail calls, fed graphs of made-up functions, and the
 * DWARF side on this test binary's own process, whose tail_jumper() ends
 * in a jump to tail_target() (built -O2 -g as the rest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "proc/symbolize.h"
#include "proc/tailcall.h"
#include "support/procs_self.h"

#define NOINLINE __attribute__((noinline, noclone, used))

/* ---- made-up code: functions by entry, each with its tail-call sites ---- */

struct fake_function {
	__u64 entry;
	int count;                  /* -1: no debug info */
	struct tailcall_site sites[4];
};

struct fake_code {
	const struct fake_function *functions;
	int count;
	int calls;                  /* sites_of calls, to see the search stop */
};

static int fake_sites_of(void *ctx, __u64 entry, struct tailcall_site *sites, int max)
{
	struct fake_code *code = ctx;

	code->calls++;
	for (int i = 0; i < code->count; i++) {
		const struct fake_function *f = &code->functions[i];

		if (f->entry != entry)
			continue;
		if (f->count < 0)
			return -1;
		memcpy(sites, f->sites, (f->count < max ? f->count : max) * sizeof(sites[0]));
		return f->count;
	}
	return -1;
}

#define CALLEE 0xc000
#define A 0xa000
#define B 0xb000

static int chain(const struct fake_function *functions, int count, __u64 first_target,
		 __u64 *pcs)
{
	struct fake_code code = { functions, count, 0 };
	struct tailcall_graph graph = { fake_sites_of, &code };

	return tailcall__chain(&graph, first_target, CALLEE, pcs, TAILCALL_MAX_FRAMES);
}

static void test_direct_call(void **state)
{
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	/* the caller called the callee itself: nothing between them */
	assert_int_equal(chain(NULL, 0, CALLEE, pcs), 0);
}

static void test_one_chain(void **state)
{
	/* caller -> A -jmp-> B -jmp-> callee, and A's other jump goes
	 * nowhere near the callee */
	const struct fake_function code[] = {
		{ A, 2, { { 0xa010, B }, { 0xa020, 0xd000 } } },
		{ B, 1, { { 0xb010, CALLEE } } },
		{ 0xd000, 0, { { 0 } } },
	};
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	assert_int_equal(chain(code, 3, A, pcs), 2);
	/* innermost first: B's frame, then A's */
	assert_true(pcs[0] == 0xb010);
	assert_true(pcs[1] == 0xa010);
}

static void test_two_chains(void **state)
{
	/* A reaches the callee directly and through B: which one ran is unknown */
	const struct fake_function code[] = {
		{ A, 2, { { 0xa010, B }, { 0xa020, CALLEE } } },
		{ B, 1, { { 0xb010, CALLEE } } },
	};
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	assert_int_equal(chain(code, 2, A, pcs), 0);
}

static void test_unknown_steps(void **state)
{
	/* an indirect jump (target unknown) anywhere on the way */
	const struct fake_function indirect[] = {
		{ A, 2, { { 0xa010, 0 }, { 0xa020, CALLEE } } },
	};
	/* a function without debug info on the way */
	const struct fake_function no_dwarf[] = {
		{ A, 2, { { 0xa010, B }, { 0xa020, CALLEE } } },
		{ B, -1, { { 0 } } },
	};
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	assert_int_equal(chain(indirect, 1, A, pcs), 0);
	assert_int_equal(chain(no_dwarf, 2, A, pcs), 0);
	/* the caller's own call unknown */
	assert_int_equal(chain(indirect, 1, 0, pcs), 0);
}

static void test_loops_and_dead_ends(void **state)
{
	/* A jumps to itself or to the callee: two chains (A, and A A) */
	const struct fake_function self_loop[] = {
		{ A, 2, { { 0xa010, A }, { 0xa020, CALLEE } } },
	};
	/* B lists no tail calls (its DWARF doesn't say it lists them all) */
	const struct fake_function dead_end[] = {
		{ A, 1, { { 0xa010, B } } },
		{ B, 0, { { 0 } } },
	};
	/* A and B jump to each other only: the search ends */
	const struct fake_function cycle[] = {
		{ A, 1, { { 0xa010, B } } },
		{ B, 1, { { 0xb010, A } } },
	};
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	assert_int_equal(chain(self_loop, 1, A, pcs), 0);
	assert_int_equal(chain(dead_end, 2, A, pcs), 0);
	assert_int_equal(chain(cycle, 2, A, pcs), 0);
}

static void test_too_long(void **state)
{
	/* a chain of TAILCALL_MAX_FRAMES + 1 jumps is not told */
	struct fake_function code[TAILCALL_MAX_FRAMES + 1];
	__u64 pcs[TAILCALL_MAX_FRAMES];

	(void)state;
	for (int i = 0; i <= TAILCALL_MAX_FRAMES; i++) {
		__u64 next = i == TAILCALL_MAX_FRAMES ? CALLEE : 0x10000 + (__u64)(i + 1) * 0x100;

		code[i] = (struct fake_function){ 0x10000 + (__u64)i * 0x100, 1,
						  { { 0x10010 + (__u64)i * 0x100, next } } };
	}
	assert_int_equal(chain(code, TAILCALL_MAX_FRAMES + 1, 0x10000, pcs), 0);
	/* one fewer is */
	assert_int_equal(chain(code + 1, TAILCALL_MAX_FRAMES, 0x10100, pcs), TAILCALL_MAX_FRAMES);
	assert_true(pcs[0] == 0x10010 + TAILCALL_MAX_FRAMES * 0x100);
}

/* ---- the DWARF side, on this process ---- */

volatile unsigned long sink;

NOINLINE unsigned long tail_target(void)
{
	/* tail_jumper's frame is gone: this returns into tail_caller */
	sink = (unsigned long)__builtin_return_address(0);
	return sink;
}

NOINLINE unsigned long tail_jumper(void)
{
	sink++;
	return tail_target();
}

NOINLINE unsigned long tail_caller(void)
{
	unsigned long ret = tail_jumper();

	__asm__ volatile("" ::: "memory"); /* no tail call here */
	return ret;
}

static void test_own_tail_call(void **state)
{
	unsigned long ret = tail_caller();
	const struct symbol *callee, *tail;
	struct procs *procs = NULL;
	struct proc *self = NULL;
	__u64 pcs[TAILCALL_MAX_FRAMES];
	int count;

	(void)state;
	assert_int_equal(procs_self_open(&procs, &self), 0);
	callee = symbolize__user(self, (unsigned long)&tail_target);
	assert_non_null(callee);
	assert_true(callee->function_entry == (unsigned long)&tail_target);
	count = tailcall__frames(self, ret, callee->function_entry, pcs, TAILCALL_MAX_FRAMES);
	assert_int_equal(count, 1);
	tail = symbolize__tail_call(self, pcs[0] - 1);
	assert_non_null(tail);
	assert_int_equal(tail->frame_count, 1);
	assert_string_equal(tail->frames[0].function, "tail_jumper");
	assert_true(tail->frames[0].tail_call);
	/* cached: the same answer */
	assert_int_equal(tailcall__frames(self, ret, callee->function_entry, pcs,
					  TAILCALL_MAX_FRAMES), 1);
	/* the frame called directly (tail_caller -> tail_jumper) has none */
	assert_int_equal(tailcall__frames(self, ret, (unsigned long)&tail_jumper, pcs,
					  TAILCALL_MAX_FRAMES), 0);
	procs_self_close(procs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_call),
		cmocka_unit_test(test_one_chain),
		cmocka_unit_test(test_two_chains),
		cmocka_unit_test(test_unknown_steps),
		cmocka_unit_test(test_loops_and_dead_ends),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_own_tail_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
