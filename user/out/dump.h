/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Text and JSON exporters of a report.  The text follows Go's goroutine
 * dumps: debug=2 one entry per thread in the traceback shape, debug=1 one
 * block per group with counts and pcs.
 */
#ifndef PARKWATCH_DUMP_H
#define PARKWATCH_DUMP_H

#include <stdbool.h>
#include <stdio.h>
#include "model/report.h"
#include "trend/trend.h"

/* Tier-1 totals of one (process, kernel-side reason) since parkwatch started. */
struct park_totals {
	struct hist_key key;
	__u64 count;
	__u64 total_ns;
};

struct dump_opts {
	int debug;                  /* 1 or 2 */
	bool kernel_stacks;
	const pid_t *exited_pids;   /* watched processes that exited */
	size_t exited_count;
	const struct park_totals *totals; /* every park closed so far (JSON only) */
	size_t totals_count;
	const struct park_hist *reason_hists; /* PARK_REASON__COUNT of them, or NULL */
	const struct trend *trend;  /* leak evidence per group, or NULL */
};

void dump__text(FILE *out, const struct report *report, const struct dump_opts *opts);
/* One JSON document on one line. */
void dump__json(FILE *out, const struct report *report, const struct dump_opts *opts);
/* Pieces other exporters share: a thread's frames as JSON and as Go-style
 * text, a group's trend evidence as JSON. */
void dump__json_frames(FILE *out, const struct thread_info *thread);
/* Frames leaf first, inlined ones expanded: what dump__json_frames writes,
 * for any stack with its symbols (goroutines too). */
void dump__json_stack(FILE *out, const struct stack_frame *stack, const struct symbol *const *symbols,
		      int depth);
void dump__text_frames(FILE *out, const struct thread_info *thread);
void dump__json_trend(FILE *out, const struct trend_group_stats *stats);

#endif /* PARKWATCH_DUMP_H */
