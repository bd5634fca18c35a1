// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Live table of parked groups (live.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "out/blocked.h"
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

/* Whether unit is one of group's members: the same process, reason,
 * timeout and stack. */
static bool in_group(const struct pw_unit *unit, const struct pw_group *group)
{
	return unit->pid == group->pid && unit->stack == group->stack &&
	       unit->wait.has_timeout == group->has_timeout && unit->wait.reason &&
	       !strcmp(unit->wait.reason, group->reason);
}

/* What takes the GROWTH cell of a group in a finding: its threads wait for
 * good (DEADLOCK, or ABANDONED for a lock whose owner is gone) or behind a
 * convoy's head (CONVOY); NULL otherwise. */
static const char *finding_marker(const struct pw_picture *picture, const struct pw_group *group)
{
	bool abandoned = false;

	if (!group->deadlocked)
		return group->convoy ? "CONVOY" : NULL;
	for (size_t f = 0; f < picture->finding_count; f++) {
		const struct pw_finding *finding = &picture->findings[f];

		for (size_t i = 0; i < finding->unit_count; i++) {
			if (!in_group(finding->units[i], group))
				continue;
			if (finding->kind == PW_FINDING_DEADLOCK ||
			    finding->kind == PW_FINDING_SELF_DEADLOCK)
				return "DEADLOCK";
			abandoned |= finding->kind == PW_FINDING_ABANDONED;
		}
	}
	return abandoned ? "ABANDONED" : "DEADLOCK";
}

/* The name a group's threads share, or NULL when they differ. */
static const char *shared_thread_name(const struct pw_group *group)
{
	for (size_t m = 1; m < group->count; m++)
		if (strncmp(group->members[m]->comm, group->members[0]->comm, PARK_COMM_LEN))
			return NULL;
	return group->members[0]->comm;
}

/* text as a table shows it, escaped (a name can't move the cursor) into
 * buf, cut at its size. */
static const char *cell_text(const char *text, char *buf, size_t size)
{
	return utf8__escape_buf(text, 0, buf, size);
}

/* A cell: text escaped, cut to width columns and padded to them, then a
 * space. */
static void put_cell(FILE *out, const char *text, int width)
{
	char escaped[256];
	size_t fit;

	cell_text(text, escaped, sizeof(escaped));
	fit = utf8__fit(escaped, width);
	escaped[fit] = '\0';
	fputs(escaped, out);
	for (int used = utf8__width(escaped); used < width; used++)
		fputc(' ', out);
	fputc(' ', out);
}

/* Widths of the columns that fit their content, so that WHERE, the last and
 * most telling, stays on an 80-column screen: each at least its heading and
 * at most its cap; 0 for THREAD when no group's threads are named otherwise
 * than their process, for CONTAINER when no process has a label. */
struct live_widths {
	int comm, thread, container, reason;
};

static int widen(int width, const char *text, int floor, int cap)
{
	char escaped[256];
	int w = utf8__width(cell_text(text, escaped, sizeof(escaped)));

	w = w < floor ? floor : w > cap ? cap : w;
	return w > width ? w : width;
}

static void column_widths(const struct pw_picture *picture, struct live_widths *w)
{
	char label[96];

	*w = (struct live_widths){ .comm = 4, .reason = 6 };
	for (size_t i = 0; i < picture->proc_count; i++)
		if (picture__container_label(&picture->procs[i], label, sizeof(label)))
			w->container = widen(w->container, label, 9, 16);
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);
		const char *name = group->kind == PW_UNIT_THREAD ? shared_thread_name(group) : "";

		if (!group->parked)
			continue;
		w->comm = widen(w->comm, proc ? proc->comm : "?", 4, 15);
		w->reason = widen(w->reason, group->reason, 6, 24);
		if (group->kind == PW_UNIT_THREAD &&
		    (!name || !proc || strncmp(name, proc->comm, PARK_COMM_LEN)))
			w->thread = widen(w->thread, name ? name : "(99 names)", 6, 15);
	}
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

/* A lock in a finding's line: its symbol, else its kind and address. */
static void put_lock(FILE *out, const struct pw_blocked_on *on)
{
	if (on->symbol)
		utf8__escape(out, on->symbol, 0);
	else
		fprintf(out, "%s 0x%llx", pw_object_kind_names[on->kind], on->addr);
}

static void put_thread(FILE *out, const struct pw_unit *unit)
{
	fprintf(out, "%llu \"", unit->id);
	utf8__escape(out, unit->comm, '"');
	fputc('"', out);
}

