/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where a process runs, read off its cgroup path (/proc/PID/cgroup): the
 * container runtime and id, the Kubernetes pod and QoS class, the systemd
 * unit.  Container engines and kubelet name cgroups by fixed patterns
 * (Docker's /docker/ID and docker-ID.scope, containerd's
 * cri-containerd-ID.scope and /k8s.io/ID, CRI-O's crio-ID.scope, podman's
 * libpod-ID.scope, kubelet's /kubepods/QOS/podUID/ with the cgroupfs driver
 * and kubepods-QOS-podUID.slice with the systemd one), so the parser is
 * pure text work, unit-tested on paths without any container.  The paths
 * are the target's to choose (a delegated subtree), so every field is
 * checked against the pattern's alphabet and bounded.
 */
#ifndef PARKWATCH_CGROUP_H
#define PARKWATCH_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#define CGROUP_PATH_MAX 512
#define CGROUP_ID_MAX 129           /* container ids: 64 hex digits, names up to 128 */
#define CGROUP_UNIT_MAX 256         /* systemd's unit name limit */

/* Empty strings and NULLs: the path doesn't say. */
struct cgroup_label {
	char path[CGROUP_PATH_MAX];  /* the path the label was read from */
	const char *runtime;        /* static: "docker", "containerd", "cri-o", "podman" */
	char container[CGROUP_ID_MAX];
	char pod[CGROUP_ID_MAX];    /* pod UID, with dashes */
	const char *qos;            /* static, with pod: "guaranteed", "burstable", "besteffort" */
	char unit[CGROUP_UNIT_MAX]; /* "nginx.service", "session-3.scope" */
};

/*
 * Parses the text of /proc/PID/cgroup (len bytes, not necessarily
 * terminated): the cgroup v2 line and every v1 hierarchy's are tried, v2
 * first, then pids, memory, name=systemd, then the others in order, and
 * the label comes from the first path that names a container or pod, else
 * the first that names a systemd unit; path is that one's, else the first
 * path below the root.  Never fails: a text it can't read gives an empty
 * label.
 */
void cgroup__parse(const char *text, size_t len, struct cgroup_label *label);
/* Reads /proc/PID/cgroup into label: 0, or -errno (label left empty). */
int cgroup__read(pid_t pid, struct cgroup_label *label);

#endif /* PARKWATCH_CGROUP_H */
