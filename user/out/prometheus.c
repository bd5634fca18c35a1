// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Prometheus metrics (prometheus.h). */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "model/classify.h"
#include "model/totals.h"
#include "model/pw_stats.h"
#include "model/waitfor.h"
#include "out/prometheus.h"
#include "util/gaveup.h"
#include "util/u64map.h"
#include "util/units.h"
#include "util/utf8.h"


void prometheus__label_value(FILE *out, const char *value)
{
	const char *c = value ? value : "";
	size_t length;
	__u32 codepoint;

	fputc('"', out);
	for (; (length = utf8__next(c, &codepoint)); c += length) {
		if (codepoint == '\\' || codepoint == '"')
			fprintf(out, "\\%c", (char)codepoint);
		else if (codepoint == '\n')
			fputs("\\n", out);
		else if (codepoint == UTF8_ILL_FORMED) /* a scrape with one fails whole */
			utf8__put(out, UTF8_REPLACEMENT);
		else
			fwrite(c, 1, length, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int by_parked_desc(const void *a, const void *b)
{
	const struct pw_process *left = *(const struct pw_process *const *)a;
	const struct pw_process *right = *(const struct pw_process *const *)b;

	if (left->parked != right->parked)
		return left->parked < right->parked ? 1 : -1;
	return left->pid - right->pid;
}

/* The processes that get per-pid series: all of them up to top_k, most
 * parked threads first (with -p the picture holds only the watched ones). */
static size_t chosen_procs(const struct pw_picture *picture, size_t top_k,
			   const struct pw_process ***out)
{
	const struct pw_process **procs;
	size_t count = picture ? picture->proc_count : 0;

	procs = calloc(count ? count : 1, sizeof(*procs));
	if (!procs)
		return 0;
	for (size_t i = 0; i < count; i++)
		procs[i] = &picture->procs[i];
	qsort(procs, count, sizeof(*procs), by_parked_desc);
	*out = procs;
	return count < top_k ? count : top_k;
}

/*
 * A process's labels, the same set on every per-process series: where it
 * runs adds no series (one value per pid), and an unknown one is "", which
 * Prometheus reads as no label.
 */
static void process_labels(FILE *out, pid_t pid, const struct pw_process *proc)
{
	const struct pw_cgroup *cgroup = proc ? &proc->cgroup : NULL;

	fprintf(out, "pid=\"%d\",comm=", pid);
	prometheus__label_value(out, proc ? proc->comm : "");
	fputs(",container=", out);
	prometheus__label_value(out, cgroup ? cgroup->container : NULL);
	fputs(",pod=", out);
	prometheus__label_value(out, cgroup ? cgroup->pod : NULL);
	fputs(",unit=", out);
	prometheus__label_value(out, cgroup ? cgroup->unit : NULL);
}

static void pid_labels(FILE *out, const struct pw_process *proc)
{
	process_labels(out, proc->pid, proc);
}

struct parked_series {
	const struct pw_process *proc;
	const char *reason;
	bool has_timeout;
	size_t count;
};

static bool emit_series(__u64 key, void *value, void *ctx)
{
	struct parked_series *series = value;
	FILE *out = ctx;

	(void)key;
	fputs("parkwatch_parked_threads{", out);
	pid_labels(out, series->proc);
	fputs(",reason=", out);
	prometheus__label_value(out, series->reason);
	fprintf(out, ",timeout=\"%s\"} %zu\n", picture__timeout_name(series->has_timeout),
		series->count);
	free(series);
	return false;
}

/* Groups split by stack: add them up per (pid, reason, timeout). */
static void write_parked(FILE *out, const struct pw_picture *picture,
			 const struct pw_process **procs, size_t count)
{
	struct u64map chosen = { 0 }, series_map = { 0 };

	family(out, "parkwatch_parked_threads", "gauge",
	       "Threads parked now (off CPU, not runnable), by process, wait reason and timeout.");
	for (size_t p = 0; p < count; p++)
		u64map__put(&chosen, (__u64)procs[p]->pid, (void *)procs[p]);
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = u64map__get(&chosen, (__u64)group->pid);
		struct parked_series *series;
		__u64 key;

		if (!proc || !group->parked)
			continue;
		key = hash__bytes(group->reason, strlen(group->reason),
				 (__u64)group->pid << 1 | group->has_timeout);
		series = u64map__get(&series_map, key);
		if (!series) {
			series = calloc(1, sizeof(*series));
			if (!series || u64map__put(&series_map, key, series)) {
				free(series);
				continue;
			}
			series->proc = proc;
			series->reason = group->reason;
			series->has_timeout = group->has_timeout;
		}
		series->count += group->count;
	}
	u64map__filter(&series_map, emit_series, out);
	u64map__clear(&series_map);
	u64map__clear(&chosen);
}

static void write_states(FILE *out, const struct pw_picture *picture,
			 const struct pw_process **procs, size_t count)
{
	family(out, "parkwatch_threads", "gauge", "Threads by process and scheduler state.");
	for (size_t p = 0; p < count; p++) {
		size_t by_state[PW_STATE__COUNT] = { 0 };

		for (size_t u = 0; u < picture->unit_count; u++) {
			const struct pw_unit *unit = &picture->units[u];

			if (unit->pid == procs[p]->pid && !(unit->go && unit->go->system))
				by_state[unit->state]++;
		}
		for (int s = 0; s < PW_STATE__COUNT; s++) {
			fputs("parkwatch_threads{", out);
			pid_labels(out, procs[p]);
			fputs(",state=", out);
			prometheus__label_value(out, pw_state_names[s]);
			fprintf(out, "} %zu\n", by_state[s]);
		}
	}
	family(out, "parkwatch_threads_all", "gauge",
	       "Threads of every watched process, by scheduler state.");
	for (int s = 0; s < PW_STATE__COUNT; s++) {
		fputs("parkwatch_threads_all{state=", out);
		prometheus__label_value(out, pw_state_names[s]);
		fprintf(out, "} %zu\n", picture->state_counts[s]);
	}
}

static size_t findings_of(const struct pw_picture *picture, pid_t pid,
			  bool (*counts)(const struct pw_finding *))
{
	size_t count = 0;

	for (size_t f = 0; f < picture->finding_count; f++)
		count += picture->findings[f].pid == pid && counts(&picture->findings[f]);
	return count;
}

static bool is_deadlock(const struct pw_finding *finding)
{
	return finding->kind == PW_FINDING_DEADLOCK || finding->kind == PW_FINDING_SELF_DEADLOCK;
}

/* A convoy whose head sleeps in IO, poll or epoll: a lock held across a
 * blocking call. */
static bool is_held_across_io(const struct pw_finding *finding)
{
	const struct pw_unit *head = finding->units[0];
	enum park_reason reason = head->wait.kernel_reason;

	return finding->kind == PW_FINDING_CONVOY && head->parked &&
	       (reason == PARK_REASON_IO || reason == PARK_REASON_POLL || reason == PARK_REASON_EPOLL);
}

struct owner_waiters {
	const struct pw_process *proc; /* the owner's */
	pid_t owner_tid;
	size_t waiters;
};

static int by_waiters_desc(const void *a, const void *b)
{
	const struct owner_waiters *left = a, *right = b;

	if (left->waiters != right->waiters)
		return left->waiters < right->waiters ? 1 : -1;
	if (left->proc->pid != right->proc->pid)
		return left->proc->pid - right->proc->pid;
	return left->owner_tid - right->owner_tid;
}

/* The top_k owners of chosen processes by the parked threads waiting for a
 * lock they hold (a process-shared lock's waiters from any process). */
static void write_lock_waiters(FILE *out, const struct pw_picture *picture, struct u64map *chosen,
			       size_t top_k)
{
	struct owner_waiters *owners = calloc(picture->unit_count ? picture->unit_count : 1,
					      sizeof(*owners));
	struct u64map index = { 0 };
	size_t count = 0;

	family(out, "parkwatch_lock_waiters", "gauge",
	       "Threads waiting for a lock held by owner_tid, for the owners with the most "
	       "(--metrics-top-k).");
	for (size_t u = 0; owners && u < picture->unit_count; u++) {
		const struct pw_unit *unit = &picture->units[u];
		pid_t pid = waitfor__owner_pid(unit);
		const struct pw_process *proc = u64map__get(chosen, (__u64)pid);
		__u64 key = (__u64)pid << 32 | (__u32)unit->blocked_on.owner_tid;
		uintptr_t slot;

		if (!unit->parked || !unit->blocked_on.owner_tid || !proc)
			continue;
		slot = (uintptr_t)u64map__get(&index, key);
		if (!slot) {
			if (u64map__put(&index, key, (void *)(uintptr_t)(count + 1)))
				continue;
			owners[count++] = (struct owner_waiters){ .proc = proc,
								  .owner_tid = unit->blocked_on.owner_tid };
			slot = count;
		}
		owners[slot - 1].waiters++;
	}
	qsort(owners, count, sizeof(*owners), by_waiters_desc);
	for (size_t i = 0; i < count && i < top_k; i++) {
		fputs("parkwatch_lock_waiters{", out);
		pid_labels(out, owners[i].proc);
		fprintf(out, ",owner_tid=\"%d\"} %zu\n", owners[i].owner_tid, owners[i].waiters);
	}
	u64map__clear(&index);
	free(owners);
}

/* What the wait-for graph found, per chosen process. */
static void write_locks(FILE *out, const struct pw_picture *picture,
			const struct pw_process **procs, size_t count, size_t top_k)
{
	struct u64map chosen = { 0 };

	family(out, "parkwatch_deadlocks", "gauge",
	       "Deadlocks and self-deadlocks among a process's threads, each held in two reads.");
	for (size_t p = 0; p < count; p++) {
		fputs("parkwatch_deadlocks{", out);
		pid_labels(out, procs[p]);
		fprintf(out, "} %zu\n", findings_of(picture, procs[p]->pid, is_deadlock));
	}
	family(out, "parkwatch_locks_held_across_io", "gauge",
	       "Threads parked in IO, poll or epoll wait while others wait for a lock they hold.");
	for (size_t p = 0; p < count; p++) {
		fputs("parkwatch_locks_held_across_io{", out);
		pid_labels(out, procs[p]);
		fprintf(out, "} %zu\n", findings_of(picture, procs[p]->pid, is_held_across_io));
	}
	for (size_t p = 0; p < count; p++)
		u64map__put(&chosen, (__u64)procs[p]->pid, (void *)procs[p]);
	write_lock_waiters(out, picture, &chosen, top_k);
	u64map__clear(&chosen);
}

/* Tier-1 histograms per kernel-side reason, all processes added up.  Bucket
 * bounds are every other log2 slot edge, so counts are exact. */
static void write_histograms(FILE *out, const struct park_hist *hists)
{
	family(out, "parkwatch_park_duration_seconds", "histogram",
	       "Length of parks that ended, by kernel-side wait reason.");
	for (int reason = PARK_REASON_FUTEX; hists && reason < PARK_REASON__COUNT; reason++) {
		const struct park_hist *hist = &hists[reason];
		const char *name = classify__park_reason_name(reason);
		__u64 count = hist->count, total_ns = hist->total_ns, cumulative = 0;
		const __u64 *slots = hist->slots;

		if (!count)
			continue;
		/* slot s holds [2^s, 2^(s+1)) ns: bucket le=2^k ns holds slots < k */
		for (int s = 0; s < PARK_HIST_SLOTS; s++) {
			cumulative += slots[s];
			if (s % 2 == 1 && s >= 9 && s < PARK_HIST_SLOTS - 1) {
				fputs("parkwatch_park_duration_seconds_bucket{reason=", out);
				prometheus__label_value(out, name);
				fprintf(out, ",le=\"%.9g\"} %llu\n", (double)(1ULL << (s + 1)) / NSEC_PER_SEC,
					cumulative);
			}
		}
		fputs("parkwatch_park_duration_seconds_bucket{reason=", out);
		prometheus__label_value(out, name);
		fprintf(out, ",le=\"+Inf\"} %llu\n", count);
		fputs("parkwatch_park_duration_seconds_sum{reason=", out);
		prometheus__label_value(out, name);
		fprintf(out, "} %.9f\n", (double)total_ns / NSEC_PER_SEC);
		fputs("parkwatch_park_duration_seconds_count{reason=", out);
		prometheus__label_value(out, name);
		fprintf(out, "} %llu\n", count);
	}
	family(out, "parkwatch_parked_seconds_total", "counter",
	       "Time spent in parks that ended, by kernel-side wait reason.");
	for (int reason = PARK_REASON_FUTEX; hists && reason < PARK_REASON__COUNT; reason++) {
		__u64 total_ns = hists[reason].total_ns;

		fputs("parkwatch_parked_seconds_total{reason=", out);
		prometheus__label_value(out, classify__park_reason_name(reason));
		fprintf(out, "} %.9f\n", (double)total_ns / NSEC_PER_SEC);
	}
}

static void suspect_labels(FILE *out, const struct trend_group_stats *stats,
			   const struct pw_picture *picture)
{
	const struct pw_process *proc = picture__process(picture, stats->pid);
	const struct symbol_frame *frame = NULL;
	char where[192] = "";

	for (size_t g = 0; g < picture->group_count && !frame; g++)
		if (picture->groups[g].signature == stats->signature)
			frame = picture->groups[g].where;
	if (frame)
		snprintf(where, sizeof(where), "%s %s:%d", frame->function ? frame->function : "??",
			 frame->file ? frame->file : "?", frame->line);
	fputc('{', out);
	process_labels(out, stats->pid, proc);
	fputs(",reason=", out);
	prometheus__label_value(out, stats->reason);
	fprintf(out, ",timeout=\"%s\",where=", picture__timeout_name(stats->has_timeout));
	prometheus__label_value(out, where);
	fputs("}", out);
}

/* Suspect groups (bounded) and every chosen process's parked-thread growth. */
static void write_trends(FILE *out, const struct metrics_input *in,
			 const struct pw_process **procs, size_t count)
{
	const struct trend_group_stats *suspects = NULL;
	size_t suspect_count = trend__suspects(in->trend, &suspects);
	struct trend_proc_stats proc_stats;
	struct trend_summary summary;

	if (suspect_count > PROMETHEUS_MAX_SUSPECTS)
		suspect_count = PROMETHEUS_MAX_SUSPECTS;
	family(out, "parkwatch_leak_suspect_threads", "gauge",
	       "Threads in a group suspected of leaking (its count keeps rising, its members "
	       "never wake).");
	for (size_t i = 0; i < suspect_count; i++) {
		fputs("parkwatch_leak_suspect_threads", out);
		suspect_labels(out, &suspects[i], in->picture);
		fprintf(out, " %zu\n", suspects[i].count_now);
	}
	family(out, "parkwatch_leak_score", "gauge", "Leak score of a suspect group, 0 to 1.");
	for (size_t i = 0; i < suspect_count; i++) {
		fputs("parkwatch_leak_score", out);
		suspect_labels(out, &suspects[i], in->picture);
		fprintf(out, " %.3f\n", suspects[i].score);
	}
	trend__summary(in->trend, &summary);
	family(out, "parkwatch_trend_groups", "gauge",
	       "Groups the leak trend tracks (at most 10,000; more are counted as folded).");
	fprintf(out, "parkwatch_trend_groups %zu\n", summary.groups);
	family(out, "parkwatch_trend_folded_total", "counter",
	       "Group observations past the trend's group cap, not tracked.");
	fprintf(out, "parkwatch_trend_folded_total %llu\n", summary.folded_total);
	family(out, "parkwatch_parked_threads_growth_per_minute", "gauge",
	       "Least-squares growth of a process's parked threads over the trend window.");
	for (size_t p = 0; p < count; p++) {
		if (trend__proc(in->trend, procs[p]->pid, &proc_stats))
			continue;
		fputs("parkwatch_parked_threads_growth_per_minute{", out);
		pid_labels(out, procs[p]);
		fprintf(out, "} %.3f\n", proc_stats.parked_slope_per_min);
	}
}

static size_t open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t count = 0;

	if (!dir)
		return 0;
	while (readdir(dir))
		count++;
	closedir(dir);
	return count > 3 ? count - 3 : 0; /* ".", ".." and the directory's own fd */
}

static double process_start_seconds(void)
{
	char buf[1024], *field;
	unsigned long long start_ticks = 0;
	struct timespec now, uptime;
	FILE *stat = fopen("/proc/self/stat", "re");
	size_t len;

	if (!stat)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, stat);
	fclose(stat);
	buf[len] = '\0';
	field = strrchr(buf, ')');
	/* starttime is field 22; after ")" come fields 3.. */
	for (int i = 3; field && i <= 22; i++)
		field = strchr(field + 1, ' ');
	if (field)
		start_ticks = strtoull(field + 1, NULL, 10);
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &uptime);
	return now.tv_sec - uptime.tv_sec + (now.tv_nsec - uptime.tv_nsec) / (double)NSEC_PER_SEC +
	       (double)start_ticks / sysconf(_SC_CLK_TCK);
}


