// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the goroutine source (user/collect/goroutines.c) on a child
 * running build/targets/go/1.19/leaky (make targets builds it), whose start-up
 * leaks are known: no root (a parent may read its child), no BPF.  Its
 * goroutines go into pictures the way the collector makes them, and the
 * pictures are checked as units and groups, and across pictures for their
 * ages (tests/unit/out/test_render_goroutines.c writes them).  The comparison with the
 * runtime's own dumps is go_oracle.py's.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/goroutines.h"
#include "go/goproc.h"
#include "model/group.h"
#include "support/fixtures.h"
#include "support/leaky.h"

#define NO_SUCH_PID 0x7ffffff0

_Static_assert(sizeof(((struct pw_unit *)0)->id) == 8, "a unit's id holds a 64-bit goid");

static struct procs *procs;
static struct goroutines *goroutines;
static pid_t leaky_pid;

static int group_setup(void **state)
{
	char path[512];

	(void)state;
	leaky_pid = start_leaky(leaky_path("", path, sizeof(path)));
	if (leaky_pid < 0)
		return -1;
	procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	goroutines = goroutines__new(true);
	return procs && goroutines ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	goroutines__free(goroutines);
	procs__free(procs);
	stop_leaky(leaky_pid);
	return 0;
}

/* One tick's picture of pid's goroutines, as the collector takes it:
 * goroutines__add inside a procs snapshot, finished, grouped. */
static int take(pid_t pid, __u64 now_ns, struct pw_picture **out)
{
	struct pw_picture *picture = picture__new();
	struct proc *proc;
	int err;

	assert_non_null(picture);
	picture->time_mono_ns = now_ns;
	procs__begin(procs);
	proc = procs__get(procs, pid);
	assert_non_null(proc);
	err = goroutines__add(goroutines, picture, proc, now_ns, NULL);
	procs__end(procs);
	goroutines__prune(goroutines);
	if (!err)
		err = group__finish(picture);
	if (err) {
		/* nothing of the process was added */
		assert_int_equal(picture->unit_count, 0);
		assert_int_equal(picture->proc_count, 0);
		picture__put(picture);
		return err;
	}
	*out = picture;
	return 0;
}

static struct pw_picture *picture_at(__u64 now_ns)
{
	struct pw_picture *picture = NULL;

	assert_int_equal(take(leaky_pid, now_ns, &picture), 0);
	assert_non_null(picture);
	return picture;
}

static bool frame_is(const struct symbol_frame *frame, const char *function)
{
	return frame->function && !strcmp(frame->function, function);
}

/* Whether a frame dumps show names function (frames past depth not). */
static bool stack_has(const struct pw_stack *stack, const char *function)
{
	for (int i = 0; stack && i < stack->depth; i++)
		for (int j = 0; j < stack->symbols[i]->frame_count; j++)
			if (frame_is(&stack->symbols[i]->frames[j], function))
				return true;
	return false;
}

static const struct pw_group *group_with(const struct pw_picture *picture, const char *function)
{
	for (size_t g = 0; g < picture->group_count; g++)
		if (stack_has(picture->groups[g].stack, function))
			return &picture->groups[g];
	return NULL;
}

static const char *creator_of(const struct pw_unit *unit)
{
	return unit->go ? symbol__function(unit->go->creator) : NULL;
}

static void test_not_go(void **state)
{
	struct pw_picture *picture = (struct pw_picture *)1;

	(void)state;
	assert_int_equal(take(getpid(), 1000, &picture), -ENOEXEC);
	assert_ptr_equal(picture, (struct pw_picture *)1);
	/* a process that does not exist */
	assert_int_not_equal(take(NO_SUCH_PID, 1000, &picture), 0);
	goroutines__free(NULL);
	assert_non_null(strstr(goroutines__strerror(-ENOEXEC), "not a Go program"));
	assert_non_null(strstr(goroutines__strerror(-ENODATA), "can't be read"));
	assert_non_null(strstr(goroutines__strerror(-ESRCH), "exited"));
	assert_non_null(strstr(goroutines__strerror(-EACCES), "CAP_SYS_PTRACE"));
	assert_non_null(goroutines__strerror(-ENOMEM));
}

