// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the text dump (user/out/text.c) on the picture of
 * support/dump_sample.h: fake stacks, symbols and kernel frames, groups
 * from group__build.  No BPF, no process is looked at.
 */
#include "model/group.h"
#include "out/blocked.h"
#include "out/render.h"
#include "support/dump_sample.h"
#include "support/lock_sample.h"

static const char *run_text(struct dump_fixture *fx, const struct pw_picture *picture,
			    const struct pw_context *ctx, const struct render_opts *opts)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	assert_int_equal(text__write(out, picture, ctx, opts), 0);
	return close_output(out, &fx->out);
}

/* The fixture's group layout, which the dump tests rely on. */
static void test_fixture_groups(void **state)
{
	struct dump_fixture *fx = *state;
	const struct pw_picture *picture = fx->d.picture;
	const struct pw_unit *cond1 = &picture->units[D_COND1];

	assert_int_equal(picture->group_count, 3);
	assert_int_equal(picture->groups[0].count, 2);
	assert_int_equal(picture->groups[0].members[0]->id, 4243);
	assert_int_equal(picture->groups[0].members[1]->id, 4244);
	assert_int_equal(picture->groups[1].members[0]->id, 5000);
	assert_int_equal(picture->groups[2].members[0]->id, 5001);
	/* the kernel stack is the picture's own copy */
	assert_int_equal(cond1->id, 4243);
	assert_int_equal(cond1->kstack_depth, 2);
	assert_non_null(cond1->kstack);
	assert_ptr_not_equal(cond1->kstack, dump_kstack);
	assert_true(cond1->kstack[0] == dump_kstack[0]);
	assert_true(cond1->kstack[1] == dump_kstack[1]);
}

static void test_text_debug2(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out = run_text(fx, fx->d.picture, &ctx, &opts);
	const char *main_hdr, *cond1, *cond2, *io_proc, *sleep_hdr, *io_hdr;

	expect(out, "parkwatch " PARKWATCH_VERSION ": 5 threads in 2 processes, 4 parked "
		    "(sleeping 4, running 1)\n");
	expect(out, "\nprocess 4242 (condwait): 3 threads, 2 parked\n");
	io_proc = expect(out, "\nprocess 5000 (io\"x): 2 threads, 2 parked\n");
	main_hdr = expect(out, "\nthread 4242 \"condwait\" [running]:\n");
	cond1 = expect(out, "\nthread 4243 \"worker-1\" [cond wait, 5 minutes]:\n"
			    "pthread_cond_wait(...)\n"
			    "\t" DUMP_LIBC " +0x1c0\n"
			    "check_ready(...)\n"
			    "\t" DUMP_SOURCE ":17\n"
			    "level_three(...)\n"
			    "\t" DUMP_SOURCE ":29 +0x3b\n"
			    "?\?()\n"
			    "\t" DUMP_PLUGIN " +0x11233\n"
			    "?\?()\n"
			    "\t? +0x4000\n");
	cond2 = expect(out, "\nthread 4244 \"worker-2\" [cond wait, 12 seconds]:\npthread_cond_wait(...)\n");
	sleep_hdr = expect(out, "\nthread 5000 \"io\\\"x\" [sleep, 2 seconds]:\n"
				"clock_nanosleep(...)\n"
				"\t" DUMP_SLEEP_SOURCE ":78 +0x70\n");
	io_hdr = expect(out, "\nthread 5001 \"reader\" [IO wait (pipe), 340 ms]:\n"
			     "\t(no user stack: parked less than --min-park)\n");
	/* in picture order, each process header before its threads */
	assert_true(main_hdr < cond1 && cond1 < cond2 && cond2 < io_proc);
	assert_true(io_proc < sleep_hdr && sleep_hdr < io_hdr);
	/* the running thread has no frames; no kernel frames unless asked */
	expect(out, "\nthread 4242 \"condwait\" [running]:\n\nthread 4243");
	expect_not(out, "[kernel]");
	expect_not(out, "thread profile");
	assert_int_equal(occurrences(out, "\nprocess "), 2);
	assert_int_equal(occurrences(out, "\nthread "), 5);
	/* nothing waits on anything known: no line, no finding, no status 8 */
	expect_not(out, "\twaiting ");
	expect_not(out, "DEADLOCK");
	assert_int_equal(blocked__stuck_findings(fx->d.picture), 0);
	assert_true(out[strlen(out) - 1] == '\n');
}

