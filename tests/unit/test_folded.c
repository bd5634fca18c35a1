// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the folded-stack output (user/folded.c) on a report built by
 * hand: exact expected lines, root first, inlined frames expanded, unknown
 * frames as module+offset, snapshot and window weights, sorting and the
 * merging of groups whose text is the same.  No BPF, no process is looked at.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "folded.h"
#include "group.h"
#include "report.h"

/* folded__write takes the groups' trend (leak suspects) where folded.h brings in trend.h */
#ifdef PARKWATCH_TREND_H
#define FOLDED_WRITE(folded, out) folded__write(folded, out, NULL)
#else
#define FOLDED_WRITE(folded, out) folded__write(folded, out)
#endif

#define SEC 1000000000ULL
#define MS 1000000ULL
#define NOW_NS (1000000 * SEC)

#define APP "/usr/bin/app"
#define OTHER "/usr/bin/other"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PLUGIN "/opt/app/libplugin.so"

#define APP_START 0x400000ULL
#define LIBC_START 0x7f0000000000ULL
#define PLUGIN_START 0x7f1000000000ULL
#define OTHER_START 0x555500000000ULL

/*
 * The picture (the one of test_pprof.c):
 *   process 4242: 4242 running; 4243 (5 s) and 4244 (2 s) in the same cond
 *     wait, stack S1, leaf first: pthread_cond_wait in libc; level_three
 *     with inlined_helper inlined into it; an unsymbolized frame at offset
 *     0x11233 of libplugin.so; pc 0x4000 with no symbol at all; main.
 *   process 5000: 5000 in a finite sleep (300 ms): clock_nanosleep, main.
 */
enum { T_RUN, T_COND1, T_COND2, T_SLEEP, N_THREADS };
enum { S1_DEPTH = 5, S2_DEPTH = 2 };

static const __u64 s1_pcs[S1_DEPTH] = { 0x7f0000028100, 0x401236, 0x7f1000011234, 0x4000,
					0x401100 };
/* S1 at other return addresses with the same symbols: another group, the same text */
static const __u64 s1b_pcs[S1_DEPTH] = { 0x7f0000028100, 0x40123a, 0x7f1000011234, 0x4000,
					 0x401104 };
static const __u64 s2_pcs[S2_DEPTH] = { 0x7f00000e0010, 0x555500001010 };

#define COND_LINE "main;[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;" \
		  "pthread_cond_wait;[cond wait]"
#define SLEEP_LINE "main;clock_nanosleep;[sleep]"

struct fixture {
	struct task_record recs[N_THREADS];
	struct thread_info threads[N_THREADS];
	struct proc_summary procs[2];
	struct stack *s1, *s1b, *s2;
	struct symbol *libc_cond, *app_inl, *plugin, *app_main, *libc_sleep, *other_main;
	const struct symbol *s1_symbols[S1_DEPTH], *s2_symbols[S2_DEPTH];
	struct report report;
	char *text;
};

static struct symbol *make_symbol(const char *module, __u64 start, __u64 pc, int frame_count)
{
	struct symbol *symbol = calloc(1, sizeof(*symbol) + frame_count * sizeof(symbol->frames[0]));

	assert_non_null(symbol);
	symbol->module = module ? strdup(module) : NULL;
	symbol->module_start = start;
	symbol->module_end = start + 0x100000;
	symbol->module_offset = pc - start;
	symbol->frame_count = frame_count;
	return symbol;
}

static void set_frame(struct symbol *symbol, int i, const char *function, const char *file,
		      int line, bool inlined)
{
	free(symbol->frames[i].function);
	free(symbol->frames[i].file);
	symbol->frames[i].function = function ? strdup(function) : NULL;
	symbol->frames[i].file = file ? strdup(file) : NULL;
	symbol->frames[i].line = line;
	symbol->frames[i].inlined = inlined;
}

static struct stack *make_stack(const __u64 *pcs, int depth)
{
	struct stack *stack = calloc(1, sizeof(*stack) + depth * sizeof(stack->frames[0]));

	assert_non_null(stack);
	stack->depth = depth;
	for (int i = 0; i < depth; i++) {
		stack->frames[i].pc = pcs[i];
		stack->frames[i].lookup_pc = i ? pcs[i] - 1 : pcs[i];
	}
	return stack;
}