static void test_leaks(void **state)
{
	static const struct {
		const char *function, *reason, *creator;
		size_t count;
		bool has_timeout;
	} leaks[] = {
		{ "main.computeReply", "chan send", "main.callWithTimeout", 5, false },
		{ "main.queryStuckDependency", "sync.Cond.Wait", "main.collectReplies", 3, false },
		{ "main.waitForWorkers", NULL, NULL, 2, false },
		{ "main.waitForLock", NULL, NULL, 3, false },
		{ "main.pollForever", "chan receive", NULL, 2, false },
		{ "main.runPool", "sleep", NULL, 1, true },
	};
	struct pw_picture *picture = picture_at(1000);
	const struct pw_process *proc;

	(void)state;
	assert_int_equal(picture->proc_count, 1);
	proc = picture__process(picture, leaky_pid);
	assert_non_null(proc);
	assert_ptr_equal(picture__goroutine_process(picture), proc);
	assert_int_equal(proc->unit_kind, PW_UNIT_GOROUTINE);
	assert_non_null(strstr(proc->go_version, "go1."));
	assert_non_null(proc->exe);
	assert_true(ends_with(proc->exe, "/leaky"));
	assert_string_equal(proc->comm, "leaky");
	assert_true(proc->units >= 21);
	assert_non_null(proc->goroot_src);
	assert_true(ends_with(proc->goroot_src, "/src/"));
	for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++) {
		const struct pw_group *group = group_with(picture, leaks[i].function);

		if (!group)
			fail_msg("no group waits in %s", leaks[i].function);
		assert_int_equal(group->count, leaks[i].count);
		assert_int_equal(group->pid, leaky_pid);
		assert_int_equal(group->kind, PW_UNIT_GOROUTINE);
		assert_true(group->parked);
		if (leaks[i].reason)
			assert_string_equal(group->reason, leaks[i].reason);
		assert_int_equal(group->has_timeout, leaks[i].has_timeout);
		/* the table's WHERE: the program's own frame, with its line */
		assert_non_null(group->where);
		assert_string_equal(group->where->function, leaks[i].function);
		assert_non_null(strstr(group->where->file, "/leaky/main.go"));
		assert_true(group->where->line > 0);
		for (size_t m = 0; m < group->count; m++) {
			const struct pw_unit *member = group->members[m];

			assert_int_equal(member->kind, PW_UNIT_GOROUTINE);
			assert_int_equal(member->pid, leaky_pid);
			assert_ptr_equal(member->stack, group->stack);
			assert_string_equal(member->wait.reason, group->reason);
			assert_true(member->parked);
			assert_non_null(member->go);
			assert_false(member->go->system);
			assert_string_equal(member->go->status, "waiting");
			/* created by: the function of the `go` statement */
			assert_true(member->go->gopc != 0);
			assert_non_null(creator_of(member));
			if (leaks[i].creator)
				assert_string_equal(creator_of(member), leaks[i].creator);
		}
	}
	picture__put(picture);
}

static void test_goroutines(void **state)
{
	struct pw_picture *picture = picture_at(1000);
	const struct pw_process *proc = &picture->procs[0];
	size_t users = 0, system = 0, main_seen = 0, grouped = 0;

	(void)state;
	assert_true(picture->unit_count > proc->units); /* the runtime's own are there too */
	for (size_t i = 0; i < picture->unit_count; i++) {
		const struct pw_unit *g = &picture->units[i];
		const struct pw_stack *stack = g->stack;

		assert_int_equal(g->kind, PW_UNIT_GOROUTINE);
		assert_true(g->id > 0);
		assert_non_null(g->go);
		assert_non_null(g->go->status);
		assert_ptr_equal(g->state_name, g->go->status);
		assert_non_null(g->wait.reason);
		assert_string_equal(g->comm, proc->comm);
		assert_true(g->go->system == !group__includes(g));
		users += !g->go->system;
		system += g->go->system;
		if (g->go->wait_reason) {
			assert_string_equal(g->go->status, "waiting");
			assert_string_equal(g->wait.reason, g->go->wait_reason);
		} else {
			assert_string_equal(g->wait.reason, g->go->status);
		}
		assert_int_equal(g->parked, !strcmp(g->go->status, "waiting"));
		assert_int_equal(g->parked, g->state == PW_STATE_SLEEPING);
		if (g->id == 1) {
			main_seen++;
			assert_true(stack_has(stack, "main.main"));
		}
		if (!stack)
			continue;
		/* runtime.goexit ends a complete stack and is never shown, but
		 * profiles keep it past depth */
		assert_true(stack->full_depth == stack->depth ||
			    stack->full_depth == stack->depth + 1);
		if (stack->full_depth == stack->depth + 1)
			assert_string_equal(symbol__function(stack->symbols[stack->depth]),
					    "runtime.goexit");
		for (int f = 0; f < stack->full_depth; f++) {
			const struct symbol *symbol = stack->symbols[f];

			assert_non_null(symbol);
			for (int j = 0; j < symbol->frame_count; j++) {
				const char *name = symbol->frames[j].function;
				size_t len = name ? strlen(name) : 0;

				if (f < stack->depth)
					assert_false(name && !strcmp(name, "runtime.goexit"));
				assert_false(len > 5 && !strcmp(name + len - 5, ".abi0"));
			}
		}
	}
	for (size_t g = 0; g < picture->group_count; g++) {
		grouped += picture->groups[g].count;
		for (size_t m = 0; m < picture->groups[g].count; m++)
			assert_int_equal(picture->groups[g].members[m]->parked,
					 picture->groups[g].parked);
	}
	/* every user goroutine is in a group, parked or not */
	assert_int_equal(grouped, users);
	assert_int_equal(users, proc->units);
	assert_int_equal(system, proc->system_units);
	assert_int_equal(main_seen, 1);
	assert_int_equal(picture->parked_count, proc->parked);
	picture__put(picture);
}

