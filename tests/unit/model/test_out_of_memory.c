// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The model out of memory (user/model/picture.c, group.c, totals.c): every
 * allocation of building, finishing, grouping and viewing a picture, and of
 * the totals, fails in turn.  Each call must then say -ENOMEM (or NULL),
 * leave what it was given usable and freeable, and work once memory is
 * back, with every block it allocated on the way freed.  (Under valgrind,
 * whose allocator wins, nothing fails: the tests skip.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/group.h"
#include "model/totals.h"
#define FAILALLOC_DEFINE /* this binary's malloc, calloc, realloc and free */
#include "support/failalloc.h"
#include "support/fixtures.h"

#define MAX_TRIES 10000

static const __u64 pcs[] = { 0x7f0000001000, 0x401236, 0x401300 };

struct fixture {
	struct symbol *leaf, *caller;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->leaf = make_symbol("/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000,
			       0x7f0000200000, NULL, 0x1000, 1);
	set_frame(fx->leaf, 0, "pthread_cond_wait", NULL, 0, 0, false);
	fx->caller = make_symbol("/opt/app/bin/server", 0x400000, 0x405000, NULL, 0x1235, 1);
	set_frame(fx->caller, 0, "worker", "/src/server.c", 42, 0, false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	symbol__put(fx->leaf);
	symbol__put(fx->caller);
	free(fx);
	return 0;
}

/* What a source does, without the test helpers (which assert): two
 * processes, parked threads on interned stacks, a goroutine, strings, a
 * kernel stack, a held symbol.  0 or -ENOMEM. */
static int fill(struct fixture *fx, struct pw_picture *picture, int threads)
{
	const struct symbol *symbols[] = { fx->leaf, fx->caller, fx->caller };
	struct stack_frame frames[3];
	struct pw_goroutine *go;
	struct pw_process *proc;
	struct pw_unit *units;

	for (int i = 0; i < 3; i++)
		frames[i] = (struct stack_frame){ pcs[i], i ? pcs[i] - 1 : pcs[i] };
	for (pid_t pid = 20; pid >= 10; pid -= 10) {
		proc = picture__add_process(picture, pid);
		if (!proc)
			return -ENOMEM;
		proc->unit_kind = PW_UNIT_THREAD;
		units = picture__add_units(picture, threads);
		if (!units)
			return -ENOMEM;
		for (int i = 0; i < threads; i++) {
			frames[2].pc = pcs[2] + i % 3; /* three stacks a process */
			units[i].kind = PW_UNIT_THREAD;
			units[i].pid = pid;
			units[i].id = pid * 1000 + i;
			units[i].parked = i % 4 != 0;
			units[i].state = units[i].parked ? PW_STATE_SLEEPING : PW_STATE_RUNNING;
			units[i].wait.reason = picture__string(picture, i % 2 ? "cond wait" : "futex");
			units[i].park_ns = (__u64)(i + 1) * SEC;
			units[i].stack = picture__intern_stack(picture, pid, frames, symbols, 3, 3,
							      false);
			units[i].kstack = picture__copy(picture, pcs, sizeof(pcs));
			if (!units[i].wait.reason || !units[i].stack || !units[i].kstack)
				return -ENOMEM;
			units[i].kstack_depth = 3;
		}
	}
	proc = picture__add_process(picture, 30);
	go = picture__add_goroutines(picture, 1);
	units = picture__add_units(picture, 1);
	if (!proc || !go || !units)
		return -ENOMEM;
	proc->unit_kind = PW_UNIT_GOROUTINE;
	go->status = "waiting";
	go->creator = picture__hold_symbol(picture, fx->caller);
	go->wait_reason = picture__string(picture, "chan receive");
	if (!go->creator || !go->wait_reason)
		return -ENOMEM;
	units->kind = PW_UNIT_GOROUTINE;
	units->pid = 30;
	units->id = (__u64)1 << 40;
	units->go = go;
	units->parked = true;
	units->wait.reason = go->wait_reason;
	return 0;
}

/* The symbols' references are all given back with the picture. */
static void check_references(const struct fixture *fx)
{
	assert_int_equal(fx->leaf->refs, 1);
	assert_int_equal(fx->caller->refs, 1);
}

static void test_building(void **state)
{
	struct fixture *fx = *state;
	int failures = 0;

	if (!failalloc_can_fail())
		skip();
	for (long allowed = 0; allowed < MAX_TRIES; allowed++) {
		long live = failalloc_live();
		struct pw_picture *picture;
		int err;

		failalloc_arm(allowed);
		picture = picture__new();
		err = picture ? fill(fx, picture, 70) : -ENOMEM;
		if (failalloc_disarm()) {
			assert_int_equal(err, -ENOMEM);
			failures++;
			picture__put(picture);
			check_references(fx);
			assert_int_equal(failalloc_live(), live);
			continue;
		}
		if (!allowed)
			skip(); /* allocations can't be made to fail here */
		assert_int_equal(err, 0);
		assert_int_equal(picture__finish(picture), 0);
		assert_int_equal(picture->unit_count, 141);
		picture__put(picture);
		check_references(fx);
		assert_int_equal(failalloc_live(), live);
		print_message("building: %d allocations failed in turn\n", failures);
		return;
	}
	fail_msg("building a picture took over %d allocations", MAX_TRIES);
}

/* Finishing, grouping and viewing a built picture: on failure it is left
 * as it was, and the same call works once memory is back. */
static void test_finish_group_view(void **state)
{
	struct fixture *fx = *state;
	int failures = 0;

	if (!failalloc_can_fail())
		skip();
	for (long allowed = 0; allowed < MAX_TRIES; allowed++) {
		long live = failalloc_live();
		struct pw_picture *picture = picture__new(), *view = NULL;
		int err;

		assert_non_null(picture);
		assert_int_equal(fill(fx, picture, 70), 0);
		failalloc_arm(allowed);
		err = picture__finish(picture);
		if (!err)
			err = group__build(picture);
		if (!err)
			err = picture__view_pid(picture, 10, &view);
		if (failalloc_disarm()) {
			assert_int_equal(err, -ENOMEM);
			assert_null(view);
			assert_int_equal(picture->refs, 1); /* no view holds it */
			failures++;
			/* the picture is whole: finish, group and view it now */
			assert_int_equal(picture__finish(picture), 0);
			if (picture->groups) { /* grouping worked, the view failed */
				for (size_t g = 0; g < picture->group_count; g++)
					free(picture->groups[g].members);
				free(picture->groups);
				picture->groups = NULL;
				picture->group_count = 0;
			}
			assert_int_equal(group__build(picture), 0);
			assert_int_equal(picture__view_pid(picture, 10, &view), 0);
			assert_int_equal(view->unit_count, 70);
			picture__put(view);
			picture__put(picture);
			check_references(fx);
			assert_int_equal(failalloc_live(), live);
			continue;
		}
		if (!allowed)
			skip();
		assert_int_equal(err, 0);
		assert_int_equal(picture->parked_count, 2 * (70 - 18) + 1);
		assert_int_equal(view->unit_count, 70);
		assert_int_equal(view->group_count, 6);
		picture__put(picture);
		picture__put(view);
		check_references(fx);
		assert_int_equal(failalloc_live(), live);
		print_message("finish, group, view: %d allocations failed in turn\n", failures);
		return;
	}
	fail_msg("finishing a picture took over %d allocations", MAX_TRIES);
}

static void test_totals(void **state)
{
	int failures = 0;

	(void)state;
	if (!failalloc_can_fail())
		skip();
	for (long allowed = 0; allowed < MAX_TRIES; allowed++) {
		long live = failalloc_live();
		struct pw_totals *totals, *copy = NULL;
		int err = 0;

		failalloc_arm(allowed);
		totals = totals__new();
		for (pid_t pid = 1; totals && !err && pid <= 300; pid++)
			err = totals__add(totals, pid, (enum park_reason)(pid % PARK_REASON__COUNT),
					  1, SEC);
		if (totals && !err) {
			copy = totals__clone(totals);
			err = copy ? 0 : -ENOMEM;
		}
		if (failalloc_disarm()) {
			assert_true(!totals || err == -ENOMEM);
			/* what was added is still there and findable */
			for (size_t i = 0; totals && i < totals->count; i++)
				assert_ptr_equal(totals__find(totals, totals->entries[i].pid,
							      totals->entries[i].reason),
						 &totals->entries[i]);
			totals__free(totals);
			totals__free(copy);
			assert_int_equal(failalloc_live(), live);
			failures++;
			continue;
		}
		if (!allowed)
			skip();
		assert_int_equal(err, 0);
		assert_int_equal(copy->count, 300);
		totals__free(totals);
		totals__free(copy);
		assert_int_equal(failalloc_live(), live);
		print_message("totals: %d allocations failed in turn\n", failures);
		return;
	}
	fail_msg("the totals took over %d allocations", MAX_TRIES);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_building),
		TEST(test_finish_group_view),
		TEST(test_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
