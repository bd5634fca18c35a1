// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the JSON document (user/out/json.c), one schema for threads
 * and goroutines, on the pictures of support/dump_sample.h and
 * support/go_sample.h.  No BPF, no process is looked at.
 */
#include "model/totals.h"
#include "out/render.h"
#include "support/dump_sample.h"
#include "support/go_sample.h"
#include "support/lock_sample.h"

/* Checks that out is one line of JSON whose strings are closed and whose
 * braces and brackets nest properly. */
static void check_json_shape(const char *out)
{
	size_t len = strlen(out);
	char nesting[64];
	int depth = 0;
	bool in_string = false;

	assert_true(len > 2);
	assert_true(out[0] == '{');
	assert_true(out[len - 1] == '\n');
	assert_true(out[len - 2] == '}');
	assert_null(memchr(out, '\n', len - 1));
	for (size_t i = 0; i < len - 1; i++) {
		char c = out[i];

		assert_true((unsigned char)c >= 0x20);
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '{':
		case '[':
			assert_true(depth < (int)sizeof(nesting));
			nesting[depth++] = c;
			break;
		case '}':
			assert_true(depth > 0 && nesting[depth - 1] == '{');
			depth--;
			assert_true(depth > 0 || i == len - 2);
			break;
		case ']':
			assert_true(depth > 0 && nesting[depth - 1] == '[');
			depth--;
			break;
		default:
			break;
		}
	}
	assert_false(in_string);
	assert_int_equal(depth, 0);
}

static const char *run_json(struct dump_fixture *fx, const struct pw_picture *picture,
			    const struct pw_context *ctx, const struct render_opts *opts)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	assert_int_equal(json__write(out, picture, ctx, opts), 0);
	close_output(out, &fx->out);
	check_json_shape(fx->out);
	return fx->out;
}

