// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the goroutine dumps in Go's own shapes (user/out/text_go.c)
 * on the Go process of support/go_sample.h: debug=2 tracebacks and the
 * debug=1 grouped profile with text/tabwriter's alignment, as the runtime
 * writes /debug/pprof/goroutine.  No process is looked at.
 */
#include <errno.h>
#include "out/render.h"
#include "support/go_sample.h"
#include "support/sample.h"

struct fixture {
	struct go_sample g;
	char *out;
	size_t out_len;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	go_sample_build(&fx->g);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	go_sample_free(&fx->g);
	free(fx->out);
	free(fx);
	return 0;
}

static const char *run(struct fixture *fx, int debug)
{
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = debug };
	FILE *out = open_output(&fx->out, &fx->out_len);

	assert_int_equal(text_go__write(out, fx->g.picture, &ctx, &opts), 0);
	return close_output(out, &fx->out);
}

/* One entry per user goroutine, in the runtime's order, two lines a shown
 * frame, the runtime's own frames and goroutines left out. */
static void test_debug2_tracebacks(void **state)
{
	struct fixture *fx = *state;
	const char *out = run(fx, 2);
	const char *g1, *g18, *g19, *g20, *g21, *g22, *g23;

	assert_true(starts_with(out, "goroutine 1 [select, 3 minutes]:\n"));
	/* an inlined call has no offset; the caller's is from its return address */
	g1 = expect(out, "goroutine 1 [select, 3 minutes]:\n"
			 "main.waitAll(...)\n"
			 "\t" GO_MAIN_SRC ":40\n"
			 "main.main(...)\n"
			 "\t" GO_MAIN_SRC ":21 +0x8b\n"
			 "\n");
	g18 = expect(out, "goroutine 18 [chan receive, 2 minutes]:\n"
			  "main.worker(...)\n"
			  "\t" GO_MAIN_SRC ":30 +0x26\n"
			  "created by main.main in goroutine 1\n"
			  "\t" GO_MAIN_SRC ":25 +0x4c\n"
			  "\n");
	/* minutes only from the runtime's own clock */
	g19 = expect(out, "\n\ngoroutine 19 [chan receive]:\nmain.worker(...)\n");
	g20 = expect(out, "\n\ngoroutine 20 [chan receive]:\n");
	g21 = expect(out, "\n\ngoroutine 21 [running, locked to thread]:\n"
			  "\tgoroutine running on other thread; stack unavailable\n"
			  "created by main.main in goroutine 1\n"
			  "\t" GO_MAIN_SRC ":25 +0x4c\n"
			  "\n");
	g22 = expect(out, "\n\ngoroutine 22 [syscall]:\n"
			  "\tgoroutine in a system call; stack unavailable\n"
			  "created by main.main in goroutine 1\n");
	g23 = expect(out, "\n\ngoroutine 23 [sleep]:\n"
			  "time.Sleep(...)\n"
			  "\t" GO_RUNTIME_SRC "time.go:195 +0x9e\n"
			  "main.ticker(...)\n"
			  "\t" GO_MAIN_SRC ":52 +0x32\n"
			  "...additional frames elided...\n"
			  "created by main.main in goroutine 1\n"
			  "\t" GO_MAIN_SRC ":25 +0x4c\n"
			  "\n");
	assert_true(g1 < g18 && g18 < g19 && g19 < g20 && g20 < g21 && g21 < g22 && g22 < g23);
	assert_true(ends_with(out, ":25 +0x4c\n\n"));
	/* goroutine 1 has no creator; runtime.* frames and goroutines are Go's own */
	assert_int_equal(occurrences(out, "created by "), 6);
	assert_int_equal(occurrences(out, "goroutine "), 7 + 6 + 2);
	expect_not(out, "goroutine 2 ");
	expect_not(out, "runtime.");
	expect_not(out, "force gc");
}

/* ", N minutes" for waiting and syscall goroutines only; "created by"
 * without the parent before Go 1.21, and not at all for the runtime's. */
