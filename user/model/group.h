/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Groups of units that share process, wait reason, timeout and stack: the
 * unit of the dumps, the profiles and the growth trends.  One rule for
 * both kinds: parked threads, and every goroutine but the runtime's own
 * (Go's profiles count running ones too; a group says whether it is
 * parked).
 */
#ifndef PARKWATCH_GROUP_H
#define PARKWATCH_GROUP_H

#include <stddef.h>
#include "model/picture.h"

/* Whether the unit belongs to a group. */
bool group__includes(const struct pw_unit *unit);
/* Builds a finished picture's groups: largest first, then oldest.  0 or
 * -ENOMEM. */
int group__build(struct pw_picture *picture);
/* The last step of a picture whose findings need no second read (tests,
 * goroutines): picture__finish, waitfor__find keeping every finding, then
 * group__build.  The collector confirms the threads' findings instead. */
int group__finish(struct pw_picture *picture);

#endif /* PARKWATCH_GROUP_H */