static void test_json(void **state)
{
	struct dump_fixture *fx = *state;
	const pid_t exited[] = { 777, 778 };
	struct pw_context ctx = { .exited = exited, .exited_count = 2 };
	struct render_opts opts = { .debug = 2 };
	struct pw_process *app = &fx->d.picture->procs[0];
	const char *out, *processes, *units, *totals, *groups, *t4243, *t4244;

	/* a process in a container, in its own PID namespace */
	app->ns_pid = 7;
	app->cgroup = (struct pw_cgroup){
		.path = "/kubepods/burstable/pod8dbd3f6f/0123abcd", .container = "0123abcd",
		.pod = "8dbd3f6f", .qos = "burstable", .unit = "x\"y.service",
	};
	out = run_json(fx, fx->d.picture, &ctx, &opts);

	assert_true(starts_with(out, "{\"version\":\"" PARKWATCH_VERSION "\","
				     "\"time_unix_ns\":1700000000123456789,"
				     "\"units_total\":5,\"parked_total\":4,"
				     "\"states\":{\"sleeping\":4,\"disk sleep\":0,\"running\":1,"
				     "\"runnable\":0,\"stopped\":0},"));
	processes = expect(out, ",\"processes\":["
				"{\"pid\":4242,\"comm\":\"condwait\",\"exe\":\"" DUMP_APP "\","
				"\"unit_kind\":\"thread\",\"units\":3,\"parked\":2,\"ns_pid\":7,"
				"\"cgroup\":{\"path\":\"/kubepods/burstable/pod8dbd3f6f/0123abcd\","
				"\"runtime\":null,\"container\":\"0123abcd\",\"pod\":\"8dbd3f6f\","
				"\"qos\":\"burstable\",\"unit\":\"x\\\"y.service\"}},"
				"{\"pid\":5000,\"comm\":\"io\\\"x\",\"exe\":null,"
				"\"unit_kind\":\"thread\",\"units\":2,\"parked\":2,"
				"\"cgroup\":{\"path\":null,\"runtime\":null,\"container\":null,"
				"\"pod\":null,\"qos\":null,\"unit\":null}}],"
				"\"exited\":[777,778],\"units\":[");
	units = expect(out, "\"units\":[");
	totals = expect(out, "],\"park_totals\":[],\"park_histograms\":[],\"groups\":[");
	groups = expect(out, "\"groups\":[");
	assert_true(processes < units && units < totals && totals < groups);

	expect(units, "[{\"kind\":\"thread\",\"id\":4242,\"pid\":4242,\"comm\":\"condwait\","
		      "\"state\":\"running\",\"parked\":false,\"reason\":null,\"timeout\":null,"
		      "\"syscall\":null,\"park_ns\":0,\"park_start_estimated\":false,"
		      "\"stack_truncated\":false,\"frames\":[]},");
	t4243 = expect(units, "{\"kind\":\"thread\",\"id\":4243,\"pid\":4242,\"comm\":\"worker-1\","
			      "\"state\":\"sleeping\",\"parked\":true,\"reason\":\"cond wait\","
			      "\"timeout\":\"none\",\"syscall\":\"futex\",\"park_ns\":330000000000,"
			      "\"park_start_estimated\":false,\"stack_truncated\":false,\"frames\":[");
	expect(t4243, "\"frames\":[{\"address\":\"0x7f00000283c0\",\"function\":\"pthread_cond_wait\","
		      "\"module\":\"" DUMP_LIBC "\",\"offset\":\"0x283c0\",\"inlined\":false},");
	/* an inlined call is a frame of its own, at the same address */
	expect(t4243, "{\"address\":\"0x401236\",\"function\":\"check_ready\",\"file\":\"" DUMP_SOURCE
		      "\",\"line\":17,\"module\":\"" DUMP_APP "\",\"offset\":\"0x1235\","
		      "\"inlined\":true},{\"address\":\"0x401236\",\"function\":\"level_three\","
		      "\"file\":\"" DUMP_SOURCE "\",\"line\":29,\"module\":\"" DUMP_APP "\","
		      "\"offset\":\"0x1235\",\"inlined\":false},");
	/* unsymbolized: its module; unmapped: the pc alone */
	expect(t4243, "{\"address\":\"0x7f1000011234\",\"module\":\"" DUMP_PLUGIN
		      "\",\"offset\":\"0x11233\",\"inlined\":false},"
		      "{\"address\":\"0x4000\",\"offset\":\"0x4000\",\"inlined\":false}]}");
	t4244 = expect(units, "{\"kind\":\"thread\",\"id\":4244,");
	assert_true(t4243 < t4244 && t4244 < totals);
	expect(units, "{\"kind\":\"thread\",\"id\":5000,\"pid\":5000,\"comm\":\"io\\\"x\","
		      "\"state\":\"sleeping\",\"parked\":true,\"reason\":\"sleep\",\"timeout\":\"finite\","
		      "\"syscall\":\"nanosleep\",\"park_ns\":2000000000,"
		      "\"park_start_estimated\":true,\"stack_truncated\":false,\"frames\":[{");
	expect(units, "{\"kind\":\"thread\",\"id\":5001,\"pid\":5000,\"comm\":\"reader\","
		      "\"state\":\"sleeping\",\"parked\":true,\"reason\":\"IO wait (pipe)\","
		      "\"timeout\":\"finite\",\"syscall\":\"read\",\"park_ns\":340000000,"
		      "\"park_start_estimated\":false,\"stack_truncated\":false,\"frames\":[]}]");

	expect(groups, "[{\"kind\":\"thread\",\"pid\":4242,\"reason\":\"cond wait\",\"timeout\":\"none\","
		       "\"parked\":true,\"count\":2,\"oldest_park_ns\":330000000000,"
		       "\"ids\":[4243,4244],\"frames\":[{\"address\":\"0x7f00000283c0\"");
	expect(groups, "{\"kind\":\"thread\",\"pid\":5000,\"reason\":\"sleep\",\"timeout\":\"finite\","
		       "\"parked\":true,\"count\":1,\"oldest_park_ns\":2000000000,\"ids\":[5000],"
		       "\"frames\":[{");
	assert_true(ends_with(groups, "{\"kind\":\"thread\",\"pid\":5000,\"reason\":\"IO wait (pipe)\","
				      "\"timeout\":\"finite\",\"parked\":true,\"count\":1,"
				      "\"oldest_park_ns\":340000000,\"ids\":[5001],\"frames\":[],"
				      "\"objects\":0,\"deadlocked\":false,\"convoy\":false}],"
				      "\"deadlocks\":[],\"findings\":[]}\n"));
	/* nothing of goroutines, kernel stacks or trends in a thread picture */
	expect_not(out, "kernel_frames");
	expect_not(out, "goroutine");
	expect_not(out, "created_by");
	expect_not(out, "\"trend\"");
	assert_int_equal(occurrences(out, "{\"kind\":\"thread\",\"id\":"), 5);
	assert_int_equal(occurrences(out, "{\"kind\":\"thread\",\"pid\":"), 3);
}

