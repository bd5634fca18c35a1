/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Tier-1 totals: every park that ended since parkwatch started, counted in
 * BPF, per (process, kernel-side reason), with the per-reason length
 * histograms.  The collector builds one per picture and the picture owns
 * it, so the two always describe the same moment.
 */
#ifndef PARKWATCH_TOTALS_H
#define PARKWATCH_TOTALS_H

#include <stddef.h>
#include <sys/types.h>
#include "park.h"
#include "util/u64map.h"

struct pw_park_total {
	pid_t pid;
	enum park_reason reason;
	__u64 count;
	__u64 total_ns;
};

struct pw_totals {
	struct pw_park_total *entries;
	size_t count, capacity;
	struct u64map index;        /* (pid, reason) -> entry + 1 */
	struct park_hist hists[PARK_REASON__COUNT]; /* all processes, since start */
	bool has_hists;             /* false when the histograms couldn't be read */
	size_t exited_entries;      /* entries in the BPF map of exited threads' parks */
	size_t exited_capacity;
};

/* A new, empty set; NULL when out of memory. */
struct pw_totals *totals__new(void);
/* NULL-safe. */
void totals__free(struct pw_totals *totals);
/* Adds parks to (pid, reason).  0 or -ENOMEM. */
int totals__add(struct pw_totals *totals, pid_t pid, enum park_reason reason, __u64 count,
		__u64 total_ns);
/* The entry of (pid, reason), or NULL. */
const struct pw_park_total *totals__find(const struct pw_totals *totals, pid_t pid,
					 enum park_reason reason);
/* The pid of the one entry per reason that folded totals are added to. */
#define TOTALS_FOLDED_PID 0
/*
 * Keeps the newest keep entries (those added last) and adds the older ones
 * into (TOTALS_FOLDED_PID, reason): a bound on the totals of processes
 * gone, which would otherwise grow by one entry per exited process for as
 * long as parkwatch runs.  *folded (may be NULL) gets how many entries
 * went.  0 or -ENOMEM (then totals is unchanged).
 */
int totals__fold_oldest(struct pw_totals *totals, size_t keep, size_t *folded);
/* A copy (entries and histograms); NULL when out of memory. */
struct pw_totals *totals__clone(const struct pw_totals *totals);

#endif /* PARKWATCH_TOTALS_H */
