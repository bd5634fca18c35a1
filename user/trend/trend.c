// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Growth trends of parked groups and leak suspicion (trend.h): the history
 * half.  Owns the engine's lifetime and its bookkeeping: a sample per group
 * and per process at every update, the window, the caps, eviction and
 * retirement.  The verdict on that history is in trend_score.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "model/picture.h"
#include "trend/series.h"
#include "trend/trend_internal.h"

#define MAP_SLOT_BYTES (sizeof(__u64) + sizeof(void *))

struct update_ctx {
	struct trend *trend;
	__u64 now_ns;
	struct u64map present_pids; /* processes in this picture */
};

/*
 * Five minutes of window holds several periods of a pool's sawtooth or of
 * bursts, so they average out, and puts a one-off step well inside it.  No
 * verdict on under 20 s (ten pictures at the CLI's 2 s interval): a queue
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
void trend__default_opts(struct trend_opts *opts)
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
		trend__default_opts(&trend->opts);
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

/* ---- groups ---- */

static void tgroup_append(struct trend_group *group, const struct trend_sample *sample)
{
	if (group->len == TREND_SAMPLES) {
		size_t drop = series__ring_thin_index(group->samples, sizeof(*sample), group->len);

		group->samples[drop + 1].woke += group->samples[drop].woke;
		series__ring_remove(group->samples, sizeof(*sample), group->len, drop);
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
static void tgroup_set_survivors(struct trend_group *group, const __u32 *alive)
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

static void tgroup_observe(struct trend *trend, struct trend_group *group,
			   const struct pw_group *seen, __u64 now_ns)
{
	struct trend_sample prev = { 0 }, sample = { .time_ns = now_ns };
	__u32 alive[TREND_SAMPLES] = { 0 };
	__u32 still = 0, kept;

	if (group->len)
		prev = group->samples[group->len - 1];
	group->len = series__ring_expire(group->samples, sizeof(sample), group->len,
					 window_start(trend, now_ns));
	for (size_t i = 0; i < seen->count; i++) {
		__u64 start = seen->members[i]->park_start_ns;

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
	tgroup_set_survivors(group, alive);
	tgroup_append(group, &sample);
	group->last_present_ns = now_ns;
}

/* No member in this picture: every member of the last sample woke. */
static void tgroup_absent(struct trend *trend, struct trend_group *group, __u64 now_ns)
{
	const struct trend_sample *prev = &group->samples[group->len - 1];
	struct trend_sample sample = {
		.time_ns = now_ns,
		.newest_start_ns = prev->newest_start_ns,
		.woke = prev->count,
	};
	__u32 alive[TREND_SAMPLES] = { 0 };

	group->woke_total += prev->count;
	group->len = series__ring_expire(group->samples, sizeof(sample), group->len,
					 window_start(trend, now_ns));
	tgroup_set_survivors(group, alive);
	tgroup_append(group, &sample);
}

static struct trend_group *tgroup_new(struct trend *trend, const struct pw_group *seen)
{
	struct trend_group *group = calloc(1, sizeof(*group));

	if (!group)
		return NULL;
	group->signature = seen->signature;
	group->pid = seen->pid;
	group->has_timeout = seen->has_timeout;
	group->goroutines = seen->kind == PW_UNIT_GOROUTINE;
	snprintf(group->reason, sizeof(group->reason), "%s", seen->reason ? seen->reason : "?");
	/* It was not in the last picture, so its count was zero then: a burst
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
	tgroup_absent(update->trend, group, update->now_ns);
	return true;
}

/* ---- processes ---- */

static void tproc_observe(struct trend *trend, struct trend_proc *proc,
			  const struct pw_process *seen, __u64 now_ns)
{
	struct trend_proc_sample sample = {
		.time_ns = now_ns,
		.threads = saturate_u32(seen->units),
		.parked = saturate_u32(seen->parked),
	};

	proc->len = series__ring_expire(proc->samples, sizeof(sample), proc->len,
					window_start(trend, now_ns));
	if (proc->len == TREND_SAMPLES) {
		series__ring_remove(proc->samples, sizeof(sample), proc->len,
				    series__ring_thin_index(proc->samples, sizeof(sample),
							    proc->len));
		proc->len--;
	}
	proc->samples[proc->len++] = sample;
	proc->last_present_ns = now_ns;
}

/* void * for u64map__filter: the groups of a pid that named another process */
static bool keep_unless_reused(__u64 key, void *value, void *ctx)
{
	struct trend_group *group = value;

	(void)key;
	if (!u64map__get(ctx, (__u64)group->pid))
		return true;
	free(group);
	return false;
}

/*
 * A pid that now names a later process (its start time changed) starts its
 * trends afresh: the old process's groups and samples are not the new
 * one's history.
 */
static int forget_reused_pids(struct trend *trend, const struct pw_picture *picture)
{
	struct u64map reused = { 0 };
	int err = 0;

	for (size_t i = 0; i < picture->proc_count; i++) {
		const struct pw_process *seen = &picture->procs[i];
		struct trend_proc *proc = u64map__get(&trend->procs, (__u64)seen->pid);

		if (!proc || !proc->start_ticks || !seen->start_ticks ||
		    proc->start_ticks == seen->start_ticks)
			continue;
		u64map__remove(&trend->procs, (__u64)seen->pid);
		free(proc);
		if (u64map__put(&reused, (__u64)seen->pid, (void *)1))
			err = -ENOMEM;
	}
	if (reused.count)
		u64map__filter(&trend->groups, keep_unless_reused, &reused);
	u64map__clear(&reused);
	return err;
}

static int observe_procs(struct trend *trend, const struct pw_picture *picture, __u64 now_ns)
{
	int err = 0;

	trend->summary.other_procs = 0;
	for (size_t i = 0; i < picture->proc_count; i++) {
		const struct pw_process *seen = &picture->procs[i];
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
		if (!proc->start_ticks)
			proc->start_ticks = seen->start_ticks;
		tproc_observe(trend, proc, seen, now_ns);
	}
	return err;
}

/* A process absent from the picture has exited: no zero samples, retire it. */
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

/* ---- update and accounting ---- */

int trend__update(struct trend *trend, const struct pw_picture *picture, __u64 now_ns)
{
	struct update_ctx update = { .trend = trend, .now_ns = now_ns };
	int err = 0;

	if (!trend || !picture || (trend->updates && now_ns <= trend->now_ns))
		return -EINVAL;
	trend->summary.other_groups = trend->summary.other_threads = 0;
	trend->evictable_ready = false;
	if (forget_reused_pids(trend, picture))
		err = -ENOMEM;
	/* tracked groups first, so that nothing present is evicted for a newcomer */
	for (size_t i = 0; i < picture->group_count; i++) {
		const struct pw_group *seen = &picture->groups[i];
		struct trend_group *group = u64map__get(&trend->groups, seen->signature);

		if (group && seen->parked)
			tgroup_observe(trend, group, seen, now_ns);
	}
	/* then the new ones, largest first as the picture sorts them */
	for (size_t i = 0; i < picture->group_count; i++) {
		const struct pw_group *seen = &picture->groups[i];
		struct trend_group *group = u64map__get(&trend->groups, seen->signature);

		if (group || !seen->parked)
			continue; /* observed above, or not waiting (a running goroutine) */
		if (seen->signature && /* u64map's empty key; group signatures are never 0 */
		    (trend->groups.count < trend->opts.max_groups || evict_absent(&update))) {
			group = tgroup_new(trend, seen);
			if (!group)
				err = -ENOMEM;
		}
		if (!group) {
			trend->summary.other_groups++;
			trend->summary.other_threads += seen->count;
			trend->summary.folded_total++;
			continue;
		}
		tgroup_observe(trend, group, seen, now_ns);
	}
	for (size_t i = 0; i < picture->proc_count; i++)
		if (u64map__put(&update.present_pids, (__u64)picture->procs[i].pid, (void *)1))
			err = -ENOMEM;
	u64map__filter(&trend->groups, retire_or_zero, &update);
	u64map__clear(&update.present_pids);
	if (observe_procs(trend, picture, now_ns))
		err = -ENOMEM;
	u64map__filter(&trend->procs, retire_proc, &update);
	trend->folded_last = trend->summary.other_groups > 0;
	trend->now_ns = now_ns;
	trend->updates++;
	trend_score__rank_suspects(trend);
	return err;
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
		trend__default_opts(&defaults);
		opts = &defaults;
	}
	return fixed_bytes(opts) + opts->max_groups * sizeof(struct trend_group) +
	       opts->max_procs * sizeof(struct trend_proc) +
	       (map_slots(opts->max_groups) + map_slots(opts->max_procs)) * MAP_SLOT_BYTES;
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
	trend_score__group(trend, group, out);
	return 0;
}

int trend__proc(const struct trend *trend, pid_t pid, struct trend_proc_stats *out)
{
	const struct trend_proc *proc = pid > 0 ? u64map__get(&trend->procs, (__u64)pid) : NULL;

	if (!proc)
		return -ENOENT;
	trend_score__proc(trend, proc, out);
	return 0;
}