/* A demangled frame carries its mangled name; a frame rebuilt from a tail
 * call says so; the others say nothing of either. */
static void test_json_system_name_and_tail_call(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	struct symbol *level_three = fx->d.level_three;
	const char *out;

	free(level_three->frames[1].function);
	level_three->frames[1].function = strdup("app::level_three(int)");
	level_three->frames[1].system_name = strdup("_ZN3app11level_threeEi");
	fx->d.libc_cond->frames[0].tail_call = true;
	out = run_json(fx, fx->d.picture, &ctx, &opts);
	expect(out, "{\"address\":\"0x7f00000283c0\",\"function\":\"pthread_cond_wait\","
		    "\"module\":\"" DUMP_LIBC "\",\"offset\":\"0x283c0\",\"inlined\":false,"
		    "\"tail_call\":true},");
	expect(out, "\"function\":\"app::level_three(int)\",\"system_name\":"
		    "\"_ZN3app11level_threeEi\",\"file\":\"" DUMP_SOURCE "\",\"line\":29,");
	/* once per unit and group on the stack (two units, one group) */
	assert_int_equal(occurrences(out, "\"tail_call\":true"), 3);
	assert_int_equal(occurrences(out, "\"system_name\""), 3);
}

static void test_json_kernel_frames(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2, .kernel_stacks = true };
	const char *out = run_json(fx, fx->d.picture, &ctx, &opts);

	expect(out, "\"frames\":[{\"address\":\"0x7f00000283c0\"");
	expect(out, "\"inlined\":false}],\"kernel_frames\":[{\"address\":\"0xffffffff81001010\"},"
		    "{\"address\":\"0xffffffff80000008\"}]}");
	/* every unit carries the key, empty when it has no kernel stack */
	assert_int_equal(occurrences(out, "\"kernel_frames\":"), 5);
	assert_int_equal(occurrences(out, "\"kernel_frames\":[]"), 4);

	/* with kallsyms, the addresses it knows are named */
	fx->ksyms = dump_ksyms();
	ctx.ksyms = fx->ksyms;
	out = run_json(fx, fx->d.picture, &ctx, &opts);
	expect(out, "\"kernel_frames\":[{\"address\":\"0xffffffff81001010\","
		    "\"function\":\"futex_wait_queue\",\"offset\":\"0x10\"},"
		    "{\"address\":\"0xffffffff80000008\"}]}");
}

static void test_json_empty_report(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *empty = picture__new();
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	assert_non_null(empty);
	empty->time_unix_ns = 5;
	out = run_json(fx, empty, &ctx, &opts);
	assert_string_equal(out, "{\"version\":\"" PARKWATCH_VERSION "\",\"time_unix_ns\":5,"
				 "\"units_total\":0,\"parked_total\":0,"
				 "\"states\":{\"sleeping\":0,\"disk sleep\":0,\"running\":0,"
				 "\"runnable\":0,\"stopped\":0},\"cut_short\":null,"
				 "\"processes\":[],\"exited\":[],\"units\":[],"
				 "\"park_totals\":[],\"park_histograms\":[],\"groups\":[],\"deadlocks\":[],"
			    "\"findings\":[]}\n");
	picture__put(empty);
}

