/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The thread source: one snapshot of the BPF iterator turned into thread
 * units of a picture, each parked thread's stack unwound (DWARF CFI),
 * symbolized and its wait classified; an IO or epoll wait's fd described
 * (proc/fds.h) as what it waits on.
 */
#ifndef PARKWATCH_THREADS_H
#define PARKWATCH_THREADS_H

#include <sys/types.h>
#include "kernel/snapshot.h"
#include "model/picture.h"
#include "proc/fdpeers.h"
#include "proc/procs.h"
#include "util/budget.h"

/*
 * Adds the threads of snap to picture, with a summary per process; the
 * threads of skip_pid (a process shown by its goroutines; 0: none) are
 * left out.  Call between procs__begin and procs__end: unwound stacks are
 * cached in procs for as long as each thread stays in the same park.
 * peers (NULL: none) keeps what the search for the other ends of waited-on
 * fds found for the next pictures (fdpeers.h).  Where budget (NULL: none)
 * is spent, the threads not reached yet are left out and budget->cut says
 * why.  0 or -ENOMEM.
 */
int threads__add(struct pw_picture *picture, const struct snapshot *snap, struct procs *procs,
		 struct fdpeers *peers, pid_t skip_pid, struct budget *budget);

#endif /* PARKWATCH_THREADS_H */
