/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The BPF side of parkwatch: loads and attaches the tier-1 park tracker and
 * the tier-2 snapshot iterator, owns the watched-tgid filter and reads the
 * per-(tgid, reason) park histograms.
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
	__u64 cgroup_id;            /* 0: no cgroup filter */
	__u64 min_park_ns;          /* copy user stacks of threads parked this long */
	bool kernel_stacks;
};

/* Returns 0 or a negative errno; on failure *reason says what libbpf said. */
int tracker__open(const struct tracker_opts *opts, struct tracker **out,
		  char *reason, size_t reason_size);
void tracker__free(struct tracker *tracker);

/* Stop watching a process (it exited).  Returns 0 or a negative errno. */
int tracker__unwatch(struct tracker *tracker, pid_t pid);

/* A fresh iterator stream of task_records; the caller closes it. */
int tracker__snapshot_fd(struct tracker *tracker);

typedef void (*tracker_hist_fn)(const struct hist_key *key, const struct park_hist *hist,
				void *ctx);
/* Calls fn for every histogram; returns the number visited or a negative errno. */
int tracker__for_each_hist(struct tracker *tracker, tracker_hist_fn fn, void *ctx);
__u64 tracker__hist_dropped(const struct tracker *tracker);
size_t tracker__hist_capacity(const struct tracker *tracker);

#endif /* PARKWATCH_TRACKER_H */
