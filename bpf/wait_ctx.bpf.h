/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a sleeping thread waits in, read from the user registers the kernel
 * saved at syscall entry (orig_ax is the syscall number, the argument
 * registers are intact until the syscall returns).  Reading them when the
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

static __always_inline void wait_ctx__from_regs(struct pt_regs *regs, __u32 task_state,
						struct wait_ctx *wait)
{
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u64 arg1 = BPF_CORE_READ(regs, si);
	__u64 arg2 = BPF_CORE_READ(regs, dx);
	__u64 arg3 = BPF_CORE_READ(regs, r10);
	__u64 arg4 = BPF_CORE_READ(regs, r8);
	__u16 reason = PARK_REASON_OTHER;
	__u8 has_timeout = 0;
	__u32 futex_cmd;

	wait->arg0 = BPF_CORE_READ(regs, di);
	switch (nr) {
	case 202: /* futex */
		futex_cmd = arg1 & FUTEX_CMD_MASK;
		if (futex_cmd == FUTEX_WAIT || futex_cmd == FUTEX_WAIT_BITSET ||
		    futex_cmd == FUTEX_LOCK_PI || futex_cmd == FUTEX_WAIT_REQUEUE_PI ||
		    futex_cmd == FUTEX_LOCK_PI2)
			has_timeout = arg3 != 0;
		reason = PARK_REASON_FUTEX;
		break;
	case 449: /* futex_waitv */
		has_timeout = arg3 != 0;
		reason = PARK_REASON_FUTEX;
		break;
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
		has_timeout = (int)arg3 >= 0;
		reason = PARK_REASON_EPOLL;
		break;
	case 441: /* epoll_pwait2 */
		has_timeout = arg3 != 0;
		reason = PARK_REASON_EPOLL;
		break;
	case 7: /* poll */
		has_timeout = (int)arg2 >= 0;
		reason = PARK_REASON_POLL;
		break;
	case 271: /* ppoll */
		has_timeout = arg2 != 0;
		reason = PARK_REASON_POLL;
		break;
	case 23:  /* select */
	case 270: /* pselect6 */
		has_timeout = arg4 != 0;
		reason = PARK_REASON_POLL;
		break;
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		has_timeout = 1;
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
		reason = PARK_REASON_SIGNAL;
		break;
	case 128: /* rt_sigtimedwait */
		has_timeout = arg2 != 0;
		reason = PARK_REASON_SIGNAL;
		break;
	default:
		break;
	}
	if (task_state & (PARK_TASK_STOPPED | PARK_TASK_TRACED))
		reason = PARK_REASON_STOPPED;
	else if (reason == PARK_REASON_OTHER && (task_state & PARK_TASK_UNINTERRUPTIBLE))
		reason = PARK_REASON_UNINTERRUPTIBLE;
	wait->syscall_nr = nr;
	wait->reason = reason;
	wait->has_timeout = has_timeout;
}

#endif /* PARKWATCH_WAIT_CTX_BPF_H */