/* A demangled name is shown with its own parameter list, not "(...)"; a
 * frame rebuilt from a tail call is marked. */
/* A thread that woke while its stack was copied says so, not --min-park. */
static void test_text_stack_raced(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	for (size_t i = 0; i < fx->d.picture->unit_count; i++)
		if (fx->d.picture->units[i].id == 5001)
			fx->d.picture->units[i].stack_raced = true;
	out = run_text(fx, fx->d.picture, &ctx, &opts);
	expect(out, "\nthread 5001 \"reader\" [IO wait (pipe), 340 ms]:\n"
		    "\t(no user stack: it woke while the stack was copied)\n");
	expect_not(out, "--min-park");
}

static void test_text_cplus_and_tail_call(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	struct symbol *level_three = fx->d.level_three;
	const char *out;

	free(level_three->frames[0].function);
	level_three->frames[0].function = strdup("app::Box<int>::ready() const");
	free(level_three->frames[1].function);
	level_three->frames[1].function = strdup("app::{lambda()#1}::operator()");
	fx->d.libc_cond->frames[0].tail_call = true;
	out = run_text(fx, fx->d.picture, &ctx, &opts);
	expect(out, "\nthread 4243 \"worker-1\" [cond wait, 5 minutes]:\n"
		    "pthread_cond_wait(...) [tail call]\n"
		    "\t" DUMP_LIBC " +0x1c0\n"
		    "app::Box<int>::ready() const\n"
		    "\t" DUMP_SOURCE ":17\n"
		    "app::{lambda()#1}::operator()(...)\n"
		    "\t" DUMP_SOURCE ":29 +0x3b\n");
}

static void test_text_debug2_kernel_frames(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2, .kernel_stacks = true };
	const char *out;

	/* without kallsyms the addresses are printed */
	out = run_text(fx, fx->d.picture, &ctx, &opts);
	expect(out, "\nthread 4243 \"worker-1\" [cond wait, 5 minutes]:\n"
		    "0xffffffff81001010 [kernel]\n"
		    "0xffffffff80000008 [kernel]\n"
		    "pthread_cond_wait(...)\n");

	fx->ksyms = dump_ksyms();
	ctx.ksyms = fx->ksyms;
	out = run_text(fx, fx->d.picture, &ctx, &opts);
	expect(out, "\nthread 4243 \"worker-1\" [cond wait, 5 minutes]:\n"
		    "futex_wait_queue+0x10 [kernel]\n"
		    "0xffffffff80000008 [kernel]\n"
		    "pthread_cond_wait(...)\n");
	/* only 4243 has kernel frames */
	assert_int_equal(occurrences(out, "[kernel]"), 2);
}

static void test_text_debug1(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 1 };
	const char *out = run_text(fx, fx->d.picture, &ctx, &opts);
	const char *group_cond, *group_sleep, *group_io;

	assert_true(starts_with(out, "thread profile: total 4\n"));
	group_cond = expect(out, "2 @ 0x7f00000283c0 0x401236 0x7f1000011234 0x4000\n"
				 "# labels: {\"pid\":\"4242\", \"comm\":\"condwait\", "
				 "\"reason\":\"cond wait\", \"timeout\":\"none\"}\n");
	expect(out, "#\t0x7f00000283c0\tpthread_cond_wait+0x1c0\t" DUMP_LIBC "\n");
	expect(out, "#\t0x401235\tcheck_ready+0x");
	expect(out, "\t" DUMP_SOURCE ":17\n");
	expect(out, "#\t0x401235\tlevel_three+0x3a\t" DUMP_SOURCE ":29\n");
	expect(out, "#\t0x7f1000011233\t" DUMP_PLUGIN "+0x11233\n");
	expect(out, "#\t0x3fff\t?+0x3fff\n");
	group_sleep = expect(out, "1 @ 0x7f00000e5a10\n"
				  "# labels: {\"pid\":\"5000\", \"comm\":\"io\\\"x\", "
				  "\"reason\":\"sleep\", \"timeout\":\"finite\"}\n"
				  "#\t0x7f00000e5a10\tclock_nanosleep+0x70\t"
				  DUMP_SLEEP_SOURCE ":78\n\n");
	group_io = expect(out, "1 @\n# labels: {\"pid\":\"5000\", \"comm\":\"io\\\"x\", "
			       "\"reason\":\"IO wait (pipe)\", \"timeout\":\"finite\"}\n\n");
	/* largest group first */
	assert_true(group_cond < group_sleep && group_sleep < group_io);
	assert_int_equal(occurrences(out, "# labels: "), 3);
	/* no per-thread entries in the grouped profile */
	expect_not(out, "thread 4243");
	expect_not(out, "(...)");
}

