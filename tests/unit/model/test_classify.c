// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of wait-reason classification and of where a stack waits
 * (user/model/classify.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "model/classify.h"
#include "support/fixtures.h"

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

static void test_fd_kind(void **state)
{
	(void)state;
	assert_int_equal(classify__fd_kind("pipe:[123]"), FD_KIND_PIPE);
	assert_int_equal(classify__fd_kind("socket:[9]"), FD_KIND_SOCKET);
	assert_int_equal(classify__fd_kind("anon_inode:[eventfd]"), FD_KIND_EVENTFD);
	assert_int_equal(classify__fd_kind("/dev/pts/3"), FD_KIND_TTY);
	assert_int_equal(classify__fd_kind("/dev/tty1"), FD_KIND_TTY);
	assert_int_equal(classify__fd_kind("/dev/tty"), FD_KIND_TTY);
	assert_int_equal(classify__fd_kind("/dev/console"), FD_KIND_TTY);
	assert_int_equal(classify__fd_kind("/var/log/x"), FD_KIND_FILE);
	assert_int_equal(classify__fd_kind("/dev/null"), FD_KIND_FILE);
	assert_int_equal(classify__fd_kind("anon_inode:[timerfd]"), FD_KIND_UNKNOWN);
	assert_int_equal(classify__fd_kind("anon_inode:[eventpoll]"), FD_KIND_UNKNOWN);
	assert_int_equal(classify__fd_kind(""), FD_KIND_UNKNOWN);
	assert_int_equal(classify__fd_kind("net:[4026531840]"), FD_KIND_UNKNOWN);
}

static void test_fd_of_own_fds(void **state)
{
	int pipefd[2], sock[2], efd, file;
	char path[] = "/tmp/parkwatch-classify-XXXXXX";

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sock), 0);
	efd = eventfd(0, 0);
	assert_true(efd >= 0);
	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);

	assert_int_equal(classify__fd_of(getpid(), pipefd[0]), FD_KIND_PIPE);
	assert_int_equal(classify__fd_of(getpid(), pipefd[1]), FD_KIND_PIPE);
	assert_int_equal(classify__fd_of(getpid(), sock[0]), FD_KIND_SOCKET);
	assert_int_equal(classify__fd_of(getpid(), efd), FD_KIND_EVENTFD);
	assert_int_equal(classify__fd_of(getpid(), file), FD_KIND_FILE);
	/* not open, and a process that does not exist */
	assert_int_equal(classify__fd_of(getpid(), 100000), FD_KIND_UNKNOWN);
	assert_int_equal(classify__fd_of(0x7ffffff0, 0), FD_KIND_UNKNOWN);

	close(pipefd[0]);
	close(pipefd[1]);
	close(sock[0]);
	close(sock[1]);
	close(efd);
	close(file);
}

static void test_syscall_name(void **state)
{
	(void)state;
	assert_string_equal(classify__syscall_name(0), "read");
	assert_string_equal(classify__syscall_name(1), "write");
	assert_string_equal(classify__syscall_name(7), "poll");
	assert_string_equal(classify__syscall_name(35), "nanosleep");
	assert_string_equal(classify__syscall_name(61), "wait4");
	assert_string_equal(classify__syscall_name(70), "msgrcv");
	assert_string_equal(classify__syscall_name(202), "futex");
	assert_string_equal(classify__syscall_name(232), "epoll_wait");
	assert_string_equal(classify__syscall_name(281), "epoll_pwait");
	assert_null(classify__syscall_name(-1));
	assert_null(classify__syscall_name(100000));
	assert_null(classify__syscall_name(-100000));
}

static void test_futex_reason_cond_wait(void **state)
{
	const char *frames[] = { "__futex_abstimed_wait_common64", "__futex_abstimed_wait_common",
				 "__pthread_cond_wait_common", "pthread_cond_wait", "level_three" };
	const char *timed[] = { "__futex_abstimed_wait_common", "__pthread_cond_wait_common",
				"___pthread_cond_timedwait64", "worker" };
	const char *versioned[] = { "futex_wait", "pthread_cond_wait@@GLIBC_2.3.2", "main" };

	(void)state;
	assert_string_equal(classify__futex_reason(frames, COUNT(frames)), "cond wait");
	assert_string_equal(classify__futex_reason(timed, COUNT(timed)), "cond wait");
	assert_string_equal(classify__futex_reason(versioned, COUNT(versioned)), "cond wait");
}

