/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What each parked thread of a picture waits for, and who holds it: the
 * futex word its wait sleeps on (the snapshot's arg0), the object its
 * frames name, the owner read from the process's memory through its C
 * library's layout (proc/locks.h), mapped to a host thread and checked
 * alive, the lock's symbol when it is a static one.  And the second read
 * that confirms a wait-for finding (model/waitfor.h) before it is
 * reported: the first read's evidence stays here, for one tick more.
 */
#ifndef PARKWATCH_COLLECT_LOCKS_H
#define PARKWATCH_COLLECT_LOCKS_H

#include <stdbool.h>
#include "kernel/snapshot.h"
#include "model/picture.h"
#include "proc/procs.h"

struct locks;

/* NULL when out of memory. */
struct locks *locks__new(void);
/* NULL-safe. */
void locks__free(struct locks *locks);
/*
 * Fills blocked_on of the picture's parked threads in a futex wait, from
 * their records in snap; the first read of every lock.  Call between
 * procs__begin and procs__end, before picture__finish; snap and procs must
 * outlive the confirmations of this tick.  0 or -ENOMEM.
 */
int locks__fill(struct locks *locks, struct pw_picture *picture, const struct snapshot *snap,
		struct procs *procs);
/*
 * A waitfor_confirm_fn (ctx: the locks): keeps a candidate that held in two
 * reads: every lock in it with the same futex word and owner, every waiter
 * (and a convoy's head, when parked) parked with the same context switches,
 * an abandoned lock's owner still gone.  The previous tick's snapshot is the
 * other read when it saw the candidate already (free); else the second read
 * is made now, from the process's memory and /proc (a --dump, a new finding).
 */
bool locks__confirm(void *ctx, const struct pw_finding *candidate);

#endif /* PARKWATCH_COLLECT_LOCKS_H */
