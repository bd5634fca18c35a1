/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What procs.c and procs_module.c share. */
#ifndef PARKWATCH_PROCS_INTERNAL_H
#define PARKWATCH_PROCS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "proc/modcache.h"
#include "proc/procs.h"
#include "util/u64map.h"

struct procs {
	struct u64map by_pid;
	struct modcache *modcache;
	unsigned int generation;
	size_t fds_held;            /* what the processes' fds_held add up to */
	size_t fd_budget;
	__u64 fd_clock;             /* ticks at each use of a process's fds: the LRU's order */
};

/* The value of proc->module_files for a module read by the process alone. */
#define NOT_SHARED ((void *)1)

/*
 * Before proc may open count more fds: while that would go past the
 * budget, the least recently used process's are closed.
 */
void procs__make_fd_room(struct proc *proc, size_t count);
/*
 * The lines of /proc/PID/maps that map a file, into *out (NUL-terminated,
 * the caller's to free), and their hash; 0 when the maps can't be read.
 * Only these are libdwfl's modules: a process of 10,000 threads has
 * 20,000 more lines of stacks and guard pages, which would otherwise be
 * parsed again by every lookup of a module's file.
 */
__u64 procs__read_file_maps(pid_t pid, struct file_maps *out);
/* own's shared session, held in out->held: false when there is none to
 * have (a file to open; memory). */
bool procs__hold_shared(struct proc *proc, Dwfl_Module *own, bool measured,
			struct proc_module *out);

#endif /* PARKWATCH_PROCS_INTERNAL_H */
