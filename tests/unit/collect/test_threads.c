// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the thread source (user/collect/threads.c): a snapshot
 * buffer laid out by hand, of this process (and of one that does not
 * exist), goes through unwinding, symbolization and classification into a
 * picture, which is then finished and grouped as the collector does.  No
 * root, no BPF.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/threads.h"
#include "model/classify.h"
#include "model/group.h"
#include "support/fixtures.h"

#define NOINLINE __attribute__((noinline, noclone, used))
#define NOW (1000000 * SEC)
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

/* What a record carries besides its ids, state and wait. */
enum extra {
	USTACK = 1,      /* the captured registers and stack bytes */
	USTACK_SEEN = 2, /* TASK_REC_USTACK_SEEN: copied by an earlier snapshot */
	KSTACK = 4,      /* three kernel addresses */
	ESTIMATED = 8,   /* TASK_REC_ESTIMATED */
};

static void add(struct builder *b, __u32 tgid, __u32 tid, const char *comm, __u32 state,
		__u32 flags, __u64 park_ns, __u16 reason, int syscall_nr, __u64 arg0, int extra)
{
	static const __u64 kstack[] = { 0xffffffff81000010ULL, 0xffffffff81000020ULL,
					0xffffffff81000030ULL };
	struct task_record rec = { .tgid = tgid, .tid = tid, .state = state, .flags = flags };

	strncpy(rec.comm, comm, sizeof(rec.comm) - 1);
	rec.now_ns = NOW;
	rec.park_start_ns = park_ns ? NOW - park_ns : 0;
	rec.wait.reason = reason;
	rec.wait.syscall_nr = syscall_nr;
	rec.wait.arg0 = arg0;
	if (extra & USTACK) {
		rec.flags |= TASK_REC_USTACK;
		memcpy(rec.regs, captured_regs, sizeof(rec.regs));
		rec.ustack_bytes = captured_bytes;
	}
	if (extra & USTACK_SEEN)
		rec.flags |= TASK_REC_USTACK_SEEN;
	if (extra & ESTIMATED)
		rec.flags |= TASK_REC_ESTIMATED;
	if (extra & KSTACK)
		rec.kstack_depth = 3;
	append(b, &rec, sizeof(rec));
	if (extra & KSTACK)
		append(b, kstack, sizeof(kstack));
	if (extra & USTACK)
		append(b, captured_stack, captured_bytes);
}

static struct snapshot *parse(struct builder *b)
{
	struct snapshot *snap = NULL;

	assert_int_equal(snapshot__parse(b->buf, b->len, &snap), 0);
	b->buf = NULL;
	b->len = b->cap = 0;
	return snap;
}

/* A picture of snap as the collector makes one: threads__add inside a
 * procs snapshot, then finished and grouped. */
static int picture_of(const struct snapshot *snap, struct procs *procs, pid_t skip_pid,
		      struct pw_picture **out)
{
	struct pw_picture *picture = picture__new();
	int err;

	if (!picture)
		return -ENOMEM;
	procs__begin(procs);
	err = threads__add(picture, snap, procs, NULL, skip_pid, NULL);
	procs__end(procs);
	if (!err)
		err = group__finish(picture);
	if (err) {
		picture__put(picture);
		return err;
	}
	*out = picture;
	return 0;
}

static struct procs *procs;
static struct pw_picture *picture;
static int pipefd[2];
static __u32 me, tid_cond, tid_io, tid_sleep;

/*
 * This process: a "cond wait" with a real captured stack (under this pid,
 * as this very thread), an IO wait on our pipe, a sleep, a running and a
 * runnable thread; a process that does not exist with two threads.  Out of
 * order.
 */
