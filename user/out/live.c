// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Live table of parked groups (live.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "out/live.h"
#include "util/u64map.h"
#include "util/utf8.h"

struct live {
	struct u64map first_count;  /* group signature -> count when first seen + 1 */
	bool started;
};

struct live *live__new(void)
{
	return calloc(1, sizeof(struct live));
}

void live__free(struct live *live)
{
	if (!live)
		return;
	u64map__clear(&live->first_count);
	free(live);
}

/* Groups present in the first picture start from their count then; groups
 * that appear later start from zero. */
static long change_since_start(struct live *live, const struct pw_group *group)
{
	uintptr_t first = (uintptr_t)u64map__get(&live->first_count, group->signature);

	if (!first) {
		first = (live->started ? 0 : group->count) + 1;
		/* out of memory: no change shown, rather than a wrong one */
		if (u64map__put(&live->first_count, group->signature, (void *)first))
			return 0;
	}
	return (long)group->count - (long)(first - 1);
}

static void where(const struct pw_group *group, char *buf, size_t size)
{
	const struct symbol_frame *frame = group->where;
	const char *base;

	if (!frame) {
		snprintf(buf, size, "%s", group->stack ? "(system libraries only)" : "(no stack yet)");
		return;
	}
	if (!frame->file) {
		snprintf(buf, size, "%s", frame->function ? frame->function : "??");
		return;
	}
	base = strrchr(frame->file, '/');
	snprintf(buf, size, "%s (%s:%d)", frame->function ? frame->function : "??",
		 base ? base + 1 : frame->file, frame->line);
}

/* Forget groups that are gone, so a long session doesn't grow. */
static bool still_present(__u64 signature, void *value, void *ctx)
{
	const struct pw_picture *picture = ctx;

	(void)value;
	for (size_t g = 0; g < picture->group_count; g++)
		if (picture->groups[g].signature == signature)
			return true;
	return false;
}

/* "+598/m", with "LEAK?" for a suspect; blank while there is too little history. */
static void trend_cell(const struct trend *trend, const struct pw_group *group, char *buf,
		       size_t size, const struct trend_group_stats **top, struct trend_group_stats *stats)
{
	buf[0] = '\0';
	if (!trend || trend__group(trend, group->signature, stats))
		return;
	if (stats->samples < TREND_MIN_SAMPLES)
		return;
	snprintf(buf, size, "%+.0f/m%s", stats->slope_per_min, stats->suspect ? " LEAK?" : "");
	if (stats->suspect && (!*top || stats->score > (*top)->score))
		*top = stats;
}

/* The name a group's threads share, or NULL when they differ. */
static const char *shared_thread_name(const struct pw_group *group)
{
	for (size_t m = 1; m < group->count; m++)
		if (strncmp(group->members[m]->comm, group->members[0]->comm, PARK_COMM_LEN))
			return NULL;
	return group->members[0]->comm;
}

/* Which optional columns the picture needs: THREAD when some group's threads
 * are named otherwise than their process, CONTAINER when a process has a
 * container label. */
static void optional_columns(const struct pw_picture *picture, bool *thread, bool *container)
{
	char label[96];

	*thread = *container = false;
	for (size_t i = 0; i < picture->proc_count; i++)
		*container |= picture__container_label(&picture->procs[i], label, sizeof(label)) != NULL;
	for (size_t g = 0; g < picture->group_count && !*thread; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);
		const char *name = group->kind == PW_UNIT_THREAD ? shared_thread_name(group) : "";

		if (group->parked && group->kind == PW_UNIT_THREAD &&
		    (!name || !proc || strncmp(name, proc->comm, PARK_COMM_LEN)))
			*thread = true;
	}
}

/* A name as a table cell: escaped (a name can't move the cursor), cut to
 * width columns and padded to them, then a space. */
static void put_cell(FILE *out, const char *text, int width)
{
	char escaped[256] = "";
	FILE *buf = fmemopen(escaped, sizeof(escaped) - 1, "w");
	size_t fit;

	if (buf) {
		utf8__escape(buf, text, 0);
		fclose(buf);
	}
	fit = utf8__fit(escaped, width);
	escaped[fit] = '\0';
	fputs(escaped, out);
	for (int used = utf8__width(escaped); used < width; used++)
		fputc(' ', out);
	fputc(' ', out);
}

