// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the live table (user/out/live.c) on hand-built pictures. */
#include "out/live.h"
#include "support/go_sample.h"
#include "support/lock_sample.h"
#include "util/utf8.h"

/* Stacks, by what their frames are. */
enum live_stack { NO_STACK, APP_STACK, LIBC_STACK, NOFILE_STACK };

struct fixture {
	struct symbol *libc_sym, *app_sym, *nofile_sym;
	struct pw_picture *picture; /* the one being built or shown */
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

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->libc_sym = one_frame_symbol("/usr/lib/x86_64-linux-gnu/libc.so.6", "pthread_cond_wait",
					NULL, 0);
	fx->app_sym = one_frame_symbol("/src/condwait", "level_three", "/src/deep/dir/condwait.c", 29);
	fx->nofile_sym = one_frame_symbol("/opt/app/server", "worker", NULL, 0);
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
	picture__put(fx->picture);
	symbol__put(fx->libc_sym);
	symbol__put(fx->app_sym);
	symbol__put(fx->nofile_sym);
	free(fx->out);
	free(fx);
	return 0;
}

/* A new picture of processes 4242 "condwait" and 5000 "io" (or 4242 alone). */
static void begin(struct fixture *fx, bool single_process)
{
	picture__put(fx->picture);
	fx->picture = picture__new();
	assert_non_null(fx->picture);
	add_proc(fx->picture, 4242, "condwait", NULL);
	if (!single_process)
		add_proc(fx->picture, 5000, "io", NULL);
}

/* The picture's stack of pid: its frames 0x100 apart from a base of its own,
 * the same in every picture, so groups keep their signatures. */
static const struct pw_stack *stack_of(struct fixture *fx, pid_t pid, enum live_stack which)
{
	const struct symbol *app_view[2] = { fx->libc_sym, fx->app_sym };
	const struct symbol *nofile_view[2] = { fx->libc_sym, fx->nofile_sym };
	const struct symbol *libc_view[1] = { fx->libc_sym };

	switch (which) {
	case APP_STACK:
		return make_stack(fx->picture, pid, (const __u64[]){ 0x401000, 0x401100 }, app_view, 2);
	case LIBC_STACK:
		return make_stack(fx->picture, pid, (const __u64[]){ 0x7f0000001000 }, libc_view, 1);
	case NOFILE_STACK:
		return make_stack(fx->picture, pid, (const __u64[]){ 0x402000, 0x402100 }, nofile_view,
				  2);
	default:
		return NULL;
	}
}

/* A thread named as its process, as threads are that don't set a name. */
static void add(struct fixture *fx, pid_t pid, pid_t tid, const char *reason, bool timeout,
		__u64 park_ns, enum live_stack which)
{
	struct pw_unit *unit = add_thread(fx->picture, pid, tid, reason, timeout, park_ns,
					  stack_of(fx, pid, which));

	snprintf(unit->comm, PARK_COMM_LEN, "%s", pid == 4242 ? "condwait" : "io");
}

/* Counts and groups the threads added so far. */
static void finish(struct fixture *fx)
{
	regroup(fx->picture);
}

#define SCREEN_START "\033[?1049h\033[H\033[2J"

/* The table on a screen of lines (0: any), with keys when ansi. */
static const char *render(struct fixture *fx, __u64 elapsed_ns, bool ansi, int lines)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	live__render(fx->live, out, fx->picture, elapsed_ns,
		     &(struct live_screen){ .ansi = ansi, .lines = lines }, NULL);
	return close_output(out, &fx->out);
}

/* The first picture: cond wait x2, sleep x1, IO x1, one running thread. */
static void first_picture(struct fixture *fx)
{
	begin(fx, false);
	add(fx, 4242, 4242, NULL, false, 0, NO_STACK);
	add(fx, 4242, 4243, "cond wait", false, 5 * 60 * SEC + 30 * SEC, APP_STACK);
	add(fx, 4242, 4244, "cond wait", false, 12 * SEC, APP_STACK);
	add(fx, 4242, 4245, "sleep", true, 2 * SEC, LIBC_STACK);
	add(fx, 5000, 5001, "IO wait (pipe)", true, 340 * MS, NO_STACK);
	finish(fx);
}

