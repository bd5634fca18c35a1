// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Which processes a profile request means (selection.h). */
#include <string.h>
#include "serve/selection.h"

/* where cgroup v2 is mounted: alone, or beside v1's hierarchies */
static const char *const cgroup_mounts[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

const char *const selector_names[SELECT__COUNT] = {
	[SELECT_ALL] = "",
	[SELECT_PID] = "pid",
	[SELECT_COMM] = "comm",
	[SELECT_EXE] = "exe",
	[SELECT_CGROUP] = "cgroup",
};

/*
 * The cgroup path is as /proc/PID/cgroup says it ("/system.slice/x.service");
 * the wanted one may also be the directory under a usual mount, as
 * --cgroup takes it.  A process in a cgroup below the wanted one is in it.
 */
static bool in_cgroup(const char *wanted, const char *path)
{
	size_t len;

	if (!path)
		return false;
	for (size_t i = 0; i < sizeof(cgroup_mounts) / sizeof(cgroup_mounts[0]); i++) {
		len = strlen(cgroup_mounts[i]);
		if (!strncmp(wanted, cgroup_mounts[i], len) && (wanted[len] == '/' || !wanted[len])) {
			wanted += len;
			break;
		}
	}
	len = strlen(wanted);
	while (len && wanted[len - 1] == '/')
		len--; /* "/", "" and "/sys/fs/cgroup/" are the root: every process */
	return !strncmp(path, wanted, len) && (path[len] == '/' || !path[len]);
}

bool selection__matches(const struct selector *selector, const struct pw_process *proc)
{
	switch (selector->kind) {
	case SELECT_ALL:
		return true;
	case SELECT_PID:
		return proc->pid == selector->pid;
	case SELECT_COMM:
		return !strcmp(proc->comm, selector->value);
	case SELECT_EXE:
		return proc->exe && !strcmp(proc->exe, selector->value);
	case SELECT_CGROUP:
		return in_cgroup(selector->value, proc->cgroup.path);
	default:
		return false;
	}
}
