// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Prometheus metrics (prometheus.h): the watched processes' series. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/classify.h"
#include "model/totals.h"
#include "model/waitfor.h"
#include "out/prometheus.h"
#include "util/u64map.h"
#include "util/units.h"
#include "util/utf8.h"

static const char *const kind_names[] = {
	[PW_UNIT_THREAD] = "thread",
	[PW_UNIT_GOROUTINE] = "goroutine",
};

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

void prometheus__family(FILE *out, const char *name, const char *type, const char *help)
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
 * One family's samples keyed by their label text.  Processes that are one
 * thing to the user (a service restarted under a new pid, a pool of
 * workers with one name) add up into one series, and a series says what
 * runs, never which pid it had, so it goes on across restarts.
 */
struct series {
	char *labels;
	double value;
};

struct series_set {
	struct u64map index;        /* label text's hash -> position + 1 */
	struct series *series;      /* in the order first seen */
	size_t count, capacity;
};

enum combine { COMBINE_SUM, COMBINE_MAX };

/* A series' label text in the making. */
struct label_text {
	char *text;
	size_t len;
	FILE *out;                  /* NULL: out of memory */
};

/*
 * What runs, the first labels of every per-process series: its name, its
 * executable and where it runs (container, pod, systemd unit).  An unknown
 * one is "", which Prometheus reads as no label.  proc may be NULL.
 */
static FILE *label_text__open(struct label_text *labels, const struct pw_process *proc)
{
	const struct pw_cgroup *cgroup = proc ? &proc->cgroup : NULL;

	labels->text = NULL;
	labels->out = open_memstream(&labels->text, &labels->len);
	if (!labels->out)
		return NULL;
	fputs("comm=", labels->out);
	prometheus__label_value(labels->out, proc ? proc->comm : NULL);
	fputs(",exe=", labels->out);
	prometheus__label_value(labels->out, proc ? proc->exe : NULL);
	fputs(",container=", labels->out);
	prometheus__label_value(labels->out, cgroup ? cgroup->container : NULL);
	fputs(",pod=", labels->out);
	prometheus__label_value(labels->out, cgroup ? cgroup->pod : NULL);
	fputs(",unit=", labels->out);
	prometheus__label_value(labels->out, cgroup ? cgroup->unit : NULL);
	return labels->out;
}

/* Adds value to the series of labels (closed here) as combine says.  Out of
 * memory, the sample is left out: a scrape must not fail for one. */
static void series_set__add(struct series_set *set, struct label_text *labels, double value,
			    enum combine combine)
{
	char *text = NULL;
	__u64 key;
	uintptr_t slot;

	if (labels->out && !fclose(labels->out))
		text = labels->text;
	else
		free(labels->text);
	labels->out = NULL;
	if (!text)
		return;
	/* odd keys are never 0; a different text with the same hash takes the next */
	key = hash__bytes(text, strlen(text), 0) | 1;
	while ((slot = (uintptr_t)u64map__get(&set->index, key)) &&
	       strcmp(set->series[slot - 1].labels, text))
		key += 2;
	if (slot) {
		struct series *series = &set->series[slot - 1];

		if (combine == COMBINE_SUM)
			series->value += value;
		else if (value > series->value)
			series->value = value;
		free(text);
		return;
	}
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? set->capacity * 2 : 16;
		struct series *grown = realloc(set->series, capacity * sizeof(*grown));

		if (!grown) {
			free(text);
			return;
		}
		set->series = grown;
		set->capacity = capacity;
	}
	if (u64map__put(&set->index, key, (void *)(uintptr_t)(set->count + 1))) {
		free(text);
		return;
	}
	set->series[set->count++] = (struct series){ .labels = text, .value = value };
}

/* Writes the gauge family name (its help line first), each sample's value
 * with format, and empties the set. */
static void series_set__write(struct series_set *set, FILE *out, const char *name,
			      const char *format, const char *help)
{
	prometheus__family(out, name, "gauge", help);
	for (size_t i = 0; i < set->count; i++) {
		fprintf(out, "%s{%s} ", name, set->series[i].labels);
		fprintf(out, format, set->series[i].value);
		fputc('\n', out);
		free(set->series[i].labels);
	}
	free(set->series);
	u64map__clear(&set->index);
	*set = (struct series_set){ 0 };
}

