// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the picture (user/model/picture.c) on hand-built units:
 * building (units, processes, interned stacks, strings), finishing (order
 * and counts), reading (picture__process, picture__view_pid) and what a
 * picture owns.  No BPF, no process to look at.
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
#include "support/fixtures.h"

static const __u64 pcs_a[] = { 0x7f0000001000, 0x401236, 0x401300 };
static const __u64 pcs_b[] = { 0x7f0000001000, 0x401500 };

struct fixture {
	struct pw_picture *picture;
	struct symbol *leaf, *caller;
	const struct pw_stack *a10, *b10, *a30;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->picture = picture__new();
	if (!fx->picture)
		return -1;
	fx->leaf = make_symbol("/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000,
			       0x7f0000200000, "b1bc", 0x1000, 1);
	set_frame(fx->leaf, 0, "pthread_cond_wait", NULL, 0, 0, false);
	fx->caller = make_symbol("/opt/app/bin/server", 0x400000, 0x405000, NULL, 0x1235, 1);
	set_frame(fx->caller, 0, "worker", "/src/server.c", 42, 0, false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	picture__put(fx->picture);
	symbol__put(fx->leaf);
	symbol__put(fx->caller);
	free(fx);
	return 0;
}

static const struct pw_stack *stack(struct fixture *fx, pid_t pid, const __u64 *pcs, int depth)
{
	const struct symbol *symbols[] = { fx->leaf, fx->caller, fx->caller };

	return make_stack(fx->picture, pid, pcs, symbols, depth);
}

/*
 * Three processes, added out of order, their units in runs as sources add
 * them (pid 30's in two runs):
 *   30: 31 running; 32 cond wait 5 s (a)
 *   10: 10 running; 11 cond wait 2 s (a); 12 sleep 1 s (b, timeout)
 *   30: 33 cond wait 1 s (a); 34 stopped, not parked
 *   20: no units
 */
static void build_three(struct fixture *fx)
{
	struct pw_unit *unit;

	fx->a30 = stack(fx, 30, pcs_a, 3);
	fx->a10 = stack(fx, 10, pcs_a, 3);
	fx->b10 = stack(fx, 10, pcs_b, 2);
	add_proc(fx->picture, 30, "thirty", "/usr/bin/thirty");
	add_proc(fx->picture, 20, "twenty", NULL);
	add_thread(fx->picture, 30, 31, NULL, false, 0, NULL);
	add_thread(fx->picture, 30, 32, "cond wait", false, 5 * SEC, fx->a30);
	add_proc(fx->picture, 10, "ten", "/usr/bin/ten");
	add_thread(fx->picture, 10, 10, NULL, false, 0, NULL);
	add_thread(fx->picture, 10, 11, "cond wait", false, 2 * SEC, fx->a10);
	add_thread(fx->picture, 10, 12, "sleep", true, 1 * SEC, fx->b10);
	add_thread(fx->picture, 30, 33, "cond wait", false, 1 * SEC, fx->a30);
	unit = add_thread(fx->picture, 30, 34, NULL, false, 0, NULL);
	unit->state = PW_STATE_STOPPED;
	unit->state_name = "traced";
	fx->picture->time_unix_ns = 1700000000 * SEC;
	fx->picture->time_mono_ns = 42 * SEC;
	regroup(fx->picture);
}

static void test_references(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fx->picture->refs, 1);
	assert_ptr_equal(picture__get(fx->picture), fx->picture);
	assert_int_equal(fx->picture->refs, 2);
	picture__put(fx->picture);
	assert_int_equal(fx->picture->refs, 1);
	picture__put(NULL);
	/* a new picture is empty */
	assert_int_equal(fx->picture->unit_count, 0);
	assert_int_equal(fx->picture->proc_count, 0);
	assert_int_equal(fx->picture->group_count, 0);
	assert_null(fx->picture->totals);
	assert_null(fx->picture->parent);
}

/* Units by pid, each process's in the order its source gave them;
 * processes by pid; counted per state and per process. */
