// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Growth trends of parked groups and leak suspicion (trend.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "format.h"
#include "report.h"
#include "series.h"
#include "trend.h"
#include "u64map.h"

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MIN (60 * NSEC_PER_SEC)
#define REASON_LEN 32
#define MAP_SLOT_BYTES (sizeof(__u64) + sizeof(void *))

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

struct update_ctx {
	struct trend *trend;
	__u64 now_ns;
	struct u64map present_pids; /* processes in this report */
};

/*
 * Five minutes of window holds several periods of a pool's sawtooth or of
 * bursts, so they average out, and puts a one-off step well inside it.  No
 * verdict on under 20 s (ten reports at the CLI's 2 s interval): a queue
 * that builds for a few seconds of load is no leak, and past that the
 * survivor, steadiness and age terms, not the span, keep healthy shapes
 * out, so a leak that starts now is flagged within half a minute.  The
 * price: a group that grows steadily for longer than that with none of its
 * members waking (the first tooth of a pool reaped every minute) looks like
 * a leak until its first members wake.  A line fits a single step with R²
 * of about 3p(1-p) <= 0.75 (p: where in the window it falls; 0.77 at most
 * for 6 samples), so 0.8 rejects any step; steady growth in k even
 * increments fits with about 1 - 1/k², 0.94 for 4.  A leak's members never
 * wake whatever the timeout, but a timeout usually means the thread will be
 * back: 0.6 keeps a timed group a suspect only on otherwise clear evidence.
 * 10,000 groups is more than any process shows in practice and ~11 MiB.
 */
void trend_opts__defaults(struct trend_opts *opts)
{
	*opts = (struct trend_opts){
		.window_ns = 5 * NSEC_PER_MIN,
		.min_span_ns = 20 * NSEC_PER_SEC,
		.min_slope_per_min = 0.1,
		.min_rise = 3,
		.min_fit = 0.8,
		.timed_factor = 0.6,
		.min_score = 0.5,
		.max_groups = 10000,
		.max_procs = PARK_MAX_WATCHED,
		.retire_after_ns = 0,
	};
}

/* Written so that a NaN fails. */
static bool opts_valid(const struct trend_opts *opts)
{
	return opts->window_ns && opts->min_span_ns <= opts->window_ns &&
	       opts->min_slope_per_min >= 0 && opts->min_rise >= 0 && opts->min_fit >= 0 &&
	       opts->min_fit < 1 && opts->timed_factor >= 0 && opts->timed_factor <= 1 &&
	       opts->min_score > 0 && opts->min_score <= 1 && opts->max_groups && opts->max_procs;
}

struct trend *trend__new(const struct trend_opts *opts)
{
	struct trend *trend;

	if (opts && !opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}
	trend = calloc(1, sizeof(*trend));
	if (!trend)
		return NULL;
	if (opts)
		trend->opts = *opts;
	else
		trend_opts__defaults(&trend->opts);
	if (!trend->opts.retire_after_ns)
		trend->opts.retire_after_ns = trend->opts.window_ns;
	trend->suspects = calloc(TREND_MAX_SUSPECTS, sizeof(*trend->suspects));
	trend->evictable = calloc(trend->opts.max_groups, sizeof(*trend->evictable));
	if (!trend->suspects || !trend->evictable) {
		trend__free(trend);
		errno = ENOMEM;
		return NULL;
	}
	return trend;
}

static bool free_value(__u64 key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	free(value);
	return false;
}

void trend__free(struct trend *trend)
{
	if (!trend)
		return;
	u64map__filter(&trend->groups, free_value, NULL);
	u64map__filter(&trend->procs, free_value, NULL);
	u64map__clear(&trend->groups);
	u64map__clear(&trend->procs);
	free(trend->suspects);
	free(trend->evictable);
	free(trend);
}

/* ---- history ---- */

static __u64 window_start(const struct trend *trend, __u64 now_ns)
{
	return now_ns > trend->opts.window_ns ? now_ns - trend->opts.window_ns : 0;
}

static __u32 saturate_u32(__u64 value)
{
	return value > 0xffffffffULL ? 0xffffffffU : (__u32)value;
}

/* ---- scoring ---- */

