/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A picture as a pprof profile.  A picture's profile looks to a reader like
 * Go's goroutine profile: one sample per group of threads with the same
 * stack and labels, values [threads, parked ns]; a goroutine process's is
 * Go's own goroutine/count profile.  A window profile adds up the periodic
 * pictures: every thread parked in a picture counts one sample and one
 * interval of parked time.
 */
#ifndef PARKWATCH_PPROF_H
#define PARKWATCH_PPROF_H

#include "model/picture.h"
#include "out/pprof_builder.h"

/*
 * Adds a picture's groups: for a goroutine profile every group with Go's
 * own stacks and labels; else the parked groups, a window weighing each
 * unit by interval_ns, a picture's profile by the units' own park ages.  0 or
 * -ENOMEM.
 */
int pprof__add_picture(struct pprof_builder *pprof, const struct pw_picture *picture,
		       __u64 interval_ns);

#endif /* PARKWATCH_PPROF_H */