static void test_finish_orders_and_counts(void **state)
{
	struct fixture *fx = *state;
	const struct pw_picture *picture;
	static const __u64 order[] = { 10, 11, 12, 31, 32, 33, 34 };

	build_three(fx);
	picture = fx->picture;
	assert_int_equal(picture->unit_count, 7);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(picture->units[i].id, order[i]);
	assert_int_equal(picture->proc_count, 3);
	assert_int_equal(picture->procs[0].pid, 10);
	assert_int_equal(picture->procs[1].pid, 20);
	assert_int_equal(picture->procs[2].pid, 30);
	assert_int_equal(picture->parked_count, 4);
	assert_int_equal(picture->state_counts[PW_STATE_SLEEPING], 4);
	assert_int_equal(picture->state_counts[PW_STATE_RUNNING], 2);
	assert_int_equal(picture->state_counts[PW_STATE_STOPPED], 1);
	assert_int_equal(picture->state_counts[PW_STATE_RUNNABLE], 0);
	assert_int_equal(picture->state_counts[PW_STATE_DISK_SLEEP], 0);
	assert_int_equal(picture->procs[0].units, 3);
	assert_int_equal(picture->procs[0].parked, 2);
	assert_int_equal(picture->procs[1].units, 0);
	assert_int_equal(picture->procs[1].parked, 0);
	assert_int_equal(picture->procs[2].units, 4);
	assert_int_equal(picture->procs[2].parked, 2);
	/* finishing again (after more units, say) counts afresh */
	assert_int_equal(picture__finish(fx->picture), 0);
	assert_int_equal(picture->parked_count, 4);
	assert_int_equal(picture->procs[2].units, 4);
	assert_int_equal(picture->state_counts[PW_STATE_SLEEPING], 4);
	/* three groups: a in 30 (2), a in 10, b in 10 */
	assert_int_equal(picture->group_count, 3);
	assert_int_equal(picture->groups[0].pid, 30);
	assert_int_equal(picture->groups[0].count, 2);
}

/* A runtime goroutine counts for its process apart, in no state. */
static void test_finish_system_goroutines(void **state)
{
	struct fixture *fx = *state;
	struct pw_process *proc = add_proc(fx->picture, 50, "gosrv", NULL);
	struct pw_goroutine *user = picture__add_goroutines(fx->picture, 1);
	struct pw_goroutine *runtime = picture__add_goroutines(fx->picture, 1);
	struct pw_unit *units = picture__add_units(fx->picture, 2);

	assert_non_null(user);
	assert_non_null(runtime);
	assert_non_null(units);
	proc->unit_kind = PW_UNIT_GOROUTINE;
	runtime->system = true;
	for (int i = 0; i < 2; i++) {
		units[i].kind = PW_UNIT_GOROUTINE;
		units[i].pid = 50;
		units[i].id = i + 1;
		units[i].parked = true;
		units[i].state = PW_STATE_SLEEPING;
		units[i].wait.reason = "chan receive";
		units[i].go = i ? runtime : user;
	}
	regroup(fx->picture);
	proc = (struct pw_process *)picture__process(fx->picture, 50);
	assert_int_equal(proc->units, 1);
	assert_int_equal(proc->system_units, 1);
	assert_int_equal(proc->parked, 1);
	assert_int_equal(fx->picture->parked_count, 1);
	assert_int_equal(fx->picture->state_counts[PW_STATE_SLEEPING], 1);
	assert_int_equal(fx->picture->group_count, 1);
	assert_int_equal(fx->picture->groups[0].count, 1);
	assert_ptr_equal(picture__goroutine_process(fx->picture), proc);
}

static void test_finish_unit_without_process(void **state)
{
	struct fixture *fx = *state;

	add_proc(fx->picture, 10, "ten", NULL);
	add_thread(fx->picture, 10, 10, NULL, false, 0, NULL);
	add_thread(fx->picture, 11, 11, "sleep", true, SEC, NULL);
	assert_int_equal(picture__finish(fx->picture), -EINVAL);
}