static void test_futex_reason_mutex(void **state)
{
	const char *lock[] = { "__lll_lock_wait", "pthread_mutex_lock", "worker" };
	const char *lock_only_mutex[] = { "futex_wait", "___pthread_mutex_lock", "worker" };
	const char *timed[] = { "__futex_abstimed_wait_common", "__pthread_mutex_clocklock_common",
				"___pthread_mutex_timedlock64", "worker" };
	/* a cond wait that blocks re-acquiring the mutex is waiting for the mutex */
	const char *cond_relock[] = { "__lll_lock_wait", "__pthread_mutex_cond_lock",
				      "pthread_cond_wait" };

	(void)state;
	assert_string_equal(classify__futex_reason(lock, COUNT(lock)), "mutex lock");
	assert_string_equal(classify__futex_reason(lock_only_mutex, COUNT(lock_only_mutex)),
			    "mutex lock");
	assert_string_equal(classify__futex_reason(timed, COUNT(timed)), "mutex lock");
	assert_string_equal(classify__futex_reason(cond_relock, COUNT(cond_relock)), "mutex lock");
}

static void test_futex_reason_others(void **state)
{
	const char *rdlock[] = { "__futex_abstimed_wait_common", "__pthread_rwlock_rdlock_full64",
				 "___pthread_rwlock_rdlock", "reader" };
	const char *wrlock[] = { "futex_wait", "pthread_rwlock_wrlock", "writer" };
	const char *sem[] = { "__futex_abstimed_wait_common", "do_futex_wait",
			      "__new_sem_wait_slow64", "__new_sem_wait", "consumer" };
	const char *sem_plain[] = { "sem_wait", "consumer" };
	const char *sem_timed[] = { "do_futex_wait", "sem_timedwait", "consumer" };
	const char *join[] = { "__futex_abstimed_wait_common", "__pthread_clockjoin_ex",
			       "pthread_join", "main" };
	const char *join_only[] = { "pthread_join@@GLIBC_2.34", "main" };
	const char *timedjoin[] = { "futex_wait", "pthread_timedjoin_np", "main" };

	(void)state;
	assert_string_equal(classify__futex_reason(rdlock, COUNT(rdlock)), "rwlock read");
	assert_string_equal(classify__futex_reason(wrlock, COUNT(wrlock)), "rwlock write");
	assert_string_equal(classify__futex_reason(sem, COUNT(sem)), "semacquire");
	assert_string_equal(classify__futex_reason(sem_plain, COUNT(sem_plain)), "semacquire");
	assert_string_equal(classify__futex_reason(sem_timed, COUNT(sem_timed)), "semacquire");
	assert_string_equal(classify__futex_reason(join, COUNT(join)), "thread join");
	assert_string_equal(classify__futex_reason(join_only, COUNT(join_only)), "thread join");
	assert_string_equal(classify__futex_reason(timedjoin, COUNT(timedjoin)), "thread join");
}

/* Read or write, plain, timed or clocked, as glibc 2.36 names the frames
 * (the _full64 helpers are inlined into each entry point). */
static void test_futex_reason_rwlock(void **state)
{
	static const struct {
		const char *function;
		const char *reason;
	} cases[] = {
		{ "___pthread_rwlock_rdlock", "rwlock read" },
		{ "__pthread_rwlock_rdlock_full64", "rwlock read" },
		{ "pthread_rwlock_timedrdlock", "rwlock read" },
		{ "__pthread_rwlock_timedrdlock64", "rwlock read" },
		{ "__pthread_rwlock_clockrdlock64", "rwlock read" },
		{ "pthread_rwlock_wrlock@@GLIBC_2.34", "rwlock write" },
		{ "__pthread_rwlock_wrlock_full64", "rwlock write" },
		{ "pthread_rwlock_timedwrlock", "rwlock write" },
		{ "___pthread_rwlock_clockwrlock64", "rwlock write" },
		/* not a lock taken: still the rwlock, direction unknown */
		{ "pthread_rwlock_unlock", "rwlock" },
		{ "pthread_rwlock_tryrdlock", "rwlock" },
	};
	const char *reader_in_writer[] = { "__futex_abstimed_wait_common",
					   "__pthread_rwlock_rdlock_full64",
					   "___pthread_rwlock_rdlock", "pthread_rwlock_wrlock_wrapper" };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *frames[] = { "__futex_abstimed_wait_common", cases[i].function, "worker" };

		assert_string_equal(classify__futex_reason(frames, COUNT(frames)), cases[i].reason);
	}
	/* leaf first: the innermost rwlock frame says which */
	assert_string_equal(classify__futex_reason(reader_in_writer, COUNT(reader_in_writer)),
			    "rwlock read");
	/* a name that merely starts like one is not */
	assert_null(classify__futex_reason((const char *[]){ "pthread_rwlockish" }, 1));
}

