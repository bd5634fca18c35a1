// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the grouping of units (user/model/group.c), on hand-built
 * pictures: no BPF, no process to look at. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/group.h"
#include "support/fixtures.h"

#define MAX_UNITS 32
#define GOROOT_SRC "/usr/lib/go/src/"

struct fixture {
	struct pw_picture *picture;
	struct symbol *libc, *app, *app_caller, *gopark, *cond_wait, *go_main;
	pid_t pids[8];
	int pid_count;
};

static const __u64 stack_a[] = { 0x7f0000001000, 0x401236, 0x401300, 0x7f0000002000 };
static const __u64 stack_b[] = { 0x7f0000001000, 0x401500, 0x401300, 0x7f0000002000 };

/* Frames of stack_a and stack_b, leaf first: libc, the app (twice), libc. */
static const struct pw_stack *stack_of(struct fixture *fx, pid_t pid, const __u64 *pcs,
				       int depth)
{
	const struct symbol *symbols[] = { fx->libc, fx->app, fx->app_caller, fx->libc };

	return make_stack(fx->picture, pid, pcs, symbols, depth);
}

/* The process of pid, added on first use (units need their process). */
static void need_proc(struct fixture *fx, pid_t pid)
{
	for (int i = 0; i < fx->pid_count; i++)
		if (fx->pids[i] == pid)
			return;
	assert_true(fx->pid_count < 8);
	fx->pids[fx->pid_count++] = pid;
	add_proc(fx->picture, pid, "app", "/opt/app/bin/server");
}

