/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Folded stacks for flamegraph.pl, speedscope and inferno: one line per
 * stack, frames root first joined by ';', the wait reason as a leaf pseudo
 * frame "[cond wait]", then a space and the weight: units for one picture,
 * parked milliseconds for a window.  Names never carry ';', a newline or
 * ill-formed UTF-8 (U+FFFD).
 */
#ifndef PARKWATCH_FOLDED_H
#define PARKWATCH_FOLDED_H

#include <stdbool.h>
#include <stdio.h>
#include "model/picture.h"
#include "trend/trend.h"

struct folded;

/* window: weigh by parked time (ms) instead of thread count; process_root:
 * start each line with a frame "comm (pid)", so that processes don't merge
 * in a system-wide flame graph. */
struct folded *folded__new(bool window, bool process_root);
void folded__free(struct folded *folded);
/* Adds a picture's parked groups (and, outside a window, a goroutine
 * process's every group, as Go's profile counts them).  0 or -ENOMEM. */
int folded__add_picture(struct folded *folded, const struct pw_picture *picture, __u64 interval_ns);
/* Lines sorted by stack, a "[leak suspect]" leaf on groups trend (may be
 * NULL) suspects; returns 0 or -EIO. */
int folded__write(struct folded *folded, FILE *out, const struct trend *trend);

#endif /* PARKWATCH_FOLDED_H */
