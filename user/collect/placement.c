// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A process's namespace pid, owner and cgroup label (placement.h). */
#include <errno.h>
#include <stdlib.h>
#include "collect/placement.h"
#include "proc/cgroup.h"
#include "util/procfs.h"
#include "util/units.h"

/* How long a cgroup label whose key did not change is kept. */
#define CGROUP_REREAD_NS (60 * NSEC_PER_SEC)

/* The picture's copy of a label field; "" is not said, NULL. */
static int keep(struct pw_picture *picture, const char *text, const char **out)
{
	*out = NULL;
	if (!text || !text[0])
		return 0;
	*out = picture__string(picture, text);
	return *out ? 0 : -ENOMEM;
}

static uid_t owner_of(pid_t pid, const struct task_record *leader)
{
	uid_t uid;
	int err;

	if (leader)
		err = procfs__one_uid((const __u64[4]){ leader->uids[0], leader->uids[1],
							leader->uids[2], leader->uids[3] },
				      &uid);
	else
		err = procfs__owner_uid(pid, &uid);
	return err ? 0 : uid; /* 0: shown to root alone */
}

/* The process's cgroup label, read again when its key changed; NULL when
 * unreadable (gone, no cgroup file) or out of memory. */
static const struct cgroup_label *label_of(struct proc *proc, const struct task_record *leader)
{
	__u64 key = leader ? leader->cgroups_key : 0, now_ns = leader ? leader->now_ns : 0;

	if (proc->cgroup && key && key == proc->cgroup_key &&
	    now_ns - proc->cgroup_read_ns < CGROUP_REREAD_NS)
		return proc->cgroup;
	if (!proc->cgroup && !(proc->cgroup = malloc(sizeof(*proc->cgroup))))
		return NULL;
	if (cgroup__read(proc->pid, proc->cgroup)) {
		free(proc->cgroup);
		proc->cgroup = NULL;
		return NULL;
	}
	proc->cgroup_key = key;
	proc->cgroup_read_ns = now_ns;
	return proc->cgroup;
}

int placement__fill(struct pw_picture *picture, struct pw_process *summary, struct proc *proc,
		    const struct task_record *leader)
{
	struct pw_cgroup *cg = &summary->cgroup;
	const struct cgroup_label *label;
	int err = 0;

	if (leader && (pid_t)leader->tid != proc->pid)
		leader = NULL;
	summary->ns_pid = procs__ns_pid(proc);
	summary->owner_uid = owner_of(proc->pid, leader);
	label = label_of(proc, leader);
	if (!label)
		return 0; /* no label */
	err = err ? err : keep(picture, label->path, &cg->path);
	err = err ? err : keep(picture, label->runtime, &cg->runtime);
	err = err ? err : keep(picture, label->container, &cg->container);
	err = err ? err : keep(picture, label->pod, &cg->pod);
	err = err ? err : keep(picture, label->qos, &cg->qos);
	err = err ? err : keep(picture, label->unit, &cg->unit);
	return err;
}