static void records(struct builder *b)
{
	add(b, NO_SUCH_PID, NO_SUCH_PID - 2, "helper", PARK_TASK_UNINTERRUPTIBLE, 0, 3 * SEC,
	    PARK_REASON_UNINTERRUPTIBLE, 74, 0, KSTACK);
	add(b, me, tid_sleep, "sleeper", PARK_TASK_INTERRUPTIBLE, 0, 2 * SEC, PARK_REASON_SLEEP, 35,
	    0, ESTIMATED);
	add(b, me, tid_io, "reader", PARK_TASK_INTERRUPTIBLE, 0, 500 * MS, PARK_REASON_IO, 0,
	    (__u64)pipefd[0], 0);
	add(b, NO_SUCH_PID, NO_SUCH_PID, "ghost", 0, 0, 0, PARK_REASON_NONE, -1, 0, 0);
	/* the cond waiter is this very thread, so under its own tid; the
	 * "main thread" record of this process is a made-up runnable tid */
	add(b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, USTACK);
	add(b, me, me + 1000002, "runner", 0, TASK_REC_ON_CPU, 0, PARK_REASON_NONE, -1, 0, 0);
	add(b, me, me + 1000003, "queued", 0, 0, 0, PARK_REASON_NONE, -1, 0, 0);
}

