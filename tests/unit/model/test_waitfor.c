// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the wait-for graph (user/model/waitfor.c) on hand-built
 * pictures: each expected finding is written down by hand. */
#include "model/group.h"
#include "model/waitfor.h"
#include "support/fixtures.h"

#define LOCK_A 0x55d0c0a04040ULL
#define LOCK_B 0x55d0c0a04080ULL

static struct pw_picture *picture;

static int setup(void **state)
{
	(void)state;
	picture = picture__new();
	return picture ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	picture__put(picture);
	return 0;
}

/* A parked thread of pid waiting for the mutex at addr held by owner. */
static struct pw_unit *waiter(pid_t pid, pid_t tid, __u64 addr, pid_t owner_pid, pid_t owner)
{
	struct pw_unit *unit = add_thread(picture, pid, tid, "mutex lock", false, 5 * SEC, NULL);

	unit->blocked_on.kind = PW_OBJECT_MUTEX;
	unit->blocked_on.addr = addr;
	unit->blocked_on.owner_tid = owner;
	unit->blocked_on.owner_pid = owner_pid;
	return unit;
}

static void proc(pid_t pid)
{
	add_proc(picture, pid, "locks", "/opt/locks");
}

static const struct pw_finding *only(enum pw_finding_kind kind)
{
	const struct pw_finding *found = NULL;

	for (size_t f = 0; f < picture->finding_count; f++) {
		if (picture->findings[f].kind != kind)
			continue;
		assert_null(found);
		found = &picture->findings[f];
	}
	assert_non_null(found);
	return found;
}

static bool names(const struct pw_finding *finding, pid_t tid)
{
	for (size_t i = 0; i < finding->unit_count; i++)
		if (finding->units[i]->id == (__u64)tid)
			return true;
	return false;
}

static void abba_is_one_deadlock(void **state)
{
	const struct pw_finding *cycle;

	(void)state;
	proc(100);
	waiter(100, 101, LOCK_A, 0, 102);
	waiter(100, 102, LOCK_B, 0, 101);
	add_thread(picture, 100, 103, "sleep", true, SEC, NULL);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->finding_count, 1);
	cycle = only(PW_FINDING_DEADLOCK);
	assert_int_equal(cycle->unit_count, 2);
	assert_true(names(cycle, 101) && names(cycle, 102));
	assert_int_equal(cycle->pid, 100);
	/* each waits for what the next holds */
	assert_int_equal(cycle->units[0]->blocked_on.owner_tid, (pid_t)cycle->units[1]->id);
	assert_int_equal(cycle->units[1]->blocked_on.owner_tid, (pid_t)cycle->units[0]->id);
	for (size_t g = 0; g < picture->group_count; g++)
		assert_true(picture->groups[g].deadlocked ==
			    !strcmp(picture->groups[g].reason, "mutex lock"));
}

/* A three-cycle with a fourth thread queued into it: the cycle alone. */
static void three_cycle_and_a_thread_behind_it(void **state)
{
	const struct pw_finding *cycle;

	(void)state;
	proc(100);
	waiter(100, 101, LOCK_A, 0, 102);
	waiter(100, 102, LOCK_B, 0, 103);
	waiter(100, 103, LOCK_B + 8, 0, 101);
	waiter(100, 104, LOCK_A + 64, 0, 101);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->finding_count, 1);
	cycle = only(PW_FINDING_DEADLOCK);
	assert_int_equal(cycle->unit_count, 3);
	assert_false(names(cycle, 104));
}

static void self_deadlock(void **state)
{
	const struct pw_finding *self;

	(void)state;
	proc(100);
	waiter(100, 101, LOCK_A, 0, 101);
	assert_int_equal(group__finish(picture), 0);
	self = only(PW_FINDING_SELF_DEADLOCK);
	assert_int_equal(self->unit_count, 1);
	assert_int_equal(self->addr, LOCK_A);
	assert_int_equal(picture->finding_count, 1);
}

static void abandoned_lock_one_finding_per_lock(void **state)
{
	const struct pw_finding *gone;

	(void)state;
	proc(100);
	waiter(100, 101, LOCK_A, 0, 999)->blocked_on.owner_dead = true;
	waiter(100, 102, LOCK_A, 0, 999)->blocked_on.owner_dead = true;
	assert_int_equal(group__finish(picture), 0);
	gone = only(PW_FINDING_ABANDONED);
	assert_int_equal(gone->unit_count, 2);
	assert_int_equal(gone->owner_tid, 999);
	assert_int_equal(gone->addr, LOCK_A);
	assert_int_equal(picture->finding_count, 1);
}