static void test_futex_reason_barrier(void **state)
{
	/* glibc's futex_wait is inlined: its frame may be there or not */
	const char *barrier[] = { "futex_wait", "___pthread_barrier_wait", "wait_barrier" };
	const char *barrier_only[] = { "pthread_barrier_wait", "wait_barrier" };
	const char *not_a_wait[] = { "pthread_barrier_init", "main" };

	(void)state;
	assert_string_equal(classify__futex_reason(barrier, COUNT(barrier)), "barrier");
	assert_string_equal(classify__futex_reason(barrier_only, COUNT(barrier_only)), "barrier");
	assert_null(classify__futex_reason(not_a_wait, COUNT(not_a_wait)));
}

static void test_futex_reason_none(void **state)
{
	const char *raw[] = { "syscall", "my_futex_wait", "main" };
	const char *with_nulls[] = { NULL, NULL, "__lll_lock_wait", NULL };
	const char *all_null[] = { NULL, NULL };
	/* count limits the search: the match at index 2 is not looked at */
	const char *limited[] = { "syscall", "worker", "pthread_cond_wait" };

	(void)state;
	assert_null(classify__futex_reason(raw, COUNT(raw)));
	assert_null(classify__futex_reason(NULL, 0));
	assert_null(classify__futex_reason(all_null, COUNT(all_null)));
	assert_string_equal(classify__futex_reason(with_nulls, COUNT(with_nulls)), "mutex lock");
	assert_null(classify__futex_reason(limited, 2));
	assert_string_equal(classify__futex_reason(limited, 3), "cond wait");
}

/* Leaf first: the innermost pthread function decides, even when a frame
 * further up (here an interposed pthread_mutex_lock wrapper holding the
 * lock) matches a rule the table lists earlier. */
/* The object a futex wait sleeps on, as glibc 2.36's frames name it (gdb bt). */
static void test_futex_object(void **state)
{
	const char *mutex[] = { "futex_wait", "__GI___lll_lock_wait", "lll_mutex_lock_optimized",
				"___pthread_mutex_lock", "worker" };
	const char *internal[] = { "futex_wait", "__GI___lll_lock_wait_private", "_IO_new_file_xsputn",
				   "puts" };
	const char *pi[] = { "__futex_lock_pi64", "__pthread_mutex_lock_full", "worker" };
	const char *cond_relock[] = { "futex_wait", "__GI___lll_lock_wait", "__pthread_mutex_cond_lock",
				      "__pthread_cond_wait_common", "worker" };
	const char *cond[] = { "__futex_abstimed_wait_common", "__pthread_cond_wait_common",
			       "___pthread_cond_wait", "worker" };
	const char *rwlock[] = { "__futex_abstimed_wait_common", "__pthread_rwlock_rdlock_full64",
				 "___pthread_rwlock_rdlock" };
	const char *sem[] = { "__futex_abstimed_wait_common", "__new_sem_wait_slow64" };
	const char *barrier[] = { "futex_wait", "___pthread_barrier_wait" };
	const char *join[] = { "__futex_abstimed_wait_common", "__pthread_clockjoin_ex", "main" };

	(void)state;
	assert_int_equal(classify__futex_object(mutex, COUNT(mutex)), PW_OBJECT_MUTEX);
	assert_int_equal(classify__futex_object(internal, COUNT(internal)), PW_OBJECT_LOCK);
	assert_int_equal(classify__futex_object(pi, COUNT(pi)), PW_OBJECT_MUTEX);
	assert_int_equal(classify__futex_object(cond_relock, COUNT(cond_relock)), PW_OBJECT_MUTEX);
	assert_int_equal(classify__futex_object(cond, COUNT(cond)), PW_OBJECT_CONDVAR);
	assert_int_equal(classify__futex_object(rwlock, COUNT(rwlock)), PW_OBJECT_RWLOCK);
	assert_int_equal(classify__futex_object(sem, COUNT(sem)), PW_OBJECT_SEMA);
	assert_int_equal(classify__futex_object(barrier, COUNT(barrier)), PW_OBJECT_BARRIER);
	assert_int_equal(classify__futex_object(join, COUNT(join)), PW_OBJECT_FUTEX);
	assert_int_equal(classify__futex_object(NULL, 0), PW_OBJECT_FUTEX);
}