static void test_first_render(void **state)
{
	struct fixture *fx = *state;
	const char *out, *row1, *row2, *row3;

	first_picture(fx);
	out = render(fx, 5 * 60 * SEC + 7 * SEC, false, 0);
	assert_true(starts_with(out, "parkwatch " PARKWATCH_VERSION "  5m07s  5 threads in 2 processes: "
				     "sleeping 4 running 1\n\n"));
	expect(out, "  COUNT  CHANGE       GROWTH      PID COMM     REASON         TIMEOUT   OLDEST  WHERE\n");
	/* groups present in the first picture start from their count: change 0 */
	row1 = expect(out, "      2       0                  4242 condwait cond wait      none       5m30s  "
			   "level_three (condwait.c:29)\n");
	row2 = expect(out, "      1       0                  4242 condwait sleep          finite      2.0s  "
			   "(system libraries only)\n");
	row3 = expect(out, "      1       0                  5000 io       IO wait (pipe) finite     340ms  "
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
	begin(fx, false);
	add(fx, 4242, 4243, "cond wait", false, 6 * 60 * SEC, APP_STACK);
	add(fx, 4242, 4244, "cond wait", false, 40 * SEC, APP_STACK);
	add(fx, 4242, 4246, "cond wait", false, 1 * SEC, APP_STACK);
	add(fx, 4242, 4247, "mutex lock", false, 3 * SEC, NOFILE_STACK);
	add(fx, 4242, 4248, "mutex lock", false, 2 * SEC, NOFILE_STACK);
	add(fx, 5000, 5001, "IO wait (pipe)", true, 3 * SEC, NO_STACK);
	finish(fx);
	out = render(fx, 3 * SEC, false, 0);
	expect(out, "      3      +1                  4242 condwait cond wait      none       6m00s  "
		    "level_three (condwait.c:29)\n");
	/* a group first seen later counts from zero */
	expect(out, "      2      +2                  4242 condwait mutex lock     none        3.0s  worker\n");
	expect(out, "      1       0                  5000 io       IO wait (pipe) finite      3.0s  (no stack yet)\n");
	assert_null(strstr(out, " sleep "));

	/* and fewer than at the start shows as a negative change */
	begin(fx, false);
	add(fx, 4242, 4243, "cond wait", false, 7 * 60 * SEC, APP_STACK);
	finish(fx);
	out = render(fx, 4 * SEC, false, 0);
	expect(out, "      1      -1                  4242 condwait cond wait none       7m00s  ");
}

static void test_ansi_and_rows(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	/* 6 lines: the header's 3, one row, "... more", and the prompt's line */
	out = render(fx, 2 * 3600 * SEC + 13 * 60 * SEC, true, 6);
	/* the screen is taken over and cleared first, the sort and keys said */
	assert_true(starts_with(out, SCREEN_START));
	expect(out, "parkwatch " PARKWATCH_VERSION "  2h13m  5 threads in 2 processes: sleeping 4 running 1\n"
		    "sort: count   (? keys, q quits)\n");
	assert_int_equal(occurrences(out, "\n"), 5);
	expect(out, "      2       0                  4242 condwait cond wait ");
	assert_null(strstr(out, " sleep "));
	expect(out, "... 2 more groups\n");

	/* groups hidden by rows still count from the first picture: the
	 * sleeper's group shows change 0, not +1, once visible */
	out = render(fx, 2 * 3600 * SEC + 14 * 60 * SEC, false, 0);
	expect(out, "      1       0                  4242 condwait sleep ");
	assert_null(strstr(out, "more groups"));
}

static void test_single_process_and_no_groups(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	begin(fx, true);
	add(fx, 4242, 4242, NULL, false, 0, NO_STACK);
	finish(fx);
	out = render(fx, 500 * MS, false, 0);
	assert_true(starts_with(out, "parkwatch " PARKWATCH_VERSION "  500ms  1 threads in 1 process: running 1\n\n"));
	/* the table is just its header line */
	assert_true(ends_with(out, "\n\n  COUNT  CHANGE       GROWTH      PID COMM REASON TIMEOUT   OLDEST"
				   "  WHERE\n"));
}

/* Goroutines: a row per group of waiting ones, the runtime's and the
 * running ones left out; where is the first frame of the program's own. */
static void test_goroutine_rows(void **state)
{
	struct fixture *fx = *state;
	struct go_sample g = { 0 };
	const char *out, *workers, *main_row, *sleeper;
	FILE *file;

	go_sample_build(&g);
	file = open_output(&fx->out, &fx->out_len);
	live__render(fx->live, file, g.picture, 90 * SEC, &(struct live_screen){ 0 }, NULL);
	out = close_output(file, &fx->out);
	/* a Go program's view is of goroutines, and says so */
	assert_true(starts_with(out, "parkwatch " PARKWATCH_VERSION "  1m30s  7 goroutines in 1 process: "
				     "sleeping 5 running 1 runnable 1\n\n"));
	workers = expect(out, "      3       0                  7000 gosrv chan receive none       "
			      "50.0s  main.worker (main.go:30)\n");
	main_row = expect(out, "      1       0                  7000 gosrv select       none       "
			       "3m00s  main.waitAll (main.go:40)\n");
	sleeper = expect(out, "      1       0                  7000 gosrv sleep        finite      "
			      "1.0s  main.ticker (main.go:52)\n");
	assert_true(workers < main_row && main_row < sleeper);
	expect_not(out, "gosrv running");
	expect_not(out, "gosrv syscall");
	expect_not(out, "force gc");
	go_sample_free(&g);
}

/*
 * Threads with names of their own get a THREAD column (the name they share,
 * or how many they have), a process with a container label a CONTAINER
 * column; names are escaped; every line is cut to the terminal's width,
 * counted in columns (a CJK character takes two), never wrapped.
 */
static void test_names_container_and_width(void **state)
{
	struct fixture *fx = *state;
	struct pw_process *proc;
	const char *out;
	FILE *file;

	first_picture(fx);
	snprintf(fx->picture->units[1].comm, PARK_COMM_LEN, "worker");
	snprintf(fx->picture->units[2].comm, PARK_COMM_LEN, "worker");
	snprintf(fx->picture->units[3].comm, PARK_COMM_LEN, "\x1b[2J\xff\xe6\x9d\xb1");
	proc = (struct pw_process *)picture__process(fx->picture, 5000);
	proc->cgroup.container = picture__string(fx->picture, "3f2a9c0e1b7d4c5e6f708192a3b4c5d6");
	out = render(fx, SEC, false, 0);
	expect(out, "     PID COMM     THREAD        CONTAINER    REASON ");
	expect(out, "   4242 condwait worker                     cond wait      none ");
	/* 13 columns: the escapes, and a character two wide */
	expect(out, "   4242 condwait \\x1b[2J\\xff\xe6\x9d\xb1              sleep ");
	expect(out, "   5000 io       io            3f2a9c0e1b7d IO wait (pipe) ");
	expect_not(out, "\x1b");

	/* threads of one group with names of their own: how many */
	snprintf(fx->picture->units[2].comm, PARK_COMM_LEN, "worker-2");
	out = render(fx, SEC, false, 0);
	expect(out, "   4242 condwait (2 names)                  cond wait ");

	/* a terminal 60 columns wide: no line longer, none wrapped */
	file = open_output(&fx->out, &fx->out_len);
	live__render(fx->live, file, fx->picture, SEC,
		     &(struct live_screen){ .ansi = true, .lines = 24, .columns = 60 }, NULL);
	out = close_output(file, &fx->out);
	assert_true(starts_with(out, SCREEN_START));
	out += strlen(SCREEN_START);
	for (const char *line = out; *line; ) {
		size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);

		assert_non_null(copy);
		assert_true(utf8__width(copy) <= 60);
		free(copy);
		line += len + (line[len] == '\n');
	}
	expect(out, "\n      2       0                  4242 condwait (2 names)    \n");
	assert_int_equal(occurrences(out, "\n"), 6); /* title, sort, header, 3 rows */
}

