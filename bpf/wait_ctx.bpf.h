/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a sleeping thread waits in, read from the user registers the kernel
 * saved at syscall entry (orig_ax is the syscall number, the argument
 * registers are intact until the syscall returns).  bpf_task_pt_regs gives
 * a BTF pointer, so these are plain loads, not probe-read helper calls.  Reading them when the
 * thread leaves the CPU costs nothing per syscall, and works as well for
 * threads that went to sleep before parkwatch started.  x86_64 registers and
 * syscall numbers (kernel.bpf.h).
 *
 * A wait interrupted by a stop (SIGSTOP, a ptrace attach) or by a signal
 * whose handler asks for restarts may resume in restart_syscall, which runs
 * the function the interrupted syscall left in task->restart_block.fn with
 * the wait's own arguments next to it: that, not the registers, tells what
 * the thread waits in then.
 */
#ifndef PARKWATCH_WAIT_CTX_BPF_H
#define PARKWATCH_WAIT_CTX_BPF_H

#include "park.h"
#include "kernel.bpf.h"
#include "shared.bpf.h"

/* The running kernel's version, for the futex flag that moved (kernel.bpf.h). */
extern int LINUX_KERNEL_VERSION __kconfig;

/* The kernel-side reason for a thread asleep in syscall nr in task_state. */
static __always_inline __u16 wait_reason__of(long nr, __u32 task_state)
{
	__u16 reason = PARK_REASON_OTHER;

	switch (nr) {
	case PW_NR_futex:
	case PW_NR_futex_waitv:
		reason = PARK_REASON_FUTEX;
		break;
	case PW_NR_epoll_wait:
	case PW_NR_epoll_pwait:
	case PW_NR_epoll_pwait2:
		reason = PARK_REASON_EPOLL;
		break;
	case PW_NR_poll:
	case PW_NR_ppoll:
	case PW_NR_select:
	case PW_NR_pselect6:
		reason = PARK_REASON_POLL;
		break;
	case PW_NR_nanosleep:
	case PW_NR_clock_nanosleep:
		reason = PARK_REASON_SLEEP;
		break;
	case PW_NR_read:
	case PW_NR_write:
	case PW_NR_pread64:
	case PW_NR_pwrite64:
	case PW_NR_readv:
	case PW_NR_writev:
	case PW_NR_connect:
	case PW_NR_accept:
	case PW_NR_sendto:
	case PW_NR_recvfrom:
	case PW_NR_sendmsg:
	case PW_NR_recvmsg:
	case PW_NR_accept4:
	case PW_NR_recvmmsg:
	case PW_NR_sendmmsg:
		reason = PARK_REASON_IO;
		break;
	case PW_NR_wait4:
	case PW_NR_waitid:
		reason = PARK_REASON_CHILD;
		break;
	case PW_NR_pause:
	case PW_NR_rt_sigsuspend:
	case PW_NR_rt_sigtimedwait:
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
	case PW_NR_futex: /* futex(uaddr, op, val, timeout, ...) */
		futex_cmd = regs->si & FUTEX_CMD_MASK;
		if (futex_cmd == FUTEX_WAIT || futex_cmd == FUTEX_WAIT_BITSET ||
		    futex_cmd == FUTEX_LOCK_PI || futex_cmd == FUTEX_WAIT_REQUEUE_PI ||
		    futex_cmd == FUTEX_LOCK_PI2)
			return regs->r10 != 0;
		return 0;
	case PW_NR_futex_waitv: /* futex_waitv(waiters, nr, flags, timeout, clockid) */
	case PW_NR_epoll_pwait2: /* epoll_pwait2(epfd, events, maxevents, timeout, ...) */
		return regs->r10 != 0;
	case PW_NR_epoll_wait: /* epoll_wait(epfd, events, maxevents, int timeout) */
	case PW_NR_epoll_pwait:
		return (int)regs->r10 >= 0;
	case PW_NR_poll: /* poll(fds, nfds, int timeout) */
		return (int)regs->dx >= 0;
	case PW_NR_ppoll: /* ppoll(fds, nfds, tsp, ...) */
	case PW_NR_rt_sigtimedwait: /* rt_sigtimedwait(set, info, uts, ...) */
		return regs->dx != 0;
	case PW_NR_select: /* select(n, in, out, ex, tvp) */
	case PW_NR_pselect6:
		return regs->r8 != 0;
	case PW_NR_nanosleep:
	case PW_NR_clock_nanosleep:
		return 1;
	default:
		return 0;
	}
}

/*
 * A wait the kernel resumes through restart_syscall keeps what it was in
 * task->restart_block, whose fn names the function that resumes it: one of
 * these, told apart by name (restart_kind_of).
 */
enum park_restart_kind {
	PARK_RESTART_NONE = 0,
	PARK_RESTART_FUTEX,         /* futex_wait_restart, or do_no_restart_syscall that it
				     * leaves there while it waits: a futex wait with a timeout */
	PARK_RESTART_NANOSLEEP,     /* hrtimer_nanosleep_restart, posix_cpu_nsleep_restart, ... */
	PARK_RESTART_POLL,          /* do_restart_poll: poll(2), with or without a timeout */
};

