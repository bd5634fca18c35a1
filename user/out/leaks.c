// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Leak report (leaks.h). */
#include <errno.h>
#include "out/leaks.h"
#include "out/render.h"
#include "util/format.h"
#include "util/utf8.h"

/* Where a suspect's stack and process name are: the last picture, or the
 * one before its process exited. */
struct pictures {
	const struct pw_picture *last;
	const struct pw_picture *before_exit;
};

static const struct pw_group *find_group(const struct pictures *pictures, __u64 signature)
{
	const struct pw_picture *both[] = { pictures->last, pictures->before_exit };

	for (size_t p = 0; p < 2; p++)
		for (size_t g = 0; both[p] && g < both[p]->group_count; g++)
			if (both[p]->groups[g].signature == signature)
				return &both[p]->groups[g];
	return NULL;
}

static const struct pw_process *find_proc(const struct pictures *pictures, pid_t pid)
{
	const struct pw_process *proc = NULL;

	if (pictures->last)
		proc = picture__process(pictures->last, pid);
	if (!proc && pictures->before_exit)
		proc = picture__process(pictures->before_exit, pid);
	return proc;
}

/* The distinct go statements that created a goroutine group's members,
 * each once, in the Go runtime's debug=2 words; "in goroutine N" only when
 * every member of that statement has the same parent. */
#define CREATORS_SHOWN 3

static void write_creators(FILE *out, const struct pw_process *proc, const struct pw_group *group)
{
	size_t shown = 0, others = 0;

	for (size_t i = 0; i < group->count; i++) {
		const struct pw_unit *unit = group->members[i];
		bool first = true, one_parent = true;

		if (!unit->go || !unit->go->gopc)
			continue;
		for (size_t j = 0; j < group->count && first; j++) {
			const struct pw_goroutine *other = group->members[j]->go;

			if (!other || other->gopc != unit->go->gopc)
				continue;
			first = j >= i; /* an earlier member showed this one */
			one_parent &= other->parent_goid == unit->go->parent_goid;
		}
		if (!first)
			continue;
		if (shown == CREATORS_SHOWN)
			others++;
		else if (text_go__created_by(out, proc, unit, one_parent))
			shown++;
	}
	if (others)
		fprintf(out, "... and %zu other go statement%s\n", others, others == 1 ? "" : "s");
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
		const struct pw_group *group = find_group(last, stats->signature);
		const struct pw_process *proc = find_proc(last, stats->pid);
		const char *units = stats->goroutines ? "goroutines" : "threads";

		format__age_short(stats->oldest_age_ns, oldest, sizeof(oldest));
		fprintf(out, "\nsuspect %zu: process %d (", i + 1, stats->pid);
		utf8__escape(out, proc ? proc->comm : "?", 0);
		fputs("), ", out);
		utf8__escape(out, stats->reason, 0);
		fprintf(out, ", %s, score %.2f\n  ",
			stats->has_timeout ? "with a timeout" : "no timeout", stats->score);
		utf8__escape(out, stats->explanation, 0);
		fputc('\n', out);
		fprintf(out, "  %s %zu now, %zu at the start; %+.1f/min (fit R² %.3f); "
			     "%.0f%% of members never woke; oldest %s\n", units,
			stats->count_now, stats->count_first, stats->slope_per_min, stats->fit_r2,
			stats->survivor_fraction * 100, oldest);
		if (group && group->stack) {
			fputs("  stack:\n", out);
			text__frames(out, group->stack);
		}
		if (group && group->kind == PW_UNIT_GOROUTINE)
			write_creators(out, proc, group);
	}
}

static void write_json(FILE *out, const struct trend_group_stats *suspects, size_t count,
		       const struct pictures *last, __u64 watched_ns)
{
	fprintf(out, "{\"watched_ns\":%llu,\"suspects\":[", watched_ns);
	for (size_t i = 0; i < count; i++) {
		const struct trend_group_stats *stats = &suspects[i];
		const struct pw_group *group = find_group(last, stats->signature);
		const struct pw_process *proc = find_proc(last, stats->pid);

		fprintf(out, "%s{\"pid\":%d,\"comm\":", i ? "," : "", stats->pid);
		format__json_string(out, proc ? proc->comm : NULL);
		fprintf(out, ",\"unit_kind\":\"%s\"", stats->goroutines ? "goroutine" : "thread");
		fputs(",\"reason\":", out);
		format__json_string(out, stats->reason);
		fprintf(out, ",\"timeout\":\"%s\",\"trend\":", picture__timeout_name(stats->has_timeout));
		json__trend(out, stats);
		if (group && group->kind == PW_UNIT_GOROUTINE && group->members[0]->go->creator) {
			fputs(",\"created_by\":", out);
			format__json_string(out, symbol__function(group->members[0]->go->creator));
		}
		fputs(",\"frames\":", out);
		json__frames(out, group ? group->stack : NULL);
		fputs("}", out);
	}
	fputs("]}\n", out);
}

int leaks__write(FILE *out, enum pw_format format, const struct trend *trend,
		 const struct pw_picture *last, const struct pw_picture *before_exit,
		 __u64 watched_ns)
{
	const struct trend_group_stats *suspects = NULL;
	size_t count = trend__suspects(trend, &suspects);
	struct pictures pictures = { last, before_exit };

	if (format == PW_FORMAT_JSON)
		write_json(out, suspects, count, &pictures, watched_ns);
	else
		write_text(out, suspects, count, &pictures, watched_ns);
	return ferror(out) ? -EIO : (int)count;
}
