// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the live table (user/live.c) on hand-built reports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "support/fixtures.h"
#include "out/live.h"

#define MAX_THREADS 16

struct fixture {
	struct task_record recs[MAX_THREADS];
	struct thread_info threads[MAX_THREADS];
	int count;
	struct proc_summary procs[2];
	struct stack *app_stack, *libc_stack;
	struct symbol *libc_sym, *app_sym, *nofile_sym;
	const struct symbol *app_view[2], *libc_view[1], *nofile_view[2];
	struct stack *nofile_stack;
	struct report report;
	struct live *live;
	char *out;
	size_t out_len;
};

/* A symbol of one frame. */
static struct symbol *one_frame_symbol(const char *module, const char *function, const char *file,
				       int line)
{
	struct symbol *symbol = make_symbol(module, 0, 0, NULL, 0, 1);

	set_frame(symbol, 0, function, file, line, 0, false);
	return symbol;
}

/* depth frames 0x100 apart from base, each looked up at its own pc. */
static struct stack *make_flat_stack(int depth, __u64 base)
{
	struct stack *stack = calloc(1, sizeof(*stack) + depth * sizeof(stack->frames[0]));

	assert_non_null(stack);
	stack->depth = depth;
	for (int i = 0; i < depth; i++)
		stack->frames[i].pc = stack->frames[i].lookup_pc = base + i * 0x100;
	return stack;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->libc_sym = one_frame_symbol("/usr/lib/x86_64-linux-gnu/libc.so.6", "pthread_cond_wait", NULL,
				   0);
	fx->app_sym = one_frame_symbol("/src/condwait", "level_three", "/src/deep/dir/condwait.c", 29);
	fx->nofile_sym = one_frame_symbol("/opt/app/server", "worker", NULL, 0);
	fx->app_stack = make_flat_stack(2, 0x401000);
	fx->app_view[0] = fx->libc_sym;
	fx->app_view[1] = fx->app_sym;
	fx->libc_stack = make_flat_stack(1, 0x7f0000001000);
	fx->libc_view[0] = fx->libc_sym;
	fx->nofile_stack = make_flat_stack(2, 0x402000);
	fx->nofile_view[0] = fx->libc_sym;
	fx->nofile_view[1] = fx->nofile_sym;
	fx->procs[0] = (struct proc_summary){ .pid = 4242, .comm = "condwait" };
	fx->procs[1] = (struct proc_summary){ .pid = 5000, .comm = "io" };
	fx->live = live__new();
	if (!fx->live)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	live__free(fx->live);
	group__free_all(fx->report.groups, fx->report.group_count);
	symbol__free(fx->libc_sym);
	symbol__free(fx->app_sym);
	symbol__free(fx->nofile_sym);
	free(fx->app_stack);
	free(fx->libc_stack);
	free(fx->nofile_stack);
	free(fx->out);
	free(fx);
	return 0;
}

static void add(struct fixture *fx, __u32 tgid, __u32 tid, const char *reason, bool timeout,
		__u64 park_ns, const struct stack *stack, const struct symbol **symbols)
{
	int i = fx->count++;

	assert_true(i < MAX_THREADS);
	set_thread(&fx->recs[i], &fx->threads[i], tgid, tid, reason, timeout, park_ns, stack,
		   symbols);
	fx->recs[i].state = reason ? PARK_TASK_INTERRUPTIBLE : 0;
}

/* Groups the threads added so far into the report. */
static void finish(struct fixture *fx)
{
	fill_report(&fx->report, fx->threads, fx->count, fx->procs, 2);
	regroup(&fx->report);
}

static const char *render(struct fixture *fx, __u64 elapsed_ns, bool ansi, int rows)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	live__render(fx->live, out, &fx->report, elapsed_ns, ansi, rows, NULL);
	return close_output(out, &fx->out);
}

/* The first picture: cond wait x2, sleep x1, IO x1, one running thread. */
static void first_picture(struct fixture *fx)
{
	fx->count = 0;
	add(fx, 4242, 4242, NULL, false, 0, NULL, NULL);
	add(fx, 4242, 4243, "cond wait", false, 5 * 60 * SEC + 30 * SEC, fx->app_stack, fx->app_view);
	add(fx, 4242, 4244, "cond wait", false, 12 * SEC, fx->app_stack, fx->app_view);
	add(fx, 4242, 4245, "sleep", true, 2 * SEC, fx->libc_stack, fx->libc_view);
	add(fx, 5000, 5001, "IO wait (pipe)", true, 340 * MS, NULL, NULL);
	finish(fx);
}