static int setup(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;

	(void)state;
	if (pipe(pipefd))
		return -1;
	me = getpid();
	tid_cond = gettid(); /* the unwinder reaches threads by tid: use ours */
	tid_io = me + 1000000;
	tid_sleep = me + 1000001;
	app_waits_here(1);
	records(&b);
	if (snapshot__parse(b.buf, b.len, &snap))
		return -1;
	procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	if (!procs || picture_of(snap, procs, 0, &picture))
		return -1;
	/* the picture owns what it shows: not a byte of the snapshot's */
	snapshot__free(snap);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	picture__put(picture);
	procs__free(procs);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static const struct pw_unit *unit_of(const struct pw_picture *of, __u32 tid)
{
	for (size_t i = 0; i < of->unit_count; i++)
		if (of->units[i].id == tid)
			return &of->units[i];
	fail_msg("no thread %u in the picture", tid);
	return NULL;
}

static const struct pw_unit *thread(__u32 tid)
{
	return unit_of(picture, tid);
}

static bool names(const struct symbol *symbol, const char *function)
{
	return symbol__function(symbol) && !strcmp(symbol__function(symbol), function);
}

static void test_counts_and_order(void **state)
{
	(void)state;
	assert_int_equal(picture->unit_count, 7);
	assert_int_equal(picture->parked_count, 4);
	assert_int_equal(picture->state_counts[PW_STATE_SLEEPING], 3);
	assert_int_equal(picture->state_counts[PW_STATE_DISK_SLEEP], 1);
	assert_int_equal(picture->state_counts[PW_STATE_RUNNING], 1);
	assert_int_equal(picture->state_counts[PW_STATE_RUNNABLE], 2);
	assert_int_equal(picture->state_counts[PW_STATE_STOPPED], 0);
	for (size_t i = 0; i < picture->unit_count; i++) {
		assert_int_equal(picture->units[i].kind, PW_UNIT_THREAD);
		assert_null(picture->units[i].go);
	}
	for (size_t i = 1; i < picture->unit_count; i++) {
		const struct pw_unit *left = &picture->units[i - 1], *right = &picture->units[i];

		assert_true(left->pid < right->pid ||
			    (left->pid == right->pid && left->id < right->id));
	}
}

static void test_proc_summaries(void **state)
{
	const struct pw_process *mine, *ghost;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	assert_true(len > 0);
	exe[len] = '\0';
	assert_int_equal(picture->proc_count, 2);
	mine = picture__process(picture, me);
	ghost = picture__process(picture, NO_SUCH_PID);
	assert_non_null(mine);
	assert_non_null(ghost);
	assert_null(picture__process(picture, 1));
	assert_int_equal(mine->units, 5);
	assert_int_equal(mine->parked, 3);
	assert_int_equal(ghost->units, 2);
	assert_int_equal(ghost->parked, 1);
	assert_int_equal(mine->unit_kind, PW_UNIT_THREAD);
	/* a process is named after its main thread, wherever it sorts (the
	 * ghost's helper thread has the lower tid and sorts first) */
	assert_int_equal(picture->units[picture->unit_count - 2].id, NO_SUCH_PID - 2);
	assert_string_equal(ghost->comm, "ghost");
	/* the cond waiter is this process's main thread: it names the process */
	assert_string_equal(mine->comm, "test_threads");
	assert_non_null(mine->exe);
	assert_string_equal(mine->exe, exe);
	assert_null(ghost->exe);
	assert_null(mine->go_version);
}

static void test_thread_details(void **state)
{
	const struct pw_unit *io = thread(tid_io), *sleeper = thread(tid_sleep);
	const struct pw_unit *runner = thread(me + 1000002), *queued = thread(me + 1000003);
	const struct pw_unit *helper = thread(NO_SUCH_PID - 2);

	(void)state;
	assert_true(io->parked);
	assert_int_equal(io->pid, me);
	assert_string_equal(io->comm, "reader");
	assert_int_equal(io->state, PW_STATE_SLEEPING);
	assert_string_equal(io->state_name, "sleeping");
	assert_string_equal(io->wait.reason, "IO wait (pipe)"); /* from /proc/self/fd */
	assert_string_equal(io->wait.syscall, "read");
	assert_int_equal(io->wait.kernel_reason, PARK_REASON_IO);
	assert_true(io->park_ns == 500 * MS);
	assert_true(io->park_start_ns == NOW - 500 * MS);
	assert_false(io->park_start_estimated);
	assert_null(io->stack); /* no stack bytes, nothing cached */
	assert_null(io->kstack);
	assert_int_equal(io->kstack_depth, 0);

	assert_string_equal(sleeper->wait.reason, "sleep");
	assert_true(sleeper->wait.has_timeout == false);
	assert_true(sleeper->park_ns == 2 * SEC);
	assert_true(sleeper->park_start_estimated);

	assert_false(runner->parked);
	assert_int_equal(runner->state, PW_STATE_RUNNING);
	assert_string_equal(runner->state_name, "running");
	assert_true(runner->park_ns == 0 && runner->park_start_ns == 0);
	assert_null(runner->wait.reason);
	assert_false(queued->parked);
	assert_int_equal(queued->state, PW_STATE_RUNNABLE);
	assert_string_equal(queued->state_name, "runnable");

	assert_true(helper->parked);
	assert_int_equal(helper->state, PW_STATE_DISK_SLEEP);
	assert_string_equal(helper->state_name, "disk sleep");
	assert_string_equal(helper->wait.reason, "uninterruptible");
	assert_string_equal(helper->wait.syscall, "fsync");
	/* the kernel stack is the picture's copy (the snapshot is gone) */
	assert_int_equal(helper->kstack_depth, 3);
	assert_non_null(helper->kstack);
	assert_true(helper->kstack[0] == 0xffffffff81000010ULL);
	assert_true(helper->kstack[2] == 0xffffffff81000030ULL);
}

static void test_captured_thread(void **state)
{
	const struct pw_unit *cond = thread(tid_cond);
	const struct pw_stack *stack = cond->stack;
	const struct symbol_frame *where;
	bool found_app = false;

	(void)state;
	assert_true(cond->parked);
	assert_true(cond->park_ns == 300 * SEC);
	assert_non_null(stack);
	assert_true(stack->depth >= 3);
	assert_int_equal(stack->full_depth, stack->depth);
	assert_false(stack->truncated);
	assert_non_null(stack->symbols);
	for (int i = 0; i < stack->depth; i++)
		assert_non_null(stack->symbols[i]); /* never NULL, known or not */
	assert_true(stack->frames[0].pc == captured_regs[16]);
	assert_int_equal(stack->symbols[0]->frame_count, 1);
	assert_string_equal(stack->symbols[0]->frames[0].function, "pthread_cond_wait_stand_in");
	for (int i = 1; i < stack->depth; i++)
		found_app |= names(stack->symbols[i], "app_waits_here");
	assert_true(found_app);
	/* the futex wait is refined from the frames */
	assert_string_equal(cond->wait.reason, "cond wait");
	assert_string_equal(cond->wait.syscall, "futex");
	assert_int_equal(cond->wait.kernel_reason, PARK_REASON_FUTEX);
	/* the first frame outside libc is in this test binary */
	where = classify__where(stack, PW_UNIT_THREAD, NULL);
	assert_non_null(where);
	assert_string_equal(where->function, "pthread_cond_wait_stand_in");
}

static void test_groups(void **state)
{
	size_t total = 0;

	(void)state;
	assert_int_equal(picture->group_count, 4);
	for (size_t g = 0; g < picture->group_count; g++) {
		assert_int_equal(picture->groups[g].count, 1);
		assert_int_equal(picture->groups[g].kind, PW_UNIT_THREAD);
		assert_true(picture->groups[g].parked);
		total += picture->groups[g].count;
	}
	assert_int_equal(total, picture->parked_count);
	/* equal counts: oldest first (300 s cond wait, 3 s, 2 s, 0.5 s) */
	assert_string_equal(picture->groups[0].reason, "cond wait");
	assert_int_equal(picture->groups[0].pid, me);
	assert_ptr_equal(picture->groups[0].stack, thread(tid_cond)->stack);
	assert_non_null(picture->groups[0].where);
	assert_string_equal(picture->groups[0].where->function, "pthread_cond_wait_stand_in");
	assert_string_equal(picture->groups[1].reason, "uninterruptible");
	assert_string_equal(picture->groups[2].reason, "sleep");
	assert_string_equal(picture->groups[3].reason, "IO wait (pipe)");
	for (size_t g = 1; g < picture->group_count; g++)
		assert_null(picture->groups[g].where); /* stackless */
}

/* A process shown by its goroutines is left out of the threads. */
static void test_skip_pid(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;
	struct pw_picture *skipped;

	(void)state;
	records(&b);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, procs, NO_SUCH_PID, &skipped), 0);
	assert_int_equal(skipped->unit_count, 5);
	assert_int_equal(skipped->proc_count, 1);
	assert_null(picture__process(skipped, NO_SUCH_PID));
	assert_non_null(picture__process(skipped, me));
	picture__put(skipped);

	assert_int_equal(picture_of(snap, procs, me, &skipped), 0);
	assert_int_equal(skipped->unit_count, 2);
	assert_int_equal(skipped->proc_count, 1);
	assert_non_null(picture__process(skipped, NO_SUCH_PID));
	picture__put(skipped);
	snapshot__free(snap);
}

