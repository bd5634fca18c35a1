/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Checks made before anything is loaded, each printing its one error line:
 * the watched processes exist (a thread id is taken as its process) or,
 * for --comm, how many processes hold a name, the
 * caller may load BPF, a --cgroup path is a cgroup v2 directory.  Also
 * whether a watched process is still alive, for the loops.
 */
#ifndef PARKWATCH_PREFLIGHT_H
#define PARKWATCH_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* EXIT_OK when the effective set holds what parkwatch needs (CAP_BPF,
 * CAP_PERFMON, and for the broker CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH;
 * unless keep_privileges CAP_SETUID, CAP_SETGID and CAP_SETPCAP to become
 * --user with nothing left), else
 * EXIT_PERMISSION after one line naming what is missing. */
int preflight__check_capabilities(bool keep_privileges);
/* EXIT_OK, or after one line EXIT_NO_PROCESS or (a kernel thread)
 * EXIT_USAGE; thread ids become their process's id in place. */
int preflight__check_targets(pid_t *pids, size_t count);
/* How many live user processes hold one of these names in /proc/PID/comm
 * now (kernel threads don't count: parkwatch never watches them). */
size_t preflight__count_named(const char *const *names, size_t count);
/* EXIT_OK with the cgroup's id, or EXIT_USAGE after one line. */
int preflight__cgroup_id(const char *path, __u64 *id);
/* The state ('R', 'S', 'Z', ...) in stat, a /proc/PID/stat line, 0 if
 * none; with kernel_thread, whether its flags say kernel thread. */
char preflight__parse_stat(const char *stat, bool *kernel_thread);
/* The process exists and is not a zombie. */
bool preflight__process_alive(pid_t pid);

#endif /* PARKWATCH_PREFLIGHT_H */