static void test_text_empty_report(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *empty = picture__new();
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };

	assert_non_null(empty);
	assert_string_equal(run_text(fx, empty, &ctx, &opts),
			    "parkwatch " PARKWATCH_VERSION ": 0 threads in 0 processes, 0 parked ()\n");
	opts.debug = 1;
	assert_string_equal(run_text(fx, empty, &ctx, &opts), "thread profile: total 0\n");
	picture__put(empty);
}

/*
 * Goroutines beside threads (more than one process: parkwatch's own shape,
 * not Go's): a goroutine entry is named so, runtime goroutines are left
 * out, and the grouped profile has the waiting ones only.
 */
static void test_text_goroutines_beside_threads(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *picture = fx->d.picture;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	struct pw_goroutine *go;
	const char *out;

	add_go_proc(picture, 6000, "gosrv", "/usr/bin/gosrv", "go1.22.1");
	add_goroutine(picture, 6000, 1, "waiting", "chan receive", 3 * SEC, fx->d.s2, NULL);
	add_goroutine(picture, 6000, 2, "waiting", "force gc (idle)", 9 * SEC, NULL, &go);
	go->system = true;
	add_goroutine(picture, 6000, 7, "running", NULL, 0, NULL, NULL);
	regroup(picture);
	assert_int_equal(picture->parked_count, 5);

	out = run_text(fx, picture, &ctx, &opts);
	expect(out, ": 7 threads in 3 processes, 5 parked (sleeping 5, running 2)\n");
	expect(out, "\nprocess 6000 (gosrv): 2 threads, 1 parked\n"
		    "\ngoroutine 1 [chan receive, 3 seconds]:\n"
		    "clock_nanosleep(...)\n");
	expect(out, "\ngoroutine 7 [running]:\n");
	expect_not(out, "goroutine 2 ");
	expect_not(out, "force gc");

	opts.debug = 1;
	out = run_text(fx, picture, &ctx, &opts);
	assert_true(starts_with(out, "thread profile: total 5\n"));
	expect(out, "1 @ 0x7f00000e5a10\n# labels: {\"pid\":\"6000\", \"comm\":\"gosrv\", "
		    "\"reason\":\"chan receive\", \"timeout\":\"none\"}\n");
	expect_not(out, "\"running\"");
	assert_int_equal(occurrences(out, "# labels: "), 4);
}

/*
 * Names a local user chose: control characters and ill-formed UTF-8 are
 * escaped (no raw byte below 0x20, no 0xff reaches the terminal, a name
 * can't start a line of its own), valid UTF-8 stays.  The process line
 * says its pid in its namespace and its container label.
 */