static void set_thread(struct fixture *f, int i, __u32 tgid, __u32 tid, const char *reason,
		       bool timeout, __u64 park_ns, const struct stack *stack,
		       const struct symbol **symbols)
{
	struct task_record *rec = &f->recs[i];
	struct thread_info *thread = &f->threads[i];

	rec->tgid = tgid;
	rec->tid = tid;
	rec->now_ns = NOW_NS;
	rec->park_start_ns = reason ? NOW_NS - park_ns : 0;
	thread->rec = rec;
	thread->state = reason ? "sleeping" : "running";
	thread->parked = reason != NULL;
	thread->wait.reason = reason;
	thread->wait.has_timeout = timeout;
	thread->park_ns = reason ? park_ns : 0;
	thread->stack = stack;
	thread->symbols = symbols;
}

static void regroup(struct fixture *f)
{
	group__free_all(f->report.groups, f->report.group_count);
	f->report.groups = NULL;
	f->report.group_count = 0;
	assert_int_equal(group__build(f->threads, N_THREADS, &f->report.groups,
				      &f->report.group_count), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->libc_cond = make_symbol(LIBC, LIBC_START, s1_pcs[0], 1);
	set_frame(f->libc_cond, 0, "pthread_cond_wait", "./nptl/pthread_cond_wait.c", 618, false);
	f->app_inl = make_symbol(APP, APP_START, s1_pcs[1] - 1, 2);
	set_frame(f->app_inl, 0, "inlined_helper", "/src/app.c", 12, true);
	set_frame(f->app_inl, 1, "level_three", "/src/app.c", 29, false);
	f->plugin = make_symbol(PLUGIN, PLUGIN_START, s1_pcs[2] - 1, 0);
	f->app_main = make_symbol(APP, APP_START, s1_pcs[4] - 1, 1);
	set_frame(f->app_main, 0, "main", "/src/app.c", 100, false);
	f->libc_sleep = make_symbol(LIBC, LIBC_START, s2_pcs[0], 1);
	set_frame(f->libc_sleep, 0, "clock_nanosleep", NULL, 0, false);
	f->other_main = make_symbol(OTHER, OTHER_START, s2_pcs[1] - 1, 1);
	set_frame(f->other_main, 0, "main", "/src/other.c", 40, false);

	f->s1 = make_stack(s1_pcs, S1_DEPTH);
	f->s1b = make_stack(s1b_pcs, S1_DEPTH);
	f->s2 = make_stack(s2_pcs, S2_DEPTH);
	f->s1_symbols[0] = f->libc_cond;
	f->s1_symbols[1] = f->app_inl;
	f->s1_symbols[2] = f->plugin;
	f->s1_symbols[3] = NULL;
	f->s1_symbols[4] = f->app_main;
	f->s2_symbols[0] = f->libc_sleep;
	f->s2_symbols[1] = f->other_main;

	set_thread(f, T_RUN, 4242, 4242, NULL, false, 0, NULL, NULL);
	set_thread(f, T_COND1, 4242, 4243, "cond wait", false, 5 * SEC, f->s1, f->s1_symbols);
	set_thread(f, T_COND2, 4242, 4244, "cond wait", false, 2 * SEC, f->s1, f->s1_symbols);
	set_thread(f, T_SLEEP, 5000, 5000, "sleep", true, 300 * MS, f->s2, f->s2_symbols);

	f->procs[0].pid = 4242;
	strcpy(f->procs[0].comm, "app");
	f->procs[1].pid = 5000;
	strcpy(f->procs[1].comm, "other");
	f->report.threads = f->threads;
	f->report.thread_count = N_THREADS;
	f->report.parked_count = 3;
	f->report.procs = f->procs;
	f->report.proc_count = 2;
	regroup(f);
	assert_int_equal(f->report.group_count, 2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->text);
	group__free_all(f->report.groups, f->report.group_count);
	symbol__free(f->libc_cond);
	symbol__free(f->app_inl);
	symbol__free(f->plugin);
	symbol__free(f->app_main);
	symbol__free(f->libc_sleep);
	symbol__free(f->other_main);
	free(f->s1);
	free(f->s1b);
	free(f->s2);
	free(f);
	return 0;
}

/* The folded text of the reports added with the given weights. */
static const char *fold(struct fixture *f, bool window, const __u64 *intervals, int reports)
{
	struct folded *folded = folded__new(window);
	size_t len = 0;
	FILE *out;

	assert_non_null(folded);
	for (int i = 0; i < reports; i++)
		assert_int_equal(folded__add_report(folded, &f->report, intervals[i]), 0);
	free(f->text);
	f->text = NULL;
	out = open_memstream(&f->text, &len);
	assert_non_null(out);
	assert_int_equal(FOLDED_WRITE(folded, out), 0);
	assert_int_equal(fclose(out), 0);
	folded__free(folded);
	return f->text;
}

static void test_snapshot_lines(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	/* sorted: '[' sorts before 'c' */
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");
}

static void test_snapshot_adds_up(void **state)
{
	struct fixture *f = *state;
	const __u64 zero[3] = { 0 };

	assert_string_equal(fold(f, false, zero, 3), COND_LINE " 6\n" SLEEP_LINE " 3\n");
}

static void test_window_weights_ms(void **state)
{
	struct fixture *f = *state;
	const __u64 intervals[2] = { 500 * MS, 700 * MS };

	/* cond: 2 threads x 1.2 s; sleep: 1 thread x 1.2 s */
	assert_string_equal(fold(f, true, intervals, 2), COND_LINE " 2400\n" SLEEP_LINE " 1200\n");
}

static void test_window_rounding(void **state)
{
	struct fixture *f = *state;
	const __u64 interval = 1750000; /* 1.75 ms */

	/* 3.5 ms and 1.75 ms, rounded to the nearest ms */
	assert_string_equal(fold(f, true, &interval, 1), COND_LINE " 4\n" SLEEP_LINE " 2\n");
}

/* Stacks at different pcs with the same symbols are two groups and one line;
 * the same stack in two processes is one line too (folded has no pid). */
static void test_identical_text_merges(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->threads[T_COND2].stack = f->s1b;
	regroup(f);
	assert_int_equal(f->report.group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");

	f->recs[T_COND2].tgid = 5000;
	regroup(f);
	assert_int_equal(f->report.group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");
}

/* Another reason on the same stack is another line. */
static void test_reason_is_the_leaf(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->threads[T_COND2].wait.reason = "mutex lock";
	regroup(f);
	assert_string_equal(fold(f, false, &zero, 1),
			    COND_LINE " 1\n"
			    "main;[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;"
			    "pthread_cond_wait;[mutex lock] 1\n"
			    SLEEP_LINE " 1\n");
}

static void test_semicolons_replaced(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	set_frame(f->app_main, 0, "ns::run(a;b)", "/src/app.c", 100, false);
	free(f->plugin->module);
	f->plugin->module = strdup("/opt/app/lib;plugin.so");
	/* sorted: 'm' before 'n' */
	assert_string_equal(fold(f, false, &zero, 1),
			    SLEEP_LINE " 1\n"
			    "ns::run(a:b);[unknown]+0x4000;lib:plugin.so+0x11233;level_three;"
			    "inlined_helper;pthread_cond_wait;[cond wait] 2\n");
}

/* A frame whose function is unknown inside a symbolized location. */
static void test_unknown_function_name(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	set_frame(f->other_main, 0, NULL, NULL, 0, false);
	/* sorted: '?' before 'm' */
	assert_string_equal(fold(f, false, &zero, 1), "??;clock_nanosleep;[sleep] 1\n" COND_LINE " 2\n");
}

/*
 * An unsymbolized frame in a module whose name has no '/' (libdwfl names the
 * vDSO "[vdso: PID]") is still module+offset: the module is known.
 */
static void test_module_without_directory(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	free(f->plugin->module);
	f->plugin->module = strdup("[vdso: 4242]");
	assert_string_equal(fold(f, false, &zero, 1),
			    "main;[unknown]+0x4000;[vdso: 4242]+0x11233;level_three;inlined_helper;"
			    "pthread_cond_wait;[cond wait] 2\n" SLEEP_LINE " 1\n");
}

static void test_stackless_group(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->threads[T_SLEEP].stack = NULL;
	f->threads[T_SLEEP].symbols = NULL;
	regroup(f);
	/* only the reason: '[' sorts before 'm' */
	assert_string_equal(fold(f, false, &zero, 1), "[sleep] 1\n" COND_LINE " 2\n");
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	for (int i = 0; i < N_THREADS; i++)
		f->threads[i].parked = false;
	regroup(f);
	assert_int_equal(f->report.group_count, 0);
	assert_string_equal(fold(f, false, &zero, 1), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_adds_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_weights_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_text_merges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reason_is_the_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semicolons_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_function_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_without_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stackless_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	};

	return cmocka_run_group_tests_name("folded", tests, NULL, NULL);
}
