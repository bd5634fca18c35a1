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
#include "out/folded.h"
#include "support/picture.h"

/* folded__write takes the groups' trend (leak suspects) where folded.h brings in trend.h */
#ifdef PARKWATCH_TREND_H
#define FOLDED_WRITE(folded, out) folded__write(folded, out, NULL)
#else
#define FOLDED_WRITE(folded, out) folded__write(folded, out)
#endif

/* The picture of picture.h (that of test_pprof.c). */

/* S1 at other return addresses with the same symbols: another group, the same text */
static const __u64 s1b_pcs[S1_DEPTH] = { 0x7f0000028100, 0x40123a, 0x7f1000011234, 0x4000,
					 0x401104 };

#define COND_LINE "main;[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;" \
		  "pthread_cond_wait;[cond wait]"
#define SLEEP_LINE "main;clock_nanosleep;[sleep]"

struct fixture {
	struct picture p;
	struct stack *s1b;
	char *text;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	picture_build(&f->p);
	f->s1b = make_stack(s1b_pcs, S1_DEPTH);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->text);
	picture_free(&f->p);
	free(f->s1b);
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
		assert_int_equal(folded__add_report(folded, &f->p.report, intervals[i]), 0);
	out = open_output(&f->text, &len);
	assert_int_equal(FOLDED_WRITE(folded, out), 0);
	close_output(out, &f->text);
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

	f->p.threads[T_COND2].stack = f->s1b;
	regroup(&f->p.report);
	assert_int_equal(f->p.report.group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");

	f->p.recs[T_COND2].tgid = 5000;
	regroup(&f->p.report);
	assert_int_equal(f->p.report.group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");
}

/* Another reason on the same stack is another line. */
static void test_reason_is_the_leaf(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->p.threads[T_COND2].wait.reason = "mutex lock";
	regroup(&f->p.report);
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

	set_frame(f->p.app_main, 0, "ns::run(a;b)", "/src/app.c", 100, 0, false);
	free(f->p.plugin->module);
	f->p.plugin->module = strdup("/opt/app/lib;plugin.so");
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

	set_frame(f->p.other_main, 0, NULL, NULL, 0, 0, false);
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

	free(f->p.plugin->module);
	f->p.plugin->module = strdup("[vdso: 4242]");
	assert_string_equal(fold(f, false, &zero, 1),
			    "main;[unknown]+0x4000;[vdso: 4242]+0x11233;level_three;inlined_helper;"
			    "pthread_cond_wait;[cond wait] 2\n" SLEEP_LINE " 1\n");
}

static void test_stackless_group(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->p.threads[T_SLEEP].stack = NULL;
	f->p.threads[T_SLEEP].symbols = NULL;
	regroup(&f->p.report);
	/* only the reason: '[' sorts before 'm' */
	assert_string_equal(fold(f, false, &zero, 1), "[sleep] 1\n" COND_LINE " 2\n");
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	for (int i = 0; i < N_THREADS; i++)
		f->p.threads[i].parked = false;
	regroup(&f->p.report);
	assert_int_equal(f->p.report.group_count, 0);
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