/* Adds a thread; pcs NULL means no user stack. */
static void thread(struct fixture *fx, pid_t pid, pid_t tid, bool parked, const char *reason,
		   bool timeout, __u64 park_ns, const __u64 *pcs, int depth)
{
	const struct pw_stack *stack = pcs ? stack_of(fx, pid, pcs, depth) : NULL;
	struct pw_unit *unit;

	need_proc(fx, pid);
	unit = add_thread(fx->picture, pid, tid, parked ? reason : NULL, timeout, park_ns, stack);
	if (!parked)
		unit->wait.reason = reason;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->picture = picture__new();
	if (!fx->picture)
		return -1;
	fx->libc = make_symbol("/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000,
			       0x7f0000200000, NULL, 0x1000, 1);
	set_frame(fx->libc, 0, "pthread_cond_wait", NULL, 0, 0, false);
	fx->app = make_symbol("/opt/app/bin/server", 0x400000, 0x405000, NULL, 0x1235, 1);
	set_frame(fx->app, 0, "worker", "/src/server.c", 42, 0, false);
	fx->app_caller = make_symbol("/opt/app/bin/server", 0x400000, 0x405000, NULL, 0x12ff, 1);
	set_frame(fx->app_caller, 0, "main", "/src/server.c", 99, 0, false);
	fx->gopark = make_symbol("/opt/app/bin/gosrv", 0x400000, 0x800000, NULL, 0x1000, 1);
	set_frame(fx->gopark, 0, "runtime.gopark", GOROOT_SRC "runtime/proc.go", 398, 0, false);
	fx->cond_wait = make_symbol("/opt/app/bin/gosrv", 0x400000, 0x800000, NULL, 0x2000, 1);
	set_frame(fx->cond_wait, 0, "sync.(*Cond).Wait", GOROOT_SRC "sync/cond.go", 70, 0, false);
	fx->go_main = make_symbol("/opt/app/bin/gosrv", 0x400000, 0x800000, NULL, 0x3000, 1);
	set_frame(fx->go_main, 0, "main.consume", "/src/gosrv/main.go", 17, 0, false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	picture__put(fx->picture);
	symbol__put(fx->libc);
	symbol__put(fx->app);
	symbol__put(fx->app_caller);
	symbol__put(fx->gopark);
	symbol__put(fx->cond_wait);
	symbol__put(fx->go_main);
	free(fx);
	return 0;
}

static void build(struct fixture *fx)
{
	regroup(fx->picture);
	assert_non_null(fx->picture->groups);
}

static const struct pw_unit *unit_with_id(const struct fixture *fx, __u64 id)
{
	for (size_t i = 0; i < fx->picture->unit_count; i++)
		if (fx->picture->units[i].id == id)
			return &fx->picture->units[i];
	fail_msg("no unit %llu", (unsigned long long)id);
	return NULL;
}

/* The group that has unit as a member, or NULL. */
static const struct pw_group *group_of(const struct pw_picture *picture,
				       const struct pw_unit *unit)
{
	for (size_t g = 0; g < picture->group_count; g++)
		for (size_t m = 0; m < picture->groups[g].count; m++)
			if (picture->groups[g].members[m] == unit)
				return &picture->groups[g];
	return NULL;
}

static void test_identical_threads_group_together(void **state)
{
	struct fixture *fx = *state;
	const struct pw_group *group;

	for (int i = 0; i < 5; i++)
		thread(fx, 100, 101 + i, true, "cond wait", false, (i + 1) * SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->picture->group_count, 1);
	group = &fx->picture->groups[0];
	assert_int_equal(group->count, 5);
	assert_int_equal(group->pid, 100);
	assert_int_equal(group->kind, PW_UNIT_THREAD);
	assert_true(group->parked);
	assert_string_equal(group->reason, "cond wait");
	assert_false(group->has_timeout);
	assert_true(group->oldest_park_ns == 5 * SEC);
	assert_true(group->signature != 0);
	/* the members share one interned stack, and the group names it */
	assert_ptr_equal(group->stack, fx->picture->units[0].stack);
	for (size_t m = 0; m < group->count; m++)
		assert_ptr_equal(group->members[m]->stack, group->stack);
	/* where they wait: the first frame outside libc */
	assert_ptr_equal(group->where, &fx->app->frames[0]);
}

/* The reason is compared as text: equal strings at different addresses group. */
static void test_reason_compared_by_text(void **state)
{
	struct fixture *fx = *state;
	char reason_copy[] = "cond wait";

	thread(fx, 100, 101, true, "cond wait", false, SEC, stack_a, 4);
	thread(fx, 100, 102, true, reason_copy, false, SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->picture->group_count, 1);
	assert_int_equal(fx->picture->groups[0].count, 2);
}

static void test_differences_split(void **state)
{
	struct fixture *fx = *state;
	const struct pw_picture *picture = fx->picture;
	static const __u64 others[] = { 201, 103, 104, 105, 106, 107 };
	const struct pw_group *base;

	thread(fx, 100, 101, true, "cond wait", false, SEC, stack_a, 4);
	thread(fx, 100, 102, true, "cond wait", false, SEC, stack_a, 4);
	thread(fx, 200, 201, true, "cond wait", false, SEC, stack_a, 4);     /* pid */
	thread(fx, 100, 103, true, "mutex lock", false, SEC, stack_a, 4);    /* reason */
	thread(fx, 100, 104, true, "cond wait", true, SEC, stack_a, 4);      /* timeout */
	thread(fx, 100, 105, true, "cond wait", false, SEC, stack_b, 4);     /* a pc */
	thread(fx, 100, 106, true, "cond wait", false, SEC, stack_a, 3);     /* shorter */
	thread(fx, 100, 107, true, "cond wait", false, SEC, NULL, 0);        /* no stack */
	build(fx);
	assert_int_equal(picture->group_count, 7);
	assert_int_equal(picture->groups[0].count, 2);
	for (size_t g = 1; g < picture->group_count; g++)
		assert_int_equal(picture->groups[g].count, 1);

	base = group_of(picture, unit_with_id(fx, 101));
	assert_ptr_equal(base, &picture->groups[0]);
	assert_ptr_equal(group_of(picture, unit_with_id(fx, 102)), base);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const struct pw_group *group = group_of(picture, unit_with_id(fx, others[i]));

		assert_non_null(group);
		assert_ptr_not_equal(group, base);
		assert_true(group->signature != base->signature);
	}
	/* each split-off unit is in its own group, with its own attributes */
	for (size_t g = 1; g < picture->group_count; g++) {
		const struct pw_unit *member = picture->groups[g].members[0];

		assert_int_equal(picture->groups[g].pid, member->pid);
		assert_string_equal(picture->groups[g].reason, member->wait.reason);
		assert_int_equal(picture->groups[g].has_timeout, member->wait.has_timeout);
		assert_ptr_equal(picture->groups[g].stack, member->stack);
		for (size_t h = 0; h < g; h++)
			assert_true(picture->groups[h].signature != picture->groups[g].signature);
	}
	/* the stackless one has no frame to point at */
	assert_null(group_of(picture, unit_with_id(fx, 107))->where);
}