static void test_text_hostile_names_and_container(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *picture = fx->d.picture;
	struct pw_process *proc = &picture->procs[0];
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	snprintf(picture->units[D_COND1].comm, PARK_COMM_LEN, "\x1b[2J\nthread 1");
	snprintf(picture->units[D_COND1 + 1].comm, PARK_COMM_LEN, "w\xff\xfe\"\xe6\x9d\xb1");
	snprintf(proc->comm, PARK_COMM_LEN, "cw\r\xc2\x9b");
	proc->ns_pid = 7;
	proc->cgroup.container = picture__string(picture, "3f2a9c0e1b7d4c5e6f708192a3b4c5d6");
	/* a function name from a hostile binary is escaped as well */
	set_frame(fx->d.level_three, 1, "level\x1b]0;x\x07three", "/src/condwait.c", 29, 0x3a,
		  false);
	out = run_text(fx, picture, &ctx, &opts);
	expect(out, "\nlevel\\x1b]0;x\\x07three(...)\n\t/src/condwait.c:29 +0x3b\n");
	expect(out, "\nprocess 4242 (cw\\r\\u009b) ns_pid=7 container=3f2a9c0e1b7d: 3 threads, "
		    "2 parked\n");
	expect(out, "\nthread 4243 \"\\x1b[2J\\nthread 1\" [cond wait, 5 minutes]:\n");
	expect(out, "\nthread 4244 \"w\\xff\\xfe\\\"\xe6\x9d\xb1\" [cond wait, 12 seconds]:\n");
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t');
	expect_not(out, "\xff");
	assert_int_equal(occurrences(out, "\nthread "), 5);

	opts.debug = 1;
	out = run_text(fx, picture, &ctx, &opts);
	expect(out, "# labels: {\"pid\":\"4242\", \"comm\":\"cw\\u000d\\u009b\", \"ns_pid\":\"7\", "
		    "\"container\":\"3f2a9c0e1b7d\", \"reason\":\"cond wait\"");
	expect(out, "\tlevel\\x1b]0;x\\x07three+0x3a\t/src/condwait.c:29\n");
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t');
}

/* A wait reason can be a Go runtime's text, read from the target's memory:
 * escaped in the unit's header and in the profile's labels, so it can
 * neither move the terminal's cursor nor forge a line. */
static void test_text_hostile_wait_reason(void **state)
{
	struct dump_fixture *fx = *state;
	struct pw_picture *picture = fx->d.picture;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 2 };
	const char *out;

	picture->units[D_COND1].wait.reason = "cond\x1b[2J\nthread 9 [wait\xff";
	picture->groups[0].reason = "cond\x1b[2J\n# labels: {\xc2\x9b}";
	out = run_text(fx, picture, &ctx, &opts);
	expect(out, "\nthread 4243 \"worker-1\" [cond\\x1b[2J\\nthread 9 [wait\\xff, "
		    "5 minutes]:\n");
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t');
	expect_not(out, "\xff");

	opts.debug = 1;
	out = run_text(fx, picture, &ctx, &opts);
	expect(out, ", \"reason\":\"cond\\u001b[2J\\n# labels: {\\u009b}\", \"timeout\":");
	assert_int_equal(occurrences(out, "# labels: {\""), 3);
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t');
	expect_not(out, "\xc2\x9b");
}

/* ---- what units wait for (support/lock_sample.h) ---- */

static int lock_setup(void **state)
{
	struct lock_sample *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	lock_sample_build(s);
	*state = s;
	return 0;
}

static int lock_teardown(void **state)
{
	lock_sample_free(*state);
	free(*state);
	return 0;
}

static const char *run_locks(struct lock_sample *s, char **buf, int debug)
{
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = debug };
	size_t len;
	FILE *out = open_output(buf, &len);

	assert_int_equal(text__write(out, s->picture, &ctx, &opts), 0);
	return close_output(out, buf);
}

/* One line under each waiting thread's header, before its frames: the
 * object, and the owner as its own entry shows it. */
