/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What parkwatch's userspace gave up on, by reason, since it started: one
 * process-wide set of counters that any layer bumps (atomically: the HTTP
 * threads count too).  /metrics shows every reason as
 * parkwatch_gave_up_total{reason}; the exit summary names those not zero.
 * The BPF side's own counters are struct pw_stats (model/pw_stats.h).
 */
#ifndef PARKWATCH_GAVEUP_H
#define PARKWATCH_GAVEUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A reason is added here and named in gaveup.c's table, in the same order. */
enum gaveup_reason {
	GAVEUP_PROCESS_UNREADABLE,  /* a process's maps or memory could not be opened */
	GAVEUP_HTTP_REFUSED,        /* an HTTP connection or request past a limit */
	GAVEUP_IMPLAUSIBLE_RUNTIME, /* a Go runtime claiming more goroutines than its
				     * memory could hold: shown by its threads */
	GAVEUP_GO_BUDGET_EXCEEDED,  /* reading a Go process's goroutines outran the time or
				     * memory budget of a picture: the rest left out */
	GAVEUP_MAPPED_FILE_TRUNCATED, /* a page of a mapped binary or debug file, cut by its
				       * owner under us: read as zeros (util/mapguard.h) */
	GAVEUP_FD_LIMIT,            /* a process left unsymbolized for a tick: out of fds */
	GAVEUP_BROKER_GONE,         /* a /proc file not opened: the privilege broker died */
	GAVEUP_GOROUTINE_CHANGED,   /* a goroutine left out: it changed under every read */
	GAVEUP_EXITED_TOTALS_FOLDED, /* a gone process's park totals added into pid 0's, past
				      * the cap on them (collector.c) */
	GAVEUP__COUNT
};

struct gaveup_name {
	const char *reason;         /* the metric's reason label */
	const char *one, *many;     /* for people: "unreadable process", "unreadable processes" */
};

extern const struct gaveup_name gaveup_names[GAVEUP__COUNT];

void gaveup__count(enum gaveup_reason reason);
void gaveup__add(enum gaveup_reason reason, uint64_t n);
uint64_t gaveup__value(enum gaveup_reason reason);

/*
 * "2 unreadable processes, 1 ...": the reasons not zero, into buf.  Returns
 * false, with buf empty, when there are none.
 */
bool gaveup__summary(char *buf, size_t size);

#endif /* PARKWATCH_GAVEUP_H */