/* Tier-1 totals of the picture: per (pid, reason) and the histograms of the
 * reasons that had parks, their slots up to the last used. */
static void test_json_park_totals(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *picture = fx->d.picture;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	struct pw_totals *totals = totals__new();
	const char *out;

	assert_non_null(totals);
	assert_int_equal(totals__add(totals, 4242, PARK_REASON_FUTEX, 3, 1500000000), 0);
	assert_int_equal(totals__add(totals, 5000, PARK_REASON_SLEEP, 1, 2000000000), 0);
	assert_int_equal(totals__add(totals, 4242, PARK_REASON_FUTEX, 1, 500), 0);
	totals->hists[PARK_REASON_FUTEX] = (struct park_hist){ .count = 4, .total_ns = 1500000500 };
	totals->hists[PARK_REASON_FUTEX].slots[8] = 1;
	totals->hists[PARK_REASON_FUTEX].slots[30] = 3;
	totals->hists[PARK_REASON_SLEEP] = (struct park_hist){ .count = 1, .total_ns = 2000000000 };
	totals->hists[PARK_REASON_SLEEP].slots[0] = 1;
	picture->totals = totals; /* the picture frees it */

	/* without histograms, only the totals */
	out = run_json(fx, picture, &ctx, &opts);
	expect(out, "],\"park_totals\":[{\"pid\":4242,\"reason\":\"futex\",\"count\":4,"
		    "\"total_ns\":1500000500},{\"pid\":5000,\"reason\":\"sleep\",\"count\":1,"
		    "\"total_ns\":2000000000}],\"park_histograms\":[],\"groups\":[");

	totals->has_hists = true;
	out = run_json(fx, picture, &ctx, &opts);
	expect(out, "\"park_histograms\":[{\"reason\":\"futex\",\"count\":4,\"total_ns\":1500000500,"
		    "\"log2_ns_counts\":[0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
		    "0,0,3]},{\"reason\":\"sleep\",\"count\":1,\"total_ns\":2000000000,"
		    "\"log2_ns_counts\":[1]}],\"groups\":[");
}

/* A Go process: goroutine units with their own object, runtime goroutines
 * among the units but in no count, groups of running goroutines too, with
 * their creator. */
