/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The live view: one row per group of parked threads, largest first, with
 * the change since parkwatch started, the oldest park and where in the
 * application the threads wait.
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
/* Draws the table; with ansi the screen is cleared first and rows limits
 * the groups shown (0: all).  trend (may be NULL) fills the GROWTH column. */
void live__render(struct live *live, FILE *out, const struct pw_picture *picture,
		  __u64 elapsed_ns, bool ansi, int rows, const struct trend *trend);

#endif /* PARKWATCH_LIVE_H */