/*
 * The growth floor: min_slope_per_min, raised so that the history the
 * verdict rests on (at most the window) gained min_rise threads.  A few
 * threads more over a few minutes is no evidence; the same few spread over
 * an hour of a long window is: slow leaks need long windows.
 */
static double slope_floor(const struct trend_opts *opts, __u64 span_ns)
{
	double from_rise = span_ns ? opts->min_rise / ((double)span_ns / NSEC_PER_MIN) : 1e300;

	return from_rise > opts->min_slope_per_min ? from_rise : opts->min_slope_per_min;
}

/* Each term is 0 at its threshold and 1 where the evidence is clear. */
static double slope_term(const struct trend_opts *opts, double slope_per_min, __u64 span_ns)
{
	double floor = slope_floor(opts, span_ns);

	return floor > 0 ? series__ramp(slope_per_min, floor, 2 * floor) : slope_per_min > 0;
}

static double fit_term(const struct trend_opts *opts, double r2)
{
	return series__ramp(r2, opts->min_fit, (1 + opts->min_fit) / 2);
}

static double steady_term(double tau)
{
	return series__ramp(tau, 0.5, 0.8);
}

static double survivor_term(double fraction)
{
	return series__ramp(fraction, 0.25, 0.75);
}

static double age_term(double age_growth)
{
	return series__ramp(age_growth, 0.5, 0.9);
}

static const struct trend_sample *first_nonempty(const struct trend_group *group)
{
	for (size_t i = 0; i < group->len; i++)
		if (group->samples[i].count)
			return &group->samples[i];
	return NULL;
}

/* No earlier sample: nothing had the time to wake. */
static double group__survivors(const struct trend_group *group)
{
	if (!group->worst_count)
		return 1;
	return (group->worst_alive + 1.0) / (group->worst_count + 1.0);
}

static bool enough_history(const struct trend_opts *opts, size_t samples, __u64 span_ns)
{
	return samples >= TREND_MIN_SAMPLES && span_ns >= opts->min_span_ns;
}

/*
 * The score is a product: a leak needs all of growth above the floor, a
 * line that fits, a rise at (nearly) every step, members that stay and an
 * oldest member that ages, and any one failing clears it.  Each term is a
 * ramp from its threshold to where the evidence is clear, so a clear leak
 * scores 1 and a healthy shape 0, with few in between.
 *
 * With only_score, stops at the first term that makes the score 0: ranking
 * thousands of groups then skips Kendall's tau for all but the growing ones.
 */
static void group__stats(const struct trend *trend, const struct trend_group *group,
			 bool only_score, struct trend_group_stats *out)
{
	const struct trend_opts *opts = &trend->opts;
	const struct trend_sample *newest = &group->samples[group->len - 1];
	double minutes[TREND_SAMPLES], counts[TREND_SAMPLES];
	const struct trend_sample *first;
	struct series_line fit;

	memset(out, 0, sizeof(*out));
	out->signature = group->signature;
	out->pid = group->pid;
	out->reason = group->reason;
	out->has_timeout = group->has_timeout;
	out->count_now = newest->count;
	out->count_first = group->samples[0].count;
	out->span_ns = newest->time_ns - group->samples[0].time_ns;
	out->samples = group->len;
	out->oldest_age_ns = (__u64)newest->oldest_age_ms * NSEC_PER_MSEC;
	out->median_age_ns = (__u64)newest->median_age_ms * NSEC_PER_MSEC;
	out->seen_total = group->seen_total;
	out->woke_total = group->woke_total;
	series_ring__minutes(group->samples, sizeof(*newest), group->len, minutes);
	for (size_t i = 0; i < group->len; i++)
		counts[i] = group->samples[i].count;
	fit = series__fit_line(minutes, counts, group->len);
	out->slope_per_min = fit.slope;
	out->fit_r2 = fit.r2;
	out->survivor_fraction = group__survivors(group);
	if (only_score && (!newest->count || !enough_history(opts, group->len, out->span_ns) ||
			   !slope_term(opts, fit.slope, out->span_ns) ||
			   !fit_term(opts, fit.r2) || !survivor_term(out->survivor_fraction)))
		return;
	out->steadiness = series__kendall_tau(counts, group->len);
	first = first_nonempty(group);
	if (newest->count && first && first != newest) {
		double gained_ms = (double)newest->oldest_age_ms - first->oldest_age_ms;
		double elapsed_ms = (double)(newest->time_ns - first->time_ns) / NSEC_PER_MSEC;

		out->age_growth = gained_ms <= 0 ? 0 : gained_ms / elapsed_ms;
		if (out->age_growth > 1)
			out->age_growth = 1;
	}
	if (!newest->count || !enough_history(opts, group->len, out->span_ns))
		return;
	out->score = slope_term(opts, out->slope_per_min, out->span_ns) *
		     fit_term(opts, out->fit_r2) * steady_term(out->steadiness) *
		     survivor_term(out->survivor_fraction) * age_term(out->age_growth) *
		     (group->has_timeout ? opts->timed_factor : 1);
	out->suspect = out->score >= opts->min_score;
}

