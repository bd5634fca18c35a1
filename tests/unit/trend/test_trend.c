// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of leak suspicion (user/trend/trend.c) on simulated processes:
 * parks with a start and a wake time, turned into pictures the way the
 * collector would make them (members join their group after MIN_PARK,
 * oldest first, groups largest first).  No BPF, no process to look at.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "model/picture.h"
#include "trend/trend.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define MIN (60 * SEC)
#define NEVER (~0ULL)
#define T0 (1000 * SEC)             /* monotonic clock at the first picture */
#define MIN_PARK (1 * SEC)          /* as parkwatch's --min-park default */
#define LOW_SCORE 0.2

struct sim_group {
	__u64 signature;
	pid_t pid;
	const char *reason;
	bool has_timeout;
};

struct sim_thread {
	__u32 tid;
	size_t group;
	__u64 park_start_ns;
	__u64 wake_ns;              /* NEVER: a leak */
};

struct sim {
	struct sim_group *groups;
	size_t group_count;
	struct sim_thread *threads;
	size_t thread_count, thread_capacity;
	__u32 next_tid;
	__u64 rng;
	unsigned long long start_ticks; /* of every process in its pictures */
};

/* Everything a picture points into, owned by the test and poisoned on free
 * so that a trend keeping a pointer into an old picture reads garbage. */
struct fake_picture {
	struct pw_picture picture;
	struct pw_unit *units;
	const struct pw_unit **members;
	struct pw_group *groups;
	struct pw_process procs[16];
	char (*reasons)[32];
	size_t unit_count, group_count;
};

static struct sim *sim__new(void)
{
	struct sim *sim = calloc(1, sizeof(*sim));

	assert_non_null(sim);
	sim->next_tid = 1000;
	sim->rng = 0x9e3779b97f4a7c15ULL;
	return sim;
}

static void sim__free(struct sim *sim)
{
	free(sim->groups);
	free(sim->threads);
	free(sim);
}

static __u64 sim__random(struct sim *sim, __u64 low, __u64 high)
{
	sim->rng ^= sim->rng << 13;
	sim->rng ^= sim->rng >> 7;
	sim->rng ^= sim->rng << 17;
	return low + sim->rng % (high - low + 1);
}

static size_t sim__group(struct sim *sim, pid_t pid, const char *reason, bool has_timeout)
{
	size_t index = sim->group_count++;

	sim->groups = realloc(sim->groups, sim->group_count * sizeof(*sim->groups));
	assert_non_null(sim->groups);
	sim->groups[index] = (struct sim_group){
		.signature = 0x5eed0000ULL + index * 0x10001ULL,
		.pid = pid,
		.reason = reason,
		.has_timeout = has_timeout,
	};
	return index;
}

static __u32 sim__park_tid(struct sim *sim, __u32 tid, size_t group, __u64 start, __u64 wake)
{
	if (sim->thread_count == sim->thread_capacity) {
		sim->thread_capacity = sim->thread_capacity ? 2 * sim->thread_capacity : 256;
		sim->threads = realloc(sim->threads, sim->thread_capacity * sizeof(*sim->threads));
		assert_non_null(sim->threads);
	}
	sim->threads[sim->thread_count++] = (struct sim_thread){
		.tid = tid, .group = group, .park_start_ns = start, .wake_ns = wake,
	};
	return tid;
}

static __u32 sim__park(struct sim *sim, size_t group, __u64 start, __u64 wake)
{
	return sim__park_tid(sim, sim->next_tid++, group, start, wake);
}

static int by_park_age(const void *a, const void *b)
{
	const struct pw_unit *left = *(const struct pw_unit *const *)a;
	const struct pw_unit *right = *(const struct pw_unit *const *)b;

	if (left->park_ns != right->park_ns)
		return left->park_ns < right->park_ns ? 1 : -1;
	return left->id < right->id ? -1 : 1;
}

static int by_count(const void *a, const void *b)
{
	const struct pw_group *left = a, *right = b;

	if (left->count != right->count)
		return left->count < right->count ? 1 : -1;
	return left->signature < right->signature ? -1 : 1;
}

/* The picture parkwatch would take at now: members are the threads parked
 * at least MIN_PARK; every parked thread counts for its process. */
static struct fake_picture *sim__picture(struct sim *sim, __u64 now)
{
	struct fake_picture *fake = calloc(1, sizeof(*fake));
	size_t *counts = calloc(sim->group_count + 1, sizeof(*counts));
	size_t *offsets = calloc(sim->group_count + 1, sizeof(*offsets));
	size_t visible = 0, used = 0;

