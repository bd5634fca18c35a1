// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the text and JSON dumps (user/dump.c) on a report built by
 * hand: task records laid out as the snapshot iterator writes them and
 * parsed with snapshot__parse, fake stacks and symbols, groups from
 * group__build.  No BPF, no process is looked at.
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
#include "out/dump.h"
#include "support/fixtures.h"
#include "util/ksyms.h"
#include "model/report.h"
#include "kernel/snapshot.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PLUGIN "/opt/app/libplugin.so"
#define SOURCE "/src/condwait.c"

/*
 * The picture:
 *   process 4242 "condwait": 4242 running; 4243 (5m30s) and 4244 (12s) in
 *     the same cond wait, stack S1 (libc leaf, an inlined frame in
 *     level_three, an unsymbolized frame in a plugin, an unmapped pc);
 *     4243 also has two kernel frames.
 *   process 5000 "io\"x" (a quote to escape): 5000 asleep in nanosleep for
 *     2s with stack S2; 5001 in a pipe read with a timeout for 340ms, no
 *     user stack.
 */
enum { T_MAIN, T_COND1, T_COND2, T_SLEEP, T_IO, N_THREADS };

struct fixture {
	struct snapshot *snap;
	struct thread_info threads[N_THREADS];
	struct proc_summary procs[2];
	struct stack *s1, *s2;
	struct symbol *libc_cond, *level_three, *plugin, *libc_sleep;
	const struct symbol *s1_symbols[4], *s2_symbols[1];
	struct ksyms *ksyms;
	struct report report;
	char *out;
	size_t out_len;
};

static const __u64 s1_pcs[] = { 0x7f00000283c0, 0x401236, 0x7f1000011234, 0x4000 };
static const __u64 kstack[] = { 0xffffffff81001010, 0xffffffff80000008 };

/* Appends one record in the iterator's layout; returns the new length. */
static size_t put_record(char *buf, size_t off, __u32 tgid, __u32 tid, const char *comm,
			 __u32 state, __u32 flags, __u64 park_ns, __u16 reason, int syscall_nr,
			 bool timeout, const __u64 *ks, __u32 ks_depth)
{
	struct task_record rec = { 0 };

	rec.tgid = tgid;
	rec.tid = tid;
	strncpy(rec.comm, comm, sizeof(rec.comm) - 1);
	rec.state = state;
	rec.flags = flags;
	rec.now_ns = NOW_NS;
	rec.park_start_ns = park_ns ? NOW_NS - park_ns : 0;
	rec.wait.reason = reason;
	rec.wait.syscall_nr = syscall_nr;
	rec.wait.has_timeout = timeout;
	rec.kstack_depth = ks_depth;
	memcpy(buf + off, &rec, sizeof(rec));
	off += sizeof(rec);
	if (ks_depth)
		memcpy(buf + off, ks, ks_depth * sizeof(__u64));
	return off + ks_depth * sizeof(__u64);
}