/* ---- explanations ---- */

/* Explanations are cut at TREND_EXPLANATION_LEN, a reason or a count longer
 * than usual only costs the end of the line. */
__attribute__((format(printf, 3, 4)))
static void say(char *line, size_t size, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(line, size, format, args);
	va_end(args);
}

/* One line for a person: the evidence for a suspect, else the main reason it
 * is not one. */
static void group__explain(const struct trend *trend, const struct trend_group *group,
			   struct trend_group_stats *stats)
{
	const struct trend_opts *opts = &trend->opts;
	char rate[32], floor[32], seen[32], woke[32], age[32], span[32], need[32];
	char worst_count[32], worst_alive[32], worst_ago[32];
	const char *timeout = stats->has_timeout ? "a timeout" : "no timeout";
	char *line = stats->explanation;
	size_t size = sizeof(stats->explanation);
	double terms[5];
	int weakest = 0;

	format__rate(stats->slope_per_min, rate, sizeof(rate));
	format__rate(slope_floor(opts, stats->span_ns), floor, sizeof(floor));
	format__count(stats->seen_total, seen, sizeof(seen));
	format__count(stats->woke_total, woke, sizeof(woke));
	format__age_short(stats->oldest_age_ns, age, sizeof(age));
	format__age_short(stats->span_ns, span, sizeof(span));
	format__age_short(opts->min_span_ns, need, sizeof(need));
	format__count(group->worst_count, worst_count, sizeof(worst_count));
	format__count(group->worst_alive, worst_alive, sizeof(worst_alive));
	format__age_short(trend->now_ns - group->worst_time_ns, worst_ago, sizeof(worst_ago));
	if (!stats->count_now) {
		say(line, size, "gone: no member parked now (%s of the %s seen have woken)", woke,
		    seen);
		return;
	}
	if (!enough_history(opts, stats->samples, stats->span_ns)) {
		say(line, size, "watching: %s of history, a verdict needs %s", span, need);
		return;
	}
	if (stats->suspect && !stats->woke_total) {
		say(line, size, "%s threads/min parked in %s with %s; "
		    "none of the %s seen has woken (oldest %s)",
		    rate, stats->reason, timeout, seen, age);
		return;
	}
	if (stats->suspect) {
		say(line, size, "%s threads/min parked in %s with %s; "
		    "%s of the %s seen have woken (oldest %s)",
		    rate, stats->reason, timeout, woke, seen, age);
		return;
	}
	terms[0] = slope_term(opts, stats->slope_per_min, stats->span_ns);
	terms[1] = fit_term(opts, stats->fit_r2);
	terms[2] = steady_term(stats->steadiness);
	terms[3] = survivor_term(stats->survivor_fraction);
	terms[4] = age_term(stats->age_growth);
	for (int i = 1; i < 5; i++)
		if (terms[i] < terms[weakest])
			weakest = i;
	if (terms[weakest] >= 1 && stats->has_timeout) {
		say(line, size, "%s threads/min parked in %s, but with a timeout (score %.2f)",
		    rate, stats->reason, stats->score);
		return;
	}
	switch (weakest) {
	case 0:
		if (stats->slope_per_min <= 0)
			say(line, size, "not growing: %s threads/min over %s", rate, span);
		else
			say(line, size, "growing slowly: %s threads/min, under the %s floor", rate,
			    floor);
		break;
	case 1:
		say(line, size, "count moves in steps or bursts, not steadily (R² %.2f)",
		    stats->fit_r2);
		break;
	case 2:
		say(line, size, "count rose in a few jumps, not steadily (tau %.2f)",
		    stats->steadiness);
		break;
	case 3:
		say(line, size, "members wake: of the %s parked %s ago, %s still are", worst_count,
		    worst_ago, worst_alive);
		break;
	default:
		say(line, size, "the oldest members wake (oldest %s)", age);
		break;
	}
}

