// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The verdict on the trend engine's history (trend.h): the leak score of a
 * group, its one-line explanation, the ranking of suspects and the queries
 * that read them.  Kept apart from the bookkeeping in trend.c so that what
 * makes a suspect reads in one place, whatever the way the history is kept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "trend/series.h"
#include "trend/trend_internal.h"

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
static double tgroup_survivors(const struct trend_group *group)
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
static void tgroup_stats(const struct trend *trend, const struct trend_group *group,
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
	out->goroutines = group->goroutines;
	out->count_now = newest->count;
	out->count_first = group->samples[0].count;
	out->span_ns = newest->time_ns - group->samples[0].time_ns;
	out->samples = group->len;
	out->oldest_age_ns = (__u64)newest->oldest_age_ms * NSEC_PER_MSEC;
	out->median_age_ns = (__u64)newest->median_age_ms * NSEC_PER_MSEC;
	out->seen_total = group->seen_total;
	out->woke_total = group->woke_total;
	series__ring_minutes(group->samples, sizeof(*newest), group->len, minutes);
	for (size_t i = 0; i < group->len; i++)
		counts[i] = group->samples[i].count;
	fit = series__fit_line(minutes, counts, group->len);
	out->slope_per_min = fit.slope;
	out->fit_r2 = fit.r2;
	out->survivor_fraction = tgroup_survivors(group);
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
static void tgroup_explain(const struct trend *trend, const struct trend_group *group,
			   struct trend_group_stats *stats)
{
	const struct trend_opts *opts = &trend->opts;
	char rate[32], floor[32], seen[32], woke[32], age[32], span[32], need[32];
	char worst_count[32], worst_alive[32], worst_ago[32];
	const char *timeout = stats->has_timeout ? "a timeout" : "no timeout";
	const char *units = stats->goroutines ? "goroutines" : "threads";
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
		say(line, size, "%s %s/min parked in %s with %s; "
		    "none of the %s seen has woken (oldest %s)",
		    rate, units, stats->reason, timeout, seen, age);
		return;
	}
	if (stats->suspect) {
		say(line, size, "%s %s/min parked in %s with %s; "
		    "%s of the %s seen have woken (oldest %s)",
		    rate, units, stats->reason, timeout, woke, seen, age);
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
		say(line, size, "%s %s/min parked in %s, but with a timeout (score %.2f)",
		    rate, units, stats->reason, stats->score);
		return;
	}
	switch (weakest) {
	case 0:
		if (stats->slope_per_min <= 0)
			say(line, size, "not growing: %s %s/min over %s", rate, units, span);
		else
			say(line, size, "growing slowly: %s %s/min, under the %s floor", rate, units,
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

/* ---- ranking and queries ---- */

static bool rank_group(__u64 key, void *value, void *ctx)
{
	struct trend *trend = ctx;
	struct trend_group_stats stats;
	size_t lowest = 0;

	(void)key;
	tgroup_stats(trend, value, true, &stats);
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

void trend_score__rank_suspects(struct trend *trend)
{
	trend->suspect_count = 0;
	trend->summary.suspects = 0;
	u64map__filter(&trend->groups, rank_group, trend);
	qsort(trend->suspects, trend->suspect_count, sizeof(*trend->suspects), by_score);
	for (size_t i = 0; i < trend->suspect_count; i++)
		tgroup_explain(trend, u64map__get(&trend->groups, trend->suspects[i].signature),
			       &trend->suspects[i]);
}

void trend_score__group(const struct trend *trend, const struct trend_group *group,
			struct trend_group_stats *out)
{
	tgroup_stats(trend, group, false, out);
	tgroup_explain(trend, group, out);
}

void trend_score__proc(const struct trend *trend, const struct trend_proc *proc,
		       struct trend_proc_stats *out)
{
	double minutes[TREND_SAMPLES], threads[TREND_SAMPLES], parked[TREND_SAMPLES];
	const struct trend_proc_sample *newest = &proc->samples[proc->len - 1];
	struct series_line fit;

	memset(out, 0, sizeof(*out));
	out->pid = proc->pid;
	out->threads_now = newest->threads;
	out->parked_now = newest->parked;
	out->span_ns = newest->time_ns - proc->samples[0].time_ns;
	series__ring_minutes(proc->samples, sizeof(*newest), proc->len, minutes);
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
}