/* A wait reason (a Go runtime's text, from the target's memory) and the
 * function and file of WHERE (a hostile binary's DWARF) are escaped too. */
static void test_hostile_reason_and_where(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	set_frame(fx->app_sym, 0, "level\x1b[2Jthree", "/src/cond\nwait\xff.c", 29, 0, false);
	begin(fx, true);
	add(fx, 4242, 4243, "cond\x1b]0;x\x07wait", false, 12 * SEC, APP_STACK);
	finish(fx);
	out = render(fx, SEC, false, 0);
	expect(out, " cond\\x1b]0;x\\x07wait ");
	expect(out, "level\\x1b[2Jthree (cond\\nwait\\xff.c:29)\n");
	for (const unsigned char *c = (const unsigned char *)out; *c; c++)
		assert_true((*c >= 0x20 && *c != 0x7f) || *c == '\n');
}

/* Groups in a finding are marked in the GROWTH column; each finding that
 * never ends by itself gets a line under the table, as a leak does. */
static void test_finding_markers(void **state)
{
	struct fixture *fx = *state;
	struct lock_sample s = { 0 };
	FILE *out;
	const char *text;

	lock_sample_build(&s);
	out = open_output(&fx->out, &fx->out_len);
	live__render(fx->live, out, s.picture, 5 * SEC, &(struct live_screen){ .columns = 80 }, NULL);
	text = close_output(out, &fx->out);
	expect(text, "\n      3       0       CONVOY     1234 locks  waiter     mutex lock       none");
	expect(text, "\n      1       0       CONVOY     1234 locks  holder     IO wait (socket) none");
	expect(text, "\n      1       0       CONVOY     2000 shared peer       mutex lock       none");
	expect(text, "\n      2       0     DEADLOCK     1234 locks  (2 names)  mutex lock       none");
	expect(text, "\n      1       0     DEADLOCK     1234 locks  self       mutex lock       none");
	expect(text, "\n      3       0    ABANDONED     1234 locks  (3 names)  mutex lock       none");
	expect(text, "\n      1       0                  1234 locks  cv         cond wait        none");
	expect(text, "\n\nDEADLOCK pid 1234: 101 \"a\" -[lock_b]-> 102 \"b\" -[lock_a]-> 101\n"
		     "SELF-DEADLOCK pid 1234: 103 \"self\" waits for lock_c, which it holds\n"
		     /* cut at 80 columns */
		     "ABANDONED LOCK pid 1234: 1 thread waits for lock_d, held by thread 99, which has\n");
	assert_int_equal(occurrences(text, "CONVOY"), 3);
	for (const char *line = text; *line; line += strcspn(line, "\n") + 1)
		assert_true(strcspn(line, "\n") <= 80); /* ASCII: a byte a column */
	expect_not(text, "more findings");
	lock_sample_free(&s);
}