/* The chosen processes by pid. */
static void index_chosen(struct u64map *chosen, const struct pw_process **procs, size_t count)
{
	for (size_t p = 0; p < count; p++)
		u64map__put(chosen, (__u64)procs[p]->pid, (void *)procs[p]);
}

/* Parked units and the oldest park per (what runs, kind, reason, timeout):
 * groups split by stack add up. */
static void write_parked(FILE *out, const struct pw_picture *picture, const struct u64map *chosen)
{
	struct series_set parked = { 0 }, oldest = { 0 };

	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = u64map__get(chosen, (__u64)group->pid);
		struct label_text labels[2];

		if (!proc || !group->parked)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!label_text__open(&labels[i], proc))
				continue;
			fprintf(labels[i].out, ",kind=\"%s\",reason=", kind_names[group->kind]);
			prometheus__label_value(labels[i].out, group->reason);
			fprintf(labels[i].out, ",timeout=\"%s\"",
				picture__timeout_name(group->has_timeout));
		}
		series_set__add(&parked, &labels[0], (double)group->count, COMBINE_SUM);
		series_set__add(&oldest, &labels[1], (double)group->oldest_park_ns / NSEC_PER_SEC,
				COMBINE_MAX);
	}
	series_set__write(&parked, out, "parkwatch_parked", "%.0f",
			  "Threads or goroutines (kind) parked now (off CPU, not runnable), by "
			  "process, wait reason and timeout.");
	series_set__write(&oldest, out, "parkwatch_oldest_park_age_seconds", "%.3f",
			  "How long the longest-parked of parkwatch_parked has been parked.");
}