static void test_process(void **state)
{
	struct fixture *fx = *state;
	const struct pw_process *proc;

	assert_null(picture__process(fx->picture, 10)); /* empty */
	build_three(fx);
	for (size_t i = 0; i < fx->picture->proc_count; i++)
		assert_ptr_equal(picture__process(fx->picture, fx->picture->procs[i].pid),
				 &fx->picture->procs[i]);
	proc = picture__process(fx->picture, 10);
	assert_non_null(proc);
	assert_string_equal(proc->comm, "ten");
	assert_string_equal(proc->exe, "/usr/bin/ten");
	assert_int_equal(proc->unit_kind, PW_UNIT_THREAD);
	assert_null(picture__process(fx->picture, 20)->exe);
	/* below, between and above the pids there are */
	assert_null(picture__process(fx->picture, 1));
	assert_null(picture__process(fx->picture, 15));
	assert_null(picture__process(fx->picture, 25));
	assert_null(picture__process(fx->picture, 31));
	assert_null(picture__process(fx->picture, 0));
	assert_null(picture__process(fx->picture, -1));
}

static void check_view_of_30(const struct pw_picture *view, const struct pw_group *parent_group)
{
	assert_int_equal(view->unit_count, 4);
	for (size_t i = 0; i < view->unit_count; i++)
		assert_int_equal(view->units[i].pid, 30);
	assert_int_equal(view->units[0].id, 31);
	assert_int_equal(view->parked_count, 2);
	assert_int_equal(view->state_counts[PW_STATE_SLEEPING], 2);
	assert_int_equal(view->state_counts[PW_STATE_RUNNING], 1);
	assert_int_equal(view->state_counts[PW_STATE_STOPPED], 1);
	assert_int_equal(view->proc_count, 1);
	assert_int_equal(view->procs[0].pid, 30);
	assert_string_equal(view->procs[0].comm, "thirty");
	assert_ptr_equal(picture__process(view, 30), &view->procs[0]);
	assert_null(picture__process(view, 10));
	assert_int_equal(view->group_count, 1);
	assert_true(view->groups[0].signature == parent_group->signature);
	assert_int_equal(view->groups[0].count, 2);
	assert_int_equal(view->groups[0].members[0]->id, 32);
	assert_int_equal(view->groups[0].members[1]->id, 33);
	assert_ptr_equal(view->groups[0].stack, parent_group->stack);
	assert_true(view->time_unix_ns == 1700000000 * SEC);
	assert_true(view->time_mono_ns == 42 * SEC);
}

/* One process's view shares the whole picture's data and holds it. */
static void test_view_pid(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *view = NULL, *ten = NULL, *twenty = NULL, *nested = NULL;
	struct pw_group parent_group;

	build_three(fx);
	fx->picture->totals = totals__new();
	assert_non_null(fx->picture->totals);
	assert_int_equal(picture__view_pid(fx->picture, 30, &view), 0);
	assert_non_null(view);
	assert_ptr_equal(view->parent, fx->picture);
	assert_int_equal(fx->picture->refs, 2);
	assert_ptr_equal(view->totals, fx->picture->totals);
	assert_ptr_equal(view->procs, picture__process(fx->picture, 30));
	assert_true(view->units >= fx->picture->units &&
		    view->units + view->unit_count <= fx->picture->units + fx->picture->unit_count);
	parent_group = fx->picture->groups[0];
	check_view_of_30(view, &parent_group);
	assert_ptr_equal(view->groups[0].members[0], fx->picture->groups[0].members[0]);
	assert_null(picture__goroutine_process(view));

	assert_int_equal(picture__view_pid(fx->picture, 10, &ten), 0);
	assert_int_equal(ten->unit_count, 3);
	assert_int_equal(ten->group_count, 2);
	assert_int_equal(ten->parked_count, 2);
	for (size_t g = 0; g < ten->group_count; g++)
		assert_int_equal(ten->groups[g].pid, 10);
	/* a process with no units: an empty view of it */
	assert_int_equal(picture__view_pid(fx->picture, 20, &twenty), 0);
	assert_int_equal(twenty->unit_count, 0);
	assert_int_equal(twenty->group_count, 0);
	assert_int_equal(twenty->proc_count, 1);
	/* no such process */
	assert_int_equal(picture__view_pid(fx->picture, 99, &nested), -ENOENT);
	assert_null(nested);
	/* a view of a view */
	assert_int_equal(picture__view_pid(view, 30, &nested), 0);
	check_view_of_30(nested, &parent_group);
	{
		struct pw_picture *none = NULL;

		assert_int_equal(picture__view_pid(view, 10, &none), -ENOENT);
		assert_null(none);
	}

	/* the view outlives the caller's reference to the whole picture */
	picture__put(fx->picture);
	fx->picture = NULL;
	check_view_of_30(view, &parent_group);
	assert_string_equal(symbol__function(view->groups[0].stack->symbols[1]), "worker");
	picture__put(ten);
	picture__put(twenty);
	picture__put(view);
	check_view_of_30(nested, &parent_group);
	picture__put(nested);
}

