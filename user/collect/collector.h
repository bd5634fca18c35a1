/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One tick: read the tier-1 totals, run the snapshot iterator, and build
 * the picture from its sources: goroutines for the process shown by them,
 * threads for every other.  The only module that touches BPF, /proc,
 * process memory and debug info on the way to a picture; everything after
 * it reads pictures.
 */
#ifndef PARKWATCH_COLLECTOR_H
#define PARKWATCH_COLLECTOR_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "kernel/tracker.h"
#include "model/picture.h"
#include "util/budget.h"
#include "util/bytelru.h"

struct collector_opts {
	pid_t go_pid;               /* shown by its goroutines when it is a readable Go
				     * program (0: none): a lone -p without --threads */
	bool one_shot;              /* one picture only: keep no history across pictures */
	/* what reading one Go process's goroutines may take per picture (0: no
	 * bound): past it the picture holds those read so far */
	__u64 go_time_budget_ns;
	size_t go_memory_budget_bytes;
	size_t symbol_cache_limit_bytes; /* the shared module cache's budget (procs.h) */
	const struct stop_check *stop; /* asked while a picture is taken: the user wants
				     * out, and the picture ends where it is (NULL: never) */
};

struct collector;

/* tracker stays the caller's.  NULL when out of memory. */
struct collector *collector__new(struct tracker *tracker, const struct collector_opts *opts);
/* NULL-safe. */
void collector__free(struct collector *collector);
/*
 * A new picture of every watched unit, holding the tier-1 totals of the
 * same moment.  A Go process whose goroutines can't be read is shown by
 * its threads, said once on stderr.  When opts.stop asks to stop midway,
 * the picture holds what was read by then and its cut_short says so.  0 or
 * a negative errno.
 */
int collector__tick(struct collector *collector, struct pw_picture **out);
/*
 * A picture of pid's goroutines alone, for a request about one process,
 * within the same budget as a tick's (its process's cut_short says where
 * it ran out).  0, or goroutines__add's errors (-ENOEXEC: not a Go program, ...).
 */
int collector__goroutines(struct collector *collector, pid_t pid, struct pw_picture **out);
/* Pictures taken, and how long the last tick took. */
__u64 collector__ticks(const struct collector *collector);
__u64 collector__last_tick_ns(const struct collector *collector);
/* Symbolized addresses cached over every process. */
size_t collector__symbol_count(const struct collector *collector);
/* The shared module cache's size and use. */
void collector__cache_stats(const struct collector *collector, struct bytelru_stats *stats);

#endif /* PARKWATCH_COLLECTOR_H */