/*
 * Whether the kernel's name of a function is want, or its LTO-promoted
 * form (want.llvm.N).  want is a string constant (bpf_strncmp needs it
 * read-only).
 */
#define restart_fn_is(name, want)                                             \
	(bpf_strncmp(name, sizeof(want) - 1, want) == 0 &&                     \
	 (name[sizeof(want) - 1] == '\0' || name[sizeof(want) - 1] == '.'))

/*
 * The kind of wait restart_block.fn resumes (park.h), by the function's
 * name: these are static functions, whose addresses only kallsyms has, and
 * the kernel names them for us (%ps) only on this rare path.  compat_* are
 * the 32-bit variants of kernels before 4.15; alarm_timer_* needs RTC
 * support.  futex_wait_restart sets fn back to do_no_restart_syscall
 * before it waits again, so a thread asleep in restart_syscall with that
 * fn is in a futex wait (restart_syscall with it returns at once otherwise).
 */
static __always_inline __u32 restart_kind_of(__u64 fn)
{
	char name[64]; /* compat_clock_nanosleep_restart and an LTO suffix */
	__u64 args[1] = { fn };

	if (bpf_snprintf(name, sizeof(name), "%ps", args, sizeof(args)) <= 0)
		return PARK_RESTART_NONE;
	if (restart_fn_is(name, "futex_wait_restart") ||
	    restart_fn_is(name, "do_no_restart_syscall"))
		return PARK_RESTART_FUTEX;
	if (restart_fn_is(name, "hrtimer_nanosleep_restart") ||
	    restart_fn_is(name, "posix_cpu_nsleep_restart") ||
	    restart_fn_is(name, "alarm_timer_nsleep_restart") ||
	    restart_fn_is(name, "compat_nanosleep_restart") ||
	    restart_fn_is(name, "compat_clock_nanosleep_restart"))
		return PARK_RESTART_NANOSLEEP;
	if (restart_fn_is(name, "do_restart_poll"))
		return PARK_RESTART_POLL;
	return PARK_RESTART_NONE;
}

/*
 * The wait a thread in restart_syscall resumes, from task->restart_block:
 * its reason, and in *has_timeout whether it ends by itself.
 * PARK_REASON_OTHER when fn is none restart_kind_of knows.  The members are
 * read only where this kernel has them (CO-RE).
 */
static __always_inline __u16 restarted_wait(struct task_struct *task, __u8 *has_timeout)
{
	struct restart_block *restart = &task->restart_block;
	__u32 futex_has_timeout;

	switch (restart_kind_of((__u64)restart->fn)) {
	case PARK_RESTART_FUTEX:
		/* only a futex wait with a timeout is resumed this way, and its
		 * flags say so (fn itself is reset while it waits: restart_kind_of) */
		futex_has_timeout = LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 7, 0) ?
					    FUTEX_FLAGS_HAS_TIMEOUT : FUTEX_FLAGS_HAS_TIMEOUT_OLD;
		*has_timeout = bpf_core_field_exists(restart->futex.flags) ?
				       (restart->futex.flags & futex_has_timeout) != 0 : 1;
		return PARK_REASON_FUTEX;
	case PARK_RESTART_NANOSLEEP:
		*has_timeout = 1; /* a relative sleep: absolute ones restart themselves */
		return PARK_REASON_SLEEP;
	case PARK_RESTART_POLL:
		/* poll(-1) too is resumed this way, with has_timeout 0 */
		*has_timeout = bpf_core_field_exists(restart->poll.has_timeout) ?
				       restart->poll.has_timeout != 0 : 0;
		return PARK_REASON_POLL;
	default:
		return PARK_REASON_OTHER;
	}
}

/*
 * wait_reason__of for a thread that may be in restart_syscall: there, the
 * wait it resumes, whose has_timeout then replaces *has_timeout.  A stopped
 * or D-state thread keeps the reason its state gives.
 */
static __always_inline __u16 wait_reason__of_task(struct task_struct *task, long nr,
						  __u32 task_state, __u8 *has_timeout)
{
	__u16 reason = wait_reason__of(nr, task_state);

	if (nr == PW_NR_restart_syscall && reason == PARK_REASON_OTHER)
		reason = restarted_wait(task, has_timeout);
	return reason;
}

static __always_inline void wait_ctx__from_regs(struct task_struct *task, struct pt_regs *regs,
						__u32 task_state, struct wait_ctx *wait)
{
	long nr = regs->orig_ax;

	wait->syscall_nr = nr;
	wait->arg0 = regs->di;
	wait->has_timeout = wait_has_timeout(regs, nr);
	wait->reason = wait_reason__of_task(task, nr, task_state, &wait->has_timeout);
	/* a resumed futex wait's word is in restart_block, not in the registers
	 * restart_syscall left: userspace reads the lock there */
	if (nr == PW_NR_restart_syscall && wait->reason == PARK_REASON_FUTEX)
		wait->arg0 = (__u64)task->restart_block.futex.uaddr;
}

#endif /* PARKWATCH_WAIT_CTX_BPF_H */