/* One stack per (process, frames): shared by units, symbols held. */
static void test_intern_stack(void **state)
{
	struct fixture *fx = *state;
	const struct symbol *symbols[] = { fx->leaf, fx->caller, fx->caller };
	struct stack_frame frames[3];
	const struct pw_stack *a, *again, *other_pid, *truncated, *hidden;

	for (int i = 0; i < 3; i++)
		frames[i] = (struct stack_frame){ pcs_a[i], i ? pcs_a[i] - 1 : pcs_a[i] };
	a = picture__intern_stack(fx->picture, 10, frames, symbols, 3, 3, false);
	assert_non_null(a);
	assert_int_equal(a->depth, 3);
	assert_int_equal(a->full_depth, 3);
	assert_false(a->truncated);
	assert_true(a->signature != 0);
	for (int i = 0; i < 3; i++) {
		assert_true(a->frames[i].pc == pcs_a[i]);
		assert_ptr_equal(a->symbols[i], symbols[i]);
	}
	/* the picture copied the frames and took a reference per frame */
	assert_ptr_not_equal(a->frames, frames);
	assert_int_equal(fx->leaf->refs, 2);
	assert_int_equal(fx->caller->refs, 3);
	again = picture__intern_stack(fx->picture, 10, frames, symbols, 3, 3, false);
	assert_ptr_equal(again, a);
	assert_int_equal(fx->leaf->refs, 2);
	/* another process: its own stack, the same signature */
	other_pid = picture__intern_stack(fx->picture, 11, frames, symbols, 3, 3, false);
	assert_non_null(other_pid);
	assert_ptr_not_equal(other_pid, a);
	assert_true(other_pid->signature == a->signature);
	/* a walk that stopped early, or a tail hidden from dumps, is another stack */
	truncated = picture__intern_stack(fx->picture, 10, frames, symbols, 3, 3, true);
	assert_ptr_not_equal(truncated, a);
	assert_true(truncated->truncated);
	assert_true(truncated->signature != a->signature);
	hidden = picture__intern_stack(fx->picture, 10, frames, symbols, 2, 3, false);
	assert_ptr_not_equal(hidden, a);
	assert_int_equal(hidden->depth, 2);
	assert_int_equal(hidden->full_depth, 3);
	/* a different pc */
	frames[1].pc++;
	assert_true(picture__intern_stack(fx->picture, 10, frames, symbols, 3, 3, false)->signature !=
		    a->signature);
	/* the references go with the picture */
	picture__put(fx->picture);
	fx->picture = NULL;
	assert_int_equal(fx->leaf->refs, 1);
	assert_int_equal(fx->caller->refs, 1);
}

/* The same stack in another picture has the same signature. */
static void test_stack_signature_stable(void **state)
{
	struct fixture *fx = *state;
	const struct symbol *symbols[] = { fx->leaf, fx->caller, fx->caller };
	struct pw_picture *other = picture__new();
	const struct pw_stack *mine, *theirs;

	assert_non_null(other);
	stack(fx, 10, pcs_b, 2); /* something interned first, in this picture only */
	mine = stack(fx, 10, pcs_a, 3);
	theirs = make_stack(other, 10, pcs_a, symbols, 3);
	assert_ptr_not_equal(mine, theirs);
	assert_true(mine->signature == theirs->signature);
	picture__put(other);
}

