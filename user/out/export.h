/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One entry point per kind of result, shared by the CLI and the HTTP server:
 * a snapshot in any format, and a window that adds up the snapshots taken
 * over a duration into a pprof profile or folded stacks.
 */
#ifndef PARKWATCH_EXPORT_H
#define PARKWATCH_EXPORT_H

#include <stdio.h>
#include "out/dump.h"
#include "cli/options.h"
#include "model/report.h"

/* Writes one report; 0 or a negative errno. */
int export__snapshot(FILE *out, enum output_format format, const struct report *report,
		     const struct dump_opts *opts);

struct window;

/* format is FORMAT_PPROF or FORMAT_FOLDED; start_totals are the tier-1
 * totals when the window opened (copied). */
struct window *window__new(enum output_format format, __u64 interval_ns,
			   const struct park_totals *start_totals, size_t start_count);
void window__free(struct window *window);
/* Adds a snapshot that stands for the weight_ns before it. */
int window__add(struct window *window, const struct report *report, __u64 weight_ns);
/*
 * Writes the window.  A pprof profile carries, per process and kernel-side
 * reason, the tier-1 totals as comments: parks closed in the window
 * (end_totals - start_totals) and parks still open at its end (from
 * last_report), so the sampled stacks can be checked against them.  Groups
 * trend (may be NULL) suspects are marked as leak suspects.
 */
int window__write(struct window *window, FILE *out, __u64 start_unix_ns, __u64 duration_ns,
		  const struct park_totals *end_totals, size_t end_count,
		  const struct report *last_report, const struct trend *trend);

#endif /* PARKWATCH_EXPORT_H */