	assert_non_null(fake);
	assert_non_null(counts);
	assert_non_null(offsets);
	for (size_t i = 0; i < sim->thread_count; i++) {
		const struct sim_thread *thread = &sim->threads[i];
		const struct sim_group *group = &sim->groups[thread->group];
		struct pw_process *proc = NULL;

		if (thread->park_start_ns > now || thread->wake_ns <= now)
			continue;
		for (size_t p = 0; p < fake->picture.proc_count; p++)
			if (fake->procs[p].pid == group->pid)
				proc = &fake->procs[p];
		if (!proc) {
			assert_true(fake->picture.proc_count < 16);
			proc = &fake->procs[fake->picture.proc_count++];
			proc->pid = group->pid;
			proc->start_ticks = sim->start_ticks;
			proc->unit_kind = PW_UNIT_THREAD;
			proc->units = 1; /* the main thread, running */
		}
		proc->units++;
		proc->parked++;
		if (now - thread->park_start_ns >= MIN_PARK) {
			counts[thread->group]++;
			visible++;
		}
	}
	fake->units = calloc(visible + 1, sizeof(*fake->units));
	fake->members = calloc(visible + 1, sizeof(*fake->members));
	fake->groups = calloc(sim->group_count + 1, sizeof(*fake->groups));
	fake->reasons = calloc(sim->group_count + 1, sizeof(*fake->reasons));
	assert_non_null(fake->units);
	assert_non_null(fake->members);
	assert_non_null(fake->groups);
	assert_non_null(fake->reasons);
	for (size_t g = 0, offset = 0; g < sim->group_count; g++) {
		offsets[g] = offset;
		offset += counts[g];
		counts[g] = 0;
	}
	for (size_t i = 0; i < sim->thread_count; i++) {
		const struct sim_thread *thread = &sim->threads[i];
		const struct sim_group *group = &sim->groups[thread->group];
		struct pw_unit *unit = &fake->units[used];

		if (thread->park_start_ns > now || thread->wake_ns <= now ||
		    now - thread->park_start_ns < MIN_PARK)
			continue;
		unit->kind = PW_UNIT_THREAD;
		unit->id = thread->tid;
		unit->pid = group->pid;
		unit->state = PW_STATE_SLEEPING;
		unit->state_name = "sleeping";
		unit->parked = true;
		unit->park_start_ns = thread->park_start_ns;
		unit->park_ns = now - thread->park_start_ns;
		unit->wait.has_timeout = group->has_timeout;
		fake->members[offsets[thread->group] + counts[thread->group]++] = unit;
		used++;
	}
	for (size_t g = 0; g < sim->group_count; g++) {
		struct pw_group *group;

		if (!counts[g])
			continue;
		group = &fake->groups[fake->group_count];
		snprintf(fake->reasons[fake->group_count], sizeof(fake->reasons[0]), "%s",
			 sim->groups[g].reason);
		group->signature = sim->groups[g].signature;
		group->pid = sim->groups[g].pid;
		group->kind = PW_UNIT_THREAD;
		group->reason = fake->reasons[fake->group_count];
		group->has_timeout = sim->groups[g].has_timeout;
		group->parked = true;
		group->count = counts[g];
		group->members = &fake->members[offsets[g]];
		qsort(group->members, group->count, sizeof(*group->members), by_park_age);
		group->oldest_park_ns = group->members[0]->park_ns;
		for (size_t m = 0; m < group->count; m++)
			((struct pw_unit *)group->members[m])->wait.reason = group->reason;
		fake->group_count++;
	}
	qsort(fake->groups, fake->group_count, sizeof(*fake->groups), by_count);
	fake->unit_count = used;
	fake->picture.refs = 1;
	fake->picture.time_mono_ns = now;
	fake->picture.units = fake->units;
	fake->picture.unit_count = used;
	fake->picture.parked_count = used;
	fake->picture.state_counts[PW_STATE_SLEEPING] = used;
	fake->picture.procs = fake->procs;
	fake->picture.groups = fake->groups;
	fake->picture.group_count = fake->group_count;
	free(counts);
	free(offsets);
	return fake;
}

static void fake_picture__free(struct fake_picture *fake)
{
	memset(fake->units, 0x5a, fake->unit_count * sizeof(*fake->units));
	memset(fake->reasons, 0x5a, fake->group_count * sizeof(*fake->reasons));
	memset(fake->groups, 0x5a, fake->group_count * sizeof(*fake->groups));
	memset(fake->procs, 0x5a, sizeof(fake->procs));
	free(fake->units);
	free(fake->members);
	free(fake->groups);
	free(fake->reasons);
	free(fake);
}

/* One interval: picture, update, forget the parks that ended. */
static void sim__update(struct sim *sim, struct trend *trend, __u64 now)
{
	struct fake_picture *fake = sim__picture(sim, now);
	size_t kept = 0;

	assert_int_equal(trend__update(trend, &fake->picture, now), 0);
	fake_picture__free(fake);
	for (size_t i = 0; i < sim->thread_count; i++)
		if (sim->threads[i].wake_ns > now)
			sim->threads[kept++] = sim->threads[i];
	sim->thread_count = kept;
}

/* A healthy pool: each worker parks for a random while, works 10 ms, parks
 * again. */
struct pool {
	size_t group;
	size_t size;
	__u32 tids[64];
	__u64 wake[64];
	__u64 min_park_ns, max_park_ns;
};

static void pool__start(struct sim *sim, struct pool *pool, size_t group, size_t size,
			__u64 min_park_ns, __u64 max_park_ns, __u64 now)
{
	assert_true(size <= 64);
	pool->group = group;
	pool->size = size;
	pool->min_park_ns = min_park_ns;
	pool->max_park_ns = max_park_ns;
	for (size_t i = 0; i < size; i++) {
		pool->wake[i] = now + sim__random(sim, min_park_ns, max_park_ns);
		pool->tids[i] = sim__park(sim, group, now, pool->wake[i]);
	}
}

static void pool__advance(struct sim *sim, struct pool *pool, __u64 now)
{
	for (size_t i = 0; i < pool->size; i++) {
		while (pool->wake[i] <= now) {
			__u64 start = pool->wake[i] + 10 * MS;

			pool->wake[i] = start +
					sim__random(sim, pool->min_park_ns, pool->max_park_ns);
			sim__park_tid(sim, pool->tids[i], pool->group, start, pool->wake[i]);
		}
	}
}

static struct trend *new_trend(__u64 window_ns)
{
	struct trend_opts opts;
	struct trend *trend;

	trend__default_opts(&opts);
	if (window_ns)
		opts.window_ns = window_ns;
	trend = trend__new(&opts);
	assert_non_null(trend);
	return trend;
}

static struct trend_group_stats group_stats(const struct trend *trend, const struct sim *sim,
					    size_t group)
{
	struct trend_group_stats stats;

	assert_int_equal(trend__group(trend, sim->groups[group].signature, &stats), 0);
	return stats;
}

static bool is_suspect(const struct trend *trend, __u64 signature)
{
	const struct trend_group_stats *suspects;
	size_t count = trend__suspects(trend, &suspects);

	for (size_t i = 0; i < count; i++)
		if (suspects[i].signature == signature)
			return true;
	return false;
}