static void test_sorted_by_count_then_age(void **state)
{
	struct fixture *fx = *state;
	const struct pw_group *groups;

	/* 1 x stack_b (oldest of all), 3 x timeout, 2 x stack_a, 1 x pid 300 */
	thread(fx, 100, 101, true, "cond wait", false, 100 * SEC, stack_b, 4);
	thread(fx, 100, 102, true, "cond wait", false, 2 * SEC, stack_a, 4);
	thread(fx, 100, 103, true, "cond wait", true, 1 * SEC, stack_a, 4);
	thread(fx, 100, 104, true, "cond wait", true, 3 * SEC, stack_a, 4);
	thread(fx, 100, 105, true, "cond wait", false, 4 * SEC, stack_a, 4);
	thread(fx, 100, 106, true, "cond wait", true, 5 * SEC, stack_a, 4);
	thread(fx, 300, 301, true, "cond wait", false, 50 * SEC, stack_b, 4);
	build(fx);
	groups = fx->picture->groups;
	assert_int_equal(fx->picture->group_count, 4);
	assert_int_equal(groups[0].count, 3);
	assert_true(groups[0].has_timeout);
	assert_true(groups[0].oldest_park_ns == 5 * SEC);
	assert_int_equal(groups[1].count, 2);
	assert_false(groups[1].has_timeout);
	assert_true(groups[1].oldest_park_ns == 4 * SEC);
	/* equal counts: the older group first */
	assert_int_equal(groups[2].count, 1);
	assert_true(groups[2].oldest_park_ns == 100 * SEC);
	assert_int_equal(groups[2].pid, 100);
	assert_int_equal(groups[3].count, 1);
	assert_int_equal(groups[3].pid, 300);
	for (size_t g = 1; g < fx->picture->group_count; g++)
		assert_true(groups[g - 1].count >= groups[g].count);
}

/* Equal count and age: the group whose first member came first. */
static void test_ties_in_unit_order(void **state)
{
	struct fixture *fx = *state;

	thread(fx, 100, 101, true, "sleep", true, SEC, stack_b, 4);
	thread(fx, 100, 102, true, "futex", false, SEC, stack_a, 4);
	thread(fx, 100, 103, true, "cond wait", false, SEC, stack_a, 2);
	build(fx);
	assert_int_equal(fx->picture->group_count, 3);
	assert_string_equal(fx->picture->groups[0].reason, "sleep");
	assert_string_equal(fx->picture->groups[1].reason, "futex");
	assert_string_equal(fx->picture->groups[2].reason, "cond wait");
}

static void test_members_oldest_first(void **state)
{
	struct fixture *fx = *state;
	static const __u64 ages[] = { 3, 9, 1, 7, 7, 5 };
	static const __u64 expected_tids[] = { 12, 14, 15, 16, 11, 13 };
	const struct pw_group *group;

	for (int i = 0; i < 6; i++)
		thread(fx, 10, 11 + i, true, "sleep", false, ages[i] * SEC, stack_a, 2);
	build(fx);
	assert_int_equal(fx->picture->group_count, 1);
	group = &fx->picture->groups[0];
	assert_int_equal(group->count, 6);
	/* park 9s, then the two 7s ones in unit order (by tid), then 5s, 3s, 1s */
	for (int m = 0; m < 6; m++) {
		assert_int_equal(group->members[m]->id, expected_tids[m]);
		/* members point into the picture's units */
		assert_true(group->members[m] >= &fx->picture->units[0] &&
			    group->members[m] < &fx->picture->units[6]);
	}
	assert_true(group->oldest_park_ns == 9 * SEC);
}

static void test_not_parked_excluded(void **state)
{
	struct fixture *fx = *state;

	thread(fx, 100, 100, false, NULL, false, 0, NULL, 0);
	thread(fx, 100, 101, true, "futex", false, SEC, stack_a, 4);
	thread(fx, 100, 102, false, NULL, false, 0, stack_a, 4);
	thread(fx, 100, 103, true, "futex", false, 2 * SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->picture->group_count, 1);
	assert_int_equal(fx->picture->groups[0].count, 2);
	assert_int_equal(fx->picture->groups[0].members[0]->id, 103);
	assert_int_equal(fx->picture->groups[0].members[1]->id, 101);
	assert_false(group__includes(unit_with_id(fx, 100)));
	assert_false(group__includes(unit_with_id(fx, 102)));
	assert_true(group__includes(unit_with_id(fx, 101)));
}

static void test_nothing_parked(void **state)
{
	struct fixture *fx = *state;

	thread(fx, 100, 100, false, NULL, false, 0, NULL, 0);
	assert_int_equal(picture__finish(fx->picture), 0);
	fx->picture->group_count = 99;
	assert_int_equal(group__build(fx->picture), 0);
	assert_int_equal(fx->picture->group_count, 0);
	assert_non_null(fx->picture->groups);
}

