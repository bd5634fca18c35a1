/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Which threads parkwatch watches: one rule for both programs.  User threads
 * only (no kernel threads), of the -p processes when there are any, in the
 * --cgroup cgroup when there is one.
 *
 * The cgroup is read from the task itself (task->cgroups->dfl_cgrp, the
 * cgroup v2 one), never with bpf_get_current_cgroup_id(): that helper names
 * the cgroup of whatever runs the program, which in sched_switch happens to
 * be the thread going to sleep but in the snapshot iterator is parkwatch
 * itself.  Both read the same id (the cgroup's kernfs node id), so the rule
 * is what sched_switch already did, and right in the iterator too.
 */
#ifndef PARKWATCH_FILTER_BPF_H
#define PARKWATCH_FILTER_BPF_H

#include "kernel.bpf.h"
#include "shared.bpf.h"

static __always_inline bool allow_task(struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (task->flags & PF_KTHREAD)
		return false;
	if (filter_tgid && !bpf_map_lookup_elem(&watched_tgids, &tgid))
		return false;
	if (filter_cgroup && BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id) != cgroup_id)
		return false;
	return true;
}

#endif /* PARKWATCH_FILTER_BPF_H */