/* Scores a healthy shape from the first verdict on: never a suspect, never
 * above LOW_SCORE.  Returns the highest score seen. */
static double assert_low(const struct trend *trend, const struct sim *sim, size_t group,
			 double highest)
{
	struct trend_group_stats stats;

	if (trend__group(trend, sim->groups[group].signature, &stats))
		return highest; /* not in this picture and already retired */
	if (stats.score >= LOW_SCORE || is_suspect(trend, stats.signature))
		fail_msg("healthy group scored %.2f: %s", stats.score, stats.explanation);
	return stats.score > highest ? stats.score : highest;
}

static long max_rss_kib(void)
{
	struct rusage usage;

	assert_int_equal(getrusage(RUSAGE_SELF, &usage), 0);
	return usage.ru_maxrss;
}

/* Resident now, unlike ru_maxrss: to see what freeing the engine gives back. */
static long rss_kib(void)
{
	long pages_total, pages_resident = -1;
	FILE *statm = fopen("/proc/self/statm", "r");

	assert_non_null(statm);
	assert_int_equal(fscanf(statm, "%ld %ld", &pages_total, &pages_resident), 2);
	fclose(statm);
	return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double elapsed_ms(const struct timespec *begin, const struct timespec *end)
{
	return (end->tv_sec - begin->tv_sec) * 1e3 + (end->tv_nsec - begin->tv_nsec) / 1e6;
}

/* ---- tests ---- */

/* 10,000 groups for 300 intervals, a third of them churning (absent now and
 * then), a hundred leaking, then 2,000 new groups every 20 intervals past the
 * cap, taking the places of absent ones or folding into "other": the
 * engine's own accounting stays under its documented bound, and so does
 * what it holds resident. */
static void test_memory_10000_groups(void **state)
{
	enum { GROUPS = 10000, LEAKING = 100, INTERVALS = 300 };
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	struct trend_summary summary;
	struct trend_opts opts;
	long rss_before = max_rss_kib(), rss_after, rss_with, rss_without;
	size_t next_fresh = GROUPS;
	__u64 now = T0;
	double update_ms = 0, slowest_ms = 0;

	(void)state;
	trend__default_opts(&opts);
	for (size_t g = 0; g < GROUPS + 20000; g++)
		sim__group(sim, 200 + g % 8, "cond wait", g % 5 == 0);
	for (size_t g = 0; g < GROUPS; g++)
		sim__park(sim, g, now - 10 * SEC,
			  g % 3 == 0 ? now + sim__random(sim, 1, 20) * SEC : NEVER);
	for (int i = 0; i < INTERVALS; i++, now += 2 * SEC) {
		struct timespec begin, end;
		struct fake_picture *fake;
		size_t kept = 0;

		for (size_t g = 0; g < LEAKING; g++)
			sim__park(sim, g, now - 2 * SEC, NEVER);
		for (size_t t = 0; t < sim->thread_count; t++) /* churners park again */
			if (sim->threads[t].wake_ns > now && sim->threads[t].group % 3 == 0 &&
			    sim->threads[t].wake_ns <= now + 2 * SEC)
				sim__park(sim, sim->threads[t].group, sim->threads[t].wake_ns,
					  sim->threads[t].wake_ns + sim__random(sim, 2, 20) * SEC);
		if (i >= 150 && i % 20 == 0) /* past the cap: 2,000 new groups */
			for (size_t g = 0; g < 2000; g++)
				sim__park(sim, next_fresh++, now - 5 * SEC, NEVER);
		fake = sim__picture(sim, now);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &begin);
		assert_int_equal(trend__update(trend, &fake->picture, now), 0);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
		update_ms += elapsed_ms(&begin, &end);
		if (elapsed_ms(&begin, &end) > slowest_ms)
			slowest_ms = elapsed_ms(&begin, &end);
		fake_picture__free(fake);
		for (size_t t = 0; t < sim->thread_count; t++)
			if (sim->threads[t].wake_ns > now)
				sim->threads[kept++] = sim->threads[t];
		sim->thread_count = kept;
		trend__summary(trend, &summary);
		assert_true(summary.groups <= GROUPS);
		assert_true(summary.memory_bytes <= trend__memory_bound(&opts));
	}
	rss_after = max_rss_kib();
	sim__free(sim);
	malloc_trim(0);
	rss_with = rss_kib();
	trend__free(trend);
	malloc_trim(0);
	rss_without = rss_kib();
	assert_true(trend__memory_bound(&opts) <= 16u << 20);
	assert_int_equal(summary.groups, GROUPS);
	assert_true(summary.other_groups > 0);
	assert_true(summary.folded_total > 0);
	assert_true(summary.evicted_total > 0);
	assert_true(summary.suspects >= LEAKING);
	print_message("trend memory: %zu bytes accounted for %zu groups (bound %zu); "
		      "getrusage max RSS %ld KiB before, %ld KiB after (simulator included); "
		      "resident %ld KiB with the engine, %ld KiB after trend__free; "
		      "trend__update %.1f ms CPU average, %.1f ms at most; %zu suspects, "
		      "%zu groups in other, %llu evicted\n",
		      summary.memory_bytes, summary.groups, trend__memory_bound(&opts), rss_before,
		      rss_after, rss_with, rss_without, update_ms / INTERVALS, slowest_ms,
		      summary.suspects, summary.other_groups,
		      (unsigned long long)summary.evicted_total);
	assert_true(rss_with - rss_without <= (long)(trend__memory_bound(&opts) / 1024) * 5 / 4);
}

