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

#endif /* PARKWATCH_PROCFS_H */
