/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Everything the BPF programs and the parkwatch daemon both see: the
 * per-thread park state kept in task storage, the tier-1 histograms and the
 * records the snapshot iterator writes.  Nothing else crosses the boundary.
 */
#ifndef PARKWATCH_PARK_H
#define PARKWATCH_PARK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PARK_COMM_LEN 16
#define PARK_HIST_SLOTS 40          /* log2(ns) buckets; the last is open-ended */
#define PARK_KSTACK_DEPTH 32
#define PARK_USTACK_MAX_BYTES 16384 /* one record must fit the 32 KiB iterator buffer */
#define PARK_MAX_WATCHED 4096       /* -p processes at most */
#define PARK_MAX_COMMS 8            /* --comm names at most */
#define PARK_EXITED_CAPACITY 16384  /* default size of exited_parks: (process, reason) entries */
#define PARK_PID_LIMIT (1 << 22)    /* pids are below it (the kernel's PID_MAX_LIMIT) */
#define PARK_CHANGED_WORDS (PARK_PID_LIMIT / 64) /* the changed-process bitmap, a bit a tgid */

/*
 * Indexes into task_record.regs: the x86_64 DWARF register numbers, the
 * order libdwfl's unwinder takes them in.
 */
enum pw_reg {
	PW_REG_AX = 0,
	PW_REG_DX = 1,
	PW_REG_CX = 2,
	PW_REG_BX = 3,
	PW_REG_SI = 4,
	PW_REG_DI = 5,
	PW_REG_BP = 6,
	PW_REG_SP = 7,
	PW_REG_R8 = 8,
	PW_REG_R9 = 9,
	PW_REG_R10 = 10,
	PW_REG_R11 = 11,
	PW_REG_R12 = 12,
	PW_REG_R13 = 13,
	PW_REG_R14 = 14,
	PW_REG_R15 = 15,
	PW_REG_IP = 16,
};
#define PARK_NREGS (PW_REG_IP + 1)

/*
 * Why a thread is parked, as far as the kernel side can tell from the
 * syscall it sleeps in.  Userspace refines PARK_REASON_FUTEX into mutex,
 * condition variable, join, ... from the symbolized frames.
 */
enum park_reason {
	PARK_REASON_NONE = 0,       /* not parked: running or runnable */
	PARK_REASON_FUTEX,
	PARK_REASON_EPOLL,
	PARK_REASON_POLL,
	PARK_REASON_SLEEP,
	PARK_REASON_IO,
	PARK_REASON_CHILD,
	PARK_REASON_SIGNAL,
	PARK_REASON_UNINTERRUPTIBLE,
	PARK_REASON_STOPPED,
	PARK_REASON_OTHER,          /* asleep in some other syscall or outside one */
	PARK_REASON__COUNT,
};

/* What a parked thread waits in, read from its saved user registers and,
 * in restart_syscall, from the wait the kernel saved to resume. */
struct wait_ctx {
	__s32 syscall_nr;           /* -1: not in a syscall */
	__u16 reason;               /* enum park_reason */
	__u8 has_timeout;
	__u8 pad;
	__u64 arg0;                 /* first syscall argument: the fd for IO waits, the
				     * futex word's address for futex waits (restarted ones too) */
};

enum park_state_flags {
	PARK_F_ESTIMATED = 1,       /* park began before parkwatch: start estimated */
};

/* Parks that ended, and their total length, per kernel-side reason. */
struct park_counts {
	__u64 parks[PARK_REASON__COUNT];
	__u64 parked_ns[PARK_REASON__COUNT];
};

/*
 * Task storage value: one per thread seen parking.  Each thread adds up its
 * own ended parks here, so a wakeup touches no shared map; the counts move
 * to exited_parks when the thread exits.
 */