static void test_first_render(void **state)
{
	struct fixture *fx = *state;
	const char *out, *row1, *row2, *row3;

	first_picture(fx);
	out = render(fx, 5 * 60 * SEC + 7 * SEC, false, 0);
	assert_true(starts_with(out, "parkwatch " PARKWATCH_VERSION "  5m07s  5 threads in 2 processes: sleeping 4 "
				     "running 1\n\n"));
	expect(out, "  COUNT  CHANGE       GROWTH      PID REASON             TIMEOUT   OLDEST  WHERE\n");
	/* groups present in the first picture start from their count: change 0 */
	row1 = expect(out, "      2       0                  4242 cond wait          none       5m30s  "
			   "level_three (condwait.c:29)\n");
	row2 = expect(out, "      1       0                  4242 sleep              finite      2.0s  "
			   "(system libraries only)\n");
	row3 = expect(out, "      1       0                  5000 IO wait (pipe)     finite     340ms  "
			   "(no stack yet)\n");
	assert_true(row1 < row2 && row2 < row3);
	assert_null(strstr(out, "\033["));
	assert_null(strstr(out, "(q quits)"));
	assert_null(strstr(out, "more groups"));
}

static void test_change_since_start(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	render(fx, SEC, false, 0);
	/* later: a third cond waiter, the sleeper gone, a new mutex group */
	fx->count = 0;
	add(fx, 4242, 4243, "cond wait", false, 6 * 60 * SEC, fx->app_stack, fx->app_view);
	add(fx, 4242, 4244, "cond wait", false, 40 * SEC, fx->app_stack, fx->app_view);
	add(fx, 4242, 4246, "cond wait", false, 1 * SEC, fx->app_stack, fx->app_view);
	add(fx, 4242, 4247, "mutex lock", false, 3 * SEC, fx->nofile_stack, fx->nofile_view);
	add(fx, 4242, 4248, "mutex lock", false, 2 * SEC, fx->nofile_stack, fx->nofile_view);
	add(fx, 5000, 5001, "IO wait (pipe)", true, 3 * SEC, NULL, NULL);
	finish(fx);
	out = render(fx, 3 * SEC, false, 0);
	expect(out, "      3      +1                  4242 cond wait          none       6m00s  "
		    "level_three (condwait.c:29)\n");
	/* a group first seen later counts from zero */
	expect(out, "      2      +2                  4242 mutex lock         none        3.0s  worker\n");
	expect(out, "      1       0                  5000 IO wait (pipe)     finite      3.0s  (no stack yet)\n");
	assert_null(strstr(out, " sleep "));

	/* and fewer than at the start shows as a negative change */
	fx->count = 0;
	add(fx, 4242, 4243, "cond wait", false, 7 * 60 * SEC, fx->app_stack, fx->app_view);
	finish(fx);
	out = render(fx, 4 * SEC, false, 0);
	expect(out, "      1      -1                  4242 cond wait          none       7m00s  ");
}

static void test_ansi_and_rows(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	out = render(fx, 2 * 3600 * SEC + 13 * 60 * SEC, true, 1);
	/* the screen is cleared first and q is offered */
	assert_true(starts_with(out, "\033[H\033[2J"));
	expect(out, "parkwatch " PARKWATCH_VERSION "  2h13m  5 threads in 2 processes: sleeping 4 running 1   "
		    "(q quits)\n\n");
	expect(out, "      2       0                  4242 cond wait ");
	assert_null(strstr(out, " sleep "));
	expect(out, "... 2 more groups\n");

	/* groups hidden by rows still count from the first picture: the
	 * sleeper's group shows change 0, not +1, once visible */
	out = render(fx, 2 * 3600 * SEC + 14 * 60 * SEC, false, 0);
	expect(out, "      1       0                  4242 sleep ");
	assert_null(strstr(out, "more groups"));
}

static void test_single_process_and_no_groups(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	fx->count = 0;
	add(fx, 4242, 4242, NULL, false, 0, NULL, NULL);
	finish(fx);
	fx->report.proc_count = 1;
	out = render(fx, 500 * MS, false, 0);
	assert_true(starts_with(out, "parkwatch " PARKWATCH_VERSION "  500ms  1 threads in 1 process: running 1\n\n"));
	/* the table is just its header line */
	assert_true(ends_with(out, "\n\n  COUNT  CHANGE       GROWTH      PID REASON             TIMEOUT   OLDEST"
				   "  WHERE\n"));
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_first_render),
		TEST(test_change_since_start),
		TEST(test_ansi_and_rows),
		TEST(test_single_process_and_no_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
