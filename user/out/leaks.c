// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Leak report (leaks.h). */
#include <errno.h>
#include "out/dump.h"
#include "util/format.h"
#include "out/leaks.h"

/* Where a suspect's stack and process name are: the last picture, or the
 * one before its process exited. */
struct pictures {
	const struct report *last;
	const struct report *before_exit;
};

static const struct group *find_group(const struct pictures *pictures, __u64 signature)
{
	const struct report *reports[] = { pictures->last, pictures->before_exit };

	for (size_t r = 0; r < 2; r++)
		for (size_t g = 0; reports[r] && g < reports[r]->group_count; g++)
			if (reports[r]->groups[g].signature == signature)
				return &reports[r]->groups[g];
	return NULL;
}

static const struct proc_summary *find_proc(const struct pictures *pictures, pid_t pid)
{
	const struct proc_summary *proc = NULL;

	if (pictures->last)
		proc = report__proc(pictures->last, pid);
	if (!proc && pictures->before_exit)
		proc = report__proc(pictures->before_exit, pid);
	return proc;
}

static void write_text(FILE *out, const struct trend_group_stats *suspects, size_t count,
		       const struct pictures *last, __u64 watched_ns)
{
	char watched[32], oldest[32];

	format__age_short(watched_ns, watched, sizeof(watched));
	fprintf(out, "parkwatch leak report: watched %s, %zu suspect group%s\n", watched, count,
		count == 1 ? "" : "s");
	for (size_t i = 0; i < count; i++) {
		const struct trend_group_stats *stats = &suspects[i];
		const struct group *group = find_group(last, stats->signature);
		const struct proc_summary *proc = find_proc(last, stats->pid);

		format__age_short(stats->oldest_age_ns, oldest, sizeof(oldest));
		fprintf(out, "\nsuspect %zu: process %d (%s), %s, %s, score %.2f\n", i + 1, stats->pid,
			proc ? proc->comm : "?", stats->reason,
			stats->has_timeout ? "with a timeout" : "no timeout", stats->score);
		fprintf(out, "  %s\n", stats->explanation);
		fprintf(out, "  threads %zu now, %zu at the start; %+.1f/min (fit R² %.3f); "
			     "%.0f%% of members never woke; oldest %s\n",
			stats->count_now, stats->count_first, stats->slope_per_min, stats->fit_r2,
			stats->survivor_fraction * 100, oldest);
		if (group && group->members[0]->stack) {
			fputs("  stack:\n", out);
			dump__text_frames(out, group->members[0]);
		}
	}
}

static void write_json(FILE *out, const struct trend_group_stats *suspects, size_t count,
		       const struct pictures *last, __u64 watched_ns)
{
	fprintf(out, "{\"watched_ns\":%llu,\"suspects\":[", watched_ns);
	for (size_t i = 0; i < count; i++) {
		const struct trend_group_stats *stats = &suspects[i];
		const struct group *group = find_group(last, stats->signature);
		const struct proc_summary *proc = find_proc(last, stats->pid);

		fprintf(out, "%s{\"pid\":%d,\"comm\":", i ? "," : "", stats->pid);
		format__json_string(out, proc ? proc->comm : NULL);
		fputs(",\"reason\":", out);
		format__json_string(out, stats->reason);
		fprintf(out, ",\"timeout\":\"%s\",\"trend\":", stats->has_timeout ? "finite" : "none");
		dump__json_trend(out, stats);
		if (group && group->members[0]->created_by) { /* goroutine mode */
			fputs(",\"created_by\":", out);
			format__json_string(out, group->members[0]->created_by);
		}
		fputs(",\"frames\":", out);
		if (group)
			dump__json_frames(out, group->members[0]);
		else
			fputs("[]", out);
		fputs("}", out);
	}
	fputs("]}\n", out);
}

int leaks__write(FILE *out, enum output_format format, const struct trend *trend,
		 const struct report *last, const struct report *before_exit, __u64 watched_ns)
{
	const struct trend_group_stats *suspects = NULL;
	size_t count = trend__suspects(trend, &suspects);
	struct pictures pictures = { last, before_exit };

	if (format == FORMAT_JSON)
		write_json(out, suspects, count, &pictures, watched_ns);
	else
		write_text(out, suspects, count, &pictures, watched_ns);
	return ferror(out) ? -EIO : (int)count;
}