/*
 * Ids are the runtime's 64-bit goids, untouched: the leaked goroutines
 * (which never change) are found in a fresh read of allgs with the same
 * goid, creator and status.
 */
static void test_ids_are_goids(void **state)
{
	struct pw_picture *picture = picture_at(1000);
	const struct pw_group *leak = group_with(picture, "main.computeReply");
	struct goproc *reader = NULL;
	struct goroutine *gs = NULL;
	size_t count = 0;

	(void)state;
	assert_non_null(leak);
	assert_int_equal(goproc__open(leaky_pid, NULL, &reader, NULL, 0), 0);
	assert_int_equal(goproc__read(reader, &gs, &count, NULL), 0);
	for (size_t m = 0; m < leak->count; m++) {
		const struct pw_unit *unit = leak->members[m];
		const struct goroutine *found = NULL;

		for (size_t i = 0; i < count && !found; i++)
			if (gs[i].goid == unit->id)
				found = &gs[i];
		assert_non_null(found);
		assert_true(found->gopc == unit->go->gopc);
		assert_true(found->parent_goid == unit->go->parent_goid);
		assert_int_equal(found->status, GO_STATUS_WAITING);
	}
	/* and no two units share one */
	for (size_t i = 0; i < picture->unit_count; i++)
		for (size_t j = 0; j < i; j++)
			assert_true(picture->units[i].id != picture->units[j].id);
	goproc__free_goroutines(gs);
	goproc__free(reader);
	picture__put(picture);
}

/*
 * The frames Go's tracebacks leave out are left out: the wrapper of `go
 * computeReply(ctx, reply)` is in the runtime's stack of those goroutines
 * but in no picture stack, shown or hidden, and the goroutine's first
 * shown frame is computeReply itself.
 */
static void test_wrappers_hidden(void **state)
{
	struct pw_picture *picture = picture_at(1000);
	const struct pw_group *leak = group_with(picture, "main.computeReply");
	const struct pw_stack *stack;
	struct goproc *reader = NULL;
	struct goroutine *gs = NULL;
	size_t count = 0;
	int wrappers = 0, raw_depth = -1;

	(void)state;
	assert_non_null(leak);
	stack = leak->stack;
	assert_string_equal(symbol__function(stack->symbols[stack->depth - 1]), "main.computeReply");
	assert_int_equal(stack->full_depth, stack->depth + 1);
	assert_int_equal(goproc__open(leaky_pid, NULL, &reader, NULL, 0), 0);
	assert_int_equal(goproc__read(reader, &gs, &count, NULL), 0);
	for (size_t i = 0; i < count; i++) {
		if (gs[i].goid != leak->members[0]->id)
			continue;
		raw_depth = gs[i].depth;
		for (int f = 0; f < gs[i].depth; f++)
			wrappers += goproc__is_wrapper(reader, goroutine__lookup_pc(&gs[i], f));
	}
	assert_true(raw_depth > 0);
	/* what the runtime has, less the wrappers: what the picture keeps */
	assert_int_equal(raw_depth - wrappers, stack->full_depth);
	for (size_t u = 0; u < picture->unit_count; u++) {
		const struct pw_stack *s = picture->units[u].stack;

		for (int f = 0; s && f < s->full_depth; f++)
			assert_false(goproc__is_wrapper(reader, s->frames[f].lookup_pc));
	}
	print_message("computeReply: %d frames in the runtime, %d of them wrappers, %d shown\n",
		      raw_depth, wrappers, stack->depth);
	goproc__free_goroutines(gs);
	goproc__free(reader);
	picture__put(picture);
}

static void test_signatures_stable(void **state)
{
	struct pw_picture *first = picture_at(1000), *second = picture_at(2000);
	const char *functions[] = { "main.computeReply", "main.waitForLock", "main.pollForever" };

	(void)state;
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		const struct pw_group *a = group_with(first, functions[i]);
		const struct pw_group *b = group_with(second, functions[i]);

		assert_non_null(a);
		assert_non_null(b);
		assert_true(a->signature == b->signature);
		assert_true(a->stack->signature == b->stack->signature);
		for (size_t j = 0; j < i; j++)
			assert_true(a->signature != group_with(first, functions[j])->signature);
	}
	picture__put(first);
	picture__put(second);
}