struct park_state {
	__u64 park_start_ns;        /* CLOCK_MONOTONIC; 0 while not parked */
	__u64 captured_start_ns;    /* park_start_ns of the episode whose stack was copied */
	__u16 reason;               /* enum park_reason, when the park began */
	__u16 flags;                /* enum park_state_flags */
	__u32 pad;
	struct park_counts counts;
};

/* exited_parks key: the ended parks of a process's exited threads. */
struct hist_key {
	__u32 tgid;
	__u32 reason;               /* enum park_reason */
};

struct park_total {
	__u64 count;
	__u64 total_ns;
};

/* Length histogram of ended parks, per reason over every watched thread. */
struct park_hist {
	__u64 count;
	__u64 total_ns;
	__u64 slots[PARK_HIST_SLOTS]; /* slot i: parks of [2^i, 2^(i+1)) ns */
};

enum task_record_flags {
	TASK_REC_ON_CPU = 1,        /* running right now */
	TASK_REC_ESTIMATED = 2,     /* park_start_ns estimated (parked before parkwatch) */
	TASK_REC_USTACK = 4,        /* regs and ustack bytes follow */
	TASK_REC_USTACK_SEEN = 8,   /* stack copied by an earlier snapshot of this park */
	TASK_REC_USTACK_RACED = 16, /* it woke while its stack was copied: no stack */
};

/*
 * One record per visited thread, followed by kstack_depth kernel addresses
 * (__u64 each) and then ustack_bytes bytes of user stack starting at
 * regs[PW_REG_SP].
 */
struct task_record {
	__u32 tid;
	__u32 tgid;
	char comm[PARK_COMM_LEN];
	__u32 state;                /* task->__state */
	__u32 flags;                /* enum task_record_flags */
	__u64 park_start_ns;        /* 0 unless parked */
	__u64 now_ns;               /* CLOCK_MONOTONIC when the record was made */
	struct wait_ctx wait;
	__u64 regs[PARK_NREGS];     /* enum pw_reg */
	__u32 kstack_depth;
	__u32 ustack_bytes;
	struct park_counts counts;  /* the thread's ended parks so far */
	__u64 csw;                  /* context switches so far (nvcsw + nivcsw): a thread
				     * whose count moved between two reads ran in between */
	__u64 leader_start_ns;      /* its thread group leader's start_boottime: with tgid,
				     * which process this is */
	/* the thread group leader's record only, else 0: what userspace
	 * would otherwise read from /proc/PID/status and /proc/PID/cgroup
	 * at every picture */
	__u32 uids[4];              /* real, effective, saved, filesystem (kernel uids) */
	__u64 cgroups_key;          /* the ids of its cgroups, one per hierarchy, hashed: it
				     * changes when the process moves; 0 when not known */
};

/*
 * Every way the BPF side gives up on something, counted, never silent.  One
 * copy in the BPF object's .bss, incremented atomically by both programs;
 * userspace reads it through the skeleton (tracker__stats).
 */
struct pw_stats {
	__u64 dropped_no_storage;   /* task storage could not be had: a park went uncounted */
	__u64 exited_dropped;       /* an exited thread's (process, reason) counts found exited_parks full */
	__u64 stack_copy_failed;    /* a user stack could not be found (bpf_find_vma) or copied */
	__u64 stack_copy_raced;     /* the thread woke while its stack was copied: copy thrown away */
	__u64 kstack_failed;        /* bpf_get_task_stack failed: a record without kernel frames */
	__u64 records_rewritten;    /* the iterator's buffer was full: the record is made again */
	__u64 unexpected;           /* a lookup that cannot fail did, or a reason out of range */
};

/* Bits of task->__state (include/linux/sched.h), stable since 5.14. */
#define PARK_TASK_INTERRUPTIBLE 0x0001
#define PARK_TASK_UNINTERRUPTIBLE 0x0002
#define PARK_TASK_STOPPED 0x0004
#define PARK_TASK_TRACED 0x0008
#define PARK_TASK_SLEEP_MASK 0x000f

#include "park_layout.h"

#endif /* PARKWATCH_PARK_H */
