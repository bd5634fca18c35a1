/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where a process runs, for its picture summary: its pid inside its own
 * PID namespace, its cgroup label (container, pod, systemd unit) and the
 * user it runs as.  A process can change its uids or be moved to another
 * cgroup at any time, so both are taken afresh for every picture: from the
 * snapshot's record of its main thread, which carries the uids and a key of
 * its cgroups, and /proc/PID/cgroup is read again only when that key
 * changes (or a minute has passed: a renamed cgroup keeps its key).
 * Without such a record (a Go process's picture, an exited main thread),
 * /proc/PID/status and /proc/PID/cgroup are read.
 */
#ifndef PARKWATCH_PLACEMENT_H
#define PARKWATCH_PLACEMENT_H

#include "model/picture.h"
#include "proc/procs.h"

/* Fills summary's owner_uid and cgroup, strings owned by picture, and its
 * ns_pid (procs__ns_pid) for process proc, whose main thread's record is
 * leader (NULL: none).  What can't be read stays unknown (0, NULLs).  0 or
 * -ENOMEM. */
int placement__fill(struct pw_picture *picture, struct pw_process *summary, struct proc *proc,
		    const struct task_record *leader);

#endif /* PARKWATCH_PLACEMENT_H */