static void test_empty_snapshot(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap = parse(&b);
	struct pw_picture *empty;

	(void)state;
	assert_int_equal(picture_of(snap, procs, 0, &empty), 0);
	assert_int_equal(empty->unit_count, 0);
	assert_int_equal(empty->proc_count, 0);
	assert_int_equal(empty->group_count, 0);
	picture__put(empty);
	snapshot__free(snap);
}

/*
 * The next snapshots of the same park carry no stack bytes: the stack
 * unwound the first time is used again, the same in every picture, for as
 * long as the park lasts; a new park has none until it is captured.
 */
static void test_stack_kept_for_the_park(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;
	struct pw_picture *first, *again, *new_park;
	struct procs *own = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	const struct pw_stack *stack;

	(void)state;
	assert_non_null(own);
	add(&b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, USTACK);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &first), 0);
	snapshot__free(snap);

	add(&b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, USTACK_SEEN);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &again), 0);
	snapshot__free(snap);
	stack = again->units[0].stack;
	assert_non_null(stack);
	assert_int_equal(stack->depth, first->units[0].stack->depth);
	assert_true(stack->signature == first->units[0].stack->signature);
	assert_true(again->groups[0].signature == first->groups[0].signature);
	assert_string_equal(again->units[0].wait.reason, "cond wait");

	/* the same thread in another park (it started 1 ns later) */
	add(&b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC - 1,
	    PARK_REASON_FUTEX, 202, 0, USTACK_SEEN);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &new_park), 0);
	snapshot__free(snap);
	assert_null(new_park->units[0].stack);
	assert_string_equal(new_park->units[0].wait.reason, "futex");

	/* every picture stays whole after the caches are gone */
	procs__free(own);
	assert_true(names(first->units[0].stack->symbols[0], "pthread_cond_wait_stand_in"));
	assert_true(names(again->units[0].stack->symbols[0], "pthread_cond_wait_stand_in"));
	picture__put(first);
	picture__put(again);
	picture__put(new_park);
}

