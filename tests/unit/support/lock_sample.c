// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The picture of the lock tests (lock_sample.h). */
#include "support/lock_sample.h"

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define SOURCE "/src/locks.c"
#define LIBC_START 0x7f0000000000ULL
#define APP_START 0x400000ULL

static struct symbol *function(const char *module, __u64 offset, const char *name,
			       const char *file, int line)
{
	bool libc = !strcmp(module, LIBC);
	struct symbol *symbol = make_symbol(module, libc ? LIBC_START : APP_START,
					    libc ? LIBC_START + 0x200000 : APP_START + 0x10000, NULL,
					    offset, 1);

	set_frame(symbol, 0, name, file, line, 0x20, false);
	return symbol;
}

/* A two-frame stack of pid: leaf in libc, caller in the program. */
static const struct pw_stack *stack2(struct pw_picture *picture, pid_t pid,
				     const struct symbol *leaf, const struct symbol *caller)
{
	const struct symbol *symbols[2] = { leaf, caller };
	const __u64 pcs[2] = { LIBC_START + leaf->module_offset, APP_START + caller->module_offset };

	return make_stack(picture, pid, pcs, symbols, 2);
}

static struct pw_unit *thread(struct lock_sample *s, pid_t pid, pid_t tid, const char *comm,
			      const char *reason, enum park_reason kernel_reason, __u64 park_ns,
			      const struct pw_stack *stack)
{
	struct pw_unit *unit = add_thread(s->picture, pid, tid, reason, false, park_ns, stack);

	snprintf(unit->comm, sizeof(unit->comm), "%s", comm);
	unit->wait.kernel_reason = kernel_reason;
	unit->wait.syscall = kernel_reason == PARK_REASON_IO ? "read" : "futex";
	return unit;
}

static struct pw_unit *mutex_waiter(struct lock_sample *s, pid_t pid, pid_t tid, const char *comm,
				    __u64 addr, const char *symbol, pid_t owner,
				    const struct pw_stack *stack)
{
	struct pw_unit *unit = thread(s, pid, tid, comm, "mutex lock", PARK_REASON_FUTEX, 5 * SEC,
				      stack);

	unit->blocked_on.kind = PW_OBJECT_MUTEX;
	unit->blocked_on.addr = addr;
	unit->blocked_on.symbol = picture__string(s->picture, symbol);
	unit->blocked_on.owner_tid = owner;
	return unit;
}

void lock_sample_build(struct lock_sample *s)
{
	const struct pw_stack *take_both, *relock, *handle, *misc, *cond, *serve, *peer;
	struct pw_unit *unit;
	struct pw_fd *fd;

	s->lock_wait = function(LIBC, 0x8a0d0, "__lll_lock_wait", NULL, 0);
	s->take_both = function(LOCK_APP, 0x1100, "take_both", SOURCE, 42);
	s->relock = function(LOCK_APP, 0x1200, "relock", SOURCE, 57);
	s->handle_request = function(LOCK_APP, 0x1300, "handle_request", SOURCE, 71);
	s->misc = function(LOCK_APP, 0x1400, "misc", SOURCE, 88);
	s->cond_wait = function(LIBC, 0x883c0, "pthread_cond_wait", NULL, 0);
	s->read_call = function(LIBC, 0x10e3a0, "read", NULL, 0);
	s->serve = function(LOCK_APP, 0x1500, "serve", SOURCE, 99);

	s->picture = picture__new();
	assert_non_null(s->picture);
	add_proc(s->picture, 1234, "locks", LOCK_APP);
	add_proc(s->picture, 2000, "shared", LOCK_APP);
	take_both = stack2(s->picture, 1234, s->lock_wait, s->take_both);
	relock = stack2(s->picture, 1234, s->lock_wait, s->relock);
	handle = stack2(s->picture, 1234, s->lock_wait, s->handle_request);
	misc = stack2(s->picture, 1234, s->lock_wait, s->misc);
	cond = stack2(s->picture, 1234, s->cond_wait, s->misc);
	serve = stack2(s->picture, 1234, s->read_call, s->serve);
	peer = stack2(s->picture, 2000, s->lock_wait, s->handle_request);

	mutex_waiter(s, 1234, 101, "a", LOCK_B, "lock_b", 102, take_both);
	mutex_waiter(s, 1234, 102, "b", LOCK_A, "lock_a", 101, take_both);
	mutex_waiter(s, 1234, 103, "self", LOCK_C, "lock_c", 103, relock);
	unit = mutex_waiter(s, 1234, 104, "orphan", LOCK_D, "lock_d", 99, misc);
	unit->blocked_on.owner_dead = true;
	for (pid_t tid = 105; tid <= 107; tid++)
		mutex_waiter(s, 1234, tid, "waiter", CONFIG_LOCK, "config_lock", 4201, handle);
	unit = thread(s, 1234, 108, "cv", "cond wait", PARK_REASON_FUTEX, 5 * SEC, cond);
	unit->blocked_on.kind = PW_OBJECT_CONDVAR;
	unit->blocked_on.addr = COND_ADDR;
	unit->blocked_on.symbol = picture__string(s->picture, "ready");
	unit = mutex_waiter(s, 1234, 109, "unknown", LOCK_D + 0x40, NULL, 0, misc);
	unit->blocked_on.owner_unknown = true;
	mutex_waiter(s, 1234, 110, "outsider", LOCK_D + 0x80, NULL, 7777, misc);
	unit = thread(s, 1234, 4201, "holder", "IO wait (socket)", PARK_REASON_IO, 5 * 60 * SEC,
		      serve);
	fd = picture__add_fd(s->picture);
	assert_non_null(fd);
	fd->fd = 5;
	fd->type = picture__string(s->picture, "tcp");
	fd->text = picture__string(s->picture, HOLDER_FD_TEXT);
	unit->blocked_on.kind = PW_OBJECT_FD;
	unit->blocked_on.fd = fd;
	unit = mutex_waiter(s, 2000, 2001, "peer", SHARED_LOCK, NULL, 4201, peer);
	unit->blocked_on.owner_pid = 1234;
	regroup(s->picture);
	assert_int_equal(s->picture->finding_count, 4);
}

struct pw_unit *lock_sample_unit(struct lock_sample *s, pid_t pid, pid_t tid)
{
	struct pw_unit *unit = (struct pw_unit *)picture__unit(s->picture, pid, (__u64)tid);

	assert_non_null(unit);
	return unit;
}

void lock_sample_free(struct lock_sample *s)
{
	picture__put(s->picture);
	symbol__put(s->lock_wait);
	symbol__put(s->take_both);
	symbol__put(s->relock);
	symbol__put(s->handle_request);
	symbol__put(s->misc);
	symbol__put(s->cond_wait);
	symbol__put(s->read_call);
	symbol__put(s->serve);
}