#define LIVE_FINDING_LINES 5

/*
 * One line per finding that never ends by itself, as the LEAK? line:
 * "DEADLOCK pid 1234: 101 \"a\" -[lock_b]-> 102 \"b\" -[lock_a]-> 101".
 */
static void finding_lines(FILE *out, const struct pw_picture *picture)
{
	size_t stuck = blocked__stuck_findings(picture), shown = 0;

	for (size_t f = 0; f < picture->finding_count && shown < LIVE_FINDING_LINES; f++) {
		const struct pw_finding *finding = &picture->findings[f];
		const struct pw_unit *first = finding->units[0];

		switch (finding->kind) {
		case PW_FINDING_DEADLOCK:
			fprintf(out, "%sDEADLOCK pid %d: ", shown ? "" : "\n", finding->pid);
			for (size_t i = 0; i < finding->unit_count; i++) {
				put_thread(out, finding->units[i]);
				fputs(" -[", out);
				put_lock(out, &finding->units[i]->blocked_on);
				fputs("]-> ", out);
			}
			fprintf(out, "%llu\n", first->id);
			break;
		case PW_FINDING_SELF_DEADLOCK:
			fprintf(out, "%sSELF-DEADLOCK pid %d: ", shown ? "" : "\n", finding->pid);
			put_thread(out, first);
			fputs(" waits for ", out);
			put_lock(out, &first->blocked_on);
			fputs(", which it holds\n", out);
			break;
		case PW_FINDING_ABANDONED:
			fprintf(out, "%sABANDONED LOCK pid %d: %zu thread%s wait%s for ",
				shown ? "" : "\n", finding->pid, finding->unit_count,
				finding->unit_count == 1 ? "" : "s", finding->unit_count == 1 ? "s" : "");
			put_lock(out, &first->blocked_on);
			fprintf(out, ", held by thread %d, which has exited\n", finding->owner_tid);
			break;
		default:
			continue;
		}
		shown++;
	}
	if (shown < stuck)
		fprintf(out, "... %zu more findings\n", stuck - shown);
}

static void render_table(struct live *live, FILE *out, const struct pw_picture *picture,
			 __u64 elapsed_ns, bool ansi, int rows, const struct trend *trend)
{
	size_t units = 0, groups = 0;
	char elapsed[32], oldest[32], place[160], change[24], growth[24], label[96], names[32];
	struct trend_group_stats stats, top_stats;
	const struct trend_group_stats *top = NULL;
	struct live_widths width;
	size_t shown = 0;

	column_widths(picture, &width);
	format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
	for (int s = 0; s < PW_STATE__COUNT; s++)
		units += picture->state_counts[s];
	fprintf(out, "parkwatch %s  %s  %zu threads in %zu process%s:", PARKWATCH_VERSION, elapsed,
		units, picture->proc_count, picture->proc_count == 1 ? "" : "es");
	for (int s = 0; s < PW_STATE__COUNT; s++)
		if (picture->state_counts[s])
			fprintf(out, " %s %zu", pw_state_names[s], picture->state_counts[s]);
	fprintf(out, "%s\n\n", ansi ? "   (q quits)" : "");
	fprintf(out, "%7s %7s %12s %8s ", "COUNT", "CHANGE", "GROWTH", "PID");
	put_cell(out, "COMM", width.comm);
	if (width.thread)
		put_cell(out, "THREAD", width.thread);
	if (width.container)
		put_cell(out, "CONTAINER", width.container);
	put_cell(out, "REASON", width.reason);
	fprintf(out, "%-7s %8s  %s\n", "TIMEOUT", "OLDEST", "WHERE");
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);
		const char *name, *marker;
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
		marker = finding_marker(picture, group);
		if (marker)
			snprintf(growth, sizeof(growth), "%s", marker);
		fprintf(out, "%7zu %7s %12s %8d ", group->count, change, growth, group->pid);
		put_cell(out, proc ? proc->comm : "?", width.comm);
		if (width.thread) {
			name = group->kind == PW_UNIT_THREAD ? shared_thread_name(group) : "";
			if (!name)
				snprintf(names, sizeof(names), "(%zu names)", group->count);
			put_cell(out, name ? name : names, width.thread);
		}
		if (width.container)
			put_cell(out, proc && picture__container_label(proc, label, sizeof(label)) ?
					      label : "", width.container);
		put_cell(out, group->reason, width.reason);
		fprintf(out, "%-7s %8s  ", picture__timeout_name(group->has_timeout), oldest);
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
	finding_lines(out, picture);
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