static void fill_thread(struct thread_info *thread, const struct thread_sample *sample,
			const char *state, const char *reason, const char *syscall,
			const struct stack *stack, const struct symbol **symbols)
{
	const struct task_record *rec = sample->rec;

	thread->rec = rec;
	thread->state = state;
	thread->parked = rec->state & PARK_TASK_SLEEP_MASK;
	thread->park_ns = thread->parked ? rec->now_ns - rec->park_start_ns : 0;
	thread->wait.reason = reason;
	thread->wait.syscall = syscall;
	thread->wait.has_timeout = rec->wait.has_timeout;
	thread->stack = stack;
	thread->symbols = symbols;
	thread->kstack = sample->kstack;
	thread->kstack_depth = rec->kstack_depth;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	size_t cap = N_THREADS * (sizeof(struct task_record) + 8 * sizeof(__u64)), len = 0;
	char *buf = calloc(1, cap);

	if (!fx || !buf)
		return -1;
	/* records in snapshot order: by pid and tid, as report__build sorts them */
	len = put_record(buf, len, 4242, 4242, "condwait", 0, TASK_REC_ON_CPU, 0, PARK_REASON_NONE, -1,
			 false, NULL, 0);
	len = put_record(buf, len, 4242, 4243, "worker-1", PARK_TASK_INTERRUPTIBLE, 0,
			 5 * 60 * SEC + 30 * SEC, PARK_REASON_FUTEX, 202, false, kstack, 2);
	len = put_record(buf, len, 4242, 4244, "worker-2", PARK_TASK_INTERRUPTIBLE, 0, 12 * SEC,
			 PARK_REASON_FUTEX, 202, false, NULL, 0);
	len = put_record(buf, len, 5000, 5000, "io\"x", PARK_TASK_INTERRUPTIBLE, TASK_REC_ESTIMATED,
			 2 * SEC, PARK_REASON_SLEEP, 35, true, NULL, 0);
	len = put_record(buf, len, 5000, 5001, "reader", PARK_TASK_INTERRUPTIBLE, 0, 340 * MS,
			 PARK_REASON_IO, 0, true, NULL, 0);
	if (snapshot__parse(buf, len, &fx->snap) || fx->snap->count != N_THREADS)
		return -1;

	/* S1: libc leaf, level_three with an inlined helper, plugin, unmapped */
	fx->s1 = make_stack(s1_pcs, 4);
	fx->libc_cond = make_symbol(LIBC, 0, 0, NULL, 0x283c0, 1);
	set_frame(fx->libc_cond, 0, "pthread_cond_wait", NULL, 0, 0x1c0, false);
	fx->level_three = make_symbol("/src/condwait", 0, 0, NULL, 0x1235, 2);
	set_frame(fx->level_three, 0, "check_ready", SOURCE, 17, 0x5, true);
	set_frame(fx->level_three, 1, "level_three", SOURCE, 29, 0x3a, false);
	fx->plugin = make_symbol(PLUGIN, 0, 0, NULL, 0x11233, 0);
	fx->s1_symbols[0] = fx->libc_cond;
	fx->s1_symbols[1] = fx->level_three;
	fx->s1_symbols[2] = fx->plugin;
	fx->s1_symbols[3] = NULL;

	/* S2: one libc frame */
	fx->s2 = make_stack((const __u64[]){ 0x7f00000e5a10 }, 1);
	fx->libc_sleep = make_symbol(LIBC, 0, 0, NULL, 0xe5a10, 1);
	set_frame(fx->libc_sleep, 0, "clock_nanosleep", "../sysdeps/clock_nanosleep.c", 78, 0x70,
		  false);
	fx->s2_symbols[0] = fx->libc_sleep;

	fill_thread(&fx->threads[T_MAIN], &fx->snap->threads[0], "running", NULL, NULL, NULL, NULL);
	fill_thread(&fx->threads[T_COND1], &fx->snap->threads[1], "sleeping", "cond wait", "futex",
		    fx->s1, fx->s1_symbols);
	fill_thread(&fx->threads[T_COND2], &fx->snap->threads[2], "sleeping", "cond wait", "futex",
		    fx->s1, fx->s1_symbols);
	fill_thread(&fx->threads[T_SLEEP], &fx->snap->threads[3], "sleeping", "sleep", "nanosleep",
		    fx->s2, fx->s2_symbols);
	fill_thread(&fx->threads[T_IO], &fx->snap->threads[4], "sleeping", "IO wait (pipe)", "read",
		    NULL, NULL);

	fx->procs[0] = (struct proc_summary){ .pid = 4242, .comm = "condwait", .threads = 3,
					      .parked = 2 };
	fx->procs[1] = (struct proc_summary){ .pid = 5000, .comm = "io\"x", .threads = 2,
					      .parked = 2 };

	fx->report.time_unix_ns = 1700000000123456789ULL;
	fill_report(&fx->report, fx->threads, N_THREADS, fx->procs, 2);
	assert_int_equal(fx->report.parked_count, 4);
	assert_int_equal(fx->report.state_counts[REPORT_SLEEPING], 4);
	assert_int_equal(fx->report.state_counts[REPORT_RUNNING], 1);
	regroup(&fx->report);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	group__free_all(fx->report.groups, fx->report.group_count);
	symbol__free(fx->libc_cond);
	symbol__free(fx->level_three);
	symbol__free(fx->plugin);
	symbol__free(fx->libc_sleep);
	free(fx->s1);
	free(fx->s2);
	snapshot__free(fx->snap);
	ksyms__free(fx->ksyms);
	free(fx->out);
	free(fx);
	return 0;
}

static const char *run_text(struct fixture *fx, const struct dump_opts *opts)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	dump__text(out, &fx->report, opts);
	return close_output(out, &fx->out);
}

static const char *run_json(struct fixture *fx, const struct dump_opts *opts)
{
	FILE *out = open_output(&fx->out, &fx->out_len);

	dump__json(out, &fx->report, opts);
	return close_output(out, &fx->out);
}