static void test_ages_across_pictures(void **state)
{
	struct pw_picture *first, *second;
	const struct pw_group *leak, *later;
	__u64 prev_start = 0;
	size_t parked = 0;

	(void)state;
	/* a fresh source: nothing seen yet */
	goroutines__free(goroutines);
	goroutines = goroutines__new(true);
	assert_non_null(goroutines);
	first = picture_at(1000000);
	leak = group_with(first, "main.computeReply");
	assert_non_null(leak);
	assert_int_equal(leak->count, 5);
	assert_string_equal(leak->reason, "chan send");
	assert_string_equal(leak->where->function, "main.computeReply");
	assert_non_null(leak->members[0]->stack);
	assert_string_equal(creator_of(leak->members[0]), "main.callWithTimeout");
	for (size_t i = 0; i < first->unit_count; i++) {
		const struct pw_unit *g = &first->units[i];

		if (!g->parked) {
			assert_true(g->park_start_ns == 0 && g->park_ns == 0);
			continue;
		}
		parked++;
		assert_true(g->park_start_ns >= 1000000);
		assert_true(g->park_start_ns > prev_start);
		assert_true(g->park_ns == 0); /* first seen now */
		assert_false(g->park_start_estimated);
		prev_start = g->park_start_ns;
	}
	assert_true(parked >= 16); /* the start-up leaks at least */

	second = picture_at(6000000);
	later = group_with(second, "main.computeReply");
	assert_non_null(later);
	assert_true(later->signature == leak->signature);
	assert_int_equal(later->count, 5);
	for (size_t m = 0; m < later->count; m++) {
		const struct pw_unit *g = later->members[m];

		assert_true(g->park_start_ns >= 1000000 && g->park_start_ns < 1000000 + parked);
		assert_true(g->park_ns == 6000000 - g->park_start_ns);
		/* oldest first: the earliest first sighting */
		assert_true(m == 0 || g->park_start_ns > later->members[m - 1]->park_start_ns);
	}
	assert_true(later->oldest_park_ns > 4990000);
	assert_true(later->oldest_park_ns == later->members[0]->park_ns);
	picture__put(first);
	picture__put(second);
}

/* The source keeps a process's ages while each tick reads it; a tick that
 * doesn't (its prune) forgets them: its goroutines are new again. */
static void test_prune_forgets(void **state)
{
	struct pw_picture *first, *again;
	const struct pw_group *leak;

	(void)state;
	first = picture_at(20000000);
	picture__put(first);
	again = picture_at(21000000); /* read on every tick: kept */
	leak = group_with(again, "main.computeReply");
	assert_non_null(leak);
	assert_true(leak->members[0]->park_start_ns < 20000000);
	picture__put(again);
	goroutines__prune(goroutines); /* a tick that did not read it */
	again = picture_at(30000000);
	leak = group_with(again, "main.computeReply");
	assert_non_null(leak);
	for (size_t m = 0; m < leak->count; m++)
		assert_true(leak->members[m]->park_start_ns >= 30000000);
	picture__put(again);
}

/*
 * The same program built without DWARF (runtime.g's layout from the
 * per-version table), as PIE, and stripped of its symbol table (the
 * runtime's variables found in its code) reads the same.
 */
static void test_build_variants(void **state)
{
	static const char *const readable[] = { "-nodwarf", "-pie", "-stripped" };
	char path[512];
	struct pw_picture *picture = NULL;
	pid_t pid;

	(void)state;
	for (size_t v = 0; v < sizeof(readable) / sizeof(readable[0]); v++) {
		const struct pw_group *leak;

		pid = start_leaky(leaky_path(readable[v], path, sizeof(path)));
		assert_true(pid > 0);
		assert_int_equal(take(pid, 1000, &picture), 0);
		leak = group_with(picture, "main.computeReply");
		if (!leak)
			fail_msg("%s: no computeReply group", readable[v]);
		assert_int_equal(leak->count, 5);
		assert_string_equal(leak->reason, "chan send");
		assert_string_equal(creator_of(leak->members[0]), "main.callWithTimeout");
		assert_non_null(leak->where);
		assert_string_equal(leak->where->function, "main.computeReply");
		picture__put(picture);
		stop_leaky(pid);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_leaks),
		cmocka_unit_test(test_goroutines),
		cmocka_unit_test(test_ids_are_goids),
		cmocka_unit_test(test_wrappers_hidden),
		cmocka_unit_test(test_signatures_stable),
		cmocka_unit_test(test_ages_across_pictures),
		cmocka_unit_test(test_prune_forgets),
		cmocka_unit_test(test_build_variants),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