/* One thread leaks every 100 ms next to a healthy pool, as the demo's leaky. */
static void test_linear_growth_flagged(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t leak = sim__group(sim, 100, "cond wait", false);
	size_t workers = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	struct trend_proc_stats proc;
	const struct trend_group_stats *suspects;
	struct pool pool;
	__u64 arrival = T0, flagged_at = 0;

	(void)state;
	pool__start(sim, &pool, workers, 4, 200 * MS, 3 * SEC, T0);
	for (__u64 now = T0; now <= T0 + 3 * MIN; now += 2 * SEC) {
		for (; arrival <= now; arrival += 100 * MS)
			sim__park(sim, leak, arrival, NEVER);
		pool__advance(sim, &pool, now);
		sim__update(sim, trend, now);
		assert_low(trend, sim, workers, 0);
		if (now == T0)
			continue; /* its first member is not a second old yet */
		stats = group_stats(trend, sim, leak);
		if (stats.suspect && !flagged_at)
			flagged_at = now;
		if (now - T0 >= 30 * SEC) {
			assert_true(stats.suspect);
			assert_true(stats.slope_per_min > 600 * 0.95);
			assert_true(stats.slope_per_min < 600 * 1.05);
		}
	}
	assert_true(flagged_at && flagged_at - T0 <= 30 * SEC);
	assert_true(stats.score > 0.9);
	assert_true(stats.fit_r2 > 0.99);
	assert_true(stats.survivor_fraction == 1.0);
	assert_int_equal(stats.woke_total, 0);
	assert_int_equal(stats.seen_total, stats.count_now);
	assert_string_equal(stats.reason, "cond wait");
	assert_non_null(strstr(stats.explanation,
			       "threads/min parked in cond wait with no timeout"));
	assert_non_null(strstr(stats.explanation, "none of the 1,"));
	assert_int_equal(trend__suspects(trend, &suspects), 1);
	assert_true(suspects[0].signature == sim->groups[leak].signature);
	assert_string_equal(suspects[0].explanation, stats.explanation);
	/* the pool's members come and go: counted as woken */
	stats = group_stats(trend, sim, workers);
	assert_true(stats.woke_total > 20);
	assert_false(stats.suspect);
	/* the process series sees the same growth in parked and total threads */
	assert_int_equal(trend__proc(trend, 100, &proc), 0);
	assert_true(proc.parked_slope_per_min > 570 && proc.parked_slope_per_min < 630);
	assert_true(proc.threads_slope_per_min > 570 && proc.threads_slope_per_min < 630);
	assert_true(proc.parked_fit_r2 > 0.99);
	assert_true(proc.parked_growth > 0.9);
	assert_int_equal(proc.threads_now, proc.parked_now + 1);
	assert_int_equal(trend__proc(trend, 4242, &proc), -ENOENT);
	print_message("linear: flagged after %llus, slope %.1f/min, score %.2f: %s\n",
		      (unsigned long long)((flagged_at - T0) / SEC), suspects[0].slope_per_min,
		      suspects[0].score, suspects[0].explanation);
	trend__free(trend);
	sim__free(sim);
}

/*
 * What parkwatch promises with no options: the 100 ms leak next to a
 * healthy pool is flagged within 30 s of history, whether pictures come
 * every 500 ms, every 2 s (the CLI's default) or every 5 s, and not before
 * min_span (20 s): until then it is only watched.
 */
static void test_leak_flagged_within_30s_by_default(void **state)
{
	static const __u64 intervals[] = { 500 * MS, 2 * SEC, 5 * SEC };

	(void)state;
	for (size_t v = 0; v < sizeof(intervals) / sizeof(intervals[0]); v++) {
		struct trend *trend = trend__new(NULL);
		struct sim *sim = sim__new();
		size_t leak = sim__group(sim, 100, "cond wait", false);
		size_t workers = sim__group(sim, 100, "cond wait", false);
		struct trend_group_stats stats;
		struct pool pool;
		__u64 arrival = T0, flagged_at = 0;

		assert_non_null(trend);
		pool__start(sim, &pool, workers, 4, 200 * MS, 3 * SEC, T0);
		for (__u64 now = T0; now <= T0 + 60 * SEC; now += intervals[v]) {
			for (; arrival <= now; arrival += 100 * MS)
				sim__park(sim, leak, arrival, NEVER);
			pool__advance(sim, &pool, now);
			sim__update(sim, trend, now);
			assert_low(trend, sim, workers, 0);
			if (trend__group(trend, sim->groups[leak].signature, &stats))
				continue; /* its first member is not a second old yet */
			if (now - T0 < 20 * SEC) {
				assert_false(stats.suspect);
				assert_non_null(strstr(stats.explanation, "watching"));
			}
			if (stats.suspect && !flagged_at)
				flagged_at = now;
			if (flagged_at)
				assert_true(stats.suspect); /* and stays one */
		}
		assert_true(flagged_at && flagged_at - T0 <= 30 * SEC);
		print_message("default options, a picture every %llu ms: flagged after %.1f s\n",
			      (unsigned long long)(intervals[v] / MS),
			      (double)(flagged_at - T0) / SEC);
		trend__free(trend);
		sim__free(sim);
	}
}

/* 5 threads, then 50 more at once that never wake, then nothing: a step. */
static void test_step_then_flat(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t group = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	bool said_steps = false;
	double highest = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		sim__park(sim, group, T0 - 30 * SEC, NEVER);
	for (__u64 now = T0; now <= T0 + 10 * MIN; now += 2 * SEC) {
		if (now == T0 + 90 * SEC)
			for (int i = 0; i < 50; i++)
				sim__park(sim, group, now - 1500 * MS, NEVER);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, group, highest);
		stats = group_stats(trend, sim, group);
		said_steps |= strstr(stats.explanation, "steps") != NULL;
	}
	assert_true(said_steps);
	assert_int_equal(stats.count_now, 55);
	assert_true(stats.survivor_fraction == 1.0); /* only the growth terms save it */
	print_message("step: highest score %.2f\n", highest);
	trend__free(trend);
	sim__free(sim);
}

/* A pool that grows by a worker every second for 15 s, all parked with no
 * timeout, and is reaped back to 4 every 30 s. */