/* The fixture's group layout, which the dump tests rely on. */
static void test_fixture_groups(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fx->report.group_count, 3);
	assert_int_equal(fx->report.groups[0].count, 2);
	assert_int_equal(fx->report.groups[0].members[0]->rec->tid, 4243);
	assert_int_equal(fx->report.groups[0].members[1]->rec->tid, 4244);
	assert_int_equal(fx->report.groups[1].members[0]->rec->tid, 5000);
	assert_int_equal(fx->report.groups[2].members[0]->rec->tid, 5001);
	assert_ptr_equal(fx->threads[T_COND1].kstack, fx->snap->threads[1].kstack);
	assert_non_null(fx->threads[T_COND1].kstack);
	assert_true(fx->threads[T_COND1].kstack[0] == kstack[0]);
}

static void test_text_debug2(void **state)
{
	struct fixture *fx = *state;
	struct dump_opts opts = { .debug = 2 };
	const char *out = run_text(fx, &opts);
	const char *main_hdr, *cond1, *cond2, *io_proc, *sleep_hdr, *io_hdr;

	expect(out, "parkwatch " PARKWATCH_VERSION ": 5 threads in 2 processes, 4 parked (sleeping 4, running 1)\n");
	expect(out, "\nprocess 4242 (condwait): 3 threads, 2 parked\n");
	io_proc = expect(out, "\nprocess 5000 (io\"x): 2 threads, 2 parked\n");
	main_hdr = expect(out, "\nthread 4242 [running]:\n");
	cond1 = expect(out, "\nthread 4243 [cond wait, 5 minutes]:\n"
			    "pthread_cond_wait(...)\n"
			    "\t" LIBC " +0x1c0\n"
			    "check_ready(...)\n"
			    "\t" SOURCE ":17\n"
			    "level_three(...)\n"
			    "\t" SOURCE ":29 +0x3b\n"
			    "?\?()\n"
			    "\t" PLUGIN " +0x11233\n"
			    "?\?()\n"
			    "\t? +0x4000\n");
	cond2 = expect(out, "\nthread 4244 [cond wait, 12 seconds]:\npthread_cond_wait(...)\n");
	sleep_hdr = expect(out, "\nthread 5000 [sleep, 2 seconds]:\n"
				"clock_nanosleep(...)\n"
				"\t../sysdeps/clock_nanosleep.c:78 +0x70\n");
	io_hdr = expect(out, "\nthread 5001 [IO wait (pipe), 340 ms]:\n"
			     "\t(no user stack: parked less than --min-park)\n");
	/* in report order, each process header before its threads */
	assert_true(main_hdr < cond1 && cond1 < cond2 && cond2 < io_proc);
	assert_true(io_proc < sleep_hdr && sleep_hdr < io_hdr);
	/* the running thread has no frames; no kernel frames unless asked */
	expect(out, "\nthread 4242 [running]:\n\nthread 4243");
	expect_not(out, "[kernel]");
	expect_not(out, "thread profile");
	assert_int_equal(occurrences(out, "\nprocess "), 2);
	assert_int_equal(occurrences(out, "\nthread "), 5);
	assert_true(out[strlen(out) - 1] == '\n');
}

static void test_text_debug2_kernel_frames(void **state)
{
	struct fixture *fx = *state;
	struct dump_opts opts = { .debug = 2, .kernel_stacks = true };
	char path[] = "/tmp/parkwatch-dump-ksyms-XXXXXX";
	const char kallsyms[] = "ffffffff81000000 T _stext\n"
				"ffffffff81001000 t futex_wait_queue\n"
				"ffffffff81002000 T schedule\n";
	int fd = mkstemp(path), err;
	const char *out;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, kallsyms, sizeof(kallsyms) - 1), (ssize_t)sizeof(kallsyms) - 1);
	close(fd);
	err = ksyms__load(path, &fx->ksyms);
	unlink(path);
	assert_int_equal(err, 0);

	/* without kallsyms the addresses are printed */
	out = run_text(fx, &opts);
	expect(out, "\nthread 4243 [cond wait, 5 minutes]:\n"
		    "0xffffffff81001010 [kernel]\n"
		    "0xffffffff80000008 [kernel]\n"
		    "pthread_cond_wait(...)\n");
	free(fx->out);
	fx->out = NULL;

	fx->report.ksyms = fx->ksyms;
	out = run_text(fx, &opts);
	expect(out, "\nthread 4243 [cond wait, 5 minutes]:\n"
		    "futex_wait_queue+0x10 [kernel]\n"
		    "0xffffffff80000008 [kernel]\n"
		    "pthread_cond_wait(...)\n");
	/* only 4243 has kernel frames */
	assert_int_equal(occurrences(out, "[kernel]"), 2);
}