/* 50 threads behind one holder asleep, two of them through a chain. */
static void convoy_head_and_everyone_behind_it(void **state)
{
	const struct pw_finding *convoy;

	(void)state;
	proc(100);
	add_thread(picture, 100, 200, "sleep", true, 9 * SEC, NULL);
	for (pid_t tid = 201; tid < 249; tid++)
		waiter(100, tid, LOCK_A, 0, 200);
	waiter(100, 249, LOCK_B, 0, 201); /* holds B, waits for A */
	waiter(100, 250, LOCK_B, 0, 201);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->finding_count, 1);
	convoy = only(PW_FINDING_CONVOY);
	assert_int_equal(convoy->unit_count, 51);
	assert_int_equal(convoy->units[0]->id, 200);
	assert_int_equal(convoy->owner_tid, 200);
	assert_int_equal(convoy->addr, LOCK_A);
	assert_true(names(convoy, 250));
	for (size_t g = 0; g < picture->group_count; g++)
		assert_true(picture->groups[g].convoy);
}

/* A process-shared mutex: the owner is another process's thread. */
static void cycle_across_processes(void **state)
{
	(void)state;
	proc(100);
	proc(200);
	waiter(200, 201, LOCK_A, 100, 101);
	waiter(100, 101, LOCK_B, 200, 201);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(only(PW_FINDING_DEADLOCK)->unit_count, 2);
}

/* A thread's own tid in another process is not the thread. */
static void owner_in_the_waiters_process_by_default(void **state)
{
	(void)state;
	proc(100);
	proc(200);
	waiter(100, 101, LOCK_A, 0, 201);
	waiter(200, 201, LOCK_B, 0, 101);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->finding_count, 0);
}

static bool reject(void *ctx, const struct pw_finding *candidate)
{
	int *calls = ctx;

	assert_true(candidate->unit_count >= 1);
	(*calls)++;
	return false;
}

static void confirm_drops_what_a_second_read_denies(void **state)
{
	int calls = 0;

	(void)state;
	proc(100);
	waiter(100, 101, LOCK_A, 0, 102);
	waiter(100, 102, LOCK_B, 0, 101);
	waiter(100, 103, LOCK_A, 0, 103);
	assert_int_equal(picture__finish(picture), 0);
	assert_int_equal(waitfor__find(picture, reject, &calls), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(picture->finding_count, 0);
}

static void distinct_objects_per_group(void **state)
{
	(void)state;
	proc(100);
	add_thread(picture, 100, 200, "sleep", true, SEC, NULL);
	for (pid_t tid = 201; tid <= 210; tid++)
		waiter(100, tid, LOCK_A, 0, 200);
	for (pid_t tid = 301; tid <= 305; tid++) {
		struct pw_unit *unit = add_thread(picture, 100, tid, "cond wait", false, SEC, NULL);

		unit->blocked_on.kind = PW_OBJECT_CONDVAR;
		unit->blocked_on.addr = LOCK_B + (__u64)tid * 64;
	}
	assert_int_equal(group__finish(picture), 0);
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];

		if (!strcmp(group->reason, "mutex lock"))
			assert_int_equal(group->objects, 1);
		else if (!strcmp(group->reason, "cond wait"))
			assert_int_equal(group->objects, 5);
		else
			assert_int_equal(group->objects, 0);
	}
}

static void a_view_keeps_its_process_findings(void **state)
{
	struct pw_picture *view;

	(void)state;
	proc(100);
	proc(300);
	waiter(100, 101, LOCK_A, 0, 101);
	waiter(300, 301, LOCK_A, 0, 301);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->finding_count, 2);
	assert_int_equal(picture__view_pid(picture, 300, &view), 0);
	assert_int_equal(view->finding_count, 1);
	assert_int_equal(view->findings[0].units[0]->id, 301);
	picture__put(view);
}

static void unit_lookup(void **state)
{
	(void)state;
	proc(100);
	proc(200);
	for (pid_t tid = 110; tid > 100; tid--)
		add_thread(picture, 100, tid, "sleep", true, SEC, NULL);
	add_thread(picture, 200, 201, "sleep", true, SEC, NULL);
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture__unit(picture, 100, 105)->id, 105);
	assert_int_equal(picture__unit(picture, 200, 201)->pid, 200);
	assert_null(picture__unit(picture, 100, 201));
	assert_null(picture__unit(picture, 150, 105));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(abba_is_one_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(three_cycle_and_a_thread_behind_it, setup, teardown),
		cmocka_unit_test_setup_teardown(self_deadlock, setup, teardown),
		cmocka_unit_test_setup_teardown(abandoned_lock_one_finding_per_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(convoy_head_and_everyone_behind_it, setup, teardown),
		cmocka_unit_test_setup_teardown(cycle_across_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_in_the_waiters_process_by_default, setup,
						teardown),
		cmocka_unit_test_setup_teardown(confirm_drops_what_a_second_read_denies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(distinct_objects_per_group, setup, teardown),
		cmocka_unit_test_setup_teardown(a_view_keeps_its_process_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(unit_lookup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
