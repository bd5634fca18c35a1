// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * glibc's lock layouts and owners (proc/locks.h), on real pthread objects
 * of this very process, locked by its own threads and read through the
 * same path as a target's memory (procs on getpid()).  A waiter's futex
 * address is what the kernel says it sleeps on (/proc/self/task/TID/
 * syscall, the saved arguments the BPF side reads too); the owners are
 * the holder threads' own gettid(); the layout is checked against the
 * system headers' offsetof and the C library's own version string.
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
#include <gnu/libc-version.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include "proc/locks.h"
#include "support/procs_self.h"
#include "util/procfs.h"

#define POLL_DEADLINE_NS (10ULL * 1000000000ULL)

enum op { MUTEX_LOCK, RWLOCK_READ, RWLOCK_WRITE, COND_WAIT, LOCK_AND_EXIT };

struct actor {
	pthread_t thread;
	enum op op;
	void *object;
	pthread_mutex_t *cond_mutex; /* COND_WAIT */
	int ready[2], release[2];
	pid_t tid;
};

static void *act(void *arg)
{
	struct actor *actor = arg;
	char byte = 0;

	actor->tid = (pid_t)syscall(SYS_gettid);
	switch (actor->op) {
	case MUTEX_LOCK:
	case LOCK_AND_EXIT:
		assert_int_equal(pthread_mutex_lock(actor->object), 0);
		break;
	case RWLOCK_READ:
		assert_int_equal(pthread_rwlock_rdlock(actor->object), 0);
		break;
	case RWLOCK_WRITE:
		assert_int_equal(pthread_rwlock_wrlock(actor->object), 0);
		break;
	case COND_WAIT:
		pthread_mutex_lock(actor->cond_mutex);
		assert_int_equal(write(actor->ready[1], &byte, 1), 1);
		pthread_cond_wait(actor->object, actor->cond_mutex);
		pthread_mutex_unlock(actor->cond_mutex);
		return NULL;
	}
	assert_int_equal(write(actor->ready[1], &byte, 1), 1);
	if (actor->op == LOCK_AND_EXIT)
		return NULL; /* a robust mutex's owner gone */
	assert_int_equal(read(actor->release[0], &byte, 1), 1);
	if (actor->op == MUTEX_LOCK)
		pthread_mutex_unlock(actor->object);
	else
		pthread_rwlock_unlock(actor->object);
	return NULL;
}

static void start(struct actor *actor, enum op op, void *object)
{
	actor->op = op;
	actor->object = object;
	assert_int_equal(pipe(actor->ready), 0);
	assert_int_equal(pipe(actor->release), 0);
	assert_int_equal(pthread_create(&actor->thread, NULL, act, actor), 0);
}

/* A holder: returns once it holds the object. */
static void hold(struct actor *actor, enum op op, void *object)
{
	char byte;

	start(actor, op, object);
	assert_int_equal(read(actor->ready[0], &byte, 1), 1);
}