/* ---- groups ---- */

static void group__append(struct trend_group *group, const struct trend_sample *sample)
{
	if (group->len == TREND_SAMPLES) {
		size_t drop = series_ring__thin_index(group->samples, sizeof(*sample), group->len);

		group->samples[drop + 1].woke += group->samples[drop].woke;
		series_ring__remove(group->samples, sizeof(*sample), group->len, drop);
		group->len--;
	}
	group->samples[group->len++] = *sample;
}

/*
 * Of the members of each earlier sample of the window, the share still
 * parked: a leak's members never wake, so every sample keeps them all.  The
 * lowest share is the evidence, so that one early sample (one thread stuck
 * at the start of a backlog that is being served) can't speak for the rest;
 * one extra survivor is counted so that a sample of one member can't
 * decide alone either.  alive[k] counts the members parked since sample k.
 */
static void group__set_survivors(struct trend_group *group, const __u32 *alive)
{
	double worst = 2;

	group->worst_count = group->worst_alive = 0;
	for (size_t k = 0; k < group->len; k++) {
		const struct trend_sample *sample = &group->samples[k];
		__u32 kept = alive[k] < sample->count ? alive[k] : sample->count;
		double share = (kept + 1.0) / (sample->count + 1.0);

		if (sample->count && share < worst) {
			worst = share;
			group->worst_time_ns = sample->time_ns;
			group->worst_count = sample->count;
			group->worst_alive = kept;
		}
	}
}

static void group__observe(struct trend *trend, struct trend_group *group,
			   const struct group *seen, __u64 now_ns)
{
	struct trend_sample prev = { 0 }, sample = { .time_ns = now_ns };
	__u32 alive[TREND_SAMPLES] = { 0 };
	__u32 still = 0, kept;

	if (group->len)
		prev = group->samples[group->len - 1];
	group->len = series_ring__expire(group->samples, sizeof(sample), group->len,
					 window_start(trend, now_ns));
	for (size_t i = 0; i < seen->count; i++) {
		__u64 start = seen->members[i]->rec->park_start_ns;

		if (start > sample.newest_start_ns)
			sample.newest_start_ns = start;
		still += start <= prev.newest_start_ns;
		for (size_t k = 0; k < group->len; k++)
			alive[k] += start <= group->samples[k].newest_start_ns;
	}
	sample.count = saturate_u32(seen->count);
	kept = still < prev.count ? still : prev.count;
	sample.woke = prev.count - kept;
	sample.oldest_age_ms = saturate_u32(seen->oldest_park_ns / NSEC_PER_MSEC);
	if (seen->count)
		sample.median_age_ms =
			saturate_u32(seen->members[(seen->count - 1) / 2]->park_ns / NSEC_PER_MSEC);
	group->seen_total += sample.count - kept;
	group->woke_total += sample.woke;
	group__set_survivors(group, alive);
	group__append(group, &sample);
	group->last_present_ns = now_ns;
}

/* No member in this report: every member of the last sample woke. */
static void group__absent(struct trend *trend, struct trend_group *group, __u64 now_ns)
{
	const struct trend_sample *prev = &group->samples[group->len - 1];
	struct trend_sample sample = {
		.time_ns = now_ns,
		.newest_start_ns = prev->newest_start_ns,
		.woke = prev->count,
	};
	__u32 alive[TREND_SAMPLES] = { 0 };

	group->woke_total += prev->count;
	group->len = series_ring__expire(group->samples, sizeof(sample), group->len,
					 window_start(trend, now_ns));
	group__set_survivors(group, alive);
	group__append(group, &sample);
}