static void test_debug2_minutes_and_creators(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *picture = fx->g.picture;
	struct pw_process *proc = &picture->procs[0];
	const char *out;

	((struct pw_goroutine *)picture->units[G_RUN].go)->wait_ns = 5 * 60 * SEC;
	((struct pw_goroutine *)picture->units[G_SYS].go)->wait_ns = 7 * 60 * SEC;
	((struct pw_goroutine *)picture->units[G_W2].go)->wait_ns = 59 * SEC;
	proc->has_parent_goid = false;
	out = run(fx, 2);
	expect(out, "goroutine 21 [running, locked to thread]:\n");
	expect(out, "goroutine 22 [syscall, 7 minutes]:\n");
	expect(out, "goroutine 19 [chan receive]:\n");
	expect(out, "created by main.main\n\t" GO_MAIN_SRC ":25 +0x4c\n");
	expect_not(out, " in goroutine ");
	assert_int_equal(occurrences(out, "created by "), 6);

	/* a goroutine the runtime started: Go's traceback hides its creator */
	set_frame(fx->g.creator, 0, "runtime.gcenable", GO_RUNTIME_SRC "mgc.go", 200, 0x4b,
		  false);
	out = run(fx, 2);
	expect_not(out, "created by");
}

/* The grouped profile, to the character: largest block first, then by the
 * pcs' text; Go's "#" lines aligned as text/tabwriter aligns them; leading
 * runtime frames and runtime.goexit hidden; stackless goroutines last, as
 * comments. */
static void test_debug1_profile(void **state)
{
	struct fixture *fx = *state;

	assert_string_equal(run(fx, 1),
		"goroutine profile: total 7\n"
		"3 @ 0x43a1ae 0x407d13 0x4a1d26 0x467e21\n"
		"#\t0x4a1d25\tmain.worker+0x25\t" GO_MAIN_SRC ":30\n"
		"\n"
		"1 @ 0x43a1ae 0x44c815 0x4a1e8b 0x4a1e71 0x43a55b 0x467e21\n"
		"#\t0x4a1e8a\tmain.waitAll+0x8a\t" GO_MAIN_SRC ":40\n"
		"#\t0x4a1e70\tmain.main+0x70\t\t" GO_MAIN_SRC ":21\n"
		"#\t0x43a55a\truntime.main+0x2ba\t" GO_RUNTIME_SRC "proc.go:267\n"
		"\n"
		"1 @ 0x43a1ae 0x464b3e 0x4a1f32\n"
		"#\t0x464b3d\ttime.Sleep+0x9d\t\t" GO_RUNTIME_SRC "time.go:195\n"
		"#\t0x4a1f31\tmain.ticker+0x31\t" GO_MAIN_SRC ":52\n"
		"\n"
		"# 1 [running]: stack unavailable\n"
		"\n"
		"# 1 [syscall]: stack unavailable\n"
		"\n");
}

/*
 * A stack of runtime frames only is shown whole (Go prints it again with
 * them); a pc without a name is a bare "#" line that ends the aligned run;
 * one stack in two reasons is one block.
 */
static void test_debug1_runtime_only_and_unnamed(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *picture = fx->g.picture;
	const __u64 runtime_pcs[2] = { go_worker_pcs[0], go_worker_pcs[1] };
	const struct symbol *runtime_symbols[2] = { fx->g.gopark, fx->g.chanrecv1 };
	const __u64 unnamed_pcs[4] = { go_worker_pcs[0], go_worker_pcs[2], 0x4c0011, 0x4a2051 };
	struct symbol *unknown = make_symbol(GO_EXE, 0x400000, 0x800000, NULL, 0xc0010, 0);
	struct symbol *serve = make_symbol(GO_EXE, 0x400000, 0x800000, NULL, 0xa2050, 1);
	const struct symbol *unnamed_symbols[4] = { fx->g.gopark, fx->g.worker, unknown, serve };
	const char *out;

	set_frame(serve, 0, "main.(*Server).handleConnection", GO_MAIN_SRC, 77, 0x50, false);
	picture->units[G_W1].stack = make_go_stack(picture, 7000, runtime_pcs, runtime_symbols, 2,
						   2, false);
	picture->units[G_W2].stack = make_go_stack(picture, 7000, unnamed_pcs, unnamed_symbols, 4,
						   4, false);
	picture->units[G_SLEEP].wait.reason = "chan send";
	picture->units[G_SLEEP].stack = fx->g.main_stack;
	regroup(picture);
	out = run(fx, 1);
	expect(out, "\n1 @ 0x43a1ae 0x407d13\n"
		    "#\t0x43a1ad\truntime.gopark+0xcd\t" GO_RUNTIME_SRC "proc.go:398\n"
		    "#\t0x407d12\truntime.chanrecv1+0x12\t" GO_RUNTIME_SRC "chan.go:442\n"
		    "\n");
	/* main.worker is not padded to handleConnection's width: another run */
	expect(out, "\n1 @ 0x43a1ae 0x4a1d26 0x4c0011 0x4a2051\n"
		    "#\t0x4a1d25\tmain.worker+0x25\t" GO_MAIN_SRC ":30\n"
		    "#\t0x4c0010\n"
		    "#\t0x4a2050\tmain.(*Server).handleConnection+0x50\t" GO_MAIN_SRC ":77\n"
		    "\n");
	/* select and chan send on main's stack: one block of two */
	expect(out, "\n2 @ 0x43a1ae 0x44c815 0x4a1e8b 0x4a1e71 0x43a55b 0x467e21\n");
	assert_int_equal(occurrences(out, " @ "), 4);
	symbol__put(unknown);
	symbol__put(serve);
}