static void test_sawtooth_pool(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t group = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	double highest = 0;
	size_t peak = 0;

	(void)state;
	for (int i = 0; i < 4; i++)
		sim__park(sim, group, T0 - 30 * SEC, NEVER);
	/*
	 * Teeth shorter than the 20 s minimum history: a pool whose growth goes
	 * longer than that without a single wake looks like a leak until its
	 * first wake (the README says to raise --leak-min-span for such pools).
	 */
	for (__u64 now = T0; now <= T0 + 10 * MIN; now += SEC) {
		__u64 cycle = (now - T0) / (30 * SEC) * (30 * SEC) + T0;

		if (now - cycle < 15 * SEC)
			sim__park(sim, group, now - 500 * MS, cycle + 15 * SEC);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, group, highest);
		stats = group_stats(trend, sim, group);
		peak = stats.count_now > peak ? stats.count_now : peak;
	}
	assert_true(peak >= 15); /* the saw really had teeth */
	assert_true(stats.woke_total >= 150);
	print_message("sawtooth: highest score %.2f\n", highest);
	trend__free(trend);
	sim__free(sim);
}

/* Every 90 s, 50 threads block on a lock at once and drain over 20 s. */
static void test_bursts_that_drain(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t group = sim__group(sim, 100, "mutex lock", false);
	struct trend_group_stats stats;
	double highest = 0;
	size_t peak = 0;

	(void)state;
	for (__u64 now = T0; now <= T0 + 10 * MIN; now += 2 * SEC) {
		if ((now - T0) % (90 * SEC) == 10 * SEC)
			for (int i = 0; i < 50; i++)
				sim__park(sim, group, now - 1900 * MS, now + SEC + i * 400 * MS);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, group, highest);
		if (trend__group(trend, sim->groups[group].signature, &stats) == 0)
			peak = stats.count_now > peak ? stats.count_now : peak;
	}
	assert_int_equal(peak, 50);
	print_message("bursts: highest score %.2f\n", highest);
	trend__free(trend);
	sim__free(sim);
}

/* 100 idle threads that never wake (survivors, no timeout, oldest aging)
 * plus 10 that come and go: only the count's lack of growth keeps it low. */
static void test_noise_around_constant(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t group = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	struct pool churn;
	double highest = 0;
	size_t low = ~(size_t)0, high = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		sim__park(sim, group, T0 - 60 * SEC, NEVER);
	pool__start(sim, &churn, group, 10, 500 * MS, 20 * SEC, T0);
	for (__u64 now = T0; now <= T0 + 15 * MIN; now += 2 * SEC) {
		pool__advance(sim, &churn, now);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, group, highest);
		stats = group_stats(trend, sim, group);
		low = stats.count_now < low ? stats.count_now : low;
		high = stats.count_now > high ? stats.count_now : high;
	}
	assert_true(high - low >= 4); /* there was noise */
	assert_true(stats.survivor_fraction > 0.85);
	assert_true(stats.age_growth > 0.99);
	print_message("noise %zu..%zu: highest score %.2f (%s)\n", low, high, highest,
		      stats.explanation);
	trend__free(trend);
	sim__free(sim);
}

/* A thread sleeping 5 s in a loop, and an event loop idle in epoll_wait. */
static void test_ticker_and_idle_loop(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t ticker = sim__group(sim, 100, "sleep", true);
	size_t loop = sim__group(sim, 100, "epoll wait", false);
	struct trend_group_stats stats;
	struct pool tick;
	double highest = 0;

	(void)state;
	sim__park(sim, loop, T0 - 5 * MIN, NEVER);
	pool__start(sim, &tick, ticker, 1, 5 * SEC, 5 * SEC, T0);
	for (__u64 now = T0; now <= T0 + 10 * MIN; now += 2 * SEC) {
		pool__advance(sim, &tick, now);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, ticker, highest);
		highest = assert_low(trend, sim, loop, highest);
	}
	stats = group_stats(trend, sim, loop);
	assert_true(stats.score == 0);
	assert_non_null(strstr(stats.explanation, "not growing"));
	stats = group_stats(trend, sim, ticker);
	assert_true(stats.woke_total >= 100);
	trend__free(trend);
	sim__free(sim);
}

/* One thread every 2 minutes: missed by the 5-minute default (fewer than 3
 * threads a window), flagged with an hour's window. */
static void test_very_slow_growth(void **state)
{
	struct trend *short_window = new_trend(0);
	struct trend *long_window = new_trend(60 * MIN);
	struct sim *sim = sim__new();
	size_t group = sim__group(sim, 100, "semacquire", false);
	struct trend_group_stats stats;
	__u64 arrival = T0, flagged_at = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		sim__park(sim, group, T0 - 10 * MIN, NEVER);
	for (__u64 now = T0; now <= T0 + 3 * 60 * MIN; now += 10 * SEC) {
		struct fake_picture *fake;

		for (; arrival <= now; arrival += 2 * MIN)
			sim__park(sim, group, arrival, NEVER);
		fake = sim__picture(sim, now);
		assert_int_equal(trend__update(short_window, &fake->picture, now), 0);
		assert_int_equal(trend__update(long_window, &fake->picture, now), 0);
		fake_picture__free(fake);
		assert_false(is_suspect(short_window, sim->groups[group].signature));
		stats = group_stats(long_window, sim, group);
		if (stats.suspect && !flagged_at)
			flagged_at = now;
	}
	/* not before min_rise (3) threads of growth were seen, 6 minutes */
	assert_true(flagged_at >= T0 + 6 * MIN && flagged_at - T0 <= 30 * MIN);
	assert_true(stats.suspect);
	assert_true(stats.slope_per_min > 0.5 * 0.95 && stats.slope_per_min < 0.5 * 1.05);
	assert_true(stats.span_ns > 55 * MIN);
	stats = group_stats(short_window, sim, group);
	assert_non_null(strstr(stats.explanation, "slowly"));
	print_message("very slow: flagged after %llu min, slope %.3f/min: %s\n",
		      (unsigned long long)((flagged_at - T0) / MIN), stats.slope_per_min,
		      stats.explanation);
	trend__free(short_window);
	trend__free(long_window);
	sim__free(sim);
}