static void test_text_waiting_lines(void **state)
{
	char *buf = NULL;
	const char *out = run_locks(*state, &buf, 2);

	expect(out, "\nthread 105 \"waiter\" [mutex lock, 5 seconds]:\n"
		    "\twaiting for mutex 0x55d0c0a04040 <config_lock> held by thread 4201 "
		    "\"holder\" [IO wait (socket), 5 minutes]\n"
		    "__lll_lock_wait(...)\n");
	assert_int_equal(occurrences(out, "<config_lock> held by thread 4201"), 3);
	expect(out, "\nthread 4201 \"holder\" [IO wait (socket), 5 minutes]:\n"
		    "\twaiting on fd 5: " HOLDER_FD_TEXT "\nread(...)\n");
	expect(out, "\nthread 108 \"cv\" [cond wait, 5 seconds]:\n"
		    "\twaiting on condvar 0x55d0c0a04200 <ready>\npthread_cond_wait(...)\n");
	expect(out, "\n\twaiting for mutex 0x55d0c0a04140 owner unknown\n");
	expect(out, "\n\twaiting for mutex 0x55d0c0a04180 held by thread 7777 (not watched)\n");
	expect(out, "\n\twaiting for mutex 0x55d0c0a04100 <lock_d> held by thread 99, which has "
		    "exited\n");
	/* a process-shared lock: the owner's process named */
	expect(out, "\nthread 2001 \"peer\" [mutex lock, 5 seconds]:\n"
		    "\twaiting for mutex 0x7f0000001000 held by thread 4201 \"holder\" in process "
		    "1234 (locks) [IO wait (socket), 5 minutes]\n");
	/* a process-shared lock's owner in a process not watched */
	lock_sample_unit(*state, 2000, 2001)->blocked_on.owner_pid = 3333;
	out = run_locks(*state, &buf, 2);
	expect(out, "\nthread 2001 \"peer\" [mutex lock, 5 seconds]:\n"
		    "\twaiting for mutex 0x7f0000001000 held by thread 4201 in process 3333 "
		    "(not watched)\n");
	/* an owner that runs says so */
	lock_sample_unit(*state, 1234, 102)->parked = false;
	lock_sample_unit(*state, 1234, 102)->state_name = "running";
	out = run_locks(*state, &buf, 2);
	expect(out, "\n\twaiting for mutex 0x55d0c0a04080 <lock_b> held by thread 102 \"b\" "
		    "[running]\n");
	free(buf);
}

/* A block per finding at the top, jstack style: header, the threads in
 * cycle order, their stacks; then one line per convoy. */
static void test_text_findings_block(void **state)
{
	char *buf = NULL;
	const char *out = run_locks(*state, &buf, 2);
	const char *deadlock, *self, *abandoned, *convoy, *first_process;

	deadlock = expect(out, "\n\nDEADLOCK: 2 threads in process 1234 (locks) wait for each other:\n"
			       "thread 101 \"a\" waits for mutex 0x55d0c0a04080 <lock_b> held by "
			       "thread 102 \"b\"\n"
			       "thread 102 \"b\" waits for mutex 0x55d0c0a04000 <lock_a> held by "
			       "thread 101 \"a\"\n"
			       "\nthread 101 \"a\" [mutex lock, 5 seconds]:\n"
			       "__lll_lock_wait(...)\n\t/usr/lib/x86_64-linux-gnu/libc.so.6 +0x20\n"
			       "take_both(...)\n\t/src/locks.c:42 +0x21\n"
			       "\nthread 102 \"b\" [mutex lock, 5 seconds]:\n__lll_lock_wait(...)\n");
	self = expect(out, "\nSELF-DEADLOCK: thread 103 \"self\" in process 1234 (locks) waits for a "
			   "mutex it holds:\nthread 103 \"self\" waits for mutex 0x55d0c0a040c0 "
			   "<lock_c> held by thread 103 \"self\"\n\nthread 103 \"self\" [mutex lock, "
			   "5 seconds]:\n__lll_lock_wait(...)\n");
	abandoned = expect(out, "\nABANDONED LOCK: 1 thread in process 1234 (locks) waits for mutex "
				"0x55d0c0a04100 <lock_d>, whose owner thread 99 has exited:\n"
				"thread 104 \"orphan\" waits for mutex 0x55d0c0a04100 <lock_d> held "
				"by thread 99, which has exited\n\nthread 104 \"orphan\"");
	convoy = expect(out, "\n\nCONVOY: 4 threads wait behind thread 4201 \"holder\" [IO wait "
			     "(socket), 5 minutes] holding mutex 0x55d0c0a04040 <config_lock>, itself "
			     "waiting on fd 5: " HOLDER_FD_TEXT "\n");
	first_process = expect(out, "\nprocess 1234 (locks)");
	assert_true(deadlock < self && self < abandoned && abandoned < convoy &&
		    convoy < first_process);
	assert_int_equal(occurrences(out, "DEADLOCK: "), 2);
	assert_int_equal(occurrences(out, "CONVOY: "), 1);
	/* what --dump's exit status 8 counts: all but the convoy */
	assert_int_equal(blocked__stuck_findings(((struct lock_sample *)*state)->picture), 3);
	free(buf);
}