/* render__write writes a picture of one Go process in Go's shape, any
 * other in parkwatch's; text_go__write refuses the others. */
static void test_render_picks_the_shape(void **state)
{
	struct fixture *fx = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = 1 };
	struct sample s = { 0 };
	FILE *out;

	out = open_output(&fx->out, &fx->out_len);
	assert_int_equal(render__write(out, PW_FORMAT_TEXT, fx->g.picture, &ctx, &opts), 0);
	assert_true(starts_with(close_output(out, &fx->out), "goroutine profile: total 7\n"));

	sample_build(&s);
	out = open_output(&fx->out, &fx->out_len);
	assert_int_equal(render__write(out, PW_FORMAT_TEXT, s.picture, &ctx, &opts), 0);
	assert_true(starts_with(close_output(out, &fx->out), "thread profile: total 3\n"));
	out = open_output(&fx->out, &fx->out_len);
	assert_int_equal(text_go__write(out, s.picture, &ctx, &opts), -EINVAL);
	assert_string_equal(close_output(out, &fx->out), "");
	sample_free(&s);
}


#define PRIVATE_CHAN 0xc000100000ULL
#define SHARED_CHAN 0xc000200000ULL

/* A goroutine of the sample waiting on a channel read as its hchan. */
static struct pw_chan *on_channel(struct pw_picture *picture, int unit, __u64 addr, __u64 len,
				  __u64 cap, __u32 recvq)
{
	struct pw_blocked_on *on = &picture->units[unit].blocked_on;
	struct pw_chan *chan = picture__add_chan(picture);

	assert_non_null(chan);
	chan->len = len;
	chan->cap = cap;
	chan->recvq = recvq;
	chan->elem_type = picture__string(picture, "int");
	on->kind = PW_OBJECT_CHANNEL;
	on->addr = addr;
	on->chan = chan;
	return chan;
}

/* The line under a goroutine's header says its channel as its hchan has
 * it; what can never wake says so. */
static void test_debug2_waiting_lines(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *picture = fx->g.picture;
	const char *out;

	on_channel(picture, G_W1, PRIVATE_CHAN, 0, 0, 1);
	on_channel(picture, G_W2, SHARED_CHAN, 2, 4, 2)->closed = true;
	picture->units[G_W3].wait.reason = "chan receive (nil chan)";
	picture->units[G_W3].blocked_on = (struct pw_blocked_on){ .kind = PW_OBJECT_CHANNEL,
								  .never_wakes = true };
	picture->units[G_MAIN].wait.reason = "select (no cases)";
	picture->units[G_MAIN].blocked_on.never_wakes = true;
	picture->units[G_SLEEP].blocked_on = (struct pw_blocked_on){ .kind = PW_OBJECT_SEMA,
								     .addr = 0xc0000140a8 };
	out = run(fx, 2);
	assert_true(starts_with(out, "goroutine 1 [select (no cases), 3 minutes]:\n"
				     "\twaiting on a select with no cases, which never wakes\n"
				     "main.waitAll(...)\n"));
	expect(out, "goroutine 18 [chan receive, 2 minutes]:\n"
		    "\twaiting on channel 0xc000100000 (chan int, len 0, cap 0, 0 senders, "
		    "1 receiver)\nmain.worker(...)\n");
	expect(out, "goroutine 19 [chan receive]:\n"
		    "\twaiting on channel 0xc000200000 (chan int, len 2, cap 4, 0 senders, "
		    "2 receivers, closed)\nmain.worker(...)\n");
	expect(out, "goroutine 20 [chan receive (nil chan)]:\n"
		    "\twaiting on a nil channel, which never wakes\nmain.worker(...)\n");
	expect(out, "goroutine 23 [sleep]:\n\twaiting on sema 0xc0000140a8\n");
	/* a channel whose sudog couldn't be read is no nil channel */
	picture->units[G_W3].blocked_on.never_wakes = false;
	out = run(fx, 2);
	expect(out, "goroutine 20 [chan receive (nil chan)]:\n\twaiting on channel\nmain.worker(...)\n");
	/* running and in a syscall: nothing to wait on */
	expect(out, "goroutine 21 [running, locked to thread]:\n"
		    "\tgoroutine running on other thread");
	assert_int_equal(occurrences(out, "\twaiting "), 5);
}