/* Two groups show up 2.5 minutes in: a leak of one a second and a burst of
 * 50 that stays.  The leak is flagged from its own history. */
static void test_groups_appearing_mid_window(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t flat = sim__group(sim, 100, "cond wait", false);
	size_t leak = sim__group(sim, 100, "IO wait (socket)", false);
	size_t burst = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	__u64 appear = T0 + 150 * SEC, arrival = appear, flagged_at = 0;
	double highest = 0;

	(void)state;
	for (int i = 0; i < 8; i++)
		sim__park(sim, flat, T0 - MIN, NEVER);
	for (__u64 now = T0; now <= T0 + 6 * MIN; now += 2 * SEC) {
		for (; now >= appear && arrival <= now; arrival += 1 * SEC)
			sim__park(sim, leak, arrival, NEVER);
		if (now == appear)
			for (int i = 0; i < 50; i++)
				sim__park(sim, burst, now - 1500 * MS, NEVER);
		sim__update(sim, trend, now);
		highest = assert_low(trend, sim, flat, highest);
		if (now <= appear)
			continue;
		highest = assert_low(trend, sim, burst, highest);
		stats = group_stats(trend, sim, leak);
		if (stats.suspect && !flagged_at) {
			flagged_at = now;
			assert_int_equal(stats.count_first, 0); /* it started from nothing */
		}
	}
	assert_true(flagged_at && flagged_at - appear <= 30 * SEC);
	stats = group_stats(trend, sim, leak);
	assert_true(stats.suspect);
	assert_true(stats.slope_per_min > 60 * 0.95 && stats.slope_per_min < 60 * 1.05);
	assert_non_null(strstr(stats.explanation, "IO wait (socket)"));
	print_message("mid-window: flagged %llus after appearing: %s\n",
		      (unsigned long long)((flagged_at - appear) / SEC), stats.explanation);
	trend__free(trend);
	sim__free(sim);
}

/*
 * Three queues that grow steadily, with no timeout, but whose members are
 * served: not leaks.  A is served first come first served; B is the same
 * with one stuck member, so its oldest member ages with the wall clock and
 * only the survivors tell; C works off an old backlog oldest first while new
 * requests pile up faster, so most members of the window's start are still
 * there and only the oldest member's age tells.
 */
static void test_served_backlogs(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t fifo = sim__group(sim, 100, "mutex lock", false);
	size_t stuck = sim__group(sim, 100, "mutex lock", false);
	size_t backlog = sim__group(sim, 100, "semacquire", false);
	struct trend_group_stats stats;
	__u64 next_fifo = 0, next_backlog = 0;
	double highest = 0;

	(void)state;
	sim__park(sim, stuck, T0 - MIN, NEVER);
	for (__u64 i = 1; i <= 200; i++) /* 3 s apart, the oldest served first every 4 s */
		sim__park(sim, backlog, T0 - i * 3 * SEC, T0 + (201 - i) * 4 * SEC);
	for (__u64 now = T0; now <= T0 + 10 * MIN; now += 2 * SEC) {
		/* A and B: one arrives every 400 ms, one is served every 600 ms */
		for (; T0 + next_fifo * 400 * MS <= now; next_fifo++) {
			__u64 arrival = T0 + next_fifo * 400 * MS;
			__u64 served = T0 + next_fifo * 600 * MS + 2 * SEC;

			sim__park(sim, fifo, arrival, served);
			sim__park(sim, stuck, arrival, served);
		}
		/* C: one a second, served after the old backlog */
		for (; T0 + next_backlog * SEC <= now; next_backlog++)
			sim__park(sim, backlog, T0 + next_backlog * SEC,
				  T0 + 20 * MIN + next_backlog * 4 * SEC);
		sim__update(sim, trend, now);
		for (size_t g = fifo; g <= backlog; g++)
			highest = assert_low(trend, sim, g, highest);
	}
	for (size_t g = fifo; g <= backlog; g++) { /* growth alone would have flagged them */
		stats = group_stats(trend, sim, g);
		assert_true(stats.slope_per_min > 40);
		assert_true(stats.fit_r2 > 0.95 && stats.steadiness > 0.8);
	}
	stats = group_stats(trend, sim, fifo);
	assert_true(stats.survivor_fraction < 0.1 && stats.age_growth < 0.5);
	assert_non_null(strstr(stats.explanation, "members wake"));
	stats = group_stats(trend, sim, stuck);
	assert_true(stats.survivor_fraction < 0.1 && stats.age_growth > 0.99);
	assert_non_null(strstr(stats.explanation, "members wake"));
	stats = group_stats(trend, sim, backlog);
	assert_true(stats.survivor_fraction > 0.75 && stats.age_growth < 0.5);
	assert_non_null(strstr(stats.explanation, "oldest members wake"));
	print_message("served backlogs: highest score %.2f\n", highest);
	trend__free(trend);
	sim__free(sim);
}

/* The same growth in a wait with a timeout scores lower. */
static void test_timed_wait_scores_lower(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t untimed = sim__group(sim, 100, "cond wait", false);
	size_t timed = sim__group(sim, 100, "cond wait", true);
	struct trend_group_stats with, without;
	__u64 arrival = T0;

	(void)state;
	for (__u64 now = T0; now <= T0 + 3 * MIN; now += 2 * SEC) {
		for (; arrival <= now; arrival += 1 * SEC) {
			sim__park(sim, untimed, arrival, NEVER);
			sim__park(sim, timed, arrival, arrival + 60 * MIN);
		}
		sim__update(sim, trend, now);
		if (now == T0)
			continue;
		with = group_stats(trend, sim, timed);
		without = group_stats(trend, sim, untimed);
		assert_true(with.score <= without.score);
	}
	assert_true(without.suspect);
	assert_true(without.score > 0.9);
	assert_true(with.score < without.score * 0.7);
	assert_true(with.slope_per_min > 57 && with.slope_per_min < 63);
	assert_non_null(strstr(with.explanation, "with a timeout"));
	print_message("timed %.2f vs untimed %.2f: %s\n", with.score, without.score,
		      with.explanation);
	trend__free(trend);
	sim__free(sim);
}

