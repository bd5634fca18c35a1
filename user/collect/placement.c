// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A process's namespace pid and cgroup label (placement.h). */
#include <errno.h>
#include "collect/placement.h"
#include "proc/cgroup.h"
#include "util/procfs.h"

/* The picture's copy of a label field; "" is not said, NULL. */
static int keep(struct pw_picture *picture, const char *text, const char **out)
{
	*out = NULL;
	if (!text || !text[0])
		return 0;
	*out = picture__string(picture, text);
	return *out ? 0 : -ENOMEM;
}

int placement__fill(struct pw_picture *picture, struct pw_process *summary, pid_t ns_pid)
{
	struct pw_cgroup *cg = &summary->cgroup;
	struct cgroup_label label;
	int err = 0;

	summary->ns_pid = ns_pid;
	if (procfs__owner_uid(summary->pid, &summary->owner_uid))
		summary->owner_uid = 0; /* shown to root alone */
	if (cgroup__read(summary->pid, &label))
		return 0; /* gone, or no cgroup file: no label */
	err = err ? err : keep(picture, label.path, &cg->path);
	err = err ? err : keep(picture, label.runtime, &cg->runtime);
	err = err ? err : keep(picture, label.container, &cg->container);
	err = err ? err : keep(picture, label.pod, &cg->pod);
	err = err ? err : keep(picture, label.qos, &cg->qos);
	err = err ? err : keep(picture, label.unit, &cg->unit);
	return err;
}