/* More findings than lines: the rest are counted. */
static void test_finding_lines_bounded(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	begin(fx, true);
	for (pid_t tid = 4250; tid < 4257; tid++) {
		struct pw_unit *unit = add_thread(fx->picture, 4242, tid, "mutex lock", false, SEC,
						  NULL);

		unit->blocked_on = (struct pw_blocked_on){ .kind = PW_OBJECT_MUTEX,
							   .addr = 0x1000 + tid, .owner_tid = tid };
	}
	finish(fx);
	out = render(fx, SEC, false, 0);
	expect(out, "\n      7       0     DEADLOCK     4242 condwait");
	expect(out, "\n\nSELF-DEADLOCK pid 4242: 4250 \"t4250\" waits for mutex 0x209a, which it "
		    "holds\n");
	assert_int_equal(occurrences(out, "SELF-DEADLOCK pid"), 5);
	assert_true(ends_with(out, "\n... 2 more findings\n"));
}

/* Types text at the live view, a key at a time. */
static enum live_key type(struct live *live, const char *keys)
{
	enum live_key last = LIVE_KEY_NONE;

	for (const char *k = keys; *k; k++)
		last = live__key(live, (unsigned char)*k);
	return last;
}

/* The first row under the headings. */
static const char *first_row(const char *out)
{
	const char *headings = strstr(out, "  COUNT  CHANGE");

	assert_non_null(headings);
	return strchr(headings, '\n') + 1;
}

/* c, a and g sort by count, by the oldest park, by the change since the
 * start; the header says which. */
