/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Leak suspicion: the history of every group of parked threads across
 * pictures, and the verdict on it with its evidence.  A group (process,
 * reason, timeout, stack) is a suspect when, over a sliding window, its count
 * grows steadily (not a step, a burst or a sawtooth) while its members stay
 * parked and its oldest member ages with the clock; a wait with a timeout
 * weighs less.  Also the parked and total thread counts of every process
 * over time, the series Go services watch NumGoroutine for.
 *
 * Memory is bounded: at most TREND_SAMPLES samples per group and per
 * process, at most max_groups groups and max_procs processes;
 * trend__memory_bound() gives the ceiling (under 16 MiB with the defaults).
 */
#ifndef PARKWATCH_TREND_H
#define PARKWATCH_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct pw_picture;

#define TREND_SAMPLES 32            /* per group and per process, thinned evenly */
#define TREND_MIN_SAMPLES 6         /* no verdict on fewer points */
#define TREND_MAX_SUSPECTS 256      /* kept by trend__suspects, highest score first */
#define TREND_EXPLANATION_LEN 160

struct trend_opts {
	__u64 window_ns;            /* the fit looks this far back (default 5 min) */
	__u64 min_span_ns;          /* no verdict on less history (default 20 s) */
	double min_slope_per_min;   /* growth floor in threads/min (default 0.1) */
	double min_rise;            /* ...and at least this many over the history (3) */
	double min_fit;             /* R² under this is not steady growth (0.8) */
	double timed_factor;        /* score multiplier for waits with a timeout (0.6) */
	double min_score;           /* suspect from this score on (0.5) */
	size_t max_groups;          /* groups tracked; more fold into "other" (10000) */
	size_t max_procs;           /* processes tracked (PARK_MAX_WATCHED) */
	__u64 retire_after_ns;      /* forget a group absent this long (0: window_ns) */
};

/* The evidence on one group, as of the last trend__update. */
struct trend_group_stats {
	__u64 signature;
	pid_t pid;
	const char *reason;         /* valid until the next trend__update */
	bool has_timeout;
	bool goroutines;            /* its members are goroutines, not threads */
	size_t count_now;
	size_t count_first;         /* at the start of the window (0: appeared since) */
	__u64 span_ns;              /* history the verdict rests on */
	size_t samples;             /* ...in this many points */
	double slope_per_min;       /* least-squares growth of the count */
	double fit_r2;              /* how well a line explains the count */
	double steadiness;          /* Kendall's tau of count over time: 1 rises at every step */
	double survivor_fraction;   /* least share of an earlier sample's members still parked */
	double age_growth;          /* oldest age gained per wall second over the window, 0..1 */
	double score;               /* 0..1 */
	bool suspect;
	__u64 oldest_age_ns;
	__u64 median_age_ns;
	__u64 seen_total;           /* members seen since the group was first seen */
	__u64 woke_total;           /* of those, members that left the group */
	char explanation[TREND_EXPLANATION_LEN]; /* one line: the evidence, or why not */
};

/* A process's thread counts over the window. */
struct trend_proc_stats {
	pid_t pid;
	size_t threads_now;
	size_t parked_now;
	__u64 span_ns;
	double threads_slope_per_min;
	double threads_fit_r2;
	double parked_slope_per_min;
	double parked_fit_r2;
	double parked_growth;       /* 0..1: steady parked growth, as the group score sees it */
};

struct trend_summary {
	size_t groups;              /* tracked now */
	size_t procs;
	size_t suspects;            /* all of them, even past TREND_MAX_SUSPECTS */
	size_t other_groups;        /* last update: groups over max_groups, not tracked */
	size_t other_threads;       /* ...and their members */
	size_t other_procs;         /* last update: processes over max_procs, not tracked */
	__u64 folded_total;         /* group observations folded into "other" so far */
	__u64 evicted_total;        /* absent groups dropped early to make room */
	__u64 retired_total;        /* groups forgotten after retire_after_ns */
	size_t memory_bytes;        /* what the engine holds, by its own accounting */
};

struct trend;

void trend__default_opts(struct trend_opts *opts);
/* opts NULL: the defaults.  NULL with errno EINVAL (inconsistent opts) or ENOMEM. */
struct trend *trend__new(const struct trend_opts *opts);
void trend__free(struct trend *trend);
/*
 * Adds one picture, taken at now_ns (CLOCK_MONOTONIC; only differences
 * matter).  Call once per interval with every picture.  0, -EINVAL (now_ns
 * not after the previous update) or -ENOMEM (the history is then short of
 * this picture, the engine stays usable).
 */
int trend__update(struct trend *trend, const struct pw_picture *picture, __u64 now_ns);
/* The suspects of the last update, highest score first; at most
 * TREND_MAX_SUSPECTS, valid until the next update. */
size_t trend__suspects(const struct trend *trend, const struct trend_group_stats **out);
/* Evidence on one group (suspect or not, with its explanation): 0 or -ENOENT. */
int trend__group(const struct trend *trend, __u64 signature, struct trend_group_stats *out);
/* 0 or -ENOENT. */
int trend__proc(const struct trend *trend, pid_t pid, struct trend_proc_stats *out);
void trend__summary(const struct trend *trend, struct trend_summary *out);
/* The most trend__summary's memory_bytes can reach with these opts. */
size_t trend__memory_bound(const struct trend_opts *opts);

#endif /* PARKWATCH_TREND_H */
