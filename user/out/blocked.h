/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a parked unit waits for, in words, for every output that shows it:
 * the object ("mutex 0x55d0c0a04040 <config_lock>"), who holds it
 * ("held by thread 4201 \"writer\" [IO wait (socket), 5 minutes]"), the
 * one line dumps print under a unit's header, and the block of findings
 * (deadlocks, self-deadlocks, abandoned locks, convoys) at the top of a
 * text dump.  Owners are looked up in the whole picture, also from a view
 * of one process (picture__view_pid), so a process-shared lock's owner in
 * another process is named.
 */
#ifndef PARKWATCH_BLOCKED_H
#define PARKWATCH_BLOCKED_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "model/picture.h"

/* Whether the unit has anything to say about what it waits for. */
bool blocked__known(const struct pw_unit *unit);
/*
 * The object, unescaped (callers escape for their output): "mutex 0x… <sym>",
 * "channel 0x…", "nil channel", "channel" (its address unread), "fd 5: TCP …
 * ESTABLISHED".  Into buf, cut to size; returns buf ("" when nothing is
 * known).
 */
const char *blocked__object(const struct pw_blocked_on *on, char *buf, size_t size);
/* "\twaiting for mutex 0x… <sym> held by …\n", or nothing when nothing is
 * known: the line a text dump prints under a unit's header. */
void blocked__line(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit);
/*
 * How many distinct objects the members of groups wait on (kind and
 * address; what never wakes counts by its reason), or -ENOMEM; *shared is
 * a member when every member waits on the same one, else NULL.
 */
ssize_t blocked__distinct(const struct pw_group *const *groups, size_t group_count,
			  const struct pw_unit **shared);
/*
 * The "# blocked on …" comment line of a debug=1 block whose units all wait
 * on one object, or "# objects: N distinct" when they wait on several;
 * nothing when none is known.  0 or -ENOMEM.
 */
int blocked__comment(FILE *out, const struct pw_picture *picture,
		     const struct pw_group *const *groups, size_t group_count);
/* Findings that end no wait by themselves: deadlocks, self-deadlocks,
 * abandoned locks (--dump's exit status 8). */
size_t blocked__stuck_findings(const struct pw_picture *picture);
/*
 * The findings at the top of a text dump: per deadlock, self-deadlock and
 * abandoned lock a header ("DEADLOCK: 2 threads in process 1234 (locks)
 * wait for each other:"), one line per thread in cycle order, then, with
 * stacks, each thread's frames; then one CONVOY line per convoy.  Without
 * stacks (debug=1) the lines are "# " comments.  Nothing without findings.
 */
void blocked__findings(FILE *out, const struct pw_picture *picture, bool stacks);

#endif /* PARKWATCH_BLOCKED_H */
