/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Which threads parkwatch watches: one rule for both programs.  User threads
 * only (no kernel threads), of the -p processes and the processes named by
 * --comm when there are any, in the --cgroup cgroup when there is one.
 *
 * The cgroup is read from the task itself (task->cgroups->dfl_cgrp, the
 * cgroup v2 one), never with bpf_get_current_cgroup_id(): that helper names
 * the cgroup of whatever runs the program, which in sched_switch happens to
 * be the thread going to sleep but in the snapshot iterator is parkwatch
 * itself.  Both read the same id (the cgroup's kernfs node id), so the rule
 * is what sched_switch already did, and right in the iterator too.
 *
 * --comm is decided here too, from the name the kernel holds at each
 * switch: a process that starts (or execs) under a watched name is watched
 * from its first switch, which no rescan of /proc between pictures could
 * promise, and a filtered switch costs one 16-byte read and a compare.
 */
#ifndef PARKWATCH_FILTER_BPF_H
#define PARKWATCH_FILTER_BPF_H

#include "kernel.bpf.h"
#include "shared.bpf.h"

/* The process's name as /proc/PID/comm shows it: its main thread's comm
 * (the other threads may have named themselves).  The names in comms[] are
 * NUL-padded; the kernel's is compared up to its NUL. */
static __always_inline bool comm_watched(struct task_struct *task)
{
	char comm[PARK_COMM_LEN];

	if (BPF_CORE_READ_INTO(&comm, task, group_leader, comm))
		return false;
	for (__u32 name = 0; name < PARK_MAX_COMMS && name < comm_count; name++) {
		bool same = true;

		for (int i = 0; i < PARK_COMM_LEN; i++) {
			if (comm[i] != comms[name][i]) {
				same = false;
				break;
			}
			if (!comm[i])
				break;
		}
		if (same)
			return true;
	}
	return false;
}

/* -p and --comm add up; neither given: every process. */
static __always_inline bool process_watched(struct task_struct *task, __u32 tgid)
{
	if (!filter_tgid && !comm_count)
		return true;
	if (filter_tgid && bpf_map_lookup_elem(&watched_tgids, &tgid))
		return true;
	return comm_count && comm_watched(task);
}

static __always_inline bool allow_task(struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (task->flags & PF_KTHREAD)
		return false;
	if (!process_watched(task, tgid))
		return false;
	if (filter_cgroup && BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id) != cgroup_id)
		return false;
	return true;
}

#endif /* PARKWATCH_FILTER_BPF_H */
