// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tier 1: every park, cheaply.  sched_switch stamps a thread that leaves the
 * CPU asleep with the time and what it waits in, and closes the park of the
 * thread it switches to: into the thread's own counters in task storage and
 * into a per-CPU log2 histogram per reason (an array, indexed directly).  No
 * shared hash map, no atomics, no per-event message and no stack capture on
 * the hot path; a thread's counters move to a per-process map only when it
 * exits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "park.h"
#include "wait_ctx.bpf.h"
#include "shared.bpf.h"
#include "filter.bpf.h"

/* The state both programs share (shared.bpf.h), defined here once. */
park_states_map park_states SEC(".maps");
watched_tgids_map watched_tgids SEC(".maps");
const volatile bool filter_tgid = false;
const volatile bool filter_cgroup = false;
const volatile __u64 cgroup_id = 0;
const volatile __u32 comm_count = 0;
const volatile char comms[PARK_MAX_COMMS][PARK_COMM_LEN] = {};
struct pw_stats gave_up = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PARK_REASON__COUNT);
	__type(key, __u32);
	__type(value, struct park_hist);
} reason_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PARK_EXITED_CAPACITY); /* tracker.c sets it before load */
	__type(key, struct hist_key);
	__type(value, struct park_total);
} exited_parks SEC(".maps");

static __always_inline __u32 log2_slot(__u64 ns)
{
	__u32 slot = 0;

	/* fixed, bounded loop: the verifier sees at most 6 iterations */
	for (int shift = 32; shift > 0; shift >>= 1) {
		if (ns >> shift) {
			ns >>= shift;
			slot += shift;
		}
	}
	return slot < PARK_HIST_SLOTS ? slot : PARK_HIST_SLOTS - 1;
}

static __always_inline void hist_add(__u32 reason, __u64 park_ns)
{
	struct park_hist *hist = bpf_map_lookup_elem(&reason_hists, &reason);
	__u32 slot = log2_slot(park_ns);

	if (!hist) {
		GAVE_UP(unexpected);
		return;
	}
	hist->count++;
	hist->total_ns += park_ns;
	if (slot < PARK_HIST_SLOTS)
		hist->slots[slot]++;
}

/*
 * A bit per process that changed since userspace last took the bitmap
 * (user/kernel/snapshot.c): one of its threads left or took a CPU, was
 * moved to another cgroup or renamed.  The next snapshot reads those
 * processes again and keeps the others' records.  Kernel threads are
 * never watched and switch all the time: left out.
 */
__u64 changed_procs[PARK_CHANGED_WORDS];

static __always_inline void mark_changed(struct task_struct *task)
{
	__u32 tgid = task->tgid;
	__u64 bit = 1ULL << (tgid % 64);
	__u64 *word;

	if (tgid / 64 >= PARK_CHANGED_WORDS || (task->flags & PF_KTHREAD))
		return;
	word = &changed_procs[tgid / 64];
	/* a plain load first: the word's cache line stays shared while set */
	if (!(*word & bit))
		__sync_fetch_and_or(word, bit);
}

/* The clock is read at most once a switch, and only when a park opens or
 * closes: most switches of a filtered run touch no watched thread at all. */
static __always_inline __u64 clock_once(__u64 *now_ns)
{
	if (!*now_ns)
		*now_ns = bpf_ktime_get_ns();
	return *now_ns;
}

static __always_inline void on_switch_out(struct task_struct *prev, unsigned int prev_state,
					  __u64 *now_ns)
{
	struct park_state *state;
	__u8 has_timeout; /* the totals key on the reason alone */

	if (!(prev_state & PARK_TASK_SLEEP_MASK) || !allow_task(prev))
		return;
	state = bpf_task_storage_get(&park_states, prev, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state) {
		GAVE_UP(dropped_no_storage);
		return;
	}
	state->park_start_ns = clock_once(now_ns);
	state->flags = 0;
	state->reason = wait_reason__of_task(
		prev, ((struct pt_regs *)bpf_task_pt_regs(prev))->orig_ax, prev_state, &has_timeout);
}

static __always_inline void on_switch_in(struct task_struct *task, __u64 *now_ns)
{
	struct park_state *state;
	__u64 start_ns, park_ns;
	__u32 reason;

	state = bpf_task_storage_get(&park_states, task, NULL, 0);
	if (!state)
		return;
	start_ns = state->park_start_ns;
	if (!start_ns)
		return;
	state->park_start_ns = 0;
	/* a park that began before parkwatch has no exact length: keep it out */
	if (state->flags & PARK_F_ESTIMATED)
		return;
	park_ns = clock_once(now_ns) - start_ns;
	reason = state->reason;
	if (reason >= PARK_REASON__COUNT) {
		GAVE_UP(unexpected);
		return;
	}
	state->counts.parks[reason]++;
	state->counts.parked_ns[reason] += park_ns;
	hist_add(reason, park_ns);
}

/* A thread's counts outlive it in exited_parks, per (process, reason). */
static __always_inline void on_exit(struct task_struct *task)
{
	struct park_state *state = bpf_task_storage_get(&park_states, task, NULL, 0);
	struct hist_key key = { .tgid = task->tgid };

	if (!state)
		return;
	for (__u32 reason = 0; reason < PARK_REASON__COUNT; reason++) {
		struct park_total *total;

		if (!state->counts.parks[reason])
			continue;
		key.reason = reason;
		total = bpf_map_lookup_elem(&exited_parks, &key);
		if (!total) {
			struct park_total zero = {};

			bpf_map_update_elem(&exited_parks, &key, &zero, BPF_NOEXIST);
			total = bpf_map_lookup_elem(&exited_parks, &key);
			if (!total) {
				GAVE_UP(exited_dropped);
				continue;
			}
		}
		__sync_fetch_and_add(&total->count, state->counts.parks[reason]);
		__sync_fetch_and_add(&total->total_ns, state->counts.parked_ns[reason]);
		/* zeroed, so a snapshot that still sees the thread can't count it twice */
		state->counts.parks[reason] = 0;
		state->counts.parked_ns[reason] = 0;
	}
}

/*
 * One program per switch does both ends: prev's park begins, next's ends.
 * Closing a park when the thread runs again (not when it is woken) counts
 * the run-queue wait into it, and saves a second program and clock read on
 * every wakeup: the hot path stays at one invocation per switch.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(park_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now_ns = 0;

	mark_changed(prev);
	mark_changed(next);
	if (!preempt)
		on_switch_out(prev, prev_state, &now_ns);
	on_switch_in(next, &now_ns);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(park_exit, struct task_struct *task)
{
	mark_changed(task);
	on_exit(task);
	return 0;
}

/* A sleeping process moved or renamed switches no CPU: marked here. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(park_cgroup_moved, struct cgroup *dst_cgrp, const char *path,
	     struct task_struct *task, bool threadgroup)
{
	mark_changed(task);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(park_renamed, struct task_struct *task, const char *comm)
{
	mark_changed(task);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