static void test_text_debug1(void **state)
{
	struct fixture *fx = *state;
	struct dump_opts opts = { .debug = 1 };
	const char *out = run_text(fx, &opts);
	const char *group_cond, *group_sleep, *group_io;

	assert_true(!strncmp(out, "thread profile: total 4\n", 24));
	group_cond = expect(out, "2 @ 0x7f00000283c0 0x401236 0x7f1000011234 0x4000\n"
				 "# labels: {\"pid\":\"4242\", \"comm\":\"condwait\", "
				 "\"reason\":\"cond wait\", \"timeout\":\"none\"}\n");
	expect(out, "#\t0x7f00000283c0\tpthread_cond_wait+0x1c0\t" LIBC "\n");
	expect(out, "#\t0x401235\tcheck_ready+0x");
	expect(out, "\t" SOURCE ":17\n");
	expect(out, "#\t0x401235\tlevel_three+0x3a\t" SOURCE ":29\n");
	expect(out, "#\t0x7f1000011233\t" PLUGIN "+0x11233\n");
	expect(out, "#\t0x3fff\t?+0x3fff\n");
	group_sleep = expect(out, "1 @ 0x7f00000e5a10\n"
				  "# labels: {\"pid\":\"5000\", \"comm\":\"io\\\"x\", "
				  "\"reason\":\"sleep\", \"timeout\":\"finite\"}\n"
				  "#\t0x7f00000e5a10\tclock_nanosleep+0x70\t"
				  "../sysdeps/clock_nanosleep.c:78\n\n");
	group_io = expect(out, "1 @\n# labels: {\"pid\":\"5000\", \"comm\":\"io\\\"x\", "
			       "\"reason\":\"IO wait (pipe)\", \"timeout\":\"finite\"}\n\n");
	/* largest group first */
	assert_true(group_cond < group_sleep && group_sleep < group_io);
	assert_int_equal(occurrences(out, "# labels: "), 3);
	/* no per-thread entries in the grouped profile */
	expect_not(out, "thread 4243");
	expect_not(out, "(...)");
}

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