/* Threads a snapshot left out lose their cached stack: a later snapshot
 * of the same park has none to reuse. */
static void test_stacks_of_absent_threads_dropped(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;
	struct pw_picture *pictures[3];
	struct procs *own = procs__new(PROCS_CACHE_DEFAULT_BYTES);

	(void)state;
	assert_non_null(own);
	add(&b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, USTACK);
	add(&b, me, tid_io, "reader", PARK_TASK_INTERRUPTIBLE, 0, SEC, PARK_REASON_IO, 0,
	    (__u64)pipefd[0], 0);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &pictures[0]), 0);
	snapshot__free(snap);
	assert_non_null(unit_of(pictures[0], tid_cond)->stack);
	/* the process is there, the cond waiter isn't */
	add(&b, me, tid_io, "reader", PARK_TASK_INTERRUPTIBLE, 0, SEC, PARK_REASON_IO, 0,
	    (__u64)pipefd[0], 0);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &pictures[1]), 0);
	snapshot__free(snap);
	add(&b, me, tid_cond, "test_threads", PARK_TASK_INTERRUPTIBLE, 0, 300 * SEC,
	    PARK_REASON_FUTEX, 202, 0, USTACK_SEEN);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, own, 0, &pictures[2]), 0);
	snapshot__free(snap);
	assert_null(unit_of(pictures[2], tid_cond)->stack);
	for (int i = 0; i < 3; i++)
		picture__put(pictures[i]);
	procs__free(own);
}

/*
 * A capture whose registers are all zero (pc 0, nothing to unwind): the
 * thread gets the one frame there is, unknown, and the picture of every
 * other thread is still made.
 */
static void test_zero_pc_capture(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap;
	struct pw_picture *zero;
	struct task_record rec = { .tgid = me, .tid = tid_io, .state = PARK_TASK_INTERRUPTIBLE,
				   .flags = TASK_REC_USTACK, .now_ns = NOW,
				   .park_start_ns = NOW - SEC,
				   .wait = { .syscall_nr = 202, .reason = PARK_REASON_FUTEX } };
	const struct pw_unit *unit;

	(void)state;
	strcpy(rec.comm, "zero");
	append(&b, &rec, sizeof(rec));
	add(&b, me, tid_sleep, "sleeper", PARK_TASK_INTERRUPTIBLE, 0, 2 * SEC, PARK_REASON_SLEEP,
	    35, 0, 0);
	snap = parse(&b);
	assert_int_equal(picture_of(snap, procs, 0, &zero), 0);
	snapshot__free(snap);
	assert_int_equal(zero->unit_count, 2);
	unit = unit_of(zero, tid_io);
	assert_non_null(unit->stack);
	assert_int_equal(unit->stack->depth, 1);
	assert_true(unit->stack->frames[0].pc == 0);
	assert_non_null(unit->stack->symbols[0]);
	assert_int_equal(unit->stack->symbols[0]->frame_count, 0);
	assert_null(unit->stack->symbols[0]->module);
	assert_string_equal(unit->wait.reason, "futex");
	picture__put(zero);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_order),
		cmocka_unit_test(test_proc_summaries),
		cmocka_unit_test(test_thread_details),
		cmocka_unit_test(test_captured_thread),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_skip_pid),
		cmocka_unit_test(test_empty_snapshot),
		cmocka_unit_test(test_stack_kept_for_the_park),
		cmocka_unit_test(test_stacks_of_absent_threads_dropped),
		cmocka_unit_test(test_zero_pc_capture),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