static void test_json_goroutines(void **state)
{
	struct dump_fixture *fx = *state;
	struct go_sample g = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out, *units;

	go_sample_build(&g);
	out = run_json(fx, g.picture, &ctx, &opts);
	expect(out, "\"units_total\":7,\"parked_total\":5,\"states\":{\"sleeping\":5,"
		    "\"disk sleep\":0,\"running\":1,\"runnable\":1,\"stopped\":0},");
	expect(out, "\"processes\":[{\"pid\":7000,\"comm\":\"gosrv\",\"exe\":\"" GO_EXE "\","
		    "\"unit_kind\":\"goroutine\",\"units\":7,\"parked\":5,"
		    "\"cgroup\":{\"path\":null,\"runtime\":null,\"container\":null,"
		    "\"pod\":null,\"qos\":null,\"unit\":null},"
		    "\"goroutine\":{\"go_version\":\"go1.22.1\",\"system_goroutines\":1,"
		    "\"dropped\":0,\"cut_short\":null}}]");
	units = expect(out, "\"units\":[");
	/* goroutine 1: no creator; its frames stop before runtime.goexit */
	expect(units, "[{\"kind\":\"goroutine\",\"id\":1,\"pid\":7000,\"comm\":\"gosrv\","
		      "\"state\":\"waiting\",\"parked\":true,\"reason\":\"select\",\"timeout\":\"none\","
		      "\"syscall\":null,\"park_ns\":180000000000,\"park_start_estimated\":false,"
		      "\"stack_truncated\":false,\"frames\":[{\"address\":\"0x43a1ae\","
		      "\"function\":\"runtime.gopark\",");
	expect(units, "\"function\":\"runtime.main\",\"file\":\"" GO_RUNTIME_SRC "proc.go\","
		      "\"line\":267,\"module\":\"" GO_EXE "\",\"offset\":\"0x3a55a\","
		      "\"inlined\":false}],\"goroutine\":{\"status\":\"waiting\","
		      "\"wait_reason\":\"select\",\"wait_ns\":180000000000,\"parent_goid\":null,"
		      "\"tid\":null,\"created_by\":null,\"system\":false,\"locked\":false}}");
	expect(units, "{\"kind\":\"goroutine\",\"id\":2,");
	expect(units, "\"goroutine\":{\"status\":\"waiting\",\"wait_reason\":\"force gc (idle)\","
		      "\"wait_ns\":null,\"parent_goid\":null,\"tid\":null,\"created_by\":null,"
		      "\"system\":true,\"locked\":false}}");
	expect(units, "{\"kind\":\"goroutine\",\"id\":18,\"pid\":7000,\"comm\":\"gosrv\","
		      "\"state\":\"waiting\",\"parked\":true,\"reason\":\"chan receive\","
		      "\"timeout\":\"none\",\"syscall\":null,\"park_ns\":50000000000,");
	expect(units, "\"goroutine\":{\"status\":\"waiting\",\"wait_reason\":\"chan receive\","
		      "\"wait_ns\":125000000000,\"parent_goid\":1,\"tid\":null,"
		      "\"created_by\":\"main.main\",\"system\":false,\"locked\":false}}");
	/* not waiting: the status is the reason */
	expect(units, "{\"kind\":\"goroutine\",\"id\":21,\"pid\":7000,\"comm\":\"gosrv\","
		      "\"state\":\"running\",\"parked\":false,\"reason\":\"running\","
		      "\"timeout\":\"none\",\"syscall\":null,\"park_ns\":0,"
		      "\"park_start_estimated\":false,\"stack_truncated\":false,\"frames\":[],"
		      "\"goroutine\":{\"status\":\"running\",\"wait_reason\":null,\"wait_ns\":null,"
		      "\"parent_goid\":1,\"tid\":7003,\"created_by\":\"main.main\","
		      "\"system\":false,\"locked\":true}}");
	expect(units, "{\"kind\":\"goroutine\",\"id\":23,\"pid\":7000,\"comm\":\"gosrv\","
		      "\"state\":\"waiting\",\"parked\":true,\"reason\":\"sleep\","
		      "\"timeout\":\"finite\",\"syscall\":null,\"park_ns\":1000000000,"
		      "\"park_start_estimated\":false,\"stack_truncated\":true,\"frames\":[");
	expect_not(out, "runtime.goexit");
	assert_int_equal(occurrences(out, "{\"kind\":\"goroutine\",\"id\":"), 8);

	expect(out, "\"groups\":[{\"kind\":\"goroutine\",\"pid\":7000,\"reason\":\"chan receive\","
		    "\"timeout\":\"none\",\"parked\":true,\"count\":3,\"oldest_park_ns\":50000000000,"
		    "\"ids\":[18,19,20],\"frames\":[");
	expect(out, "\"inlined\":false}],\"created_by\":\"main.main\",\"objects\":0,"
		    "\"deadlocked\":false,\"convoy\":false},");
	expect(out, "{\"kind\":\"goroutine\",\"pid\":7000,\"reason\":\"running\",\"timeout\":\"none\","
		    "\"parked\":false,\"count\":1,\"oldest_park_ns\":0,\"ids\":[21],\"frames\":[],"
		    "\"created_by\":\"main.main\",\"objects\":0,\"deadlocked\":false,"
		    "\"convoy\":false}");
	expect(out, "{\"kind\":\"goroutine\",\"pid\":7000,\"reason\":\"select\",\"timeout\":\"none\","
		    "\"parked\":true,\"count\":1,\"oldest_park_ns\":180000000000,\"ids\":[1],");
	expect(out, "\"inlined\":false}],\"created_by\":null,\"objects\":0,"
		    "\"deadlocked\":false,\"convoy\":false}");
	assert_int_equal(occurrences(out, "{\"kind\":\"goroutine\",\"pid\":"), 5);
	go_sample_free(&g);
}

