// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Checks before loading (preflight.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "cli/options.h"
#include "cli/preflight.h"

#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

/* What each capability is for, in the order the error line names them;
 * measured by leaving each out of the bounding set in turn. */
static const struct {
	int bit;
	const char *name;
	bool for_privilege_drop;    /* not needed with --keep-privileges */
} needed_caps[] = {
	{ CAP_BPF_BIT, "CAP_BPF", false },             /* load the BPF programs */
	{ CAP_PERFMON_BIT, "CAP_PERFMON", false },     /* ... which read kernel memory */
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", false },   /* open other processes' mem, maps */
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", false }, /* ... and their binaries */
	{ CAP_SETUID, "CAP_SETUID", true },            /* become --user */
	{ CAP_SETGID, "CAP_SETGID", true },
	{ CAP_SETPCAP, "CAP_SETPCAP", true },          /* empty the bounding set: without it
							* libcap-ng leaves it as it was */
};

static bool effective(const struct __user_cap_data_struct *data, int bit)
{
	return data[bit / 32].effective & (1u << (bit % 32));
}

int preflight__check_capabilities(bool keep_privileges)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
	char missing[192] = "";
	size_t len = 0;

	if (syscall(SYS_capget, &header, data)) {
		fprintf(stderr, "parkwatch: reading its own capabilities: %s\n", strerror(errno));
		return EXIT_PERMISSION;
	}
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++)
		if (!effective(data, needed_caps[i].bit) &&
		    !(keep_privileges && needed_caps[i].for_privilege_drop))
			len += (size_t)snprintf(missing + len, sizeof(missing) - len, "%s%s",
						len ? ", " : "", needed_caps[i].name);
	if (!len)
		return EXIT_OK;
	fprintf(stderr, "parkwatch: permission denied: %s missing (parkwatch needs CAP_BPF, "
			"CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH%s: run it as root)\n",
		missing, keep_privileges ? "" : ", CAP_SETUID, CAP_SETGID and CAP_SETPCAP");
	return EXIT_PERMISSION;
}

#define PF_KTHREAD_FLAG 0x00200000 /* include/linux/sched.h: a kernel thread */

char preflight__parse_stat(const char *stat, bool *kernel_thread)
{
	/* comm may hold spaces and parentheses: the state follows the last ')' */
	const char *close_paren = strrchr(stat, ')');
	unsigned int flags;
	char state = 0;

	if (close_paren && close_paren[1] == ' ')
		state = close_paren[2];
	/* after the state: ppid pgrp session tty_nr tpgid flags */
	if (state && kernel_thread &&
	    sscanf(close_paren + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) == 1)
		*kernel_thread = flags & PF_KTHREAD_FLAG;
	return state;
}

/* 'R', 'S', 'Z', ... from /proc/PID/stat; 0 when the process is gone.  With
 * tgid, its process's id and whether it is a kernel thread too. */
static char process_state(pid_t pid, pid_t *tgid, bool *kernel_thread)
{
	char path[64], buf[512];
	const char *tgid_line;
	char state = 0;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len > 0) {
		buf[len] = '\0';
		state = preflight__parse_stat(buf, kernel_thread);
	}
	if (!tgid)
		return state;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return state;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len > 0) {
		buf[len] = '\0';
		tgid_line = strstr(buf, "\nTgid:");
		if (tgid_line)
			*tgid = (pid_t)atoi(tgid_line + 6);
	}
	return state;
}

int preflight__check_targets(pid_t *pids, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		bool kernel_thread = false;
		pid_t tgid = pids[i];
		char state = process_state(pids[i], &tgid, &kernel_thread);

		if (!state || state == 'Z' || state == 'X') {
			fprintf(stderr, "parkwatch: no process with pid %d (check the pid with ps)\n",
				pids[i]);
			return EXIT_NO_PROCESS;
		}
		/* it has no user stack to show, and the BPF side skips it */
		if (kernel_thread) {
			fprintf(stderr, "parkwatch: %d is a kernel thread (give the pid of a user "
					"process; --kernel-stacks adds kernel frames to those)\n", pids[i]);
			return EXIT_USAGE;
		}
		if (tgid != pids[i]) {
			fprintf(stderr, "parkwatch: %d is a thread of process %d; watching %d\n",
				pids[i], tgid, tgid);
			pids[i] = tgid;
		}
	}
	return EXIT_OK;
}

bool preflight__process_alive(pid_t pid)
{
	char state = process_state(pid, NULL, NULL);

	return state && state != 'Z' && state != 'X';
}

/* /proc/PID/comm without its newline; false when the process is gone. */
static bool read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, comm, size - 1);
	close(fd);
	if (len <= 0)
		return false;
	comm[len] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return true;
}

size_t preflight__count_named(const char *const *names, size_t count)
{
	DIR *proc = opendir("/proc");
	struct dirent *entry;
	size_t found = 0;

	if (!proc)
		return 0;
	while ((entry = readdir(proc))) {
		char comm[PARK_COMM_LEN + 1], state;
		bool kernel_thread = false;
		char *end;
		long pid = strtol(entry->d_name, &end, 10);

		if (*end || pid <= 0 || !read_comm((pid_t)pid, comm, sizeof(comm)))
			continue;
		for (size_t i = 0; i < count; i++) {
			if (strcmp(comm, names[i]))
				continue;
			state = process_state((pid_t)pid, NULL, &kernel_thread);
			if (state && state != 'Z' && state != 'X' && !kernel_thread)
				found++;
			break;
		}
	}
	closedir(proc);
	return found;
}

int preflight__cgroup_id(const char *path, __u64 *id)
{
	struct statfs fs;
	struct stat st;

	if (statfs(path, &fs) || stat(path, &st)) {
		fprintf(stderr, "parkwatch: cgroup %s: %s (give a directory under /sys/fs/cgroup)\n",
			path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "parkwatch: cgroup %s: not a cgroup v2 directory\n", path);
		return EXIT_USAGE;
	}
	*id = st.st_ino; /* a cgroup v2 id is its directory's inode number */
	return EXIT_OK;
}
