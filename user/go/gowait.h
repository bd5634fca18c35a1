/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What parked goroutines wait on (gowait.c): the channel or semaphore
 * behind g.waiting's sudog, each hchan's length, capacity, closed flag and
 * queues, and, before Go 1.26, semaphores found in the runtime's semtable.
 * Everything read is checked against what points to it; what doesn't hold
 * is left unknown.
 */
#ifndef PARKWATCH_GOWAIT_H
#define PARKWATCH_GOWAIT_H

#include "go/go_internal.h"
#include "util/budget.h"

/* Before a goproc__read: forgets what the last one met.  0 or -ENOMEM. */
int gowait__begin(struct goproc *gp);
/*
 * b->blocked[i] for the n g's of the batch whose b->fate is a live one
 * (the others get zero): the kind, and the channel's or semaphore's
 * address as their sudogs say.  Returns 0, or -ESRCH, -EACCES, -ENOMEM.
 */
int gowait__read_batch(struct goproc *gp, struct batch *b, size_t n);
/*
 * After every batch, on the goroutines read: each channel's fields and
 * queues (its hchan read once), and the addresses of the semaphores that
 * goroutines waiting on one without g.waiting (Go < 1.26) sleep on, from
 * runtime.semtable when .symtab names it.  What budget (NULL: none) leaves
 * unread stays unknown.  0, or -ESRCH, -EACCES, -ENOMEM.
 */
int gowait__finish(struct goproc *gp, struct goroutine *items, size_t count, struct budget *budget);
/* Frees what gowait keeps in gp. */
void gowait__free(struct goproc *gp);

#endif /* PARKWATCH_GOWAIT_H */