/* A block of the grouped profile says the one object its goroutines share,
 * or how many distinct ones: a leak of private channels against a pool on
 * one queue. */
static void test_debug1_objects(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *picture = fx->g.picture;
	const char *out;

	on_channel(picture, G_W1, PRIVATE_CHAN, 0, 0, 1);
	on_channel(picture, G_W2, PRIVATE_CHAN + 0x60, 0, 0, 1);
	on_channel(picture, G_W3, PRIVATE_CHAN + 0xc0, 0, 0, 1);
	regroup(picture);
	out = run(fx, 1);
	expect(out, "\n3 @ 0x43a1ae 0x407d13 0x4a1d26 0x467e21\n"
		    "# objects: 3 distinct\n"
		    "#\t0x4a1d25\tmain.worker+0x25\t" GO_MAIN_SRC ":30\n");
	for (int u = G_W1; u <= G_W3; u++)
		on_channel(picture, u, SHARED_CHAN, 0, 16, 3);
	regroup(picture);
	out = run(fx, 1);
	expect(out, "\n3 @ 0x43a1ae 0x407d13 0x4a1d26 0x467e21\n"
		    "# blocked on channel 0xc000200000 (chan int, len 0, cap 16, 0 senders, "
		    "3 receivers)\n#\t0x4a1d25\tmain.worker+0x25\t");
	assert_int_equal(occurrences(out, "# blocked on"), 1);
	assert_int_equal(occurrences(out, "# objects"), 0);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* No byte a terminal acts on: controls but \n and \t, DEL, and no byte of
 * invalid UTF-8 (each of those is escaped as \xNN). */
static void assert_terminal_safe(const char *out)
{
	for (const unsigned char *c = (const unsigned char *)out; *c; c++)
		assert_true((*c >= 0x20 && *c != 0x7f) || *c == '\n' || *c == '\t');
	expect_not(out, "\xff");
	expect_not(out, "\xc2\x9b");
}

/* Wait reasons come from the target's memory, names and files from its
 * pclntab or DWARF: escaped as Go's %q would, never written raw. */
static void test_hostile_strings(void **state)
{
	struct fixture *fx = *state;
	struct pw_picture *picture = fx->g.picture;
	const char *out;

	picture->units[G_W1].wait.reason = "chan\x1b[2J\nreceive\xff";
	for (size_t g = 0; g < picture->group_count; g++)
		if (picture->groups[g].members[0] == &picture->units[G_RUN])
			picture->groups[g].reason = "run\x1b]0;x\x07ning\xc2\x9b";
	set_frame(fx->g.worker, 0, "main.wor\x1b[31mker", "/app/ma\nin.go\xfe", 30, 0x25, false);
	set_frame(fx->g.creator, 0, "main.ma\rin", "/app/\x1b.go", 25, 0x4b, false);

	out = run(fx, 2);
	expect(out, "\n\ngoroutine 18 [chan\\x1b[2J\\nreceive\\xff, 2 minutes]:\n"
		    "main.wor\\x1b[31mker(...)\n"
		    "\t/app/ma\\nin.go\\xfe:30 +0x26\n"
		    "created by main.ma\\rin in goroutine 1\n"
		    "\t/app/\\x1b.go:25 +0x4c\n");
	assert_terminal_safe(out);

	out = run(fx, 1);
	expect(out, "#\t0x4a1d25\tmain.wor\\x1b[31mker+0x25\t/app/ma\\nin.go\\xfe:30\n");
	expect(out, "\n# 1 [run\\x1b]0;x\\x07ning\\u009b]: stack unavailable\n");
	assert_terminal_safe(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_debug2_tracebacks),
		TEST(test_debug2_minutes_and_creators),
		TEST(test_debug1_profile),
		TEST(test_debug1_runtime_only_and_unnamed),
		TEST(test_render_picks_the_shape),
		TEST(test_debug2_waiting_lines),
		TEST(test_debug1_objects),
		TEST(test_hostile_strings),
	};

	return cmocka_run_group_tests_name("text_go", tests, NULL, NULL);
}
