/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where a process runs, for its picture summary: its pid inside its own
 * PID namespace, its cgroup label (container, pod, systemd unit) and the
 * user it runs as.  All are read afresh for every picture (a process can
 * be moved to another cgroup or change its uids at any time); the reads are
 * one small /proc file each.
 */
#ifndef PARKWATCH_PLACEMENT_H
#define PARKWATCH_PLACEMENT_H

#include "model/picture.h"

/* Fills summary's owner_uid and cgroup, strings owned by picture, and its
 * ns_pid with ns_pid (procs__ns_pid).  What can't be read stays unknown
 * (0, NULLs).  0 or -ENOMEM. */
int placement__fill(struct pw_picture *picture, struct pw_process *summary, pid_t ns_pid);

#endif /* PARKWATCH_PLACEMENT_H */
