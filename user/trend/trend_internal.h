/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Inside the trend engine, shared by its two halves and by nothing else:
 * trend.c keeps the history (groups and processes, sampled and retired) and
 * trend_score.c judges it (the score, the explanations, the queries).  The
 * structs live here so that both read the same history without a copy.
 */
#ifndef PARKWATCH_TREND_INTERNAL_H
#define PARKWATCH_TREND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "trend/trend.h"
#include "util/u64map.h"
#include "util/units.h"

#define REASON_LEN 32

/*
 * Members are told apart by park start, not by a set of thread ids: a park
 * keeps its start until the thread wakes, and a thread joins its group when
 * its park passes --min-park, a fixed delay, so members join in park-start
 * order.  Every member of a later sample that parked at or before a sample's
 * newest park start was a member of that sample.  That makes arrivals, wake
 * ups and survivors exact counts at 8 bytes per sample, whatever the group's
 * size.  A member that joins out of order (its stack copy failed once) is
 * taken for a survivor; the counts are clamped so it can't go negative.
 */
struct trend_sample {
	__u64 time_ns;              /* first in both sample types: a series ring */
	__u64 newest_start_ns;      /* park start of the newest member */
	__u32 count;
	__u32 woke;                 /* members gone since the sample before */
	__u32 oldest_age_ms;        /* saturates after 49 days */
	__u32 median_age_ms;
};

struct trend_group {
	__u64 signature;
	__u64 last_present_ns;
	__u64 seen_total;
	__u64 woke_total;
	/* the sample of the window whose members survived least, as of the
	 * last update: the survivors' evidence */
	__u64 worst_time_ns;
	__u32 worst_count;          /* 0: no earlier sample with members */
	__u32 worst_alive;
	pid_t pid;
	bool has_timeout;
	bool goroutines;            /* its members are goroutines, not threads */
	unsigned short len;
	char reason[REASON_LEN];
	struct trend_sample samples[TREND_SAMPLES]; /* oldest first */
};

struct trend_proc_sample {
	__u64 time_ns;
	__u32 threads;
	__u32 parked;
};

struct trend_proc {
	__u64 last_present_ns;
	pid_t pid;
	unsigned long long start_ticks; /* 0: unknown */
	unsigned short len;
	struct trend_proc_sample samples[TREND_SAMPLES];
};

/* The series ring functions read a sample's time from its first bytes. */
_Static_assert(offsetof(struct trend_sample, time_ns) == 0, "a ring sample starts with its time");
_Static_assert(offsetof(struct trend_proc_sample, time_ns) == 0,
	       "a ring sample starts with its time");

struct trend {
	struct trend_opts opts;
	struct u64map groups;       /* signature -> struct trend_group * */
	struct u64map procs;        /* pid -> struct trend_proc * */
	__u64 now_ns;               /* of the last update */
	__u64 updates;
	bool folded_last;           /* the last update left groups untracked */
	struct trend_summary summary; /* the counters; the rest is filled on demand */
	struct trend_group_stats *suspects; /* TREND_MAX_SUSPECTS */
	size_t suspect_count;
	struct trend_group **evictable; /* max_groups, scratch of one update */
	size_t evictable_count, evictable_next;
	bool evictable_ready;
};

/* Scores every group of the last update and keeps the suspects, highest
 * first, each with its explanation (trend_score.c). */
void trend_score__rank_suspects(struct trend *trend);
/* One group's and one process's evidence, as of the last update. */
void trend_score__group(const struct trend *trend, const struct trend_group *group,
			struct trend_group_stats *out);
void trend_score__proc(const struct trend *trend, const struct trend_proc *proc,
		       struct trend_proc_stats *out);

#endif /* PARKWATCH_TREND_INTERNAL_H */