/* The shared symbol and debug-info cache (--memory-limit): what it holds
 * against its budget, and how often a lookup found its file loaded. */
static void write_module_cache(FILE *out, const struct bytelru_stats *cache)
{
	family(out, "parkwatch_symbol_cache_bytes", "gauge",
	       "Bytes the shared symbol and debug-info cache holds.");
	fprintf(out, "parkwatch_symbol_cache_bytes %zu\n", cache->bytes);
	family(out, "parkwatch_symbol_cache_limit_bytes", "gauge",
	       "The shared symbol and debug-info cache's budget (--memory-limit).");
	fprintf(out, "parkwatch_symbol_cache_limit_bytes %zu\n", cache->limit_bytes);
	family(out, "parkwatch_symbol_cache_lookups_total", "counter",
	       "Lookups of a file's symbols and debug info, by whether it was loaded.");
	fprintf(out, "parkwatch_symbol_cache_lookups_total{result=\"hit\"} %llu\n",
		(unsigned long long)cache->hits);
	fprintf(out, "parkwatch_symbol_cache_lookups_total{result=\"miss\"} %llu\n",
		(unsigned long long)cache->misses);
	family(out, "parkwatch_symbol_cache_evictions_total", "counter",
	       "Files' symbols and debug info evicted from the cache to stay in its budget.");
	fprintf(out, "parkwatch_symbol_cache_evictions_total %llu\n",
		(unsigned long long)cache->evictions);
}
static void write_self(FILE *out, const struct metrics_input *in, const struct pw_totals *totals)
{
	const struct park_hist *hists = totals && totals->has_hists ? totals->hists : NULL;
	struct rusage usage;
	long rss_pages = 0;
	FILE *statm = fopen("/proc/self/statm", "re");

	if (statm) {
		if (fscanf(statm, "%*s %ld", &rss_pages) != 1)
			rss_pages = 0;
		fclose(statm);
	}
	getrusage(RUSAGE_SELF, &usage);
	family(out, "parkwatch_build_info", "gauge", "parkwatch's version.");
	fprintf(out, "parkwatch_build_info{version=\"%s\"} 1\n", PARKWATCH_VERSION);
	family(out, "parkwatch_snapshots_total", "counter", "Pictures of the watched threads taken.");
	fprintf(out, "parkwatch_snapshots_total %llu\n", in->snapshots);
	family(out, "parkwatch_snapshot_duration_seconds", "gauge",
	       "How long the last picture took: BPF iterator, unwinding, symbolization.");
	fprintf(out, "parkwatch_snapshot_duration_seconds %.6f\n", in->snapshot_seconds);
	family(out, "parkwatch_parks_total", "counter", "Parks that ended, counted in BPF.");
	{
		__u64 parks = 0;

		for (int reason = 0; hists && reason < PARK_REASON__COUNT; reason++)
			parks += hists[reason].count;
		fprintf(out, "parkwatch_parks_total %llu\n", parks);
	}
	family(out, "parkwatch_dropped_total", "counter",
	       "Exited threads' park counts lost because the BPF map was full.");
	fprintf(out, "parkwatch_dropped_total %llu\n", in->dropped);
	family(out, "parkwatch_bpf_gave_up_total", "counter",
	       "Times the BPF programs gave up on something, by reason; "
	       "exited_dropped is parkwatch_dropped_total.");
	for (size_t i = 0; i < PW_STATS_COUNT; i++)
		fprintf(out, "parkwatch_bpf_gave_up_total{reason=\"%s\"} %llu\n",
			pw_stat_names[i].reason, pw_stats__value(&in->bpf_stats, i));
	family(out, "parkwatch_gave_up_total", "counter",
	       "Times parkwatch's userspace gave up on something, by reason.");
	for (int i = 0; i < GAVEUP__COUNT; i++)
		fprintf(out, "parkwatch_gave_up_total{reason=\"%s\"} %llu\n", gaveup_names[i].reason,
			(unsigned long long)gaveup__value(i));
	family(out, "parkwatch_bpf_map_fullness_ratio", "gauge",
	       "Entries used over capacity of the BPF map of exited threads' parks.");
	fprintf(out, "parkwatch_bpf_map_fullness_ratio %.6f\n",
		totals && totals->exited_capacity ?
			(double)totals->exited_entries / totals->exited_capacity : 0.0);
	family(out, "parkwatch_symbol_cache_entries", "gauge", "Symbolized addresses cached.");
	fprintf(out, "parkwatch_symbol_cache_entries %zu\n", in->symbol_cache_entries);
	write_module_cache(out, &in->symbol_cache);
	family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
	fprintf(out, "process_cpu_seconds_total %.6f\n",
		usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
			(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
	family(out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
	fprintf(out, "process_resident_memory_bytes %ld\n", rss_pages * sysconf(_SC_PAGESIZE));
	family(out, "process_open_fds", "gauge", "Open file descriptors.");
	fprintf(out, "process_open_fds %zu\n", open_fds());
	family(out, "process_start_time_seconds", "gauge", "Start time since the epoch.");
	fprintf(out, "process_start_time_seconds %.3f\n", process_start_seconds());
}

void prometheus__write(FILE *out, const struct metrics_input *in)
{
	const struct pw_totals *totals = in->picture ? in->picture->totals : NULL;
	const struct pw_process **procs = NULL;
	size_t count = 0;

	if (in->picture) {
		count = chosen_procs(in->picture, in->top_k, &procs);
		write_parked(out, in->picture, procs, count);
		write_states(out, in->picture, procs, count);
		write_locks(out, in->picture, procs, count, in->top_k);
	}
	write_histograms(out, totals && totals->has_hists ? totals->hists : NULL);
	if (in->trend && in->picture)
		write_trends(out, in, procs, count);
	write_self(out, in, totals);
	free(procs);
}
