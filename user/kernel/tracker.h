/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The BPF side of parkwatch: loads and attaches the tier-1 park tracker and
 * the tier-2 snapshot iterator (one BPF object, one skeleton), owns the
 * watched-tgid filter, and reads the per-reason park histograms, the
 * per-(tgid, reason) totals of exited threads and the give-up counters.
 */
#ifndef PARKWATCH_TRACKER_H
#define PARKWATCH_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "park.h"

struct tracker;

struct tracker_opts {
	const pid_t *pids;          /* watched processes; none: every process */
	size_t pid_count;
	const char *const *comms;   /* and processes of these names (at most PARK_MAX_COMMS,
				     * each shorter than PARK_COMM_LEN) */
	size_t comm_count;
	__u64 cgroup_id;            /* 0: no cgroup filter */
	__u64 min_park_ns;          /* copy user stacks of threads parked this long */
	bool kernel_stacks;
	size_t exited_capacity;     /* (process, reason) entries of exited threads' totals;
				     * 0: PARK_EXITED_CAPACITY */
};

/* Returns 0 or a negative errno; on failure *reason says what libbpf said. */
int tracker__open(const struct tracker_opts *opts, struct tracker **out,
		  char *reason, size_t reason_size);
void tracker__free(struct tracker *tracker);

/* Stop watching a process (it exited).  Returns 0 or a negative errno. */
int tracker__unwatch(struct tracker *tracker, pid_t pid);

/* Whether the process is watched: on the -p list, or there is none. */
bool tracker__watches(const struct tracker *tracker, pid_t tgid);
/* Threads parked this long get their user stacks copied. */
__u64 tracker__min_park_ns(const struct tracker *tracker);

/* A fresh iterator stream of task_records; the caller closes it. */
int tracker__snapshot_fd(struct tracker *tracker);
/* The same, of one process's threads alone; -ENOENT or -ESRCH when it is
 * gone. */
int tracker__process_snapshot_fd(struct tracker *tracker, pid_t tgid);
/*
 * The processes that changed since the last call (a bit per tgid,
 * PARK_CHANGED_WORDS words): a thread of theirs left or took a CPU, exited,
 * was moved to another cgroup or renamed.  Each word is taken and cleared
 * at once, so a change made meanwhile is in this call's or the next's.
 */
void tracker__take_changed(struct tracker *tracker, __u64 *changed);

/* The park-length histograms per kernel-side reason, added up over CPUs. */
int tracker__reason_hists(struct tracker *tracker, struct park_hist hists[PARK_REASON__COUNT]);

typedef void (*tracker_total_fn)(const struct hist_key *key, __u64 count, __u64 total_ns,
				 void *ctx);
/* Calls fn with the ended parks of every process's exited threads; returns
 * the number of entries or a negative errno.  Live threads carry theirs in
 * their snapshot records. */
int tracker__for_each_exited(struct tracker *tracker, tracker_total_fn fn, void *ctx);
/*
 * Moves the entries of processes that are gone out of the map, calling fn
 * with each once: no thread of theirs is left to add to them, so nothing is
 * lost, and the map holds only live processes' entries.  Returns how many
 * moved, or a negative errno.
 */
int tracker__drain_exited(struct tracker *tracker, tracker_total_fn fn, void *ctx);
size_t tracker__exited_capacity(const struct tracker *tracker);

/* What the BPF side gave up on so far (park.h); returns 0. */
int tracker__stats(const struct tracker *tracker, struct pw_stats *out);

#endif /* PARKWATCH_TRACKER_H */
