// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the folded-stack output (user/out/folded.c) on the picture
 * of support/sample.h: exact expected lines, root first, inlined frames
 * expanded, unknown frames as module+offset, snapshot and window weights,
 * sorting and the merging of groups whose text is the same; goroutine
 * groups from support/go_sample.h.  No BPF, no process is looked at.
 */
#include "out/folded.h"
#include "out/render.h"
#include "support/go_sample.h"
#include "support/sample.h"

/* S1 at other return addresses with the same symbols: another group, the same text */
static const __u64 s1b_pcs[S1_DEPTH] = { 0x7f0000028100, 0x40123a, 0x7f1000011234, 0x4000,
					 0x401104 };

#define COND_LINE "main;[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;" \
		  "pthread_cond_wait;[cond wait]"
#define SLEEP_LINE "main;clock_nanosleep;[sleep]"

struct fixture {
	struct sample p;
	const struct symbol *s1_symbols[S1_DEPTH];
	char *text;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sample_build(&f->p);
	for (int i = 0; i < S1_DEPTH; i++)
		f->s1_symbols[i] = f->p.s1->symbols[i];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->text);
	sample_free(&f->p);
	free(f);
	return 0;
}

/* The folded text of the picture added the given number of times with
 * these weights. */
static const char *fold_rooted(struct fixture *f, const struct pw_picture *picture, bool window,
			       bool process_root, const __u64 *intervals, int pictures)
{
	struct folded *folded = folded__new(window, process_root);
	size_t len = 0;
	FILE *out;

	assert_non_null(folded);
	for (int i = 0; i < pictures; i++)
		assert_int_equal(folded__add_picture(folded, picture, intervals[i]), 0);
	out = open_output(&f->text, &len);
	assert_int_equal(folded__write(folded, out, NULL), 0);
	close_output(out, &f->text);
	folded__free(folded);
	return f->text;
}

static const char *fold_picture(struct fixture *f, const struct pw_picture *picture, bool window,
				const __u64 *intervals, int pictures)
{
	return fold_rooted(f, picture, window, false, intervals, pictures);
}