static void test_no_units(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(picture__finish(fx->picture), 0);
	fx->picture->group_count = 99;
	assert_int_equal(group__build(fx->picture), 0);
	assert_int_equal(fx->picture->group_count, 0);
}

/* The signature of a group: its process, reason, timeout and stack pcs;
 * not which units are in it nor how old they are.  The same in every
 * build and in every picture. */
static void test_signature_stable_and_pc_sensitive(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *other;
	const struct symbol *symbols[] = { fx->libc, fx->app, fx->app_caller, fx->libc };
	__u64 pcs[4], first[2], sig, sig_c, stack_sig;
	const struct pw_group *a, *c;

	memcpy(pcs, stack_a, sizeof(pcs));
	thread(fx, 100, 101, true, "cond wait", false, SEC, pcs, 4);
	/* a different tid and age do not matter */
	thread(fx, 100, 999, true, "cond wait", false, 77 * SEC, pcs, 4);
	pcs[2] += 1;
	thread(fx, 100, 102, true, "cond wait", false, SEC, pcs, 4);
	build(fx);
	assert_int_equal(fx->picture->group_count, 2);
	a = group_of(fx->picture, unit_with_id(fx, 101));
	c = group_of(fx->picture, unit_with_id(fx, 102));
	assert_ptr_equal(group_of(fx->picture, unit_with_id(fx, 999)), a);
	sig = a->signature;
	sig_c = c->signature;
	stack_sig = a->stack->signature;
	assert_true(sig != 0);
	assert_true(sig_c != sig);
	assert_true(stack_sig != c->stack->signature);

	/* stable across builds: the same groups, the same signatures */
	first[0] = fx->picture->groups[0].signature;
	first[1] = fx->picture->groups[1].signature;
	regroup(fx->picture);
	assert_int_equal(fx->picture->group_count, 2);
	assert_true(fx->picture->groups[0].signature == first[0]);
	assert_true(fx->picture->groups[1].signature == first[1]);
	assert_true(fx->picture->groups[0].signature == sig);

	/* and across pictures: another picture, other tids, ages and order */
	other = picture__new();
	assert_non_null(other);
	add_proc(other, 100, "app", NULL);
	add_thread(other, 100, 5000, "cond wait", false, 3 * SEC,
		   make_stack(other, 100, pcs, symbols, 4));
	add_thread(other, 100, 5001, "cond wait", false, 9 * SEC,
		   make_stack(other, 100, stack_a, symbols, 4));
	regroup(other);
	assert_int_equal(other->group_count, 2);
	assert_true(other->groups[0].signature == sig_c || other->groups[1].signature == sig_c);
	assert_true(other->groups[0].signature == sig || other->groups[1].signature == sig);
	assert_true(other->groups[0].stack->signature == stack_sig ||
		    other->groups[1].stack->signature == stack_sig);
	picture__put(other);
}

/* Every parked thread is in exactly one group. */
static void test_partition(void **state)
{
	struct fixture *fx = *state;
	const struct pw_picture *picture = fx->picture;
	int seen[MAX_UNITS] = { 0 };
	size_t total = 0;

	for (int i = 0; i < MAX_UNITS; i++)
		thread(fx, 100 + i % 3, 1000 + i, i % 5 != 0, i % 2 ? "futex" : "sleep", i % 7 == 0,
		       (__u64)(i * 37 % 11) * SEC, i % 4 ? stack_a : stack_b, 4);
	build(fx);
	assert_int_equal(picture->unit_count, MAX_UNITS);
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];

		total += group->count;
		for (size_t m = 0; m < group->count; m++) {
			const struct pw_unit *member = group->members[m];

			assert_true(member->parked);
			assert_int_equal(member->pid, group->pid);
			assert_string_equal(member->wait.reason, group->reason);
			assert_int_equal(member->wait.has_timeout, group->has_timeout);
			assert_ptr_equal(member->stack, group->stack);
			seen[member - picture->units]++;
			if (m)
				assert_true(group->members[m - 1]->park_ns >= member->park_ns);
		}
	}
	for (int i = 0; i < MAX_UNITS; i++)
		assert_int_equal(seen[i], picture->units[i].parked ? 1 : 0);
	assert_int_equal(total, MAX_UNITS - (MAX_UNITS + 4) / 5);
	assert_int_equal(total, picture->parked_count);
}