static void test_strings_copies_and_symbols(void **state)
{
	struct fixture *fx = *state;
	char text[] = "chan receive";
	static const __u64 kstack[] = { 0xffffffff81000000ULL, 0xffffffff81000100ULL };
	const char *first, *again;
	const __u64 *copy;

	first = picture__string(fx->picture, text);
	assert_non_null(first);
	assert_ptr_not_equal(first, text);
	assert_string_equal(first, "chan receive");
	again = picture__string(fx->picture, "chan receive");
	assert_ptr_equal(again, first);
	assert_ptr_not_equal(picture__string(fx->picture, "chan send"), first);
	assert_string_equal(picture__string(fx->picture, ""), "");
	assert_null(picture__string(fx->picture, NULL));
	/* the copy does not follow the original */
	text[0] = 'C';
	assert_string_equal(first, "chan receive");

	copy = picture__copy(fx->picture, kstack, sizeof(kstack));
	assert_non_null(copy);
	assert_ptr_not_equal(copy, kstack);
	assert_memory_equal(copy, kstack, sizeof(kstack));
	assert_non_null(picture__copy(fx->picture, kstack, 0));

	assert_ptr_equal(picture__hold_symbol(fx->picture, fx->caller), fx->caller);
	assert_ptr_equal(picture__hold_symbol(fx->picture, fx->caller), fx->caller);
	assert_int_equal(fx->caller->refs, 2); /* held once, however often it is named */
	/* goroutine extras start zeroed */
	{
		struct pw_goroutine *go = picture__add_goroutines(fx->picture, 1);
		struct pw_goroutine zero = { 0 };

		assert_non_null(go);
		assert_memory_equal(go, &zero, sizeof(zero));
	}
	picture__put(fx->picture);
	fx->picture = NULL;
	assert_int_equal(fx->caller->refs, 1);
}

/* A picture stays readable after every reference its maker held is gone:
 * the symbol cache of a process that exited, say. */
static void test_outlives_its_sources(void **state)
{
	struct fixture *fx = *state;
	struct symbol *cached = make_symbol("/opt/app/bin/server", 0x400000, 0x405000, NULL, 0x12ff,
					    1);
	const struct symbol *symbols[] = { fx->leaf, cached };
	const struct pw_stack *kept;
	__u64 pcs[] = { 0x7f0000001000, 0x401300 };

	set_frame(cached, 0, "main", "/src/server.c", 99, 0, false);
	kept = make_stack(fx->picture, 10, pcs, symbols, 2);
	add_proc(fx->picture, 10, "ten", NULL);
	add_thread(fx->picture, 10, 11, "cond wait", false, SEC, kept);
	regroup(fx->picture);
	symbol__put(cached); /* the cache is gone */
	pcs[1] = 0;          /* and so is the caller's array */
	assert_int_equal(fx->picture->group_count, 1);
	assert_string_equal(symbol__function(fx->picture->groups[0].stack->symbols[1]), "main");
	assert_string_equal(fx->picture->groups[0].stack->symbols[1]->module,
			    "/opt/app/bin/server");
	assert_true(fx->picture->groups[0].stack->frames[1].pc == 0x401300);
	assert_ptr_equal(fx->picture->groups[0].where,
			 &fx->picture->groups[0].stack->symbols[1]->frames[0]);
}

static void test_goroutine_process_and_timeout_name(void **state)
{
	struct fixture *fx = *state;
	struct pw_process *go;

	assert_null(picture__goroutine_process(fx->picture)); /* no process */
	go = add_proc(fx->picture, 10, "gosrv", NULL);
	go->unit_kind = PW_UNIT_GOROUTINE;
	assert_int_equal(picture__finish(fx->picture), 0);
	assert_ptr_equal(picture__goroutine_process(fx->picture), &fx->picture->procs[0]);
	add_proc(fx->picture, 5, "other", NULL);
	assert_int_equal(picture__finish(fx->picture), 0);
	assert_null(picture__goroutine_process(fx->picture)); /* two processes */
	fx->picture->proc_count = 1; /* pid 5 alone, a thread process */
	assert_null(picture__goroutine_process(fx->picture));
	fx->picture->proc_count = 2;

	assert_string_equal(picture__timeout_name(true), "finite");
	assert_string_equal(picture__timeout_name(false), "none");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_references),
		TEST(test_finish_orders_and_counts),
		TEST(test_finish_system_goroutines),
		TEST(test_finish_unit_without_process),
		TEST(test_process),
		TEST(test_view_pid),
		TEST(test_intern_stack),
		TEST(test_stack_signature_stable),
		TEST(test_strings_copies_and_symbols),
		TEST(test_outlives_its_sources),
		TEST(test_goroutine_process_and_timeout_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
