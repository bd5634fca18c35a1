// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Small /proc reads (procfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/broker.h"
#include "util/procfs.h"

int procfs__open(const char *path, int flags)
{
	if (broker__connected())
		return broker__open(path, flags | O_CLOEXEC);
	return broker__open_here(path, flags | O_CLOEXEC);
}

bool procfs__brokered(void)
{
	return broker__connected();
}

ssize_t procfs__readlink(const char *path, char *buf, size_t size)
{
	ssize_t len;

	if (!size)
		return -EINVAL;
	if (broker__connected())
		return broker__readlink(path, buf, size);
	len = readlink(path, buf, size - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return len;
}

DIR *procfs__opendir(const char *path)
{
	int fd = procfs__open(path, O_RDONLY | O_DIRECTORY);
	DIR *dir;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	dir = fdopendir(fd);
	if (!dir)
		close(fd);
	return dir;
}

FILE *procfs__fopen(const char *path)
{
	int fd = procfs__open(path, O_RDONLY);
	FILE *file;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	file = fdopen(fd, "re");
	if (!file)
		close(fd);
	return file;
}

char *procfs__exe_path(pid_t pid)
{
	char path[64], target[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (procfs__readlink(path, target, sizeof(target)) <= 0)
		return NULL;
	return strdup(target);
}

void procfs__comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	comm[0] = '\0';
	f = procfs__fopen(path);
	if (!f)
		return;
	if (fgets(comm, (int)size, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* Files any user may read (mode 0444, no ptrace check when opened): opened
 * here, without a round trip to the broker, and read even if it is gone.
 * /proc/PID/NAME with a numeric pid is always the kernel's regular file,
 * so they are opened directly, not through an O_PATH handle first. */
static bool world_readable(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return !strcmp(base, "stat") || !strcmp(base, "status") || !strcmp(base, "comm") ||
	       !strcmp(base, "cgroup");
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
	/* a file checking ptrace rights at each read is read by the broker */
	if (broker__connected() && (!strcmp(name, "syscall") || strstr(name, "/syscall")))
		return broker__read(path, buf, size);
	if (world_readable(name)) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return -errno;
	} else {
		fd = procfs__open(path, O_RDONLY);
		if (fd < 0)
			return fd;
	}
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
	bool same;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	fd = procfs__open(path, O_PATH);
	if (fd < 0)
		return false;
	same = !stat("/proc/self/ns/pid", &ours) && !fstat(fd, &theirs) &&
	       ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
	close(fd);
	return same;
}

#define STATUS_MAX 4096             /* NSpid and Uid are in the first 1 KiB */

pid_t procfs__parse_ns_pid(char *status, pid_t pid)
{
	char *line, *end, *field, *last = NULL;
	long ns_pid;

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

int procfs__one_uid(const __u64 ids[4], uid_t *uid)
{
	for (int i = 1; i < 4; i++)
		if (ids[i] != ids[0])
			return -EPERM;
	if (ids[0] > UINT32_MAX)
		return -EINVAL;
	*uid = (uid_t)ids[0];
	return 0;
}

int procfs__owner_uid(pid_t pid, uid_t *uid)
{
	char status[STATUS_MAX], *line;
	unsigned long long ids[4];
	ssize_t len = procfs__read(pid, "status", status, sizeof(status));

	if (len < 0)
		return (int)len;
	line = strstr(status, "\nUid:");
	if (!line ||
	    sscanf(line, "\nUid: %llu %llu %llu %llu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		return -EINVAL;
	return procfs__one_uid((const __u64[4]){ ids[0], ids[1], ids[2], ids[3] }, uid);
}

pid_t procfs__ns_pid(pid_t pid)
{
	char status[STATUS_MAX];

	if (in_our_pid_namespace(pid) || procfs__read(pid, "status", status, sizeof(status)) < 0)
		return 0;
	return procfs__parse_ns_pid(status, pid);
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