static struct trend_group *group__new(struct trend *trend, const struct group *seen)
{
	struct trend_group *group = calloc(1, sizeof(*group));

	if (!group)
		return NULL;
	group->signature = seen->signature;
	group->pid = seen->pid;
	group->has_timeout = seen->has_timeout;
	snprintf(group->reason, sizeof(group->reason), "%s", seen->reason ? seen->reason : "?");
	/* It was not in the last report, so its count was zero then: a burst
	 * starts with a step from zero, not from wherever it first shows. */
	if (trend->updates && !trend->folded_last)
		group->samples[group->len++] = (struct trend_sample){ .time_ns = trend->now_ns };
	if (u64map__put(&trend->groups, group->signature, group)) {
		free(group);
		return NULL;
	}
	return group;
}

static bool collect_absent(__u64 key, void *value, void *ctx)
{
	struct update_ctx *update = ctx;
	struct trend *trend = update->trend;
	struct trend_group *group = value;

	(void)key;
	if (group->last_present_ns != update->now_ns &&
	    trend->evictable_count < trend->opts.max_groups)
		trend->evictable[trend->evictable_count++] = group;
	return true;
}

static int by_absence(const void *a, const void *b)
{
	const struct trend_group *left = *(const struct trend_group *const *)a;
	const struct trend_group *right = *(const struct trend_group *const *)b;

	if (left->last_present_ns != right->last_present_ns)
		return left->last_present_ns < right->last_present_ns ? -1 : 1;
	return left->signature < right->signature ? -1 : left->signature > right->signature;
}

/* At the cap, a group that vanished makes room for one that is here, the
 * longest gone first.  false when every tracked group is present. */
static bool evict_absent(struct update_ctx *update)
{
	struct trend *trend = update->trend;
	struct trend_group *group;

	if (!trend->evictable_ready) {
		trend->evictable_count = trend->evictable_next = 0;
		u64map__filter(&trend->groups, collect_absent, update);
		qsort(trend->evictable, trend->evictable_count, sizeof(*trend->evictable),
		      by_absence);
		trend->evictable_ready = true;
	}
	if (trend->evictable_next == trend->evictable_count)
		return false;
	group = trend->evictable[trend->evictable_next++];
	u64map__remove(&trend->groups, group->signature);
	free(group);
	trend->summary.evicted_total++;
	return true;
}

static bool retire_or_zero(__u64 key, void *value, void *ctx)
{
	struct update_ctx *update = ctx;
	struct trend_group *group = value;

	(void)key;
	/* present, or already given its zero: u64map__filter may offer an entry
	 * twice when a removal shifts a probe chain that wraps around */
	if (group->samples[group->len - 1].time_ns == update->now_ns)
		return true;
	/*
	 * Its process is gone (exited, or out of the picture): its members did
	 * not wake, so the group keeps its last verdict until it retires; a
	 * service that died of its leak is still reported.
	 */
	if (!u64map__get(&update->present_pids, (__u64)group->pid) &&
	    update->now_ns - group->last_present_ns < update->trend->opts.retire_after_ns)
		return true;
	if (update->now_ns - group->last_present_ns >= update->trend->opts.retire_after_ns) {
		free(group);
		update->trend->summary.retired_total++;
		return false;
	}
	group__absent(update->trend, group, update->now_ns);
	return true;
}

/* ---- processes ---- */

static void proc__observe(struct trend *trend, struct trend_proc *proc,
			  const struct proc_summary *seen, __u64 now_ns)
{
	struct trend_proc_sample sample = {
		.time_ns = now_ns,
		.threads = saturate_u32(seen->threads),
		.parked = saturate_u32(seen->parked),
	};

	proc->len = series_ring__expire(proc->samples, sizeof(sample), proc->len,
					window_start(trend, now_ns));
	if (proc->len == TREND_SAMPLES) {
		series_ring__remove(proc->samples, sizeof(sample), proc->len,
				    series_ring__thin_index(proc->samples, sizeof(sample),
							    proc->len));
		proc->len--;
	}
	proc->samples[proc->len++] = sample;
	proc->last_present_ns = now_ns;
}