static void test_json(void **state)
{
	struct fixture *fx = *state;
	const pid_t exited[] = { 777, 778 };
	struct dump_opts opts = { .debug = 2, .exited_pids = exited, .exited_count = 2 };
	const char *out = run_json(fx, &opts);
	const char *threads, *groups, *t4243, *t4244;

	check_json_shape(out);
	expect(out, "{\"version\":\"" PARKWATCH_VERSION "\",\"time_unix_ns\":1700000000123456789,");
	expect(out, "\"threads_total\":5,\"parked_total\":4,");
	expect(out, "\"states\":{\"sleeping\":4,\"disk sleep\":0,\"running\":1,\"runnable\":0,"
		    "\"stopped\":0}");
	expect(out, "\"processes\":[{\"pid\":4242,\"comm\":\"condwait\",\"threads\":3,\"parked\":2},"
		    "{\"pid\":5000,\"comm\":\"io\\\"x\",\"threads\":2,\"parked\":2}]");
	expect(out, "\"exited\":[777,778]");
	threads = expect(out, "\"threads\":[");
	groups = expect(out, "\"groups\":[");
	assert_true(threads < groups);

	expect(out, "{\"tid\":4242,\"pid\":4242,\"comm\":\"condwait\",\"state\":\"running\","
		    "\"parked\":false,\"reason\":null,\"frames\":[]}");
	t4243 = expect(out, "{\"tid\":4243,\"pid\":4242,\"comm\":\"worker-1\",\"state\":\"sleeping\","
			    "\"parked\":true,\"reason\":\"cond wait\",\"timeout\":\"none\","
			    "\"syscall\":\"futex\",\"park_ns\":330000000000,"
			    "\"park_start_estimated\":false,\"frames\":[");
	expect(t4243, "{\"address\":\"0x7f00000283c0\",\"function\":\"pthread_cond_wait\","
		      "\"module\":\"" LIBC "\",\"offset\":\"0x283c0\",\"inlined\":false}");
	expect(t4243, "{\"address\":\"0x401236\",\"function\":\"check_ready\",\"file\":\"" SOURCE
		      "\",\"line\":17,\"module\":\"/src/condwait\",\"offset\":\"0x1235\","
		      "\"inlined\":true},{\"address\":\"0x401236\",\"function\":\"level_three\","
		      "\"file\":\"" SOURCE "\",\"line\":29,");
	expect(t4243, "{\"address\":\"0x7f1000011234\",\"module\":\"" PLUGIN
		      "\",\"offset\":\"0x11233\",\"inlined\":false}");
	expect(t4243, "{\"address\":\"0x4000\",\"offset\":\"0x4000\",\"inlined\":false}]");
	t4244 = expect(out, "{\"tid\":4244,");
	assert_true(t4243 < t4244 && t4244 < groups);
	expect(out, "{\"tid\":5000,\"pid\":5000,\"comm\":\"io\\\"x\",\"state\":\"sleeping\","
		    "\"parked\":true,\"reason\":\"sleep\",\"timeout\":\"finite\","
		    "\"syscall\":\"nanosleep\",\"park_ns\":2000000000,"
		    "\"park_start_estimated\":true,\"frames\":[{");
	expect(out, "{\"tid\":5001,\"pid\":5000,\"comm\":\"reader\",\"state\":\"sleeping\","
		    "\"parked\":true,\"reason\":\"IO wait (pipe)\",\"timeout\":\"finite\","
		    "\"syscall\":\"read\",\"park_ns\":340000000,"
		    "\"park_start_estimated\":false,\"frames\":[]}");

	expect(groups, "{\"pid\":4242,\"reason\":\"cond wait\",\"timeout\":\"none\",\"count\":2,"
		       "\"oldest_park_ns\":330000000000,\"tids\":[4243,4244],\"frames\":[{"
		       "\"address\":\"0x7f00000283c0\"");
	expect(groups, "{\"pid\":5000,\"reason\":\"sleep\",\"timeout\":\"finite\",\"count\":1,"
		       "\"oldest_park_ns\":2000000000,\"tids\":[5000],\"frames\":[{");
	expect(groups, "{\"pid\":5000,\"reason\":\"IO wait (pipe)\",\"timeout\":\"finite\","
		       "\"count\":1,\"oldest_park_ns\":340000000,\"tids\":[5001],\"frames\":[]}");
	expect_not(out, "kernel_frames");
	assert_int_equal(occurrences(out, "{\"tid\":"), 5);
}

static void test_json_kernel_frames(void **state)
{
	struct fixture *fx = *state;
	struct dump_opts opts = { .debug = 2, .kernel_stacks = true };
	const char *out = run_json(fx, &opts);

	check_json_shape(out);
	expect(out, "\"kernel_frames\":[{\"address\":\"0xffffffff81001010\"},"
		    "{\"address\":\"0xffffffff80000008\"}]");
	/* every thread carries the key, empty when it has no kernel stack */
	assert_int_equal(occurrences(out, "\"kernel_frames\":"), 5);
	assert_int_equal(occurrences(out, "\"kernel_frames\":[]"), 4);
}

static void test_json_empty_report(void **state)
{
	struct fixture *fx = *state;
	struct report empty = { .time_unix_ns = 5 };
	struct dump_opts opts = { .debug = 2 };
	FILE *out;

	out = open_output(&fx->out, &fx->out_len);
	dump__json(out, &empty, &opts);
	close_output(out, &fx->out);
	check_json_shape(fx->out);
	expect(fx->out, "\"threads_total\":0,\"parked_total\":0,");
	expect(fx->out, "\"processes\":[],\"exited\":[],\"threads\":[]");
	expect(fx->out, "\"groups\":[]}\n");
}

static void test_text_empty_report(void **state)
{
	struct fixture *fx = *state;
	struct report empty = { 0 };
	struct dump_opts opts = { .debug = 2 };
	FILE *out = open_output(&fx->out, &fx->out_len);

	dump__text(out, &empty, &opts);
	close_output(out, &fx->out);
	assert_string_equal(fx->out, "parkwatch " PARKWATCH_VERSION ": 0 threads in 0 processes, 0 parked ()\n");

	opts.debug = 1;
	out = open_output(&fx->out, &fx->out_len);
	dump__text(out, &empty, &opts);
	close_output(out, &fx->out);
	assert_string_equal(fx->out, "thread profile: total 0\n");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_fixture_groups),
		TEST(test_text_debug2),
		TEST(test_text_debug2_kernel_frames),
		TEST(test_text_debug1),
		TEST(test_json),
		TEST(test_json_kernel_frames),
		TEST(test_json_empty_report),
		TEST(test_text_empty_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