static void test_futex_reason_leaf_first(void **state)
{
	const char *cond_in_locked_code[] = { "__pthread_cond_wait_common", "pthread_cond_wait",
					      "pthread_mutex_lock_wrapper", "main" };

	(void)state;
	assert_string_equal(classify__futex_reason(cond_in_locked_code, COUNT(cond_in_locked_code)),
			    "cond wait");
}

/* A wait classified with a stack of these functions, a frame each (none
 * for count 0), as a picture interns it. */
static void classify(__u16 reason, int syscall_nr, bool timeout, const char *const *functions,
		     int count, enum fd_kind kind, struct pw_wait *out)
{
	struct wait_ctx wait = { .syscall_nr = syscall_nr, .reason = reason,
				 .has_timeout = timeout };
	struct pw_picture *picture = picture__new();
	const struct symbol *symbols[32];
	__u64 pcs[32];

	assert_non_null(picture);
	assert_true(count <= COUNT(symbols));
	for (int i = 0; i < count; i++) {
		struct symbol *symbol = make_symbol("libc.so.6", 0x1000 * (i + 1),
						    0x1000 * (i + 2), NULL, 0, 1);

		set_frame(symbol, 0, functions[i], NULL, 0, 0, false);
		symbols[i] = symbol;
		pcs[i] = 0x1000 * (i + 1) + 8;
	}
	memset(out, 0xa5, sizeof(*out));
	classify__wait(&wait, count ? make_stack(picture, 1, pcs, symbols, count) : NULL, kind,
		       out);
	for (int i = 0; i < count; i++)
		symbol__put((struct symbol *)symbols[i]);
	picture__put(picture);
	/* the tier-1 key is the kernel side's, whatever the refinement */
	assert_int_equal(out->kernel_reason, reason);
}

static void test_wait_io(void **state)
{
	static const struct {
		enum fd_kind kind;
		const char *reason;
	} cases[] = {
		{ FD_KIND_PIPE, "IO wait (pipe)" },   { FD_KIND_SOCKET, "IO wait (socket)" },
		{ FD_KIND_FILE, "IO wait (file)" },   { FD_KIND_TTY, "IO wait (tty)" },
		{ FD_KIND_EVENTFD, "IO wait (eventfd)" }, { FD_KIND_UNKNOWN, "IO wait" },
	};
	struct pw_wait out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		classify(PARK_REASON_IO, 0, false, NULL, 0, cases[i].kind, &out);
		assert_string_equal(out.reason, cases[i].reason);
		assert_string_equal(out.syscall, "read");
		assert_false(out.has_timeout);
	}
}

static void test_wait_futex(void **state)
{
	const char *cond[] = { "__futex_abstimed_wait_common64", "__futex_abstimed_wait_common",
			       "__pthread_cond_wait_common", "pthread_cond_wait", "level_three" };
	const char *plain[] = { "syscall", "main" };
	struct pw_wait out;

	(void)state;
	classify(PARK_REASON_FUTEX, 202, false, cond, COUNT(cond), FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "cond wait");
	assert_string_equal(out.syscall, "futex");
	assert_false(out.has_timeout);

	classify(PARK_REASON_FUTEX, 202, true, cond, COUNT(cond), FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "cond wait");
	assert_true(out.has_timeout);

	classify(PARK_REASON_FUTEX, 202, false, plain, COUNT(plain), FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "futex");
	classify(PARK_REASON_FUTEX, 202, false, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "futex");
	/* futex_waitv */
	classify(PARK_REASON_FUTEX, 449, true, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "futex");
	assert_string_equal(out.syscall, "futex_waitv");
	assert_true(out.has_timeout);
}

static void test_wait_kernel_reasons(void **state)
{
	static const struct {
		__u16 reason;
		int syscall_nr;
		const char *expected;
		const char *syscall;
	} cases[] = {
		{ PARK_REASON_EPOLL, 232, "epoll wait", "epoll_wait" },
		{ PARK_REASON_POLL, 7, "poll", "poll" },
		{ PARK_REASON_SLEEP, 35, "sleep", "nanosleep" },
		{ PARK_REASON_CHILD, 61, "child wait", "wait4" },
		{ PARK_REASON_SIGNAL, 34, "signal wait", "pause" },
		{ PARK_REASON_UNINTERRUPTIBLE, 74, "uninterruptible", "fsync" },
		{ PARK_REASON_STOPPED, -1, "stopped", NULL },
		{ PARK_REASON_OTHER, 70, "msgrcv", "msgrcv" },
		{ PARK_REASON_OTHER, -1, "sleeping", NULL },
		{ PARK_REASON_OTHER, 100000, "sleeping", NULL },
		{ PARK_REASON_NONE, -1, "sleeping", NULL },
	};
	const char *cond[] = { "pthread_cond_wait" };
	struct pw_wait out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int timeout = 0; timeout < 2; timeout++) {
			/* frames only refine futex waits */
			classify(cases[i].reason, cases[i].syscall_nr, timeout, cond, COUNT(cond),
				 FD_KIND_PIPE, &out);
			assert_string_equal(out.reason, cases[i].expected);
			if (cases[i].syscall)
				assert_string_equal(out.syscall, cases[i].syscall);
			else
				assert_null(out.syscall);
			assert_int_equal(out.has_timeout, timeout);
		}
	}
}

