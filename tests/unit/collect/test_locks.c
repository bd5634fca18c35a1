// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of collect/locks.c: blocked_on filled from a snapshot's
 * records and the memory of this very process, and the second read that
 * confirms a finding.  The threads are real threads of this test, parked
 * in read(2) on pipes so that their context switches stand still; the
 * "locks" are pthread_mutex_t objects whose words the test writes, so that
 * it can change exactly one piece of the evidence between the two reads.
 * The owners' tids are the threads' own gettid(), the context switches
 * the kernel's /proc count at the time the records are made.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include "collect/locks.h"
#include "model/waitfor.h"
#include "support/fixtures.h"
#include "support/procs_self.h"
#include "util/procfs.h"

#define POLL_DEADLINE_NS (10ULL * 1000000000ULL)

/* Static, so that they symbolize by name; written by the tests. */
static pthread_mutex_t guarded_lock;
static pthread_mutex_t orphaned_lock;
/* a lock past the binary's last file page: in the anonymous part of .bss */
static struct {
	char padding[1 << 20];
	pthread_mutex_t lock;
} far_bss;

struct sleeper {
	pthread_t thread;
	int pipe[2];
	pid_t tid;
};

static void *sleep_in_read(void *arg)
{
	struct sleeper *sleeper = arg;
	char byte;

	__atomic_store_n(&sleeper->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	return read(sleeper->pipe[0], &byte, 1) == 1 ? NULL : arg;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Its /proc state and context switches once it sleeps in read(2). */
static __u64 asleep_csw(pid_t tid)
{
	__u64 deadline = now_ns() + POLL_DEADLINE_NS;
	struct timespec pause = { 0, 1000000 };
	char name[64], text[256], status[4096];

	snprintf(name, sizeof(name), "task/%d/syscall", tid);
	while (now_ns() < deadline) {
		unsigned long long nr;

		if (procfs__read(getpid(), name, text, sizeof(text)) > 0 &&
		    sscanf(text, "%llu", &nr) == 1 && nr == SYS_read) {
			snprintf(name, sizeof(name), "task/%d/status", tid);
			assert_true(procfs__read(getpid(), name, status, sizeof(status)) > 0);
			return strtoull(strstr(status, "\nvoluntary_ctxt_switches:") + 25, NULL, 10) +
			       strtoull(strstr(status, "\nnonvoluntary_ctxt_switches:") + 28, NULL, 10);
		}
		nanosleep(&pause, NULL);
	}
	fail_msg("thread %d never slept in read(2)", tid);
	return 0;
}

static void sleeper_start(struct sleeper *sleeper)
{
	struct timespec pause = { 0, 1000000 };

	assert_int_equal(pipe(sleeper->pipe), 0);
	assert_int_equal(pthread_create(&sleeper->thread, NULL, sleep_in_read, sleeper), 0);
	while (!__atomic_load_n(&sleeper->tid, __ATOMIC_ACQUIRE))
		nanosleep(&pause, NULL);
}

static void sleeper_stop(struct sleeper *sleeper)
{
	void *ret;

	assert_int_equal(write(sleeper->pipe[1], "x", 1), 1);
	assert_int_equal(pthread_join(sleeper->thread, &ret), 0);
	assert_null(ret);
	close(sleeper->pipe[0]);
	close(sleeper->pipe[1]);
}

/* A glibc mutex as a thread holding it leaves it: locked, with waiters. */
static void set_mutex(pthread_mutex_t *mutex, pid_t owner)
{
	memset(mutex, 0, sizeof(*mutex));
	mutex->__data.__lock = 2;
	mutex->__data.__owner = owner;
}

struct fixture {
	struct sleeper holder, waiter, orphan_waiter, frameless, far_waiter;
	pid_t gone_tid;
	struct procs *procs;
	struct proc *self;
	struct snapshot *snap;
	struct task_record *waiter_rec, *holder_rec;
	struct pw_picture *picture;
	struct symbol *lock_wait;
	struct locks *locks;
};

static void *exit_at_once(void *arg)
{
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	return NULL;
}

static struct task_record record(pid_t tid, __u16 reason, int syscall_nr, __u64 arg0)
{
	struct task_record rec = {
		.tid = (__u32)tid,
		.tgid = (__u32)getpid(),
		.state = PARK_TASK_INTERRUPTIBLE,
		.park_start_ns = 1,
		.now_ns = 2,
		.wait = { .syscall_nr = syscall_nr, .reason = reason, .arg0 = arg0 },
		.csw = asleep_csw(tid),
	};

	return rec;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct task_record recs[5];
	pthread_t gone;
	const struct symbol *symbols[2];
	const struct pw_stack *stack;
	__u64 pcs[2] = { 0x1000, 0x2000 };
	void *buf;

	assert_non_null(f);
	/* in this order: the picture holds a process's threads by tid */
	sleeper_start(&f->holder);
	sleeper_start(&f->frameless);
	sleeper_start(&f->waiter);
	sleeper_start(&f->orphan_waiter);
	sleeper_start(&f->far_waiter);
	/* a thread that is gone: its tid owns orphaned_lock */
	assert_int_equal(pthread_create(&gone, NULL, exit_at_once, &f->gone_tid), 0);
	assert_int_equal(pthread_join(gone, NULL), 0);
	set_mutex(&guarded_lock, f->holder.tid);
	set_mutex(&orphaned_lock, f->gone_tid);

	recs[0] = record(f->holder.tid, PARK_REASON_IO, SYS_read, 0);
	recs[1] = record(f->waiter.tid, PARK_REASON_FUTEX, SYS_futex, (__u64)(uintptr_t)&guarded_lock);
	recs[2] = record(f->orphan_waiter.tid, PARK_REASON_FUTEX, SYS_futex,
			 (__u64)(uintptr_t)&orphaned_lock);
	recs[3] = record(f->frameless.tid, PARK_REASON_FUTEX, SYS_futex,
			 (__u64)(uintptr_t)&guarded_lock);
	recs[4] = record(f->far_waiter.tid, PARK_REASON_FUTEX, SYS_futex,
			 (__u64)(uintptr_t)&far_bss.lock);
	buf = malloc(sizeof(recs));
	assert_non_null(buf);
	memcpy(buf, recs, sizeof(recs));
	assert_int_equal(snapshot__parse(buf, sizeof(recs), &f->snap), 0);
	assert_int_equal(f->snap->count, 5);
	f->holder_rec = (struct task_record *)f->snap->threads[0].rec;
	f->waiter_rec = (struct task_record *)f->snap->threads[1].rec;

	f->picture = picture__new();
	assert_non_null(f->picture);
	add_proc(f->picture, getpid(), "test_locks", NULL);
	f->lock_wait = make_symbol("/lib/x86_64-linux-gnu/libc.so.6", 0, 0x10000, NULL, 0x1000, 2);
	set_frame(f->lock_wait, 0, "__GI___lll_lock_wait", "lowlevellock.c", 49, 0x2b, false);
	set_frame(f->lock_wait, 1, "___pthread_mutex_lock", "pthread_mutex_lock.c", 93, 0x112, true);
	symbols[0] = symbols[1] = f->lock_wait;
	stack = make_stack(f->picture, getpid(), pcs, symbols, 2);
	add_thread(f->picture, getpid(), f->holder.tid, "IO wait (pipe)", false, SEC, NULL);
	/* no frames (parked too briefly for a stack), on guarded_lock's word,
	 * before the waiter whose frames name it */
	add_thread(f->picture, getpid(), f->frameless.tid, "futex", false, SEC, NULL);
	add_thread(f->picture, getpid(), f->waiter.tid, "mutex lock", false, SEC, stack);
	add_thread(f->picture, getpid(), f->orphan_waiter.tid, "mutex lock", false, SEC, stack);
	add_thread(f->picture, getpid(), f->far_waiter.tid, "mutex lock", false, SEC, stack);

	f->locks = locks__new();
	assert_non_null(f->locks);
	assert_int_equal(procs_self_open(&f->procs, &f->self), 0);
	assert_int_equal(locks__fill(f->locks, f->picture, f->snap, f->procs), 0);
	procs__end(f->procs);
	assert_int_equal(picture__finish(f->picture), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	locks__free(f->locks);
	picture__put(f->picture);
	symbol__put(f->lock_wait);
	snapshot__free(f->snap);
	procs__free(f->procs);
	sleeper_stop(&f->holder);
	sleeper_stop(&f->waiter);
	sleeper_stop(&f->orphan_waiter);
	sleeper_stop(&f->frameless);
	sleeper_stop(&f->far_waiter);
	free(f);
	return 0;
}

static const struct pw_unit *unit_of(struct fixture *f, pid_t tid)
{
	const struct pw_unit *unit = picture__unit(f->picture, getpid(), (__u64)tid);

	assert_non_null(unit);
	return unit;
}

/* The first read: the lock, its static name, its owner alive or gone. */
static void test_fill(void **state)
{
	struct fixture *f = *state;
	const struct pw_blocked_on *on = &unit_of(f, f->waiter.tid)->blocked_on;
	const struct pw_blocked_on *orphan = &unit_of(f, f->orphan_waiter.tid)->blocked_on;

	assert_int_equal(on->kind, PW_OBJECT_MUTEX);
	assert_true(on->addr == (__u64)(uintptr_t)&guarded_lock);
	assert_string_equal(on->symbol, "guarded_lock");
	assert_int_equal(on->owner_tid, f->holder.tid);
	assert_int_equal(on->owner_pid, getpid());
	assert_false(on->owner_dead);
	assert_false(on->owner_unknown);

	assert_int_equal(orphan->kind, PW_OBJECT_MUTEX);
	assert_string_equal(orphan->symbol, "orphaned_lock");
	assert_int_equal(orphan->owner_tid, f->gone_tid);
	assert_true(orphan->owner_dead);

	/* a word no frame names: a futex, without an owner */
	assert_int_equal(unit_of(f, f->frameless.tid)->blocked_on.kind, PW_OBJECT_FUTEX);
	assert_true(unit_of(f, f->frameless.tid)->blocked_on.addr == (__u64)(uintptr_t)&guarded_lock);
	assert_int_equal(unit_of(f, f->frameless.tid)->blocked_on.owner_tid, 0);

	/* .bss in an anonymous mapping is still the binary's data */
	assert_int_equal(unit_of(f, f->far_waiter.tid)->blocked_on.kind, PW_OBJECT_MUTEX);
	assert_non_null(unit_of(f, f->far_waiter.tid)->blocked_on.symbol);
	assert_string_equal(unit_of(f, f->far_waiter.tid)->blocked_on.symbol, "far_bss+0x100000");

	/* the holder waits in IO: no lock */
	assert_int_equal(unit_of(f, f->holder.tid)->blocked_on.kind, PW_OBJECT_NONE);
}

/* The graph's findings, each confirmed by a second read that agrees. */
static void test_findings_confirmed(void **state)
{
	struct fixture *f = *state;
	const struct pw_finding *convoy = NULL, *abandoned = NULL;

	assert_int_equal(waitfor__find(f->picture, locks__confirm, f->locks), 0);
	for (size_t i = 0; i < f->picture->finding_count; i++) {
		if (f->picture->findings[i].kind == PW_FINDING_CONVOY)
			convoy = &f->picture->findings[i];
		if (f->picture->findings[i].kind == PW_FINDING_ABANDONED)
			abandoned = &f->picture->findings[i];
	}
	assert_int_equal(f->picture->finding_count, 2);
	assert_non_null(convoy);
	assert_int_equal(convoy->unit_count, 2);
	assert_int_equal(convoy->units[0]->id, f->holder.tid);
	assert_int_equal(convoy->units[1]->id, f->waiter.tid);
	assert_non_null(abandoned);
	assert_int_equal(abandoned->owner_tid, f->gone_tid);
	assert_int_equal(abandoned->units[0]->id, f->orphan_waiter.tid);
}

static bool confirm_convoy(struct fixture *f)
{
	const struct pw_unit *units[2] = { unit_of(f, f->holder.tid), unit_of(f, f->waiter.tid) };
	struct pw_finding convoy = {
		.kind = PW_FINDING_CONVOY,
		.pid = getpid(),
		.addr = (__u64)(uintptr_t)&guarded_lock,
		.owner_tid = f->holder.tid,
		.units = units,
		.unit_count = 2,
	};

	return locks__confirm(f->locks, &convoy);
}

/* A lock handed over, or any thread that ran, between the reads: no finding. */
static void test_confirm_rejects_changes(void **state)
{
	struct fixture *f = *state;

	assert_true(confirm_convoy(f));

	guarded_lock.__data.__lock = 1; /* the word */
	assert_false(confirm_convoy(f));
	guarded_lock.__data.__lock = 2;
	assert_true(confirm_convoy(f));

	guarded_lock.__data.__owner = f->orphan_waiter.tid; /* the owner */
	assert_false(confirm_convoy(f));
	guarded_lock.__data.__owner = f->holder.tid;
	assert_true(confirm_convoy(f));

	f->waiter_rec->csw--; /* a waiter woke in between */
	assert_false(confirm_convoy(f));
	f->waiter_rec->csw++;
	f->holder_rec->csw--; /* the parked head woke in between */
	assert_false(confirm_convoy(f));
	f->holder_rec->csw++;
	assert_true(confirm_convoy(f));
}

/* One tick more of the same evidence: the previous snapshot is the second
 * read, and /proc is not asked (its context switches disagree here). */
static void refill(struct fixture *f)
{
	procs__begin(f->procs);
	assert_int_equal(locks__fill(f->locks, f->picture, f->snap, f->procs), 0);
	procs__end(f->procs);
}

static void test_confirm_by_the_previous_tick(void **state)
{
	struct fixture *f = *state;

	f->waiter_rec->csw += 5;
	f->holder_rec->csw += 5;
	refill(f);
	assert_false(confirm_convoy(f)); /* neither the last tick nor /proc agrees */
	refill(f);
	assert_true(confirm_convoy(f)); /* the last tick agrees */
	f->holder_rec->csw++; /* the parked head ran between the two ticks */
	refill(f);
	assert_false(confirm_convoy(f));
	f->waiter_rec->csw -= 5;
	f->holder_rec->csw -= 6;
}

/* An abandoned lock whose owner's tid came back to life is no longer one. */
static void test_confirm_abandoned_owner_back(void **state)
{
	struct fixture *f = *state;
	const struct pw_unit *units[1] = { unit_of(f, f->orphan_waiter.tid) };
	struct pw_finding abandoned = {
		.kind = PW_FINDING_ABANDONED,
		.pid = getpid(),
		.addr = (__u64)(uintptr_t)&orphaned_lock,
		.owner_tid = f->gone_tid,
		.units = units,
		.unit_count = 1,
	};

	assert_true(locks__confirm(f->locks, &abandoned));
	abandoned.owner_tid = f->holder.tid; /* a live thread of this process */
	assert_false(locks__confirm(f->locks, &abandoned));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_findings_confirmed),
		cmocka_unit_test(test_confirm_rejects_changes),
		cmocka_unit_test(test_confirm_abandoned_owner_back),
		cmocka_unit_test(test_confirm_by_the_previous_tick),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
