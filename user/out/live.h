/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The live view: one row per group of parked threads, largest first, with
 * the change since parkwatch started, the oldest park and where in the
 * application the threads wait; each line cut to the terminal's width.
 */
#ifndef PARKWATCH_LIVE_H
#define PARKWATCH_LIVE_H

#include <stdbool.h>
#include <stdio.h>
#include "model/picture.h"
#include "trend/trend.h"

struct live;

struct live *live__new(void);
void live__free(struct live *live);
/* Where the table goes. */
struct live_screen {
	bool ansi;                  /* a terminal: clear it first, offer q */
	int rows;                   /* groups shown at most; 0: all */
	int columns;                /* lines cut to this width; 0: not cut */
};

/* Draws the table: COUNT, CHANGE, GROWTH (from trend, may be NULL; for a
 * group in a finding DEADLOCK, ABANDONED or CONVOY instead), PID,
 * COMM (the process's name), THREAD (the threads' name, when some group's
 * differ from their process's), CONTAINER (picture__container_label, when
 * a process has one), REASON, TIMEOUT, OLDEST, WHERE; under it the top
 * leak suspect's LEAK? line and one line per deadlock, self-deadlock and
 * abandoned lock (at most 5).  Names are escaped (util/utf8.h). */
void live__render(struct live *live, FILE *out, const struct pw_picture *picture,
		  __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend);

#endif /* PARKWATCH_LIVE_H */