/* The table's text, each line cut to columns (0: as it is) rather than left
 * to wrap and scroll the screen. */
static void put_lines(FILE *out, const char *text, int columns)
{
	while (*text) {
		size_t line = strcspn(text, "\n");
		char *copy = strndup(text, line);

		if (copy && columns > 0)
			copy[utf8__fit(copy, columns)] = '\0';
		fputs(copy ? copy : "", out);
		free(copy);
		text += line;
		if (*text == '\n') {
			fputc('\n', out);
			text++;
		}
	}
}

static void render_table(struct live *live, FILE *out, const struct pw_picture *picture,
			 __u64 elapsed_ns, bool ansi, int rows, const struct trend *trend)
{
	size_t units = 0, groups = 0;
	char elapsed[32], oldest[32], place[160], change[24], growth[24], label[96], names[32];
	struct trend_group_stats stats, top_stats;
	const struct trend_group_stats *top = NULL;
	bool thread_column, container_column;
	size_t shown = 0;

	optional_columns(picture, &thread_column, &container_column);
	format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
	for (int s = 0; s < PW_STATE__COUNT; s++)
		units += picture->state_counts[s];
	fprintf(out, "parkwatch %s  %s  %zu threads in %zu process%s:", PARKWATCH_VERSION, elapsed,
		units, picture->proc_count, picture->proc_count == 1 ? "" : "es");
	for (int s = 0; s < PW_STATE__COUNT; s++)
		if (picture->state_counts[s])
			fprintf(out, " %s %zu", pw_state_names[s], picture->state_counts[s]);
	fprintf(out, "%s\n\n", ansi ? "   (q quits)" : "");
	fprintf(out, "%7s %7s %12s %8s %-15s ", "COUNT", "CHANGE", "GROWTH", "PID", "COMM");
	if (thread_column)
		fprintf(out, "%-15s ", "THREAD");
	if (container_column)
		fprintf(out, "%-16s ", "CONTAINER");
	fprintf(out, "%-18s %-7s %8s  %s\n", "REASON", "TIMEOUT", "OLDEST", "WHERE");
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);
		const char *name;
		long delta;

		if (!group->parked)
			continue; /* a goroutine running, or runnable: not waiting */
		groups++;
		delta = change_since_start(live, group);
		if (rows && shown >= (size_t)rows)
			continue; /* still counted for the change column */
		format__age_short(group->oldest_park_ns, oldest, sizeof(oldest));
		where(group, place, sizeof(place));
		snprintf(change, sizeof(change), delta ? "%+ld" : "0", delta);
		trend_cell(trend, group, growth, sizeof(growth), &top, &stats);
		if (top == &stats) {
			top_stats = stats;
			top = &top_stats;
		}
		fprintf(out, "%7zu %7s %12s %8d ", group->count, change, growth, group->pid);
		put_cell(out, proc ? proc->comm : "?", 15);
		if (thread_column) {
			name = group->kind == PW_UNIT_THREAD ? shared_thread_name(group) : "";
			if (!name)
				snprintf(names, sizeof(names), "(%zu names)", group->count);
			put_cell(out, name ? name : names, 15);
		}
		if (container_column)
			put_cell(out, proc && picture__container_label(proc, label, sizeof(label)) ?
					      label : "", 16);
		fprintf(out, "%-18s %-7s %8s  ", group->reason,
			picture__timeout_name(group->has_timeout), oldest);
		utf8__escape(out, place, 0);
		fputc('\n', out);
		shown++;
	}
	if (shown < groups)
		fprintf(out, "... %zu more groups\n", groups - shown);
	if (top) {
		fprintf(out, "\nLEAK? pid %d: ", top->pid);
		utf8__escape(out, top->explanation, 0);
		fputc('\n', out);
	}
}

void live__render(struct live *live, FILE *out, const struct pw_picture *picture,
		  __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend)
{
	char *text = NULL;
	size_t len = 0;
	FILE *table = open_memstream(&text, &len);

	if (screen->ansi)
		fputs("\033[H\033[2J", out);
	if (table) {
		render_table(live, table, picture, elapsed_ns, screen->ansi, screen->rows, trend);
		if (!fclose(table))
			put_lines(out, text, screen->columns);
	}
	free(text);
	if (live->first_count.count > 2 * picture->group_count + 64)
		u64map__filter(&live->first_count, still_present, (void *)picture);
	live->started = true;
	fflush(out);
}