static void finish(struct actor *actor)
{
	char byte = 0;

	assert_int_equal(write(actor->release[1], &byte, 1), 1);
	assert_int_equal(pthread_join(actor->thread, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(actor->ready[i]);
		close(actor->release[i]);
	}
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* The futex word a thread sleeps on, as the kernel saved its arguments;
 * polled until it sleeps in futex(2), with a deadline. */
static __u64 futex_word_of(const struct actor *actor)
{
	__u64 deadline = now_ns() + POLL_DEADLINE_NS;
	char name[64], text[256];
	struct timespec pause = { 0, 1000000 };

	while (!actor->tid)
		nanosleep(&pause, NULL);
	snprintf(name, sizeof(name), "task/%d/syscall", actor->tid);
	while (now_ns() < deadline) {
		unsigned long long nr, arg0;

		if (procfs__read(getpid(), name, text, sizeof(text)) > 0 &&
		    sscanf(text, "%llu %llx", &nr, &arg0) == 2 && nr == SYS_futex)
			return arg0;
		nanosleep(&pause, NULL);
	}
	fail_msg("thread %d never slept in futex(2)", actor->tid);
	return 0;
}

struct fixture {
	struct procs *procs;
	struct proc *self;
	struct libc_layout layout;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lock_layouts *layouts = lock_layouts__new();
	const struct libc_layout *layout;

	if (!f || !layouts || procs_self_open(&f->procs, &f->self))
		return -1;
	layout = lock_layouts__of(layouts, f->self);
	if (!layout)
		return -1;
	f->layout = *layout;
	lock_layouts__free(layouts);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	procs_self_close(f->procs);
	free(f);
	return 0;
}

/* Offsets from libc6-dbg's DWARF: the headers', and the table's for this glibc. */
static void test_layout(void **state)
{
	struct fixture *f = *state;
	struct libc_layout table;
	int major, minor;

	assert_true(f->layout.known);
	assert_true(f->layout.from_dwarf); /* libc6-dbg is a build dependency */
	assert_int_equal(sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor), 2);
	assert_int_equal(f->layout.version_major, major);
	assert_int_equal(f->layout.version_minor, minor);
	assert_int_equal(f->layout.mutex_lock, offsetof(pthread_mutex_t, __data.__lock));
	assert_int_equal(f->layout.mutex_owner, offsetof(pthread_mutex_t, __data.__owner));
	assert_int_equal(f->layout.mutex_kind, offsetof(pthread_mutex_t, __data.__kind));
	assert_int_equal(f->layout.rwlock_readers, offsetof(pthread_rwlock_t, __data.__readers));
	assert_int_equal(f->layout.rwlock_wrphase_futex,
			 offsetof(pthread_rwlock_t, __data.__wrphase_futex));
	assert_int_equal(f->layout.rwlock_writers_futex,
			 offsetof(pthread_rwlock_t, __data.__writers_futex));
	assert_int_equal(f->layout.rwlock_cur_writer, offsetof(pthread_rwlock_t, __data.__cur_writer));
	assert_int_equal(f->layout.cond_g_signals, offsetof(pthread_cond_t, __data.__g_signals));

	/* the table for this machine's glibc (2.36 on Debian 12) says the same */
	assert_int_equal(libc_layout__from_version(major, minor, &table), 0);
	assert_false(table.from_dwarf);
	f->layout.from_dwarf = false;
	assert_memory_equal(&table, &f->layout, sizeof(table));
	assert_int_equal(libc_layout__from_version(3, 0, &table), -ENOENT);
}

/* A holder, a waiter sleeping on the lock, and what one read of it says. */
static void read_held(struct fixture *f, enum pw_object_kind kind, enum op hold_op,
		      enum op wait_op, void *object, struct lock_state *state, pid_t *holder_tid)
{
	struct actor holder = { 0 }, waiter = { 0 };

	hold(&holder, hold_op, object);
	start(&waiter, wait_op, object);
	assert_int_equal(lock_state__read(f->self, &f->layout, kind, futex_word_of(&waiter), state), 0);
	*holder_tid = holder.tid;
	finish(&holder);
	finish(&waiter);
}

static void mutex_owner(struct fixture *f, int type, int protocol, int robust)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t mutex;
	struct lock_state state;
	pid_t holder;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, type);
	pthread_mutexattr_setprotocol(&attr, protocol);
	pthread_mutexattr_setrobust(&attr, robust);
	assert_int_equal(pthread_mutex_init(&mutex, &attr), 0);
	read_held(f, PW_OBJECT_MUTEX, MUTEX_LOCK, MUTEX_LOCK, &mutex, &state, &holder);
	assert_true(state.addr == (__u64)(uintptr_t)&mutex);
	assert_int_equal(state.owner, holder);
	assert_false(state.owner_unknown);
	assert_false(state.owner_died);
	/* glibc marks robust mutexes shared: the kernel wakes them so */
	assert_int_equal(state.pshared, robust == PTHREAD_MUTEX_ROBUST);
	assert_int_not_equal(state.word, 0);
	pthread_mutex_destroy(&mutex);
	pthread_mutexattr_destroy(&attr);
}

