// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Wait-reason classification (classify.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "model/classify.h"
#include "util/procfs.h"
#include "util/text.h"
#include "syscall_nrs.h" /* PW_NR_*, generated from asm/unistd_64.h */

static const char *const syscall_names[] = {
#include "syscall_names.h"
};

const char *classify__syscall_name(long nr)
{
	if (nr < 0 || nr >= (long)(sizeof(syscall_names) / sizeof(syscall_names[0])))
		return NULL;
	return syscall_names[nr];
}

enum fd_kind classify__fd_kind(const char *target)
{
	if (!strncmp(target, "pipe:", 5))
		return FD_KIND_PIPE;
	if (!strncmp(target, "socket:", 7))
		return FD_KIND_SOCKET;
	if (!strcmp(target, "anon_inode:[eventfd]"))
		return FD_KIND_EVENTFD;
	if (!strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8) ||
	    !strcmp(target, "/dev/console"))
		return FD_KIND_TTY;
	if (target[0] == '/')
		return FD_KIND_FILE;
	return FD_KIND_UNKNOWN;
}

enum fd_kind classify__fd_of(pid_t pid, int fd)
{
	char path[64], target[256];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	len = procfs__readlink(path, target, sizeof(target));
	if (len <= 0)
		return FD_KIND_UNKNOWN;
	return classify__fd_kind(target);
}

/* glibc spells one function several ways: __pthread_cond_wait,
 * ___pthread_cond_wait@@GLIBC_2.3.2, and as DWARF names its hidden aliases,
 * __GI___lll_lock_wait: the name without them. */
static const char *plain_name(const char *function)
{
	if (text__has_prefix(function, "__GI_"))
		function += 5;
	while (*function == '_')
		function++;
	return function;
}

/* Whether a plain_name begins with prefix; the first letters are compared
 * first, as most frames (each of every parked thread) match no rule. */
static bool plain_is(const char *plain, const char *prefix)
{
	return plain[0] == prefix[0] && text__has_prefix(plain, prefix);
}

/*
 * A function of the rwlock family that takes it for reading or writing:
 * pthread_rwlock_rdlock, pthread_rwlock_timedrdlock,
 * pthread_rwlock_clockwrlock, __pthread_rwlock_wrlock_full64, ...
 */
static const char *rwlock_reason(const char *plain)
{
	const char *rest;

	if (!plain_is(plain, "pthread_rwlock_"))
		return NULL;
	rest = plain + strlen("pthread_rwlock_");
	if (text__has_prefix(rest, "timed") || text__has_prefix(rest, "clock"))
		rest += 5;
	if (text__has_prefix(rest, "rdlock"))
		return "rwlock read";
	if (text__has_prefix(rest, "wrlock"))
		return "rwlock write";
	return "rwlock";
}

const char *classify__futex_reason(const char *const *functions, int count)
{
	static const struct {
		const char *prefix;
		const char *reason;
	} rules[] = {
		{ "lll_lock_wait", "mutex lock" },
		{ "pthread_mutex_", "mutex lock" },
		{ "pthread_cond_", "cond wait" },
		{ "pthread_barrier_wait", "barrier" },
		{ "new_sem_wait", "semacquire" },
		{ "sem_wait", "semacquire" },
		{ "sem_timedwait", "semacquire" },
		{ "sem_clockwait", "semacquire" },
		{ "pthread_join", "thread join" },
		{ "pthread_clockjoin", "thread join" },
		{ "pthread_timedjoin", "thread join" },
	};

	for (int i = 0; i < count; i++) {
		const char *plain, *rwlock;

		if (!functions[i])
			continue;
		plain = plain_name(functions[i]);
		rwlock = rwlock_reason(plain);
		if (rwlock)
			return rwlock;
		for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
			if (plain_is(plain, rules[r].prefix))
				return rules[r].reason;
	}
	return NULL;
}

