// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tier 1: every park, cheaply.  sched_switch stamps a thread that leaves the
 * CPU asleep with the time and what it waits in; sched_wakeup closes the
 * park into a log2 histogram per (tgid, reason).  Constant work per event,
 * no per-event messages, no stack capture.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "park.h"
#include "wait_ctx.bpf.h"

#define PF_KTHREAD 0x00200000

const volatile bool filter_tgid = false;
const volatile bool filter_cgroup = false;
const volatile __u64 cgroup_id = 0;

/* Counted, never silent: histogram entries that did not fit. */
__u64 hist_dropped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct park_state);
} park_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PARK_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u8);
} watched_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hist_key);
	__type(value, struct park_hist);
} park_hists SEC(".maps");

static __always_inline bool allow_task(struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (task->flags & PF_KTHREAD)
		return false;
	if (filter_tgid && !bpf_map_lookup_elem(&watched_tgids, &tgid))
		return false;
	/* sched_switch runs in the context of prev, so this is prev's cgroup */
	if (filter_cgroup && bpf_get_current_cgroup_id() != cgroup_id)
		return false;
	return true;
}

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

static __always_inline void hist_add(__u32 tgid, __u32 reason, __u64 park_ns)
{
	struct hist_key key = { .tgid = tgid, .reason = reason };
	struct park_hist *hist;
	__u32 slot = log2_slot(park_ns);

	hist = bpf_map_lookup_elem(&park_hists, &key);
	if (!hist) {
		struct park_hist zero = {};

		if (bpf_map_update_elem(&park_hists, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&park_hists, &key)) {
			__sync_fetch_and_add(&hist_dropped, 1);
			return;
		}
		hist = bpf_map_lookup_elem(&park_hists, &key);
		if (!hist)
			return;
	}
	__sync_fetch_and_add(&hist->count, 1);
	__sync_fetch_and_add(&hist->total_ns, park_ns);
	if (slot < PARK_HIST_SLOTS)
		__sync_fetch_and_add(&hist->slots[slot], 1);
}

static __always_inline void on_switch_out(struct task_struct *prev, unsigned int prev_state)
{
	struct park_state *state;

	if (!(prev_state & PARK_TASK_SLEEP_MASK) || !allow_task(prev))
		return;
	state = bpf_task_storage_get(&park_states, prev, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state)
		return;
	state->park_start_ns = bpf_ktime_get_ns();
	state->flags = 0;
	wait_ctx__from_regs((struct pt_regs *)bpf_task_pt_regs(prev), prev_state, &state->wait);
}

static __always_inline void on_wakeup(struct task_struct *task)
{
	struct park_state *state;
	__u64 start_ns;

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
	hist_add(task->tgid, state->wait.reason, bpf_ktime_get_ns() - start_ns);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(park_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	if (!preempt)
		on_switch_out(prev, prev_state);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(park_wakeup, struct task_struct *task)
{
	on_wakeup(task);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