static const char *fold(struct fixture *f, bool window, const __u64 *intervals, int pictures)
{
	return fold_picture(f, f->p.picture, window, intervals, pictures);
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
	struct pw_picture *picture = f->p.picture;
	const __u64 zero = 0;

	picture->units[T_COND2].stack = make_stack(picture, 4242, s1b_pcs, f->s1_symbols, S1_DEPTH);
	regroup(picture);
	assert_int_equal(picture->group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");

	/* 4244 as a thread of process 5000 (the units stay in pid order) */
	picture->units[T_COND2].pid = 5000;
	picture->units[T_COND2].stack = make_stack(picture, 5000, s1b_pcs, f->s1_symbols, S1_DEPTH);
	regroup(picture);
	assert_int_equal(picture->units[T_COND2].id, 4244);
	assert_int_equal(picture->group_count, 3);
	assert_string_equal(fold(f, false, &zero, 1), COND_LINE " 2\n" SLEEP_LINE " 1\n");
}

/* Another reason on the same stack is another line. */
static void test_reason_is_the_leaf(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	f->p.picture->units[T_COND2].wait.reason = "mutex lock";
	regroup(f->p.picture);
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

	/* the picture holds the symbols themselves: a change shows */
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

	f->p.picture->units[T_SLEEP].stack = NULL;
	regroup(f->p.picture);
	/* only the reason: '[' sorts before 'm' */
	assert_string_equal(fold(f, false, &zero, 1), "[sleep] 1\n" COND_LINE " 2\n");
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	const __u64 zero = 0;

	for (size_t i = 0; i < f->p.picture->unit_count; i++)
		f->p.picture->units[i].parked = false;
	regroup(f->p.picture);
	assert_int_equal(f->p.picture->group_count, 0);
	assert_string_equal(fold(f, false, &zero, 1), "");
}

/*
 * A goroutine process's snapshot counts every goroutine, as Go's profile
 * does (running ones by their status); a window samples parked time only.
 * runtime.goexit and the runtime's goroutines are never in it.
 */
static void test_goroutines(void **state)
{
	struct fixture *f = *state;
	struct go_sample g = { 0 };
	const __u64 zero = 0, interval = 100 * MS;

	go_sample_build(&g);
	assert_string_equal(fold_picture(f, g.picture, false, &zero, 1),
			    "[running] 1\n"
			    "[syscall] 1\n"
			    "main.ticker;time.Sleep;runtime.gopark;[sleep] 1\n"
			    "main.worker;runtime.chanrecv1;runtime.gopark;[chan receive] 3\n"
			    "runtime.main;main.main;main.waitAll;runtime.selectgo;runtime.gopark;"
			    "[select] 1\n");
	assert_string_equal(fold_picture(f, g.picture, true, &interval, 1),
			    "main.ticker;time.Sleep;runtime.gopark;[sleep] 100\n"
			    "main.worker;runtime.chanrecv1;runtime.gopark;[chan receive] 300\n"
			    "runtime.main;main.main;main.waitAll;runtime.selectgo;runtime.gopark;"
			    "[select] 100\n");
	go_sample_free(&g);
}

/* The renderer is one snapshot of the picture. */
static void test_write_picture(void **state)
{
	struct fixture *f = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	size_t len = 0;
	FILE *out = open_output(&f->text, &len);

	assert_int_equal(render__write(out, PW_FORMAT_FOLDED, f->p.picture, &ctx, &opts), 0);
	assert_string_equal(close_output(out, &f->text), COND_LINE " 2\n" SLEEP_LINE " 1\n");
}

/*
 * --folded-root: every line starts with its process, "comm (pid)", so the
 * same stack in two processes stays two lines; a window's lines too.
 */
static void test_process_root(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const __u64 zero = 0, interval = 500 * MS;
	struct render_opts opts = { .folded_root = true };
	struct pw_context ctx = { 0 };
	size_t len = 0;
	FILE *out;

	assert_string_equal(fold_rooted(f, picture, false, true, &zero, 1),
			    "app (4242);" COND_LINE " 2\nother (5000);" SLEEP_LINE " 1\n");
	assert_string_equal(fold_rooted(f, picture, true, true, &interval, 1),
			    "app (4242);" COND_LINE " 1000\nother (5000);" SLEEP_LINE " 500\n");
	/* 4244 as a thread of process 5000: the same stack, another root */
	picture->units[T_COND2].pid = 5000;
	picture->units[T_COND2].stack = make_stack(picture, 5000, s1b_pcs, f->s1_symbols, S1_DEPTH);
	regroup(picture);
	assert_string_equal(fold_rooted(f, picture, false, true, &zero, 1),
			    "app (4242);" COND_LINE " 1\nother (5000);" COND_LINE " 1\n"
			    "other (5000);" SLEEP_LINE " 1\n");
	out = open_output(&f->text, &len);
	assert_int_equal(render__write(out, PW_FORMAT_FOLDED, picture, &ctx, &opts), 0);
	assert_true(starts_with(close_output(out, &f->text), "app (4242);main;"));
}

/* A process name can't split a frame or a line, nor carry ill-formed UTF-8. */
static void test_process_root_hostile_name(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const __u64 zero = 0;

	snprintf(picture->procs[0].comm, PARK_COMM_LEN, "a;b\n1 \xff\xe6\x9d\xb1");
	set_frame(f->p.app_main, 0, "evil\nmain 9", "/src/app.c", 100, 0, false);
	assert_string_equal(fold_rooted(f, picture, false, true, &zero, 1),
			    "a:b\xef\xbf\xbd" "1 \xef\xbf\xbd\xe6\x9d\xb1 (4242);evil\xef\xbf\xbdmain 9;"
			    "[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;"
			    "pthread_cond_wait;[cond wait] 2\n"
			    "other (5000);" SLEEP_LINE " 1\n");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_snapshot_lines),
		TEST(test_process_root),
		TEST(test_process_root_hostile_name),
		TEST(test_snapshot_adds_up),
		TEST(test_window_weights_ms),
		TEST(test_window_rounding),
		TEST(test_identical_text_merges),
		TEST(test_reason_is_the_leaf),
		TEST(test_semicolons_replaced),
		TEST(test_unknown_function_name),
		TEST(test_module_without_directory),
		TEST(test_stackless_group),
		TEST(test_empty),
		TEST(test_goroutines),
		TEST(test_write_picture),
	};

	return cmocka_run_group_tests_name("folded", tests, NULL, NULL);
}
