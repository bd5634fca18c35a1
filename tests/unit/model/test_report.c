// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of report building (user/report.c): a synthetic snapshot of
 * this process (and of one that does not exist) goes through unwinding,
 * symbolization, classification and grouping.  No root, no BPF.
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
#include "support/fixtures.h"

#define NOINLINE __attribute__((noinline, noclone, used))
#define NOW 1000000 * SEC
#define CAPTURE_BYTES 8192
#define NO_SUCH_PID 0x7ffffff0

volatile int sink;
static __u64 captured_regs[PARK_NREGS];
static __u8 captured_stack[CAPTURE_BYTES];
static __u32 captured_bytes;

/* Stands in for glibc's cond wait: the classifier reads its name. */
NOINLINE int pthread_cond_wait_stand_in(int x)
{
	CAPTURE_REGS(captured_regs);
	captured_bytes = copy_stack_above(captured_regs, captured_stack, CAPTURE_BYTES);
	sink += x;
	return sink;
}

NOINLINE int app_waits_here(int x)
{
	int r = pthread_cond_wait_stand_in(x + 1);

	__asm__ volatile("" ::: "memory");
	return r + 1;
}

struct builder {
	char *buf;
	size_t len, cap;
};

static void append(struct builder *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 4096;
		b->buf = realloc(b->buf, b->cap);
		assert_non_null(b->buf);
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

static void add(struct builder *b, __u32 tgid, __u32 tid, const char *comm, __u32 state,
		__u32 flags, __u64 park_ns, __u16 reason, int syscall_nr, __u64 arg0, bool ustack)
{
	struct task_record rec = { .tgid = tgid, .tid = tid, .state = state, .flags = flags };

	strncpy(rec.comm, comm, sizeof(rec.comm) - 1);
	rec.now_ns = NOW;
	rec.park_start_ns = park_ns ? NOW - park_ns : 0;
	rec.wait.reason = reason;
	rec.wait.syscall_nr = syscall_nr;
	rec.wait.arg0 = arg0;
	if (ustack) {
		rec.flags |= TASK_REC_USTACK;
		memcpy(rec.regs, captured_regs, sizeof(rec.regs));
		rec.ustack_bytes = captured_bytes;
	}
	append(b, &rec, sizeof(rec));
	if (ustack)
		append(b, captured_stack, captured_bytes);
}

static struct procs *procs;
static struct report *report;
static int pipefd[2];
static __u32 me, tid_cond, tid_io, tid_sleep;

/*
 * This process: main thread (running), a "cond wait" with a real captured
 * stack (under this pid, as thread me + 1), an IO wait on our pipe, a
 * sleep; a process that does not exist with two threads.  Out of order.
 */
static int setup(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;

	(void)state;
	if (pipe(pipefd))
		return -1;
	me = getpid();
	tid_cond = gettid();    /* the unwinder reaches threads by tid: use ours */
	tid_io = me + 1000000;
	tid_sleep = me + 1000001;
	app_waits_here(1);
	add(&b, NO_SUCH_PID, NO_SUCH_PID - 2, "helper", PARK_TASK_UNINTERRUPTIBLE, 0, 3 * SEC,
	    PARK_REASON_UNINTERRUPTIBLE, 74, 0, false);
	add(&b, me, tid_sleep, "sleeper", PARK_TASK_INTERRUPTIBLE, 0, 2 * SEC, PARK_REASON_SLEEP, 35,
	    0, false);
	add(&b, me, tid_io, "reader", PARK_TASK_INTERRUPTIBLE, 0, 500 * 1000000ULL, PARK_REASON_IO, 0,
	    (__u64)pipefd[0], false);
	add(&b, NO_SUCH_PID, NO_SUCH_PID, "ghost", 0, 0, 0, PARK_REASON_NONE, -1, 0, false);
	/* the cond waiter is this very thread, so under its own tid; the
	 * "main thread" record of this process is a made-up runnable tid */
	add(&b, me, tid_cond, "test_report", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, true);
	add(&b, me, me + 1000002, "runner", 0, TASK_REC_ON_CPU, 0, PARK_REASON_NONE, -1, 0, false);
	add(&b, me, me + 1000003, "queued", 0, 0, 0, PARK_REASON_NONE, -1, 0, false);
	if (snapshot__parse(b.buf, b.len, &snap))
		return -1;
	procs = procs__new();
	if (!procs || report__build(snap, procs, NULL, &report))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	report__free(report);
	procs__free(procs);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static const struct thread_info *thread(__u32 tid)
{
	for (size_t i = 0; i < report->thread_count; i++)
		if (report->threads[i].rec->tid == tid)
			return &report->threads[i];
	fail_msg("no thread %u in the report", tid);
	return NULL;
}

static void test_counts_and_order(void **state)
{
	(void)state;
	assert_int_equal(report->thread_count, 7);
	assert_int_equal(report->parked_count, 4);
	assert_int_equal(report->state_counts[REPORT_SLEEPING], 3);
	assert_int_equal(report->state_counts[REPORT_DISK_SLEEP], 1);
	assert_int_equal(report->state_counts[REPORT_RUNNING], 1);
	assert_int_equal(report->state_counts[REPORT_RUNNABLE], 2);
	assert_int_equal(report->state_counts[REPORT_STOPPED], 0);
	for (size_t i = 1; i < report->thread_count; i++) {
		const struct task_record *left = report->threads[i - 1].rec;
		const struct task_record *right = report->threads[i].rec;

		assert_true(left->tgid < right->tgid ||
			    (left->tgid == right->tgid && left->tid < right->tid));
	}
	assert_true(report->time_unix_ns > 1600000000ULL * SEC);
}

static void test_proc_summaries(void **state)
{
	const struct proc_summary *mine, *ghost;

	(void)state;
	assert_int_equal(report->proc_count, 2);
	mine = report__proc(report, me);
	ghost = report__proc(report, NO_SUCH_PID);
	assert_non_null(mine);
	assert_non_null(ghost);
	assert_null(report__proc(report, 1));
	assert_int_equal(mine->threads, 5);
	assert_int_equal(mine->parked, 3);
	assert_int_equal(ghost->threads, 2);
	assert_int_equal(ghost->parked, 1);
	/* a process is named after its main thread, wherever it sorts (the
	 * ghost's helper thread has the lower tid and sorts first) */
	assert_int_equal(report->threads[report->thread_count - 2].rec->tid, NO_SUCH_PID - 2);
	assert_string_equal(ghost->comm, "ghost");
	assert_string_equal(mine->comm, "test_report");
}

static void test_thread_details(void **state)
{
	const struct thread_info *io = thread(tid_io), *sleeper = thread(tid_sleep);
	const struct thread_info *runner = thread(me + 1000002), *queued = thread(me + 1000003);
	const struct thread_info *helper = thread(NO_SUCH_PID - 2);

	(void)state;
	assert_true(io->parked);
	assert_string_equal(io->state, "sleeping");
	assert_string_equal(io->wait.reason, "IO wait (pipe)"); /* from /proc/self/fd */
	assert_string_equal(io->wait.syscall, "read");
	assert_true(io->park_ns == 500 * 1000000ULL);
	assert_null(io->stack); /* no stack bytes, nothing cached */

	assert_string_equal(sleeper->wait.reason, "sleep");
	assert_true(sleeper->park_ns == 2 * SEC);

	assert_false(runner->parked);
	assert_string_equal(runner->state, "running");
	assert_false(queued->parked);
	assert_string_equal(queued->state, "runnable");

	assert_true(helper->parked);
	assert_string_equal(helper->state, "disk sleep");
	assert_string_equal(helper->wait.reason, "uninterruptible");
}

static void test_captured_thread(void **state)
{
	const struct thread_info *cond = thread(tid_cond);
	const struct symbol_frame *app;
	bool found_app = false;

	(void)state;
	assert_true(cond->parked);
	assert_true(cond->park_ns == 300 * SEC);
	assert_non_null(cond->stack);
	assert_true(cond->stack->depth >= 3);
	assert_non_null(cond->symbols);
	assert_non_null(cond->symbols[0]);
	assert_int_equal(cond->symbols[0]->frame_count, 1);
	assert_string_equal(cond->symbols[0]->frames[0].function, "pthread_cond_wait_stand_in");
	for (int i = 1; i < cond->stack->depth; i++) {
		const struct symbol *symbol = cond->symbols[i];

		if (symbol && symbol->frame_count &&
		    !strcmp(symbol->frames[symbol->frame_count - 1].function, "app_waits_here"))
			found_app = true;
	}
	assert_true(found_app);
	/* the futex wait is refined from the frames */
	assert_string_equal(cond->wait.reason, "cond wait");
	assert_string_equal(cond->wait.syscall, "futex");
	/* the first frame outside libc is in this test binary */
	app = report__app_frame(cond);
	assert_non_null(app);
	assert_string_equal(app->function, "pthread_cond_wait_stand_in");
}

static void test_groups(void **state)
{
	size_t total = 0;

	(void)state;
	assert_int_equal(report->group_count, 4);
	for (size_t g = 0; g < report->group_count; g++) {
		assert_int_equal(report->groups[g].count, 1);
		total += report->groups[g].count;
	}
	assert_int_equal(total, report->parked_count);
	/* equal counts: oldest first (300 s cond wait, 3 s, 2 s, 0.5 s) */
	assert_string_equal(report->groups[0].reason, "cond wait");
	assert_int_equal(report->groups[0].pid, me);
	assert_string_equal(report->groups[1].reason, "uninterruptible");
	assert_string_equal(report->groups[2].reason, "sleep");
	assert_string_equal(report->groups[3].reason, "IO wait (pipe)");
}

/* report__app_frame on hand-made symbols: libc, the loader and the vDSO
 * are skipped, the first other module's innermost frame is returned. */
static void test_app_frame(void **state)
{
	static const char *const modules[] = { "/usr/lib/x86_64-linux-gnu/libc.so.6", "[vdso]",
					       "/lib64/ld-linux-x86-64.so.2",
					       "/usr/lib/x86_64-linux-gnu/libpthread.so.0",
					       "/opt/app/bin/server" };
	struct symbol *symbols[5];
	const struct symbol *views[5];
	struct stack *stack = calloc(1, sizeof(*stack) + 5 * sizeof(stack->frames[0]));
	struct thread_info info = { .stack = stack, .symbols = views };
	const struct symbol_frame *app;

	(void)state;
	assert_non_null(stack);
	stack->depth = 5;
	for (int i = 0; i < 5; i++) {
		symbols[i] = calloc(1, sizeof(struct symbol) + 2 * sizeof(struct symbol_frame));
		assert_non_null(symbols[i]);
		symbols[i]->module = (char *)modules[i];
		symbols[i]->frame_count = 2;
		symbols[i]->frames[0].function = (char *)"inner";
		symbols[i]->frames[0].inlined = true;
		symbols[i]->frames[1].function = (char *)"outer";
		views[i] = symbols[i];
	}
	app = report__app_frame(&info);
	assert_ptr_equal(app, &symbols[4]->frames[0]);

	/* an unsymbolized frame in an app module does not count */
	symbols[4]->frame_count = 0;
	assert_null(report__app_frame(&info));
	/* nor a missing symbol */
	views[4] = NULL;
	assert_null(report__app_frame(&info));
	/* no stack at all */
	info.stack = NULL;
	assert_null(report__app_frame(&info));
	for (int i = 0; i < 5; i++)
		free(symbols[i]);
	free(stack);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_order),
		cmocka_unit_test(test_proc_summaries),
		cmocka_unit_test(test_thread_details),
		cmocka_unit_test(test_captured_thread),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_app_frame),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