static void test_sort_keys(void **state)
{
	struct fixture *fx = *state;
	const char *out, *io, *sleeper, *cond;

	first_picture(fx);
	render(fx, SEC, false, 0);
	/* the sleeper's group gains two threads, the IO wait has waited longest */
	begin(fx, false);
	add(fx, 4242, 4243, "cond wait", false, 6 * 60 * SEC, APP_STACK);
	add(fx, 4242, 4244, "cond wait", false, 40 * SEC, APP_STACK);
	add(fx, 4242, 4245, "sleep", true, 3 * SEC, LIBC_STACK);
	add(fx, 4242, 4246, "sleep", true, 3 * SEC, LIBC_STACK);
	add(fx, 4242, 4247, "sleep", true, 3 * SEC, LIBC_STACK);
	add(fx, 5000, 5001, "IO wait (pipe)", true, 3600 * SEC, NO_STACK);
	finish(fx);

	out = render(fx, 2 * SEC, true, 0);
	expect(out, "\nsort: count ");
	assert_true(starts_with(first_row(out), "      3      +2 "));

	assert_int_equal(live__key(fx->live, 'a'), LIVE_KEY_REDRAW);
	out = render(fx, 2 * SEC, true, 0);
	expect(out, "\nsort: age ");
	io = expect(out, " IO wait (pipe) ");
	cond = expect(out, " cond wait ");
	sleeper = expect(out, " sleep ");
	assert_true(first_row(out) < io && io < cond && cond < sleeper);

	assert_int_equal(live__key(fx->live, 'g'), LIVE_KEY_REDRAW);
	out = render(fx, 2 * SEC, true, 0);
	expect(out, "\nsort: growth ");
	assert_true(starts_with(first_row(out), "      3      +2 "));
	/* ties keep the picture's order: largest, then oldest */
	cond = expect(out, " cond wait ");
	io = expect(out, " IO wait (pipe) ");
	assert_true(cond < io);

	assert_int_equal(live__key(fx->live, 'c'), LIVE_KEY_REDRAW);
	out = render(fx, 2 * SEC, true, 0);
	expect(out, "\nsort: count ");
	assert_int_equal(live__key(fx->live, 'x'), LIVE_KEY_NONE);
	assert_int_equal(live__key(fx->live, 'q'), LIVE_KEY_QUIT);
}

/* / opens a prompt on the last line; Enter applies what was typed, which
 * matches a name, a reason or a function of the stack; Esc clears it. */
static void test_filter_prompt(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	assert_int_equal(type(fx->live, "/PIPE"), LIVE_KEY_REDRAW);
	out = render(fx, SEC, true, 10);
	assert_true(ends_with(out, "\033[10;1H/PIPE"));
	expect(out, " cond wait "); /* not applied yet */
	/* q is text while the prompt is open */
	assert_int_equal(type(fx->live, "q\r"), LIVE_KEY_REDRAW);
	out = render(fx, SEC, true, 10);
	expect(out, "\nsort: count  filter: \"PIPEq\" ");
	expect_not(out, " IO wait (pipe) ");
	expect_not(out, "\033[10;1H");

	/* Backspace edits: the case of ASCII letters doesn't matter */
	type(fx->live, "/\x7f\r");
	out = render(fx, SEC, false, 0);
	expect(out, " IO wait (pipe) ");
	expect_not(out, " cond wait ");
	expect_not(out, " sleep ");

	/* a function of the stack; a process's name */
	type(fx->live, "/\x15level_th\r");
	out = render(fx, SEC, false, 0);
	expect(out, " cond wait ");
	expect_not(out, " IO wait (pipe) ");
	type(fx->live, "/\x15io\r");
	out = render(fx, SEC, false, 0);
	expect(out, " IO wait (pipe) ");

	/* Esc clears the filter, in the prompt or out of it */
	live__key(fx->live, 27);
	out = render(fx, SEC, true, 0);
	expect(out, " cond wait ");
	expect_not(out, "filter:");
	type(fx->live, "/zzz");
	live__key(fx->live, 27);
	out = render(fx, SEC, true, 0);
	expect(out, " sleep ");
	expect_not(out, "filter:");
}

/* What is typed at the prompt is escaped on the screen and in the header;
 * Backspace takes a whole UTF-8 character. */