/* Where reading stopped early: the picture (a stop), the process (a budget). */
static void test_json_cut_short(void **state)
{
	struct dump_fixture *fx = *state;
	struct go_sample g = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	go_sample_build(&g);
	g.picture->cut_short = BUDGET_CUT_STOPPED;
	g.picture->procs[0].cut_short = BUDGET_CUT_MEMORY;
	out = run_json(fx, g.picture, &ctx, &opts);
	expect(out, "\"stopped\":0},\"cut_short\":\"stopped\",\"processes\":[");
	expect(out, "\"dropped\":0,\"cut_short\":\"memory_budget\"}}]");
	g.picture->procs[0].cut_short = BUDGET_CUT_TIME;
	out = run_json(fx, g.picture, &ctx, &opts);
	expect(out, "\"dropped\":0,\"cut_short\":\"time_budget\"}}]");
	go_sample_free(&g);
}

/* Names that are not UTF-8: ill-formed bytes become U+FFFD, control
 * characters \u escapes. */
static void test_json_bad_names(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *picture = fx->d.picture;
	struct pw_process *proc = &picture->procs[0];
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	snprintf(proc->comm, sizeof(proc->comm), "cw\xff\xfe\x1b[2J");
	snprintf(picture->units[D_COND1].comm, sizeof(picture->units[D_COND1].comm),
		 "w\xc0\xaf\xe6\x9d\xb1\xed\xa0\x80");
	out = run_json(fx, picture, &ctx, &opts);
	expect(out, "{\"pid\":4242,\"comm\":\"cw\xef\xbf\xbd\xef\xbf\xbd\\u001b[2J\","
		    "\"exe\":\"" DUMP_APP "\",");
	expect(out, "\"id\":4243,\"pid\":4242,\"comm\":\"w\xef\xbf\xbd\xef\xbf\xbd\xe6\x9d\xb1"
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",");
	expect_not(out, "\xff");
	expect_not(out, "\x1b");
}


/* What each thread waits for, each group's objects and marks, and the
 * picture's findings, against support/lock_sample.h's hand-written ones. */
static void test_json_locks(void **state)
{
	struct dump_fixture *fx = *state;
	struct lock_sample s = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	lock_sample_build(&s);
	((struct pw_fd *)lock_sample_unit(&s, 1234, 4201)->blocked_on.fd)->listening = true;
	out = run_json(fx, s.picture, &ctx, &opts);
	check_json_shape(out);
	expect(out, "{\"kind\":\"thread\",\"id\":105,\"pid\":1234,\"comm\":\"waiter\",");
	expect(out, "\"blocked_on\":{\"kind\":\"mutex\",\"addr\":\"0x55d0c0a04040\","
		    "\"symbol\":\"config_lock\",\"owner_tid\":4201,\"owner_pid\":1234,"
		    "\"owner_unknown\":false,\"owner_dead\":false,\"never_wakes\":false}}");
	/* another process's lock: the owner's pid; the unit's own otherwise */
	expect(out, "\"blocked_on\":{\"kind\":\"mutex\",\"addr\":\"0x7f0000001000\","
		    "\"owner_tid\":4201,\"owner_pid\":1234,\"owner_unknown\":false,");
	expect(out, "\"blocked_on\":{\"kind\":\"mutex\",\"addr\":\"0x55d0c0a04140\","
		    "\"owner_unknown\":true,\"owner_dead\":false,\"never_wakes\":false}}");
	expect(out, "\"blocked_on\":{\"kind\":\"mutex\",\"addr\":\"0x55d0c0a04100\","
		    "\"symbol\":\"lock_d\",\"owner_tid\":99,\"owner_pid\":1234,"
		    "\"owner_unknown\":false,\"owner_dead\":true,");
	expect(out, "\"blocked_on\":{\"kind\":\"condvar\",\"addr\":\"0x55d0c0a04200\","
		    "\"symbol\":\"ready\",\"owner_unknown\":false,");
	expect(out, "\"blocked_on\":{\"kind\":\"fd\",\"owner_unknown\":false,\"owner_dead\":false,"
		    "\"never_wakes\":false,\"fd\":{\"fd\":5,\"type\":\"tcp\",\"text\":\""
		    HOLDER_FD_TEXT "\",\"listening\":true}}}");
	assert_int_equal(occurrences(out, "\"blocked_on\":"), 12);
	/* groups: the waiters share config_lock behind the convoy's head */
	expect(out, "\"ids\":[105,106,107],\"frames\":[");
	expect(out, "\"objects\":1,\"deadlocked\":false,\"convoy\":true}");
	expect(out, "\"ids\":[101,102],\"frames\":[");
	expect(out, "\"objects\":2,\"deadlocked\":true,\"convoy\":false}");
	/* an abandoned lock's waiter is stuck for good too */
	expect(out, "\"objects\":3,\"deadlocked\":true,\"convoy\":false}");
	assert_true(ends_with(out, ",\"deadlocks\":[[101,102],[103]],\"findings\":["
				   "{\"kind\":\"deadlock\",\"pid\":1234,\"addr\":\"0x55d0c0a04080\","
				   "\"tids\":[101,102]},"
				   "{\"kind\":\"self-deadlock\",\"pid\":1234,\"addr\":\"0x55d0c0a040c0\","
				   "\"tids\":[103]},"
				   "{\"kind\":\"abandoned lock\",\"pid\":1234,\"addr\":\"0x55d0c0a04100\","
				   "\"owner_tid\":99,\"tids\":[104]},"
				   "{\"kind\":\"convoy\",\"pid\":1234,\"addr\":\"0x55d0c0a04040\","
				   "\"owner_tid\":4201,\"tids\":[4201,105,106,107,2001]}]}\n"));
	lock_sample_free(&s);
}

