/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A window: the pictures taken over a duration added up into one pprof
 * profile or one set of folded stacks, for the CLI's --duration and the
 * HTTP server's ?seconds=.
 */
#ifndef PARKWATCH_WINDOW_H
#define PARKWATCH_WINDOW_H

#include <stdio.h>
#include "model/picture.h"
#include "model/totals.h"
#include "out/render.h"
#include "trend/trend.h"

struct window;

/* format is PW_FORMAT_PPROF or PW_FORMAT_FOLDED; start_totals are the
 * tier-1 totals when the window opened (copied; may be NULL); opts (may be
 * NULL) says whether folded lines get a process root.  NULL when out of
 * memory. */
struct window *window__new(enum pw_format format, __u64 interval_ns,
			   const struct pw_totals *start_totals, const struct render_opts *opts);
void window__free(struct window *window);
/* Adds a picture that stands for the weight_ns before it.  0 or -ENOMEM. */
int window__add(struct window *window, const struct pw_picture *picture, __u64 weight_ns);
/*
 * Writes the window.  A pprof profile carries, per process and kernel-side
 * reason, the tier-1 totals as comments: parks closed in the window (the
 * last picture's totals less the start's) and parks still open at its end
 * (from the last picture), so the sampled stacks can be checked against
 * them.  Groups trend (may be NULL) suspects are marked as leak suspects.
 */
int window__write(struct window *window, FILE *out, __u64 start_unix_ns, __u64 duration_ns,
		  const struct pw_picture *last, const struct trend *trend);

#endif /* PARKWATCH_WINDOW_H */