/* Grouped: the findings as comments after the header, and per group the
 * object its members share or how many they wait on. */
static void test_text_debug1_objects(void **state)
{
	char *buf = NULL;
	const char *out = run_locks(*state, &buf, 1);

	assert_true(starts_with(out, "thread profile: total 12\n"
				     "# DEADLOCK: 2 threads in process 1234 (locks) wait for each "
				     "other:\n# thread 101 \"a\" waits for mutex 0x55d0c0a04080 "
				     "<lock_b> held by thread 102 \"b\"\n"));
	expect(out, "\n# SELF-DEADLOCK: thread 103");
	expect(out, "\n# ABANDONED LOCK: 1 thread in process 1234");
	expect(out, "\n# CONVOY: 4 threads wait behind thread 4201 \"holder\"");
	expect(out, "\"reason\":\"mutex lock\", \"timeout\":\"none\"}\n"
		    "# blocked on mutex 0x55d0c0a04040 <config_lock> held by thread 4201 \"holder\" "
		    "[IO wait (socket), 5 minutes]\n#\t0x7f000008a0d0\t__lll_lock_wait+0x20\t");
	/* 104, 109, 110: three mutexes; 101, 102: two */
	expect(out, "# objects: 3 distinct\n#\t0x7f000008a0d0\t__lll_lock_wait+0x20\t"
		    "/usr/lib/x86_64-linux-gnu/libc.so.6\n#\t0x4013ff\tmisc+0x20");
	expect(out, "# objects: 2 distinct\n#\t0x7f000008a0d0\t__lll_lock_wait+0x20\t"
		    "/usr/lib/x86_64-linux-gnu/libc.so.6\n#\t0x4010ff\ttake_both+0x20");
	expect(out, "# blocked on fd 5: " HOLDER_FD_TEXT "\n");
	expect_not(out, "\nthread 101");
	free(buf);
}

/* Names in the lines are escaped as everywhere in the dump. */
static void test_text_waiting_hostile_names(void **state)
{
	struct lock_sample *s = *state;
	char *buf = NULL;
	const char *out;

	snprintf(lock_sample_unit(s, 1234, 4201)->comm, PARK_COMM_LEN, "h\x1b[2J\n\"x");
	lock_sample_unit(s, 1234, 105)->blocked_on.symbol = picture__string(s->picture, "lk\r\xff");
	out = run_locks(s, &buf, 2);
	expect(out, "\n\twaiting for mutex 0x55d0c0a04040 <lk\\r\\xff> held by thread 4201 "
		    "\"h\\x1b[2J\\n\\\"x\" [IO wait (socket), 5 minutes]\n");
	expect(out, "CONVOY: 4 threads wait behind thread 4201 \"h\\x1b[2J\\n\\\"x\" [IO wait");
	for (const char *c = out; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t');
	free(buf);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, dump_fixture_setup, dump_fixture_teardown)
#define LOCK_TEST(fn) cmocka_unit_test_setup_teardown(fn, lock_setup, lock_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_fixture_groups),
		TEST(test_text_debug2),
		TEST(test_text_stack_raced),
		TEST(test_text_cplus_and_tail_call),
		TEST(test_text_debug2_kernel_frames),
		TEST(test_text_debug1),
		TEST(test_text_empty_report),
		TEST(test_text_goroutines_beside_threads),
		TEST(test_text_hostile_names_and_container),
		TEST(test_text_hostile_wait_reason),
		LOCK_TEST(test_text_waiting_lines),
		LOCK_TEST(test_text_findings_block),
		LOCK_TEST(test_text_debug1_objects),
		LOCK_TEST(test_text_waiting_hostile_names),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