/* A goroutine's channel as its hchan has it; a nil channel never wakes;
 * what isn't known is absent. */
static void test_json_channels(void **state)
{
	struct dump_fixture *fx = *state;
	struct go_sample g = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	struct pw_chan *chan;
	const char *out;

	go_sample_build(&g);
	chan = picture__add_chan(g.picture);
	assert_non_null(chan);
	*chan = (struct pw_chan){ .len = 3, .cap = 8, .closed = true, .sendq = 0, .recvq = 2,
				  .elem_type = picture__string(g.picture, "*main.job") };
	g.picture->units[G_W1].blocked_on = (struct pw_blocked_on){
		.kind = PW_OBJECT_CHANNEL, .addr = 0xc000100000, .chan = chan };
	g.picture->units[G_W2].blocked_on = (struct pw_blocked_on){ .kind = PW_OBJECT_CHANNEL,
								    .never_wakes = true };
	regroup(g.picture);
	out = run_json(fx, g.picture, &ctx, &opts);
	check_json_shape(out);
	expect(out, "\"locked\":false},\"blocked_on\":{\"kind\":\"channel\",\"addr\":\"0xc000100000\","
		    "\"owner_unknown\":false,\"owner_dead\":false,\"never_wakes\":false,"
		    "\"chan\":{\"len\":3,\"cap\":8,\"closed\":true,\"sendq\":0,\"recvq\":2,"
		    "\"elem_type\":\"*main.job\"}}}");
	expect(out, "\"locked\":false},\"blocked_on\":{\"kind\":\"channel\",\"owner_unknown\":false,"
		    "\"owner_dead\":false,\"never_wakes\":true}}");
	assert_int_equal(occurrences(out, "\"blocked_on\":"), 2);
	/* one known channel among the three workers */
	expect(out, "\"ids\":[18,19,20],");
	expect(out, "\"created_by\":\"main.main\",\"objects\":1,");
	go_sample_free(&g);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, dump_fixture_setup, dump_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_json),
		TEST(test_json_system_name_and_tail_call),
		TEST(test_json_kernel_frames),
		TEST(test_json_empty_report),
		TEST(test_json_park_totals),
		TEST(test_json_goroutines),
		TEST(test_json_cut_short),
		TEST(test_json_bad_names),
		TEST(test_json_locks),
		TEST(test_json_channels),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
