/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Small reads of /proc/PID: bounded, and NULL or empty when unreadable. */
#ifndef PARKWATCH_PROCFS_H
#define PARKWATCH_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

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
/*
 * When the process started, in clock ticks since boot (/proc/PID/stat field
 * 22): with the pid, what tells a process from a later one given its pid.
 * 0 when unreadable (gone).
 */
unsigned long long procfs__start_ticks(pid_t pid);

#endif /* PARKWATCH_PROCFS_H */