/* A group that vanishes is kept (count 0) for retire_after, then forgotten. */
static void test_retirement(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t gone = sim__group(sim, 100, "cond wait", false);
	size_t stays = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	struct trend_summary summary;
	__u64 vanished = T0 + 60 * SEC, last_present = vanished - 10 * SEC, now;

	(void)state;
	sim__park(sim, stays, T0 - MIN, NEVER);
	for (int i = 0; i < 7; i++)
		sim__park(sim, gone, T0 - 10 * SEC, vanished);
	for (now = T0; now < last_present + 5 * MIN; now += 10 * SEC) {
		sim__update(sim, trend, now);
		if (now >= vanished) {
			stats = group_stats(trend, sim, gone);
			assert_int_equal(stats.count_now, 0);
			assert_int_equal(stats.woke_total, 7);
			assert_int_equal(stats.seen_total, 7);
			assert_non_null(strstr(stats.explanation, "gone"));
		}
	}
	sim__update(sim, trend, now); /* the window's length after it was last seen */
	assert_int_equal(trend__group(trend, sim->groups[gone].signature, &stats), -ENOENT);
	assert_int_equal(trend__group(trend, sim->groups[stays].signature, &stats), 0);
	trend__summary(trend, &summary);
	assert_int_equal(summary.retired_total, 1);
	assert_int_equal(summary.groups, 1);
	/* it comes back: a new history that starts from zero */
	sim__park(sim, gone, now + 5 * SEC, NEVER);
	sim__update(sim, trend, now + 10 * SEC);
	stats = group_stats(trend, sim, gone);
	assert_int_equal(stats.count_first, 0);
	assert_int_equal(stats.count_now, 1);
	assert_int_equal(stats.seen_total, 1);
	trend__free(trend);
	sim__free(sim);
}

/* A pid that names a later process (another start time) starts afresh:
 * the leak of the process before is not the newcomer's history. */
static void test_reused_pid_starts_afresh(void **state)
{
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t leak = sim__group(sim, 100, "cond wait", false);
	struct trend_group_stats stats;
	struct trend_proc_stats proc;
	__u64 now, arrival = T0;

	(void)state;
	sim->start_ticks = 1000;
	for (now = T0; now <= T0 + MIN; now += 2 * SEC) {
		for (; arrival <= now; arrival += 100 * MS)
			sim__park(sim, leak, arrival, NEVER);
		sim__update(sim, trend, now);
	}
	assert_true(group_stats(trend, sim, leak).suspect);
	/* the process exits, and its pid goes to one parked the same way */
	sim->thread_count = 0;
	sim->start_ticks = 2000;
	sim__park(sim, leak, now, NEVER);
	sim__update(sim, trend, now + 2 * SEC);
	stats = group_stats(trend, sim, leak);
	assert_int_equal(stats.seen_total, 1);
	assert_int_equal(stats.count_now, 1);
	assert_false(stats.suspect);
	assert_int_equal(trend__proc(trend, 100, &proc), 0);
	assert_int_equal(proc.span_ns, 0);
	assert_int_equal(proc.parked_now, 1);
	trend__free(trend);
	sim__free(sim);
}

/* With room for 10 groups, the 10 largest are tracked and the rest fold
 * into "other"; groups that vanish make room for waiting ones. */
static void test_cap_folds_into_other(void **state)
{
	struct trend_opts opts;
	struct trend *trend;
	struct sim *sim = sim__new();
	struct trend_group_stats stats;
	struct trend_summary summary;
	size_t groups[15];
	__u64 now = T0;

	(void)state;
	trend__default_opts(&opts);
	opts.max_groups = 10;
	trend = trend__new(&opts);
	assert_non_null(trend);
	for (size_t g = 0; g < 15; g++) { /* group g has 20 - g members */
		groups[g] = sim__group(sim, 100, "cond wait", false);
		for (size_t m = 0; m < 20 - g; m++)
			sim__park(sim, groups[g], T0 - 10 * SEC, g < 3 ? T0 + 5 * SEC : NEVER);
	}
	sim__update(sim, trend, now);
	trend__summary(trend, &summary);
	assert_int_equal(summary.groups, 10);
	assert_int_equal(summary.other_groups, 5);
	assert_int_equal(summary.other_threads, 10 + 9 + 8 + 7 + 6);
	assert_int_equal(summary.folded_total, 5);
	assert_int_equal(trend__group(trend, sim->groups[groups[9]].signature, &stats), 0);
	assert_int_equal(trend__group(trend, sim->groups[groups[10]].signature, &stats), -ENOENT);
	/* groups 0-2 vanish: their slots go to the largest waiting groups 10-12 */
	now += 10 * SEC;
	sim__update(sim, trend, now);
	trend__summary(trend, &summary);
	assert_int_equal(summary.groups, 10);
	assert_int_equal(summary.evicted_total, 3);
	assert_int_equal(summary.other_groups, 2);
	assert_int_equal(summary.other_threads, 7 + 6);
	assert_int_equal(summary.folded_total, 7);
	assert_int_equal(trend__group(trend, sim->groups[groups[0]].signature, &stats), -ENOENT);
	assert_int_equal(trend__group(trend, sim->groups[groups[12]].signature, &stats), 0);
	/* it was in the last picture, folded: its history can't start from zero */
	assert_int_equal(stats.count_first, 8);
	assert_int_equal(trend__group(trend, sim->groups[groups[13]].signature, &stats), -ENOENT);
	assert_true(summary.memory_bytes <= trend__memory_bound(&opts));
	trend__free(trend);
	sim__free(sim);
}