static int observe_procs(struct trend *trend, const struct report *report, __u64 now_ns)
{
	int err = 0;

	trend->summary.other_procs = 0;
	for (size_t i = 0; i < report->proc_count; i++) {
		const struct proc_summary *seen = &report->procs[i];
		struct trend_proc *proc = u64map__get(&trend->procs, (__u64)seen->pid);

		if (!proc && trend->procs.count < trend->opts.max_procs && seen->pid > 0) {
			proc = calloc(1, sizeof(*proc));
			if (proc && u64map__put(&trend->procs, (__u64)seen->pid, proc)) {
				free(proc);
				proc = NULL;
			}
			if (!proc)
				err = -ENOMEM;
			else
				proc->pid = seen->pid;
		}
		if (!proc) {
			trend->summary.other_procs++;
			continue;
		}
		proc__observe(trend, proc, seen, now_ns);
	}
	return err;
}

/* A process absent from the report has exited: no zero samples, retire it. */
static bool retire_proc(__u64 key, void *value, void *ctx)
{
	struct update_ctx *update = ctx;
	struct trend_proc *proc = value;

	(void)key;
	if (update->now_ns - proc->last_present_ns < update->trend->opts.retire_after_ns)
		return true;
	free(proc);
	return false;
}

/* ---- update and queries ---- */

static bool rank_group(__u64 key, void *value, void *ctx)
{
	struct trend *trend = ctx;
	struct trend_group_stats stats;
	size_t lowest = 0;

	(void)key;
	group__stats(trend, value, true, &stats);
	if (!stats.suspect)
		return true;
	trend->summary.suspects++;
	if (trend->suspect_count < TREND_MAX_SUSPECTS) {
		trend->suspects[trend->suspect_count++] = stats;
		return true;
	}
	for (size_t i = 1; i < trend->suspect_count; i++)
		if (trend->suspects[i].score < trend->suspects[lowest].score)
			lowest = i;
	if (stats.score > trend->suspects[lowest].score)
		trend->suspects[lowest] = stats;
	return true;
}

static int by_score(const void *a, const void *b)
{
	const struct trend_group_stats *left = a, *right = b;

	if (left->score != right->score)
		return left->score < right->score ? 1 : -1;
	if (left->count_now != right->count_now)
		return left->count_now < right->count_now ? 1 : -1;
	return left->signature < right->signature ? -1 : left->signature > right->signature;
}

static void rank_suspects(struct trend *trend)
{
	trend->suspect_count = 0;
	trend->summary.suspects = 0;
	u64map__filter(&trend->groups, rank_group, trend);
	qsort(trend->suspects, trend->suspect_count, sizeof(*trend->suspects), by_score);
	for (size_t i = 0; i < trend->suspect_count; i++)
		group__explain(trend, u64map__get(&trend->groups, trend->suspects[i].signature),
			       &trend->suspects[i]);
}

int trend__update(struct trend *trend, const struct report *report, __u64 now_ns)
{
	struct update_ctx update = { .trend = trend, .now_ns = now_ns };
	int err = 0;

	if (!trend || !report || (trend->updates && now_ns <= trend->now_ns))
		return -EINVAL;
	trend->summary.other_groups = trend->summary.other_threads = 0;
	trend->evictable_ready = false;
	/* tracked groups first, so that nothing present is evicted for a newcomer */
	for (size_t i = 0; i < report->group_count; i++) {
		const struct group *seen = &report->groups[i];
		struct trend_group *group = u64map__get(&trend->groups, seen->signature);

		if (group)
			group__observe(trend, group, seen, now_ns);
	}
	/* then the new ones, largest first as the report sorts them */
	for (size_t i = 0; i < report->group_count; i++) {
		const struct group *seen = &report->groups[i];
		struct trend_group *group = u64map__get(&trend->groups, seen->signature);

		if (group)
			continue; /* observed above */
		if (seen->signature && /* u64map's empty key; group__signature never gives it */
		    (trend->groups.count < trend->opts.max_groups || evict_absent(&update))) {
			group = group__new(trend, seen);
			if (!group)
				err = -ENOMEM;
		}
		if (!group) {
			trend->summary.other_groups++;
			trend->summary.other_threads += seen->count;
			trend->summary.folded_total++;
			continue;
		}
		group__observe(trend, group, seen, now_ns);
	}
	for (size_t i = 0; i < report->proc_count; i++)
		if (u64map__put(&update.present_pids, (__u64)report->procs[i].pid, (void *)1))
			err = -ENOMEM;
	u64map__filter(&trend->groups, retire_or_zero, &update);
	u64map__clear(&update.present_pids);
	if (observe_procs(trend, report, now_ns))
		err = -ENOMEM;
	u64map__filter(&trend->procs, retire_proc, &update);
	trend->folded_last = trend->summary.other_groups > 0;
	trend->now_ns = now_ns;
	trend->updates++;
	rank_suspects(trend);
	return err;
}

