/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a sleeping thread waits in, read from the user registers the kernel
 * saved at syscall entry (orig_ax is the syscall number, the argument
 * registers are intact until the syscall returns).  bpf_task_pt_regs gives
 * a BTF pointer, so these are plain loads, not probe-read helper calls.  Reading them when the
 * thread leaves the CPU costs nothing per syscall, and works as well for
 * threads that went to sleep before parkwatch started.  x86_64 numbering.
 */
#ifndef PARKWATCH_WAIT_CTX_BPF_H
#define PARKWATCH_WAIT_CTX_BPF_H

#include "park.h"

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13

/* The kernel-side reason for a thread asleep in syscall nr in task_state. */
static __always_inline __u16 wait_reason__of(long nr, __u32 task_state)
{
	__u16 reason = PARK_REASON_OTHER;

	switch (nr) {
	case 202: /* futex */
	case 449: /* futex_waitv */
		reason = PARK_REASON_FUTEX;
		break;
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		reason = PARK_REASON_EPOLL;
		break;
	case 7:   /* poll */
	case 271: /* ppoll */
	case 23:  /* select */
	case 270: /* pselect6 */
		reason = PARK_REASON_POLL;
		break;
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		reason = PARK_REASON_SLEEP;
		break;
	case 0:   /* read */
	case 1:   /* write */
	case 17:  /* pread64 */
	case 18:  /* pwrite64 */
	case 19:  /* readv */
	case 20:  /* writev */
	case 42:  /* connect */
	case 43:  /* accept */
	case 44:  /* sendto */
	case 45:  /* recvfrom */
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 288: /* accept4 */
	case 299: /* recvmmsg */
	case 307: /* sendmmsg */
		reason = PARK_REASON_IO;
		break;
	case 61:  /* wait4 */
	case 247: /* waitid */
		reason = PARK_REASON_CHILD;
		break;
	case 34:  /* pause */
	case 130: /* rt_sigsuspend */
	case 128: /* rt_sigtimedwait */
		reason = PARK_REASON_SIGNAL;
		break;
	default:
		break;
	}
	if (task_state & (PARK_TASK_STOPPED | PARK_TASK_TRACED))
		return PARK_REASON_STOPPED;
	if (reason == PARK_REASON_OTHER && (task_state & PARK_TASK_UNINTERRUPTIBLE))
		return PARK_REASON_UNINTERRUPTIBLE;
	return reason;
}

/* Whether the wait in syscall nr has a timeout, from its arguments. */
static __always_inline __u8 wait_has_timeout(struct pt_regs *regs, long nr)
{
	__u32 futex_cmd;

	switch (nr) {
	case 202: /* futex(uaddr, op, val, timeout, ...) */
		futex_cmd = regs->si & FUTEX_CMD_MASK;
		if (futex_cmd == FUTEX_WAIT || futex_cmd == FUTEX_WAIT_BITSET ||
		    futex_cmd == FUTEX_LOCK_PI || futex_cmd == FUTEX_WAIT_REQUEUE_PI ||
		    futex_cmd == FUTEX_LOCK_PI2)
			return regs->r10 != 0;
		return 0;
	case 449: /* futex_waitv(waiters, nr, flags, timeout, clockid) */
	case 441: /* epoll_pwait2(epfd, events, maxevents, timeout, ...) */
		return regs->r10 != 0;
	case 232: /* epoll_wait(epfd, events, maxevents, int timeout) */
	case 281: /* epoll_pwait */
		return (int)regs->r10 >= 0;
	case 7:   /* poll(fds, nfds, int timeout) */
		return (int)regs->dx >= 0;
	case 271: /* ppoll(fds, nfds, tsp, ...) */
	case 128: /* rt_sigtimedwait(set, info, uts, ...) */
		return regs->dx != 0;
	case 23:  /* select(n, in, out, ex, tvp) */
	case 270: /* pselect6 */
		return regs->r8 != 0;
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		return 1;
	default:
		return 0;
	}
}

static __always_inline void wait_ctx__from_regs(struct pt_regs *regs, __u32 task_state,
						struct wait_ctx *wait)
{
	long nr = regs->orig_ax;

	wait->syscall_nr = nr;
	wait->arg0 = regs->di;
	wait->reason = wait_reason__of(nr, task_state);
	wait->has_timeout = wait_has_timeout(regs, nr);
}

#endif /* PARKWATCH_WAIT_CTX_BPF_H */