static void test_mutex_owners(void **state)
{
	struct fixture *f = *state;

	mutex_owner(f, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_STALLED);
	mutex_owner(f, PTHREAD_MUTEX_RECURSIVE, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_STALLED);
	mutex_owner(f, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_STALLED);
	mutex_owner(f, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
	mutex_owner(f, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST);
	mutex_owner(f, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_ROBUST);
}

/* A robust mutex whose owner exited: the kernel marks the word, FUTEX_OWNER_DIED. */
static void test_robust_owner_died(void **state)
{
	struct fixture *f = *state;
	struct actor holder = { 0 };
	pthread_mutexattr_t attr;
	pthread_mutex_t mutex;
	struct lock_state lock;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	assert_int_equal(pthread_mutex_init(&mutex, &attr), 0);
	hold(&holder, LOCK_AND_EXIT, &mutex);
	assert_int_equal(pthread_join(holder.thread, NULL), 0);
	assert_int_equal(lock_state__read(f->self, &f->layout, PW_OBJECT_MUTEX,
					  (__u64)(uintptr_t)&mutex.__data.__lock, &lock), 0);
	assert_true(lock.owner_died);
	assert_true(lock.pshared);
	assert_int_equal(lock.word & LOCKS_FUTEX_OWNER_DIED, LOCKS_FUTEX_OWNER_DIED);
	/* the one who takes it now learns of it */
	assert_int_equal(pthread_mutex_lock(&mutex), EOWNERDEAD);
	assert_int_equal(pthread_mutex_consistent(&mutex), 0);
	pthread_mutex_unlock(&mutex);
	pthread_mutex_destroy(&mutex);
	pthread_mutexattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		close(holder.ready[i]);
		close(holder.release[i]);
	}
}

/* A writer-held rwlock: readers and writers wait on different words, both
 * lead to the lock and its writer.  A reader-held one has no owner to read. */
static void test_rwlock_owners(void **state)
{
	struct fixture *f = *state;
	pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
	struct lock_state lock;
	pid_t holder;

	read_held(f, PW_OBJECT_RWLOCK, RWLOCK_WRITE, RWLOCK_READ, &rwlock, &lock, &holder);
	assert_true(lock.addr == (__u64)(uintptr_t)&rwlock);
	assert_int_equal(lock.owner, holder);
	assert_false(lock.owner_unknown);

	read_held(f, PW_OBJECT_RWLOCK, RWLOCK_WRITE, RWLOCK_WRITE, &rwlock, &lock, &holder);
	assert_true(lock.addr == (__u64)(uintptr_t)&rwlock);
	assert_int_equal(lock.owner, holder);

	read_held(f, PW_OBJECT_RWLOCK, RWLOCK_READ, RWLOCK_WRITE, &rwlock, &lock, &holder);
	assert_true(lock.addr == (__u64)(uintptr_t)&rwlock);
	assert_int_equal(lock.owner, 0);
	assert_true(lock.owner_unknown);
}

/* A condvar's waiters sleep on __g_signals[g]: named by the condvar, no owner. */
static void test_condvar(void **state)
{
	struct fixture *f = *state;
	pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct actor waiter = { .cond_mutex = &mutex };
	struct lock_state lock;
	char byte;

	start(&waiter, COND_WAIT, &cond);
	assert_int_equal(read(waiter.ready[0], &byte, 1), 1);
	assert_int_equal(lock_state__read(f->self, &f->layout, PW_OBJECT_CONDVAR,
					  futex_word_of(&waiter), &lock), 0);
	assert_true(lock.addr == (__u64)(uintptr_t)&cond);
	assert_int_equal(lock.owner, 0);
	assert_false(lock.owner_unknown);
	pthread_mutex_lock(&mutex);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mutex);
	assert_int_equal(pthread_join(waiter.thread, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(waiter.ready[i]);
		close(waiter.release[i]);
	}
}

/* Without a known layout a lock is named by its word and its owner unknown. */
static void test_unknown_library(void **state)
{
	struct fixture *f = *state;
	struct libc_layout none = { .known = false };
	pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
	struct lock_state lock;

	pthread_mutex_lock(&mutex);
	assert_int_equal(lock_state__read(f->self, &none, PW_OBJECT_MUTEX,
					  (__u64)(uintptr_t)&mutex.__data.__lock, &lock), 0);
	assert_true(lock.owner_unknown);
	assert_int_equal(lock.owner, 0);
	assert_int_equal(lock.word, 1);
	pthread_mutex_unlock(&mutex);
	/* unreadable memory is an error, not an owner */
	assert_int_equal(lock_state__read(f->self, &f->layout, PW_OBJECT_MUTEX, 8, &lock), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_mutex_owners),
		cmocka_unit_test(test_robust_owner_died),
		cmocka_unit_test(test_rwlock_owners),
		cmocka_unit_test(test_condvar),
		cmocka_unit_test(test_unknown_library),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
