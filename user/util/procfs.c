// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Small /proc reads (procfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/procfs.h"

char *procfs__exe_path(pid_t pid)
{
	char path[64], target[PATH_MAX];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0)
		return NULL;
	target[len] = '\0';
	return strdup(target);
}

void procfs__comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	comm[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)size, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

ssize_t procfs__read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t len = 0;
	ssize_t got;
	int fd;

	if (!size)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* procfs hands out a seq_file a page or so per read */
	while (len < size - 1) {
		got = read(fd, buf + len, size - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			got = -errno;
			close(fd);
			return got;
		}
		if (!got)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Whether pid is in the PID namespace of this process: then its pid there
 * is pid, known without reading (and the kernel formatting) its status. */
static bool in_our_pid_namespace(pid_t pid)
{
	char path[64];
	struct stat ours, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return !stat("/proc/self/ns/pid", &ours) && !stat(path, &theirs) &&
	       ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

#define STATUS_MAX 4096             /* NSpid is in the first 1 KiB */

pid_t procfs__ns_pid(pid_t pid)
{
	char status[STATUS_MAX], *line, *end, *field, *last = NULL;
	long ns_pid;

	if (in_our_pid_namespace(pid) || procfs__read(pid, "status", status, sizeof(status)) < 0)
		return 0;
	line = strstr(status, "\nNSpid:");
	if (!line)
		return 0;
	line += strlen("\nNSpid:");
	line[strcspn(line, "\n")] = '\0';
	for (field = strtok_r(line, " \t", &end); field; field = strtok_r(NULL, " \t", &end))
		last = field;
	if (!last)
		return 0;
	errno = 0;
	ns_pid = strtol(last, &end, 10);
	if (errno || *end || ns_pid <= 0 || ns_pid > INT_MAX || ns_pid == pid)
		return 0;
	return (pid_t)ns_pid;
}

/* The comm field may hold anything but NUL, ")" and spaces too: the fields
 * that follow start after its last ")". */
#define STAT_MAX 1024               /* 52 numbers and a 16-byte comm */
#define STAT_START_FIELD 22

unsigned long long procfs__start_ticks(pid_t pid)
{
	char stat[STAT_MAX], *field, *end;
	unsigned long long ticks;

	if (procfs__read(pid, "stat", stat, sizeof(stat)) <= 0)
		return 0;
	field = strrchr(stat, ')');
	/* after ")" comes field 3 */
	for (int i = 3; field && i <= STAT_START_FIELD; i++)
		field = strchr(field + 1, ' ');
	if (!field)
		return 0;
	errno = 0;
	ticks = strtoull(field + 1, &end, 10);
	if (errno || end == field + 1 || (*end != ' ' && *end != '\0'))
		return 0;
	return ticks;
}
