/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The byte layout of every struct park.h shares, pinned.  park.h includes
 * this, so the BPF compiler and the userspace compiler both check the same
 * numbers: a field added, moved or padded differently on one side fails the
 * build instead of garbling records.  Arrays sized by a park.h limit are
 * checked through that limit.  Changing a number here changes the ABI:
 * tests/unit/kernel/test_abi.c lays a record out by these offsets.
 */
#ifndef PARKWATCH_PARK_LAYOUT_H
#define PARKWATCH_PARK_LAYOUT_H

#define PW_ABI_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), "struct " #type ": size changed")
#define PW_ABI_AT(type, field, offset) \
	_Static_assert(__builtin_offsetof(struct type, field) == (offset), \
		       "struct " #type ": " #field " moved")

PW_ABI_SIZE(wait_ctx, 16);
PW_ABI_AT(wait_ctx, syscall_nr, 0);
PW_ABI_AT(wait_ctx, reason, 4);
PW_ABI_AT(wait_ctx, has_timeout, 6);
PW_ABI_AT(wait_ctx, arg0, 8);

PW_ABI_SIZE(park_counts, 2 * 8 * PARK_REASON__COUNT);
PW_ABI_AT(park_counts, parks, 0);
PW_ABI_AT(park_counts, parked_ns, 8 * PARK_REASON__COUNT);

PW_ABI_SIZE(park_state, 24 + sizeof(struct park_counts));
PW_ABI_AT(park_state, park_start_ns, 0);
PW_ABI_AT(park_state, captured_start_ns, 8);
PW_ABI_AT(park_state, reason, 16);
PW_ABI_AT(park_state, flags, 18);
PW_ABI_AT(park_state, counts, 24);

PW_ABI_SIZE(hist_key, 8);
PW_ABI_AT(hist_key, tgid, 0);
PW_ABI_AT(hist_key, reason, 4);

PW_ABI_SIZE(park_total, 16);
PW_ABI_AT(park_total, count, 0);
PW_ABI_AT(park_total, total_ns, 8);

PW_ABI_SIZE(park_hist, 16 + 8 * PARK_HIST_SLOTS);
PW_ABI_AT(park_hist, count, 0);
PW_ABI_AT(park_hist, total_ns, 8);
PW_ABI_AT(park_hist, slots, 16);

/* the iterator's record; its kernel addresses and stack bytes follow it */
PW_ABI_SIZE(task_record, 248 + sizeof(struct park_counts));
PW_ABI_AT(task_record, tid, 0);
PW_ABI_AT(task_record, tgid, 4);
PW_ABI_AT(task_record, comm, 8);
PW_ABI_AT(task_record, state, 8 + PARK_COMM_LEN);
PW_ABI_AT(task_record, flags, 28);
PW_ABI_AT(task_record, park_start_ns, 32);
PW_ABI_AT(task_record, now_ns, 40);
PW_ABI_AT(task_record, wait, 48);
PW_ABI_AT(task_record, regs, 64);
PW_ABI_AT(task_record, kstack_depth, 64 + 8 * PARK_NREGS);
PW_ABI_AT(task_record, ustack_bytes, 68 + 8 * PARK_NREGS);
PW_ABI_AT(task_record, counts, 72 + 8 * PARK_NREGS);
PW_ABI_AT(task_record, csw, 72 + 8 * PARK_NREGS + sizeof(struct park_counts));
PW_ABI_AT(task_record, leader_start_ns, 80 + 8 * PARK_NREGS + sizeof(struct park_counts));
PW_ABI_AT(task_record, uids, 88 + 8 * PARK_NREGS + sizeof(struct park_counts));
PW_ABI_AT(task_record, cgroups_key, 104 + 8 * PARK_NREGS + sizeof(struct park_counts));
/* __u64 counters and nothing else: userspace names each by its offset */
PW_ABI_SIZE(pw_stats, 7 * 8);

#endif /* PARKWATCH_PARK_LAYOUT_H */