/* A timed wait interrupted by a signal or a ptrace stop sleeps on in
 * restart_syscall (219): the frames say what it was. */
static void test_wait_restart_syscall(void **state)
{
	const char *nanosleep_frames[] = { "__GI___clock_nanosleep", "__nanosleep", "sleep", "main" };
	const char *cond_frames[] = { "__futex_abstimed_wait_common", "__pthread_cond_wait_common",
				      "___pthread_cond_timedwait64", "worker" };
	const char *mutex_frames[] = { NULL, "__lll_lock_wait", "___pthread_mutex_timedlock",
				       "worker" };
	const char *poll_frames[] = { "__GI___poll", "main" };
	const char *select_frames[] = { "__select", "main" };
	const char *unknown_frames[] = { "do_work", "main" };
	struct pw_wait out;

	(void)state;
	classify(PARK_REASON_OTHER, 219, false, nanosleep_frames, COUNT(nanosleep_frames),
		 FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "sleep");
	assert_string_equal(out.syscall, "restart_syscall");
	assert_true(out.has_timeout);

	classify(PARK_REASON_OTHER, 219, false, cond_frames, COUNT(cond_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "cond wait");
	assert_true(out.has_timeout);

	classify(PARK_REASON_OTHER, 219, false, mutex_frames, COUNT(mutex_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "mutex lock");

	classify(PARK_REASON_OTHER, 219, false, poll_frames, COUNT(poll_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "poll");
	classify(PARK_REASON_OTHER, 219, false, select_frames, COUNT(select_frames),
		 FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "poll");

	/* nothing recognizable: named after the syscall */
	classify(PARK_REASON_OTHER, 219, false, unknown_frames, COUNT(unknown_frames),
		 FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "restart_syscall");
	assert_true(out.has_timeout);
	classify(PARK_REASON_OTHER, 219, false, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "restart_syscall");

	/* a reason the kernel side already decided is kept */
	classify(PARK_REASON_SLEEP, 219, false, cond_frames, COUNT(cond_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "sleep");
	assert_false(out.has_timeout);
}

/* The BPF side read task->restart_block: its reason and timeout stand, the
 * frames only refine a futex wait, and the syscall is the one /proc shows. */
static void test_wait_restart_decoded(void **state)
{
	const char *poll_frames[] = { "__GI___poll", "wait_poll", "main" };
	const char *raw_sleep[] = { "syscall", "do_work", "main" };
	const char *cond_frames[] = { "__futex_abstimed_wait_common", "__pthread_cond_wait_common",
				      "___pthread_cond_timedwait64", "worker" };
	const char *rwlock_frames[] = { "__futex_abstimed_wait_common",
					"__pthread_rwlock_wrlock_full64",
					"pthread_rwlock_timedwrlock", "worker" };
	struct pw_wait out;

	(void)state;
	/* poll(-1) resumed: no timeout, whatever the frames */
	classify(PARK_REASON_POLL, 219, false, poll_frames, COUNT(poll_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "poll");
	assert_false(out.has_timeout);
	assert_string_equal(out.syscall, "restart_syscall");
	classify(PARK_REASON_POLL, 219, true, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "poll");
	assert_true(out.has_timeout);

	/* a raw nanosleep, no frame naming a sleep, and none at all */
	classify(PARK_REASON_SLEEP, 219, true, raw_sleep, COUNT(raw_sleep), FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "sleep");
	assert_true(out.has_timeout);
	classify(PARK_REASON_SLEEP, 219, true, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "sleep");

	/* futex: refined by the frames */
	classify(PARK_REASON_FUTEX, 219, true, cond_frames, COUNT(cond_frames), FD_KIND_UNKNOWN,
		 &out);
	assert_string_equal(out.reason, "cond wait");
	assert_true(out.has_timeout);
	classify(PARK_REASON_FUTEX, 219, true, rwlock_frames, COUNT(rwlock_frames),
		 FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "rwlock write");
	classify(PARK_REASON_FUTEX, 219, true, NULL, 0, FD_KIND_UNKNOWN, &out);
	assert_string_equal(out.reason, "futex");
	assert_string_equal(out.syscall, "restart_syscall");
}

static void test_park_reason_name(void **state)
{
	(void)state;
	assert_string_equal(classify__park_reason_name(PARK_REASON_FUTEX), "futex");
	assert_string_equal(classify__park_reason_name(PARK_REASON_IO), "IO wait");
	assert_string_equal(classify__park_reason_name(PARK_REASON_OTHER), "other");
	for (int r = 0; r < PARK_REASON__COUNT; r++) {
		const char *name = classify__park_reason_name(r);

		assert_non_null(name);
		/* distinct names: they key the JSON totals */
		for (int other = 0; other < r; other++)
			assert_string_not_equal(name, classify__park_reason_name(other));
	}
	assert_string_equal(classify__park_reason_name(PARK_REASON__COUNT), "other");
	assert_string_equal(classify__park_reason_name(1000), "other");
}

/* The bucket a task state counts in, and the finer name dumps show. */
static void check_state(__u32 task_state, bool on_cpu, enum pw_state bucket, const char *name)
{
	const char *got = NULL;

	assert_int_equal(classify__state(task_state, on_cpu, &got), bucket);
	assert_non_null(got);
	assert_string_equal(got, name);
}

static void test_state(void **state)
{
	(void)state;
	check_state(PARK_TASK_INTERRUPTIBLE, false, PW_STATE_SLEEPING, "sleeping");
	check_state(PARK_TASK_UNINTERRUPTIBLE, false, PW_STATE_DISK_SLEEP, "disk sleep");
	/* TASK_KILLABLE = TASK_WAKEKILL (0x100) | TASK_UNINTERRUPTIBLE */
	check_state(0x100 | PARK_TASK_UNINTERRUPTIBLE, false, PW_STATE_DISK_SLEEP, "disk sleep");
	/* TASK_STOPPED = TASK_WAKEKILL | __TASK_STOPPED */
	check_state(0x100 | PARK_TASK_STOPPED, false, PW_STATE_STOPPED, "stopped");
	/* a traced thread counts as stopped, and is named for what it is */
	check_state(PARK_TASK_TRACED, false, PW_STATE_STOPPED, "traced");
	check_state(PARK_TASK_TRACED | PARK_TASK_STOPPED, false, PW_STATE_STOPPED, "traced");
	check_state(0, true, PW_STATE_RUNNING, "running");
	check_state(0, false, PW_STATE_RUNNABLE, "runnable");
	/* a sleep state wins over on_cpu (the task is on its way off the CPU) */
	check_state(PARK_TASK_INTERRUPTIBLE, true, PW_STATE_SLEEPING, "sleeping");
	/* the bucket names are the summaries' */
	for (int s = 0; s < PW_STATE__COUNT; s++) {
		assert_non_null(pw_state_names[s]);
		for (int other = 0; other < s; other++)
			assert_string_not_equal(pw_state_names[s], pw_state_names[other]);
	}
}

/* ---- where a stack waits (classify__where) ---- */

#define WHERE_MAX 6

struct where_fixture {
	struct pw_picture *picture;
	struct symbol *symbols[WHERE_MAX];
	int count;
};

/* A symbol in module with two frames, inner (inlined) and outer; module
 * NULL: no mapping covers it. */
static struct symbol *where_symbol(struct where_fixture *fx, const char *module,
				   const char *inner, const char *inner_file, const char *outer,
				   const char *outer_file)
{
	struct symbol *symbol;

	assert_true(fx->count < WHERE_MAX);
	symbol = make_symbol(module, 0x1000, 0x2000, NULL, 0x10, outer ? 2 : inner ? 1 : 0);
	if (inner)
		set_frame(symbol, 0, inner, inner_file, 10, 0, outer != NULL);
	if (outer)
		set_frame(symbol, 1, outer, outer_file, 20, 0, false);
	fx->symbols[fx->count++] = symbol;
	return symbol;
}

/* The picture's stack of the symbols made so far, leaf first; the last
 * hidden ones are past depth. */
static const struct pw_stack *where_stack(struct where_fixture *fx, int hidden)
{
	struct stack_frame frames[WHERE_MAX];

	for (int i = 0; i < fx->count; i++)
		frames[i] = (struct stack_frame){ 0x1000 + 0x10 * i, 0x1000 + 0x10 * i };
	return picture__intern_stack(fx->picture, 1, frames,
				     (const struct symbol *const *)fx->symbols,
				     fx->count - hidden, fx->count, false);
}

static int where_setup(void **state)
{
	struct where_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->picture = picture__new();
	*state = fx;
	return fx->picture ? 0 : -1;
}

static int where_teardown(void **state)
{
	struct where_fixture *fx = *state;

	picture__put(fx->picture);
	for (int i = 0; i < fx->count; i++)
		symbol__put(fx->symbols[i]);
	free(fx);
	return 0;
}

/* Threads: libc, the loader and the vDSO are skipped, the first other
 * module's innermost frame is where the application waits. */
static void test_where_thread(void **state)
{
	struct where_fixture *fx = *state;
	static const char *const modules[] = { "/usr/lib/x86_64-linux-gnu/libc.so.6", "[vdso]",
					       "/lib64/ld-linux-x86-64.so.2",
					       "/usr/lib/x86_64-linux-gnu/libpthread.so.0",
					       "/opt/app/bin/server" };
	const struct pw_stack *stack;

	for (int i = 0; i < 5; i++)
		where_symbol(fx, modules[i], "inner", NULL, "outer", NULL);
	stack = where_stack(fx, 0);
	assert_non_null(stack);
	assert_ptr_equal(classify__where(stack, PW_UNIT_THREAD, NULL), &fx->symbols[4]->frames[0]);
	/* GOROOT means nothing to a thread */
	assert_ptr_equal(classify__where(stack, PW_UNIT_THREAD, "/opt/"),
			 &fx->symbols[4]->frames[0]);

	/* an unsymbolized frame in an app module does not count */
	fx->symbols[4]->frame_count = 0;
	assert_null(classify__where(stack, PW_UNIT_THREAD, NULL));
	/* nor a pc no mapping covers, with names or not */
	fx->symbols[4]->frame_count = 2;
	free(fx->symbols[4]->module);
	fx->symbols[4]->module = NULL;
	assert_null(classify__where(stack, PW_UNIT_THREAD, NULL));
	/* no stack at all */
	assert_null(classify__where(NULL, PW_UNIT_THREAD, NULL));
	assert_null(classify__where(NULL, PW_UNIT_GOROUTINE, "/usr/lib/go/src/"));
}

/* Only the frames dumps show: not the hidden tail past depth. */
static void test_where_thread_hidden_tail(void **state)
{
	struct where_fixture *fx = *state;

	where_symbol(fx, "/usr/lib/x86_64-linux-gnu/libc.so.6", "syscall", NULL, NULL, NULL);
	where_symbol(fx, "/opt/app/bin/server", "main", NULL, NULL, NULL);
	assert_null(classify__where(where_stack(fx, 1), PW_UNIT_THREAD, NULL));
	assert_ptr_equal(classify__where(where_stack(fx, 0), PW_UNIT_THREAD, NULL),
			 &fx->symbols[1]->frames[0]);
}

#define GOROOT "/usr/lib/go/src/"

/* Goroutines with GOROOT known: the first frame outside it (and outside
 * runtime.*), inlined frames included. */
static void test_where_goroutine_goroot(void **state)
{
	struct where_fixture *fx = *state;
	const struct pw_stack *stack;

	where_symbol(fx, "/app", "runtime.gopark", GOROOT "runtime/proc.go", NULL, NULL);
	where_symbol(fx, "/app", "sync.runtime_notifyListWait", GOROOT "runtime/sema.go",
		     "sync.(*Cond).Wait", GOROOT "sync/cond.go");
	/* the program's function inlined into a standard library one */
	where_symbol(fx, "/app", "example.com/app/store.(*DB).get", "/src/store/db.go",
		     "net/http.HandlerFunc.ServeHTTP", GOROOT "net/http/server.go");
	where_symbol(fx, "/app", "main.main", "/src/app/main.go", NULL, NULL);
	where_symbol(fx, "/app", "runtime.goexit", GOROOT "runtime/asm_amd64.s", NULL, NULL);
	stack = where_stack(fx, 1);
	assert_ptr_equal(classify__where(stack, PW_UNIT_GOROUTINE, GOROOT),
			 &fx->symbols[2]->frames[0]);
	/* the program's own package path, in a runtime.* function, is not its code */
	set_frame(fx->symbols[2], 0, "runtime.helper", "/src/store/db.go", 3, 0, true);
	assert_ptr_equal(classify__where(stack, PW_UNIT_GOROUTINE, GOROOT),
			 &fx->symbols[3]->frames[0]);
}

/* Without GOROOT (no file names, or none under a runtime function): an
 * import path whose first element has no dot is the standard library's. */
static void test_where_goroutine_by_package(void **state)
{
	struct where_fixture *fx = *state;
	const struct pw_stack *stack;

	where_symbol(fx, "/app", "runtime.gopark", NULL, NULL, NULL);
	where_symbol(fx, "/app", "internal/poll.(*FD).Read", NULL, "net.(*conn).Read", NULL);
	where_symbol(fx, "/app", "github.com/acme/rpc.(*Client).Call", NULL, NULL, NULL);
	where_symbol(fx, "/app", "main.main", NULL, NULL, NULL);
	stack = where_stack(fx, 0);
	assert_ptr_equal(classify__where(stack, PW_UNIT_GOROUTINE, NULL),
			 &fx->symbols[2]->frames[0]);
	/* main is the program's, though its path has no dot */
	set_frame(fx->symbols[2], 0, "bufio.(*Reader).Read", NULL, 0, 0, false);
	assert_ptr_equal(classify__where(stack, PW_UNIT_GOROUTINE, NULL),
			 &fx->symbols[3]->frames[0]);
}

/* No frame of the program's: the first Go's dumps show (not runtime.*),
 * else the leaf's; nothing for a stack of unknown pcs. */
static void test_where_goroutine_fallbacks(void **state)
{
	struct where_fixture *fx = *state;
	const struct pw_stack *all_runtime, *unknown;
	struct pw_picture *other;

	where_symbol(fx, "/app", "runtime.gopark", GOROOT "runtime/proc.go", NULL, NULL);
	where_symbol(fx, "/app", "runtime.bgsweep", GOROOT "runtime/mgcsweep.go", NULL, NULL);
	all_runtime = where_stack(fx, 0);
	assert_ptr_equal(classify__where(all_runtime, PW_UNIT_GOROUTINE, GOROOT),
			 &fx->symbols[0]->frames[0]);

	where_symbol(fx, "/app", "time.Sleep", GOROOT "runtime/time.go", NULL, NULL);
	assert_ptr_equal(classify__where(where_stack(fx, 0), PW_UNIT_GOROUTINE, GOROOT),
			 &fx->symbols[2]->frames[0]);

	/* leaf first, unknown: nothing named to show */
	other = picture__new();
	assert_non_null(other);
	{
		struct symbol *pc_only = make_unknown(0x4000);
		const struct symbol *symbols[] = { pc_only };
		static const __u64 pcs[] = { 0x4000 };

		unknown = make_stack(other, 1, pcs, symbols, 1);
		assert_null(classify__where(unknown, PW_UNIT_GOROUTINE, GOROOT));
		assert_null(classify__where(unknown, PW_UNIT_THREAD, NULL));
		symbol__put(pc_only);
	}
	picture__put(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_kind),
		cmocka_unit_test(test_fd_of_own_fds),
		cmocka_unit_test(test_syscall_name),
		cmocka_unit_test(test_futex_reason_cond_wait),
		cmocka_unit_test(test_futex_reason_mutex),
		cmocka_unit_test(test_futex_object),
		cmocka_unit_test(test_futex_reason_others),
		cmocka_unit_test(test_futex_reason_rwlock),
		cmocka_unit_test(test_futex_reason_barrier),
		cmocka_unit_test(test_futex_reason_none),
		cmocka_unit_test(test_futex_reason_leaf_first),
		cmocka_unit_test(test_wait_io),
		cmocka_unit_test(test_wait_futex),
		cmocka_unit_test(test_wait_kernel_reasons),
		cmocka_unit_test(test_wait_restart_syscall),
		cmocka_unit_test(test_wait_restart_decoded),
		cmocka_unit_test(test_park_reason_name),
		cmocka_unit_test(test_state),
		cmocka_unit_test_setup_teardown(test_where_thread, where_setup, where_teardown),
		cmocka_unit_test_setup_teardown(test_where_thread_hidden_tail, where_setup,
						where_teardown),
		cmocka_unit_test_setup_teardown(test_where_goroutine_goroot, where_setup,
						where_teardown),
		cmocka_unit_test_setup_teardown(test_where_goroutine_by_package, where_setup,
						where_teardown),
		cmocka_unit_test_setup_teardown(test_where_goroutine_fallbacks, where_setup,
						where_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
