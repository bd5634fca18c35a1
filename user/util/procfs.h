/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Another process's /proc/PID files, opened in one place, and small bounded
 * reads of them (NULL or empty when unreadable).  Once privileges are dropped
 * (cli/privileges.h) they are opened by the privileged broker (util/broker.h);
 * before that, or with --keep-privileges, directly.
 */
#ifndef PARKWATCH_PROCFS_H
#define PARKWATCH_PROCFS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

/* open(2) of a /proc/PID/ file, read-only: an fd or -errno. */
int procfs__open(const char *path, int flags);
/* readlink(2) of /proc/PID/exe or fd/N into buf, terminated: the length or -errno. */
ssize_t procfs__readlink(const char *path, char *buf, size_t size);
/* A /proc/PID/ directory (fd, task) to list; NULL with errno set. */
DIR *procfs__opendir(const char *path);
/* A /proc/PID/ text file as a stream ("re"); NULL with errno set. */
FILE *procfs__fopen(const char *path);
/* Whether opens go through the broker: this process has no rights of its
 * own over other processes (process_vm_readv then fails with EPERM). */
bool procfs__brokered(void);

/* The process's executable (/proc/PID/exe); malloc'd, NULL if unreadable. */
char *procfs__exe_path(pid_t pid);
/* The process's name (/proc/PID/comm) into comm; "" if unreadable. */
void procfs__comm(pid_t pid, char *comm, size_t size);

/*
 * Up to size - 1 bytes of /proc/PID/NAME into buf, terminated: the length
 * read, or -errno.  A file longer than that is cut.
 */
ssize_t procfs__read(pid_t pid, const char *name, char *buf, size_t size);
/*
 * The process's pid in its own PID namespace (the last NSpid field of
 * /proc/PID/status); 0 when that is pid itself, or unreadable.
 */
pid_t procfs__ns_pid(pid_t pid);
/* The same from status, the text of pid's /proc/PID/status (changed:
 * its NSpid line is cut up). */
pid_t procfs__parse_ns_pid(char *status, pid_t pid);

/*
 * The user the process runs as, from the Uid line of /proc/PID/status: 0
 * and *uid when its real, effective, saved and filesystem uids are that one
 * user; -EPERM when they differ (a set-user-ID program: not its caller's
 * alone); -errno when unreadable.
 */
int procfs__owner_uid(pid_t pid, uid_t *uid);
/* The same of the four uids (real, effective, saved, filesystem) already
 * read: 0 and *uid when they are one user, -EPERM when they differ. */
int procfs__one_uid(const __u64 ids[4], uid_t *uid);

/*
 * When the process started, in clock ticks since boot (/proc/PID/stat field
 * 22): with the pid, what tells a process from a later one given its pid.
 * 0 when unreadable (gone).
 */
unsigned long long procfs__start_ticks(pid_t pid);

#endif /* PARKWATCH_PROCFS_H */