/* A goroutine of the picture's process; parked when status is "waiting". */
static void goroutine(struct fixture *fx, __u64 goid, const char *status, const char *reason,
		      bool system, __u64 park_ns, const struct pw_stack *stack)
{
	struct pw_goroutine *go = picture__add_goroutines(fx->picture, 1);
	struct pw_unit *unit = picture__add_units(fx->picture, 1);

	assert_non_null(go);
	assert_non_null(unit);
	go->status = status;
	go->wait_reason = reason;
	go->system = system;
	unit->kind = PW_UNIT_GOROUTINE;
	unit->pid = 700;
	unit->id = goid;
	unit->go = go;
	unit->parked = !strcmp(status, "waiting");
	unit->state = unit->parked ? PW_STATE_SLEEPING : PW_STATE_RUNNING;
	unit->state_name = status;
	unit->wait.reason = reason ? reason : status;
	unit->wait.kernel_reason = PARK_REASON_OTHER;
	unit->park_ns = unit->parked ? park_ns : 0;
	unit->park_start_ns = unit->parked ? NOW_NS - park_ns : 0;
	unit->stack = stack;
}

/*
 * Goroutines: one rule for both kinds, but for goroutines every user one
 * is grouped, running or not (Go's profiles count them all), and the
 * runtime's own are left out.  Where they wait is the program's own
 * frame, told by the process's GOROOT.
 */
static void test_goroutines(void **state)
{
	struct fixture *fx = *state;
	static const __u64 pcs[] = { 0x401000, 0x402000, 0x403000 };
	const struct symbol *symbols[] = { fx->gopark, fx->cond_wait, fx->go_main };
	const struct pw_stack *waiting;
	const struct pw_group *parked = NULL, *running = NULL;
	struct pw_process *proc = add_proc(fx->picture, 700, "gosrv", "/opt/app/bin/gosrv");

	proc->unit_kind = PW_UNIT_GOROUTINE;
	proc->goroot_src = strdup(GOROOT_SRC);
	waiting = make_stack(fx->picture, 700, pcs, symbols, 3);
	goroutine(fx, 1, "waiting", "sync.Cond.Wait", false, 4 * SEC, waiting);
	goroutine(fx, 2, "running", NULL, false, 0, NULL);
	goroutine(fx, 3, "waiting", "sync.Cond.Wait", false, 6 * SEC, waiting);
	goroutine(fx, 4, "waiting", "GC worker (idle)", true, 60 * SEC, NULL);
	goroutine(fx, (__u64)1 << 40, "running", NULL, false, 0, NULL);
	build(fx);
	assert_int_equal(fx->picture->group_count, 2);
	for (size_t g = 0; g < fx->picture->group_count; g++) {
		assert_int_equal(fx->picture->groups[g].kind, PW_UNIT_GOROUTINE);
		if (fx->picture->groups[g].parked)
			parked = &fx->picture->groups[g];
		else
			running = &fx->picture->groups[g];
	}
	assert_non_null(parked);
	assert_non_null(running);
	assert_int_equal(parked->count, 2);
	assert_string_equal(parked->reason, "sync.Cond.Wait");
	assert_true(parked->oldest_park_ns == 6 * SEC);
	assert_int_equal(parked->members[0]->id, 3);
	assert_int_equal(parked->members[1]->id, 1);
	assert_ptr_equal(parked->where, &fx->go_main->frames[0]);
	/* running goroutines group by their status, parked or not */
	assert_int_equal(running->count, 2);
	assert_string_equal(running->reason, "running");
	assert_null(running->stack);
	assert_null(running->where);
	assert_true(running->members[1]->id == (__u64)1 << 40);
	/* the runtime's goroutine is in no group, and counted apart */
	assert_false(group__includes(unit_with_id(fx, 4)));
	assert_null(group_of(fx->picture, unit_with_id(fx, 4)));
	assert_int_equal(picture__process(fx->picture, 700)->units, 4);
	assert_int_equal(picture__process(fx->picture, 700)->system_units, 1);
	assert_int_equal(picture__process(fx->picture, 700)->parked, 2);
	/* a thread of another process waiting the same way: a group of its own */
	thread(fx, 100, 101, true, "sync.Cond.Wait", false, SEC, stack_a, 4);
	build(fx);
	assert_int_equal(fx->picture->group_count, 3);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_identical_threads_group_together),
		TEST(test_reason_compared_by_text),
		TEST(test_differences_split),
		TEST(test_sorted_by_count_then_age),
		TEST(test_ties_in_unit_order),
		TEST(test_members_oldest_first),
		TEST(test_not_parked_excluded),
		TEST(test_nothing_parked),
		TEST(test_no_units),
		TEST(test_signature_stable_and_pc_sensitive),
		TEST(test_partition),
		TEST(test_goroutines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
