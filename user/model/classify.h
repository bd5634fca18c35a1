/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Wait reasons, named the way Go names goroutine wait reasons: first from
 * the syscall the thread sleeps in (decided in BPF), then refined from the
 * symbolized frames (a futex under pthread_cond_wait is a "cond wait") and,
 * for IO, from what the file descriptor is.
 */
#ifndef PARKWATCH_CLASSIFY_H
#define PARKWATCH_CLASSIFY_H

#include <stdbool.h>
#include <sys/types.h>
#include "park.h"
#include "model/picture.h"

enum fd_kind {
	FD_KIND_UNKNOWN = 0,
	FD_KIND_PIPE,
	FD_KIND_SOCKET,
	FD_KIND_FILE,
	FD_KIND_TTY,
	FD_KIND_EVENTFD,
};

/* What a /proc/PID/fd/N link target names. */
enum fd_kind classify__fd_kind(const char *link_target);
/* Reads /proc/PID/fd/FD; FD_KIND_UNKNOWN when it can't. */
enum fd_kind classify__fd_of(pid_t pid, int fd);
/* x86_64 syscall name, or NULL for numbers it doesn't know. */
const char *classify__syscall_name(long nr);
/* The pthread-level reason a futex wait serves, from function names leaf
 * first, or NULL when none of them says. */
const char *classify__futex_reason(const char *const *functions, int count);
/* The object a futex wait sleeps on, from function names leaf first
 * (__lll_lock_wait_private: a C library internal lock); PW_OBJECT_FUTEX
 * when none of them names one. */
enum pw_object_kind classify__futex_object(const char *const *functions, int count);
/* The kernel-side reason's name, as the tier-1 histograms are keyed. */
const char *classify__park_reason_name(enum park_reason reason);
/* Task state: its bucket, and in *name the finer name dumps show
 * ("traced" is a stopped thread). */
enum pw_state classify__state(__u32 task_state, bool on_cpu, const char **name);
/* Sets what a thread stack's functions say of a futex wait: its
 * futex_reason and futex_object. */
void classify__stack_futex(struct pw_stack *stack);
/* A parked thread's wait from its BPF wait context, refined by its stack
 * (NULL when none) and the kind of fd it reads.  Strings are static. */
void classify__wait(const struct wait_ctx *wait, const struct pw_stack *stack,
		    enum fd_kind fd_kind, struct pw_wait *out);
/*
 * Where a stack waits, for one-line tables: for threads the first frame
 * outside the C library and the loader; for goroutines the first in the
 * program's own code (outside GOROOT's sources at goroot_src, which may be
 * NULL), else the first Go's dumps show.  NULL when there is none.
 */
const struct symbol_frame *classify__where(const struct pw_stack *stack, enum pw_unit_kind kind,
					   const char *goroot_src);

#endif /* PARKWATCH_CLASSIFY_H */