size_t trend__suspects(const struct trend *trend, const struct trend_group_stats **out)
{
	*out = trend->suspects;
	return trend->suspect_count;
}

int trend__group(const struct trend *trend, __u64 signature, struct trend_group_stats *out)
{
	const struct trend_group *group = u64map__get(&trend->groups, signature);

	if (!group)
		return -ENOENT;
	group__stats(trend, group, false, out);
	group__explain(trend, group, out);
	return 0;
}

int trend__proc(const struct trend *trend, pid_t pid, struct trend_proc_stats *out)
{
	const struct trend_proc *proc = pid > 0 ? u64map__get(&trend->procs, (__u64)pid) : NULL;
	double minutes[TREND_SAMPLES], threads[TREND_SAMPLES], parked[TREND_SAMPLES];
	const struct trend_proc_sample *newest;
	struct series_line fit;

	if (!proc)
		return -ENOENT;
	newest = &proc->samples[proc->len - 1];
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->threads_now = newest->threads;
	out->parked_now = newest->parked;
	out->span_ns = newest->time_ns - proc->samples[0].time_ns;
	series_ring__minutes(proc->samples, sizeof(*newest), proc->len, minutes);
	for (size_t i = 0; i < proc->len; i++) {
		threads[i] = proc->samples[i].threads;
		parked[i] = proc->samples[i].parked;
	}
	fit = series__fit_line(minutes, threads, proc->len);
	out->threads_slope_per_min = fit.slope;
	out->threads_fit_r2 = fit.r2;
	fit = series__fit_line(minutes, parked, proc->len);
	out->parked_slope_per_min = fit.slope;
	out->parked_fit_r2 = fit.r2;
	if (enough_history(&trend->opts, proc->len, out->span_ns))
		out->parked_growth = slope_term(&trend->opts, fit.slope, out->span_ns) *
				     fit_term(&trend->opts, fit.r2) *
				     steady_term(series__kendall_tau(parked, proc->len));
	return 0;
}

/* The slots u64map holds for count entries: it doubles from 64 at 3/4 full
 * and never shrinks, so this is also its most after any history. */
static size_t map_slots(size_t count)
{
	size_t slots = 64;

	if (!count)
		return 0;
	while (count * 4 > slots * 3)
		slots *= 2;
	return slots;
}

static size_t fixed_bytes(const struct trend_opts *opts)
{
	return sizeof(struct trend) + TREND_MAX_SUSPECTS * sizeof(struct trend_group_stats) +
	       opts->max_groups * sizeof(struct trend_group *);
}

void trend__summary(const struct trend *trend, struct trend_summary *out)
{
	*out = trend->summary;
	out->groups = trend->groups.count;
	out->procs = trend->procs.count;
	out->memory_bytes = fixed_bytes(&trend->opts) +
			    trend->groups.count * sizeof(struct trend_group) +
			    trend->procs.count * sizeof(struct trend_proc) +
			    (trend->groups.capacity + trend->procs.capacity) * MAP_SLOT_BYTES;
}

size_t trend__memory_bound(const struct trend_opts *opts)
{
	struct trend_opts defaults;

	if (!opts) {
		trend_opts__defaults(&defaults);
		opts = &defaults;
	}
	return fixed_bytes(opts) + opts->max_groups * sizeof(struct trend_group) +
	       opts->max_procs * sizeof(struct trend_proc) +
	       (map_slots(opts->max_groups) + map_slots(opts->max_procs)) * MAP_SLOT_BYTES;
}