/*
 * A group that is not parked (running goroutines, which Go's profiles count
 * and so the picture groups) is no evidence of a leak however it grows: it
 * is never tracked.  Its units still count for their process.
 */
static void test_groups_not_parked_skipped(void **state)
{
	enum { RUNNING_SIGNATURE = 0xabcdef };
	struct trend *trend = new_trend(0);
	struct sim *sim = sim__new();
	size_t leak = sim__group(sim, 100, "chan receive", false);
	struct trend_group_stats stats;
	struct trend_summary summary;
	struct trend_proc_stats proc;
	size_t running = 0;
	__u64 arrival = T0;

	(void)state;
	for (__u64 now = T0; now <= T0 + 3 * MIN; now += 2 * SEC) {
		struct fake_picture *fake;
		struct pw_unit *units;
		const struct pw_unit **members;
		struct pw_group *group;

		for (; arrival <= now; arrival += 1 * SEC)
			sim__park(sim, leak, arrival, NEVER);
		fake = sim__picture(sim, now);
		running += 5;
		units = calloc(running, sizeof(*units));
		members = calloc(running, sizeof(*members));
		assert_non_null(units);
		assert_non_null(members);
		for (size_t i = 0; i < running; i++) {
			units[i].kind = PW_UNIT_GOROUTINE;
			units[i].pid = 100;
			units[i].id = 1000000 + i;
			units[i].state = PW_STATE_RUNNING;
			units[i].state_name = "running";
			units[i].wait.reason = "running";
			members[i] = &units[i];
		}
		/* the largest group: first, as pictures sort them */
		memmove(&fake->groups[1], &fake->groups[0],
			fake->group_count * sizeof(fake->groups[0]));
		group = &fake->groups[0];
		memset(group, 0, sizeof(*group));
		group->signature = RUNNING_SIGNATURE;
		group->pid = 100;
		group->kind = PW_UNIT_GOROUTINE;
		group->reason = "running";
		group->count = running;
		group->members = members;
		fake->group_count++;
		fake->picture.group_count++;
		assert_int_equal(fake->picture.proc_count, 1);
		fake->procs[0].unit_kind = PW_UNIT_GOROUTINE;
		fake->procs[0].units += running;
		assert_int_equal(trend__update(trend, &fake->picture, now), 0);
		memset(units, 0x5a, running * sizeof(*units));
		free(units);
		free(members);
		fake_picture__free(fake);
		assert_int_equal(trend__group(trend, RUNNING_SIGNATURE, &stats), -ENOENT);
		assert_false(is_suspect(trend, RUNNING_SIGNATURE));
	}
	trend__summary(trend, &summary);
	assert_int_equal(summary.groups, 1);
	assert_int_equal(summary.other_groups, 0);
	assert_true(summary.folded_total == 0);
	/* the parked one beside it is judged as ever */
	stats = group_stats(trend, sim, leak);
	assert_true(stats.suspect);
	assert_true(stats.slope_per_min > 57 && stats.slope_per_min < 63);
	/* the process's series sees every unit, parked or not */
	assert_int_equal(trend__proc(trend, 100, &proc), 0);
	assert_true(proc.parked_slope_per_min > 57 && proc.parked_slope_per_min < 63);
	assert_true(proc.threads_slope_per_min > 200 && proc.threads_slope_per_min < 220);
	trend__free(trend);
	sim__free(sim);
}

static void test_opts_and_errors(void **state)
{
	struct trend_opts opts;
	struct trend *trend;
	struct pw_picture empty = { 0 };
	const struct trend_group_stats *suspects;

	(void)state;
	trend__free(NULL);
	trend__default_opts(&opts);
	opts.min_fit = 1.5;
	errno = 0;
	assert_null(trend__new(&opts));
	assert_int_equal(errno, EINVAL);
	trend__default_opts(&opts);
	opts.min_span_ns = opts.window_ns + 1;
	assert_null(trend__new(&opts));
	trend__default_opts(&opts);
	opts.max_groups = 0;
	assert_null(trend__new(&opts));
	trend = trend__new(NULL);
	assert_non_null(trend);
	assert_int_equal(trend__update(trend, &empty, T0), 0);
	assert_int_equal(trend__update(trend, &empty, T0), -EINVAL); /* time must advance */
	assert_int_equal(trend__update(trend, NULL, T0 + SEC), -EINVAL);
	assert_int_equal(trend__update(trend, &empty, T0 + SEC), 0);
	assert_int_equal(trend__suspects(trend, &suspects), 0);
	assert_int_equal(trend__group(trend, 1234, &(struct trend_group_stats){ 0 }), -ENOENT);
	trend__free(trend);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first, so that its max RSS figures are its own */
		cmocka_unit_test(test_memory_10000_groups),
		cmocka_unit_test(test_linear_growth_flagged),
		cmocka_unit_test(test_leak_flagged_within_30s_by_default),
		cmocka_unit_test(test_step_then_flat),
		cmocka_unit_test(test_sawtooth_pool),
		cmocka_unit_test(test_bursts_that_drain),
		cmocka_unit_test(test_noise_around_constant),
		cmocka_unit_test(test_ticker_and_idle_loop),
		cmocka_unit_test(test_very_slow_growth),
		cmocka_unit_test(test_groups_appearing_mid_window),
		cmocka_unit_test(test_served_backlogs),
		cmocka_unit_test(test_timed_wait_scores_lower),
		cmocka_unit_test(test_retirement),
		cmocka_unit_test(test_reused_pid_starts_afresh),
		cmocka_unit_test(test_cap_folds_into_other),
		cmocka_unit_test(test_groups_not_parked_skipped),
		cmocka_unit_test(test_opts_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