enum pw_object_kind classify__futex_object(const char *const *functions, int count)
{
	static const struct {
		const char *prefix;
		enum pw_object_kind kind;
	} rules[] = {
		/* before lll_lock_wait, which it begins with */
		{ "lll_lock_wait_private", PW_OBJECT_LOCK },
		{ "lll_lock_wait", PW_OBJECT_MUTEX },
		{ "pthread_mutex_", PW_OBJECT_MUTEX },
		{ "pthread_rwlock_", PW_OBJECT_RWLOCK },
		{ "pthread_cond_", PW_OBJECT_CONDVAR },
		{ "pthread_barrier_wait", PW_OBJECT_BARRIER },
		{ "new_sem_wait", PW_OBJECT_SEMA },
		{ "sem_wait", PW_OBJECT_SEMA },
		{ "sem_timedwait", PW_OBJECT_SEMA },
		{ "sem_clockwait", PW_OBJECT_SEMA },
	};

	/* leaf first, as classify__futex_reason: a condvar waiter taking its
	 * mutex back waits for the mutex */
	for (int i = 0; i < count; i++) {
		const char *plain = functions[i] ? plain_name(functions[i]) : NULL;

		for (size_t r = 0; plain && r < sizeof(rules) / sizeof(rules[0]); r++)
			if (plain_is(plain, rules[r].prefix))
				return rules[r].kind;
	}
	return PW_OBJECT_FUTEX;
}

const char *classify__park_reason_name(enum park_reason reason)
{
	static const char *const names[PARK_REASON__COUNT] = {
		[PARK_REASON_NONE] = "none",
		[PARK_REASON_FUTEX] = "futex",
		[PARK_REASON_EPOLL] = "epoll wait",
		[PARK_REASON_POLL] = "poll",
		[PARK_REASON_SLEEP] = "sleep",
		[PARK_REASON_IO] = "IO wait",
		[PARK_REASON_CHILD] = "child wait",
		[PARK_REASON_SIGNAL] = "signal wait",
		[PARK_REASON_UNINTERRUPTIBLE] = "uninterruptible",
		[PARK_REASON_STOPPED] = "stopped",
		[PARK_REASON_OTHER] = "other",
	};

	return reason < PARK_REASON__COUNT ? names[reason] : "other";
}

enum pw_state classify__state(__u32 task_state, bool on_cpu, const char **name)
{
	enum pw_state state;

	if (task_state & (PARK_TASK_STOPPED | PARK_TASK_TRACED))
		state = PW_STATE_STOPPED;
	else if (task_state & PARK_TASK_UNINTERRUPTIBLE)
		state = PW_STATE_DISK_SLEEP;
	else if (task_state & PARK_TASK_INTERRUPTIBLE)
		state = PW_STATE_SLEEPING;
	else
		state = on_cpu ? PW_STATE_RUNNING : PW_STATE_RUNNABLE;
	*name = task_state & PARK_TASK_TRACED ? "traced" : pw_state_names[state];
	return state;
}

static const char *io_reason(enum fd_kind kind)
{
	switch (kind) {
	case FD_KIND_PIPE:
		return "IO wait (pipe)";
	case FD_KIND_SOCKET:
		return "IO wait (socket)";
	case FD_KIND_FILE:
		return "IO wait (file)";
	case FD_KIND_TTY:
		return "IO wait (tty)";
	case FD_KIND_EVENTFD:
		return "IO wait (eventfd)";
	default:
		return "IO wait";
	}
}

/*
 * A wait interrupted by a stop or a signal that resumes in restart_syscall
 * is decoded in BPF from task->restart_block.  Where the kernel hides the
 * functions' addresses (kptr_restrict) it isn't, and the frames tell which
 * wait it was, but not always whether it has a timeout.
 */
static enum park_reason restarted_reason(const char *const *functions, int count)
{
	for (int i = 0; i < count; i++) {
		if (!functions[i])
			continue;
		if (strstr(functions[i], "nanosleep") || strstr(functions[i], "sleep"))
			return PARK_REASON_SLEEP;
		if (strstr(functions[i], "poll") || strstr(functions[i], "select"))
			return PARK_REASON_POLL;
		if (strstr(functions[i], "futex") || strstr(functions[i], "pthread_"))
			return PARK_REASON_FUTEX;
	}
	return PARK_REASON_OTHER;
}

/* Enough for the waits the rules name: they sit at the leaf. */
#define FUNCTIONS_MAX 32

/* The function names of a stack's frames, inlined ones included, leaf
 * first: the first max of them.  Returns how many. */
