/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The wait-for graph of a picture: an edge from each parked thread to the
 * thread holding what it waits for (pw_blocked_on.owner_tid, across
 * processes for a process-shared lock), and what it shows.  A waiter waits
 * for one object with at most one known owner, so each node has at most one
 * out-edge: the strongly connected components of more than one node are
 * exactly the cycles (deadlocks), a self-loop is a self-deadlock, and every
 * other chain ends at an owner waiting for no known owner (a convoy's head).
 */
#ifndef PARKWATCH_WAITFOR_H
#define PARKWATCH_WAITFOR_H

#include <stdbool.h>
#include "model/picture.h"

/* The process of the thread holding what unit waits for: owner_pid, or
 * the unit's own when that is 0. */
pid_t waitfor__owner_pid(const struct pw_unit *unit);

/*
 * Reads a candidate's evidence again (futex words, owners, the threads'
 * context switches) and says whether it still holds: a finding is reported
 * only when two reads agree, so a lock handed over between two reads never
 * shows up as a deadlock.
 */
typedef bool (*waitfor_confirm_fn)(void *ctx, const struct pw_finding *candidate);

/*
 * Finds the deadlocks, self-deadlocks, abandoned locks and convoys of a
 * picture sorted by picture__finish, and keeps in picture->findings those
 * confirm keeps (every one when confirm is NULL: tests, saved pictures).
 * Run it before group__build, which marks the groups they name.  0 or
 * -ENOMEM.
 */
int waitfor__find(struct pw_picture *picture, waitfor_confirm_fn confirm, void *ctx);

#endif /* PARKWATCH_WAITFOR_H */