static void test_filter_text_escaped(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	type(fx->live, "/a\xe6\x9d\xb1\x7f\x80\r");
	out = render(fx, SEC, true, 0);
	expect(out, "filter: \"a\\x80\"");
	type(fx->live, "/");
	out = render(fx, SEC, true, 0);
	assert_true(ends_with(out, "/a\\x80"));
}

/* ? shows the keys instead of the table; any key closes it. */
static void test_help(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	first_picture(fx);
	assert_int_equal(live__key(fx->live, '?'), LIVE_KEY_REDRAW);
	out = render(fx, SEC, true, 24);
	expect(out, "  g      sort by growth");
	expect(out, "  /      filter");
	expect_not(out, "COUNT");
	/* q closes the help rather than quitting */
	assert_int_equal(live__key(fx->live, 'q'), LIVE_KEY_REDRAW);
	out = render(fx, SEC, true, 24);
	expect(out, "COUNT");
	expect_not(out, "sort by growth");
}

/* Rows of a deadlock red, with colour; no colour without it.  Findings'
 * lines too.  The table with its findings fits the screen's lines. */
static void test_colour_and_height(void **state)
{
	struct fixture *fx = *state;
	struct lock_sample s = { 0 };
	const char *text;
	FILE *out;

	lock_sample_build(&s);
	out = open_output(&fx->out, &fx->out_len);
	live__render(fx->live, out, s.picture, 5 * SEC,
		     &(struct live_screen){ .ansi = true, .colour = true, .lines = 24, .columns = 40 },
		     NULL);
	text = close_output(out, &fx->out);
	/* cut to 40 columns, the colour's escapes not counted */
	expect(text, "\n\033[31m      2       0     DEADLOCK     1234 lo\033[0m\n");
	expect(text, "\n\033[31mDEADLOCK pid 1234: 101 \"a\" -[lock_b]-> 1\033[0m\n");
	expect(text, "\n      3       0       CONVOY     1234 lo\n");
	assert_true(occurrences(text, "\n") <= 23);

	out = open_output(&fx->out, &fx->out_len);
	live__render(fx->live, out, s.picture, 5 * SEC,
		     &(struct live_screen){ .ansi = true, .lines = 12, .columns = 80 }, NULL);
	text = close_output(out, &fx->out);
	expect_not(text + strlen(SCREEN_START), "\033");
	/* 11 lines: 3 of header, the findings' 4, a blank, rows and "... more" */
	assert_int_equal(occurrences(text, "\n"), 11);
	expect(text, " more groups\n");
	expect(text, "SELF-DEADLOCK pid 1234");
	lock_sample_free(&s);
}

/* The summary gives the screen back and keeps to it. */
static void test_summary(void **state)
{
	struct fixture *fx = *state;
	const char *out;
	FILE *file;

	first_picture(fx);
	render(fx, SEC, true, 24);
	live__key(fx->live, 'a');
	file = open_output(&fx->out, &fx->out_len);
	live__summary(fx->live, file, fx->picture, 3 * SEC,
		      &(struct live_screen){ .ansi = true, .lines = 7, .columns = 80 }, NULL);
	out = close_output(file, &fx->out);
	assert_true(starts_with(out, "\033[?1049l"));
	expect(out, "\nsort: age\n");
	/* 6 lines: the header's 3, the oldest group, "... more", where the dump is */
	expect(out, "\n      2       0                  4242 condwait cond wait      none       5m30s");
	expect(out, "\n... 2 more groups\n(the full dump: --final-dump)\n");
	assert_int_equal(occurrences(out, "\n"), 6);
	expect_not(out, "\033[H");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_first_render),
		TEST(test_change_since_start),
		TEST(test_ansi_and_rows),
		TEST(test_single_process_and_no_groups),
		TEST(test_goroutine_rows),
		TEST(test_names_container_and_width),
		TEST(test_hostile_reason_and_where),
		TEST(test_finding_markers),
		TEST(test_finding_lines_bounded),
		TEST(test_sort_keys),
		TEST(test_filter_prompt),
		TEST(test_filter_text_escaped),
		TEST(test_help),
		TEST(test_colour_and_height),
		TEST(test_summary),
	};

	return cmocka_run_group_tests_name("live", tests, NULL, NULL);
}