static int functions_of(const struct pw_stack *stack, const char **functions, int max)
{
	int count = 0;

	for (int i = 0; stack && i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];

		for (int j = 0; j < symbol->frame_count && count < max; j++)
			functions[count++] = symbol->frames[j].function;
	}
	return count;
}

void classify__stack_futex(struct pw_stack *stack)
{
	const char *functions[FUNCTIONS_MAX];
	int count = functions_of(stack, functions, FUNCTIONS_MAX);

	stack->futex_reason = classify__futex_reason(functions, count);
	stack->futex_object = classify__futex_object(functions, count);
}

void classify__wait(const struct wait_ctx *wait, const struct pw_stack *stack,
		    enum fd_kind fd_kind, struct pw_wait *out)
{
	enum park_reason reason = wait->reason;

	out->kernel_reason = wait->reason;
	out->syscall = classify__syscall_name(wait->syscall_nr);
	out->has_timeout = wait->has_timeout;
	if (wait->syscall_nr == PW_NR_restart_syscall && reason == PARK_REASON_OTHER) {
		const char *functions[FUNCTIONS_MAX];

		reason = restarted_reason(functions,
					  functions_of(stack, functions, FUNCTIONS_MAX));
		/* timed futex waits and relative sleeps, but poll(-1) too: a guess */
		out->has_timeout = true;
	}
	switch (reason) {
	case PARK_REASON_FUTEX:
		out->reason = stack && stack->futex_reason ? stack->futex_reason : "futex";
		break;
	case PARK_REASON_EPOLL:
		out->reason = "epoll wait";
		break;
	case PARK_REASON_POLL:
		out->reason = "poll";
		break;
	case PARK_REASON_SLEEP:
		out->reason = "sleep";
		break;
	case PARK_REASON_IO:
		out->reason = io_reason(fd_kind);
		break;
	case PARK_REASON_CHILD:
		out->reason = "child wait";
		break;
	case PARK_REASON_SIGNAL:
		out->reason = "signal wait";
		break;
	case PARK_REASON_UNINTERRUPTIBLE:
		out->reason = "uninterruptible";
		break;
	case PARK_REASON_STOPPED:
		out->reason = "stopped";
		break;
	default:
		out->reason = out->syscall ? out->syscall : "sleeping";
		break;
	}
}

static bool is_system_module(const char *module)
{
	static const char *const prefixes[] = { "libc.so", "libc-", "libpthread", "ld-linux",
						"ld-", "linux-vdso", "[vdso]" };
	const char *base = strrchr(module, '/');

	base = base ? base + 1 : module;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (text__has_prefix(base, prefixes[i]))
			return true;
	return false;
}

static const struct symbol_frame *thread_where(const struct pw_stack *stack)
{
	for (int i = 0; i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];

		if (symbol->module && symbol->frame_count && !is_system_module(symbol->module))
			return &symbol->frames[0];
	}
	return NULL;
}

/* Without file names: an import path whose first element has no dot is
 * the standard library's (main aside), by Go's own convention. */
static bool std_package(const char *function)
{
	const char *slash = strchr(function, '/');

	if (text__has_prefix(function, "main."))
		return false;
	return !slash || !memchr(function, '.', slash - function);
}

static bool go_user_frame(const struct symbol_frame *frame, const char *goroot_src)
{
	if (!frame->function)
		return false;
	if (frame->file && goroot_src)
		return !text__has_prefix(frame->file, goroot_src) && !text__has_prefix(frame->function, "runtime.");
	return !std_package(frame->function);
}

static const struct symbol_frame *goroutine_where(const struct pw_stack *stack,
						  const char *goroot_src)
{
	const struct symbol_frame *first_shown = NULL;

	for (int i = 0; i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];

		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];

			if (go_user_frame(frame, goroot_src))
				return frame;
			if (!first_shown && frame->function && !text__has_prefix(frame->function, "runtime."))
				first_shown = frame;
		}
	}
	if (first_shown || !stack->depth || !stack->symbols[0]->frame_count)
		return first_shown;
	return &stack->symbols[0]->frames[0];
}

const struct symbol_frame *classify__where(const struct pw_stack *stack, enum pw_unit_kind kind,
					   const char *goroot_src)
{
	if (!stack)
		return NULL;
	return kind == PW_UNIT_GOROUTINE ? goroutine_where(stack, goroot_src) : thread_where(stack);
}