/* Units by kind and scheduler state, per chosen process and of all. */
static void write_states(FILE *out, const struct pw_picture *picture,
			 const struct pw_process **procs, size_t count)
{
	size_t (*by_proc)[2][PW_STATE__COUNT] = calloc(count ? count : 1, sizeof(*by_proc));
	size_t all[2][PW_STATE__COUNT] = { 0 };
	struct u64map position = { 0 };
	struct series_set watched = { 0 };

	for (size_t p = 0; by_proc && p < count; p++)
		u64map__put(&position, (__u64)procs[p]->pid, (void *)(uintptr_t)(p + 1));
	for (size_t u = 0; u < picture->unit_count; u++) {
		const struct pw_unit *unit = &picture->units[u];
		uintptr_t p = (uintptr_t)u64map__get(&position, (__u64)unit->pid);

		if (unit->go && unit->go->system)
			continue; /* the runtime's own goroutines, as Go's "total" leaves them out */
		all[unit->kind][unit->state]++;
		if (p)
			by_proc[p - 1][unit->kind][unit->state]++;
	}
	for (size_t p = 0; by_proc && p < count; p++) {
		enum pw_unit_kind kind = procs[p]->unit_kind;

		for (int s = 0; s < PW_STATE__COUNT; s++) {
			struct label_text labels;

			if (label_text__open(&labels, procs[p])) {
				fprintf(labels.out, ",kind=\"%s\",state=\"%s\"", kind_names[kind],
					pw_state_names[s]);
			}
			series_set__add(&watched, &labels, (double)by_proc[p][kind][s], COMBINE_SUM);
		}
	}
	series_set__write(&watched, out, "parkwatch_watched", "%.0f",
			  "Threads or goroutines (kind) of a process, by scheduler state.");
	prometheus__family(out, "parkwatch_watched_all", "gauge",
			   "Threads or goroutines (kind) of every watched process, by scheduler "
			   "state.");
	for (int kind = PW_UNIT_THREAD; kind <= PW_UNIT_GOROUTINE; kind++)
		for (int s = 0; s < PW_STATE__COUNT; s++)
			fprintf(out, "parkwatch_watched_all{kind=\"%s\",state=\"%s\"} %zu\n",
				kind_names[kind], pw_state_names[s], all[kind][s]);
	u64map__clear(&position);
	free(by_proc);
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
static void write_lock_waiters(FILE *out, const struct pw_picture *picture,
			       const struct u64map *chosen, size_t top_k)
{
	struct owner_waiters *owners = calloc(picture->unit_count ? picture->unit_count : 1,
					      sizeof(*owners));
	struct u64map index = { 0 };
	struct series_set waiters = { 0 };
	size_t count = 0;

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
	if (owners)
		qsort(owners, count, sizeof(*owners), by_waiters_desc);
	for (size_t i = 0; i < count && i < top_k; i++) {
		struct label_text labels;

		if (label_text__open(&labels, owners[i].proc))
			fprintf(labels.out, ",owner_tid=\"%d\"", owners[i].owner_tid);
		series_set__add(&waiters, &labels, (double)owners[i].waiters, COMBINE_SUM);
	}
	series_set__write(&waiters, out, "parkwatch_lock_waiters", "%.0f",
			  "Threads waiting for a lock held by owner_tid, for the owners with the "
			  "most (--metrics-top-k).");
	u64map__clear(&index);
	free(owners);
}

/* A family of one count per chosen process, processes with the same labels
 * added up. */
static void write_per_process(FILE *out, const char *name, const char *help,
			      const struct pw_process **procs, const double *values, size_t count)
{
	struct series_set set = { 0 };

	for (size_t p = 0; p < count; p++) {
		struct label_text labels;

		label_text__open(&labels, procs[p]);
		series_set__add(&set, &labels, values[p], COMBINE_SUM);
	}
	series_set__write(&set, out, name, "%.0f", help);
}

/* What the wait-for graph found, per chosen process. */
static void write_locks(FILE *out, const struct pw_picture *picture,
			const struct pw_process **procs, size_t count, const struct u64map *chosen,
			size_t top_k)
{
	double *values = calloc(count ? count : 1, sizeof(*values));

	if (values) {
		for (size_t p = 0; p < count; p++)
			values[p] = (double)findings_of(picture, procs[p]->pid, is_deadlock);
		write_per_process(out, "parkwatch_deadlocks",
				  "Deadlocks and self-deadlocks among a process's threads, each held "
				  "in two reads.", procs, values, count);
		for (size_t p = 0; p < count; p++)
			values[p] = (double)findings_of(picture, procs[p]->pid, is_held_across_io);
		write_per_process(out, "parkwatch_locks_held_across_io",
				  "Threads parked in IO, poll or epoll wait while others wait for a "
				  "lock they hold.", procs, values, count);
	}
	free(values);
	write_lock_waiters(out, picture, chosen, top_k);
}

/* Tier-1 histograms per kernel-side reason, all processes added up.  Bucket
 * bounds are every other log2 slot edge, so counts are exact. */
static void write_histograms(FILE *out, const struct park_hist *hists)
{
	prometheus__family(out, "parkwatch_park_duration_seconds", "histogram",
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
	prometheus__family(out, "parkwatch_parked_seconds_total", "counter",
	       "Time spent in parks that ended, by kernel-side wait reason.");
	for (int reason = PARK_REASON_FUTEX; hists && reason < PARK_REASON__COUNT; reason++) {
		__u64 total_ns = hists[reason].total_ns;

		fputs("parkwatch_parked_seconds_total{reason=", out);
		prometheus__label_value(out, classify__park_reason_name(reason));
		fprintf(out, "} %.9f\n", (double)total_ns / NSEC_PER_SEC);
	}
}

/* A suspect group's labels: what runs, kind, reason, timeout and where its
 * members wait. */
static FILE *suspect_labels(struct label_text *labels, const struct trend_group_stats *stats,
			    const struct pw_picture *picture)
{
	const struct pw_process *proc = picture__process(picture, stats->pid);
	const struct pw_group *group = NULL;
	enum pw_unit_kind kind = proc ? proc->unit_kind : PW_UNIT_THREAD;
	char where[192] = "";

	for (size_t g = 0; g < picture->group_count && !group; g++)
		if (picture->groups[g].signature == stats->signature)
			group = &picture->groups[g];
	if (group) {
		kind = group->kind;
		if (group->where)
			snprintf(where, sizeof(where), "%s %s:%d",
				 group->where->function ? group->where->function : "??",
				 group->where->file ? group->where->file : "?", group->where->line);
	}
	if (!label_text__open(labels, proc))
		return NULL;
	fprintf(labels->out, ",kind=\"%s\",reason=", kind_names[kind]);
	prometheus__label_value(labels->out, stats->reason);
	fprintf(labels->out, ",timeout=\"%s\",where=", picture__timeout_name(stats->has_timeout));
	prometheus__label_value(labels->out, where);
	return labels->out;
}

/* Suspect groups (bounded) and every chosen process's parked growth. */
static void write_trends(FILE *out, const struct metrics_input *in,
			 const struct pw_process **procs, size_t count)
{
	const struct trend_group_stats *suspects = NULL;
	size_t suspect_count = trend__suspects(in->trend, &suspects);
	struct series_set parked = { 0 }, score = { 0 }, growth = { 0 };
	struct trend_proc_stats proc_stats;
	struct trend_summary summary;

	if (suspect_count > PROMETHEUS_MAX_SUSPECTS)
		suspect_count = PROMETHEUS_MAX_SUSPECTS;
	for (size_t i = 0; i < suspect_count; i++) {
		struct label_text labels[2];

		suspect_labels(&labels[0], &suspects[i], in->picture);
		suspect_labels(&labels[1], &suspects[i], in->picture);
		series_set__add(&parked, &labels[0], (double)suspects[i].count_now, COMBINE_SUM);
		series_set__add(&score, &labels[1], suspects[i].score, COMBINE_MAX);
	}
	series_set__write(&parked, out, "parkwatch_leak_suspect_parked", "%.0f",
			  "Threads or goroutines (kind) in a group suspected of leaking (its count "
			  "keeps rising, its members never wake).");
	series_set__write(&score, out, "parkwatch_leak_score", "%.3f",
			  "Leak score of a suspect group, 0 to 1.");
	trend__summary(in->trend, &summary);
	prometheus__family(out, "parkwatch_trend_groups", "gauge",
			   "Groups the leak trend tracks (at most 10,000; more are counted as "
			   "folded).");
	fprintf(out, "parkwatch_trend_groups %zu\n", summary.groups);
	prometheus__family(out, "parkwatch_trend_folded_total", "counter",
			   "Group observations past the trend's group cap, not tracked.");
	fprintf(out, "parkwatch_trend_folded_total %llu\n", summary.folded_total);
	for (size_t p = 0; p < count; p++) {
		struct label_text labels;

		if (trend__proc(in->trend, procs[p]->pid, &proc_stats))
			continue;
		if (label_text__open(&labels, procs[p]))
			fprintf(labels.out, ",kind=\"%s\"", kind_names[procs[p]->unit_kind]);
		series_set__add(&growth, &labels, proc_stats.parked_slope_per_min / 60, COMBINE_SUM);
	}
	series_set__write(&growth, out, "parkwatch_parked_growth_per_second", "%.6f",
			  "Least-squares growth of a process's parked threads or goroutines "
			  "(kind) over the trend window, per second.");
}

void prometheus__write(FILE *out, const struct metrics_input *in)
{
	const struct pw_totals *totals = in->picture ? in->picture->totals : NULL;
	const struct pw_process **procs = NULL;
	struct u64map chosen = { 0 };
	size_t count = 0;

	if (in->picture) {
		count = chosen_procs(in->picture, in->top_k, &procs);
		index_chosen(&chosen, procs, count);
		write_parked(out, in->picture, &chosen);
		write_states(out, in->picture, procs, count);
		write_locks(out, in->picture, procs, count, &chosen, in->top_k);
	}
	write_histograms(out, totals && totals->has_hists ? totals->hists : NULL);
	if (in->trend && in->picture)
		write_trends(out, in, procs, count);
	prometheus__write_self(out, in, totals);
	u64map__clear(&chosen);
	free(procs);
}
