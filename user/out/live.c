// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Live table of parked groups (live.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "out/blocked.h"
#include "out/live_internal.h"
#include "util/utf8.h"

/* A line's colour is marked by its first byte: the table's text is
 * escaped (util/utf8.h), so no name can bring a control byte of its own. */
#define MARK_RED '\001'
#define MARK_YELLOW '\002'
#define SGR_RED "\033[31m"
#define SGR_YELLOW "\033[33m"
#define SGR_RESET "\033[0m"
#define ALTERNATE_SCREEN_ON "\033[?1049h"
#define ALTERNATE_SCREEN_OFF "\033[?1049l"
#define CLEAR_SCREEN "\033[H\033[2J"

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
			fprintf(out, "%s%cDEADLOCK pid %d: ", shown ? "" : "\n", MARK_RED,
				finding->pid);
			for (size_t i = 0; i < finding->unit_count; i++) {
				put_thread(out, finding->units[i]);
				fputs(" -[", out);
				put_lock(out, &finding->units[i]->blocked_on);
				fputs("]-> ", out);
			}
			fprintf(out, "%llu\n", first->id);
			break;
		case PW_FINDING_SELF_DEADLOCK:
			fprintf(out, "%s%cSELF-DEADLOCK pid %d: ", shown ? "" : "\n", MARK_RED,
				finding->pid);
			put_thread(out, first);
			fputs(" waits for ", out);
			put_lock(out, &first->blocked_on);
			fputs(", which it holds\n", out);
			break;
		case PW_FINDING_ABANDONED:
			fprintf(out, "%s%cABANDONED LOCK pid %d: %zu thread%s wait%s for ",
				shown ? "" : "\n", MARK_RED, finding->pid, finding->unit_count,
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


/* A row of the table: a parked group the filter lets through. */
struct live_row {
	const struct pw_group *group;
	size_t order;               /* in the picture: largest first, then oldest */
	long change;                /* since parkwatch started */
	bool trend_known;           /* enough history for a slope */
	bool suspect;
	double slope_per_min;
};

static int compare_rows(const void *a, const void *b, void *sort)
{
	const struct live_row *x = a, *y = b;
	const struct pw_group *gx = x->group, *gy = y->group;

	switch (*(const enum live_sort *)sort) {
	case LIVE_SORT_AGE:
		if (gx->oldest_park_ns != gy->oldest_park_ns)
			return gx->oldest_park_ns > gy->oldest_park_ns ? -1 : 1;
		break;
	case LIVE_SORT_GROWTH:
		if (x->change != y->change)
			return x->change > y->change ? -1 : 1;
		if (x->slope_per_min != y->slope_per_min)
			return x->slope_per_min > y->slope_per_min ? -1 : 1;
		break;
	default:
		break; /* count: the picture's order */
	}
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * The rows to show, sorted, in a malloc'd array (NULL with *count 0 when
 * out of memory); every parked group's change is taken, shown or not, so a
 * group the filter hides still counts from when it was first seen.  *top:
 * the strongest leak suspect among them, when there is one.
 */
static struct live_row *table_rows(struct live *live, const struct pw_picture *picture,
				   const struct trend *trend, size_t *count,
				   struct trend_group_stats *top, bool *has_top)
{
	struct live_row *rows = calloc(picture->group_count ? picture->group_count : 1,
				       sizeof(*rows));
	struct trend_group_stats stats;

	*count = 0;
	*has_top = false;
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		struct live_row *row;
		long change;

		if (!group->parked)
			continue; /* a goroutine running, or runnable: not waiting */
		change = change_since_start(live, group);
		if (!rows || !live__matches(live, picture, group))
			continue;
		row = &rows[(*count)++];
		*row = (struct live_row){ .group = group, .order = g, .change = change };
		if (!trend || trend__group(trend, group->signature, &stats) ||
		    stats.samples < TREND_MIN_SAMPLES)
			continue;
		row->trend_known = true;
		row->suspect = stats.suspect;
		row->slope_per_min = stats.slope_per_min;
		if (stats.suspect && (!*has_top || stats.score > top->score)) {
			*top = stats;
			*has_top = true;
		}
	}
	if (rows)
		qsort_r(rows, *count, sizeof(*rows), compare_rows, &live->sort);
	return rows;
}

/* "parkwatch 1.0  5m07s  12 goroutines in 1 process: waiting 10 running 2" */
static void header(FILE *out, const struct pw_picture *picture, __u64 elapsed_ns)
{
	size_t threads = 0, goroutines = 0;
	char elapsed[32];

	for (size_t i = 0; i < picture->unit_count; i++) {
		const struct pw_unit *unit = &picture->units[i];

		if (unit->go && unit->go->system)
			continue; /* the runtime's own, apart as in the state counts */
		if (unit->kind == PW_UNIT_GOROUTINE)
			goroutines++;
		else
			threads++;
	}
	format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
	fprintf(out, "parkwatch %s  %s  ", PARKWATCH_VERSION, elapsed);
	if (goroutines && threads)
		fprintf(out, "%zu threads and %zu goroutines", threads, goroutines);
	else if (goroutines)
		fprintf(out, "%zu goroutines", goroutines);
	else
		fprintf(out, "%zu threads", threads);
	fprintf(out, " in %zu process%s:", picture->proc_count, picture->proc_count == 1 ? "" : "es");
	for (int s = 0; s < PW_STATE__COUNT; s++)
		if (picture->state_counts[s])
			fprintf(out, " %s %zu", pw_state_names[s], picture->state_counts[s]);
	fputc('\n', out);
}

/* "sort: count  filter: "db"" and hint; an empty line without hint. */
static void status_line(FILE *out, const struct live *live, const char *hint)
{
	if (hint) {
		fprintf(out, "sort: %s", live_sort_names[live->sort]);
		if (live->filter[0]) {
			fputs("  filter: \"", out);
			utf8__escape(out, live->filter, '"');
			fputc('"', out);
		}
		fputs(hint, out);
	}
	fputc('\n', out);
}

static void put_row(FILE *out, const struct pw_picture *picture, const struct live_row *row,
		    const struct live_widths *width)
{
	const struct pw_group *group = row->group;
	const struct pw_process *proc = picture__process(picture, group->pid);
	const char *marker = finding_marker(picture, group), *name;
	char oldest[32], place[160], change[24], growth[24], label[96], names[32];

	format__age_short(group->oldest_park_ns, oldest, sizeof(oldest));
	where(group, place, sizeof(place));
	snprintf(change, sizeof(change), row->change ? "%+ld" : "0", row->change);
	growth[0] = '\0';
	if (marker)
		snprintf(growth, sizeof(growth), "%s", marker);
	else if (row->trend_known)
		snprintf(growth, sizeof(growth), "%+.0f/m%s", row->slope_per_min,
			 row->suspect ? " LEAK?" : "");
	if (marker && strcmp(marker, "CONVOY"))
		fputc(MARK_RED, out);
	else if (!marker && row->suspect)
		fputc(MARK_YELLOW, out);
	fprintf(out, "%7zu %7s %12s %8d ", group->count, change, growth, group->pid);
	put_cell(out, proc ? proc->comm : "?", width->comm);
	if (width->thread) {
		name = group->kind == PW_UNIT_THREAD ? shared_thread_name(group) : "";
		if (!name)
			snprintf(names, sizeof(names), "(%zu names)", group->count);
		put_cell(out, name ? name : names, width->thread);
	}
	if (width->container)
		put_cell(out, proc && picture__container_label(proc, label, sizeof(label)) ? label : "",
			 width->container);
	put_cell(out, group->reason, width->reason);
	fprintf(out, "%-7s %8s  ", picture__timeout_name(group->has_timeout), oldest);
	utf8__escape(out, place, 0);
	fputc('\n', out);
}

static size_t count_lines(const char *text)
{
	size_t lines = 0;

	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

/*
 * The table in at most lines lines (0: every row): the header, hint's
 * status line, the column headings, as many rows as leave room for the
 * LEAK? and finding lines under them.
 */
static void render_table(struct live *live, FILE *out, const struct pw_picture *picture,
			 __u64 elapsed_ns, int lines, const char *hint, const struct trend *trend)
{
	struct trend_group_stats top;
	struct live_widths width;
	size_t row_count, fit = SIZE_MAX, findings_len = 0;
	char *findings_text = NULL;
	FILE *findings = open_memstream(&findings_text, &findings_len);
	struct live_row *rows;
	bool has_top;

	rows = table_rows(live, picture, trend, &row_count, &top, &has_top);
	if (findings) {
		finding_lines(findings, picture);
		if (fclose(findings)) {
			free(findings_text);
			findings_text = NULL;
		}
	}
	if (lines > 0) {
		long room = lines - 3 - (has_top ? 2 : 0) -
			    (findings_text ? (long)count_lines(findings_text) : 0);

		/* a "... more" line takes a row's place; one row at least */
		fit = room >= (long)row_count ? row_count : room > 2 ? (size_t)room - 1 : 1;
	}
	column_widths(picture, &width);
	header(out, picture, elapsed_ns);
	status_line(out, live, hint);
	fprintf(out, "%7s %7s %12s %8s ", "COUNT", "CHANGE", "GROWTH", "PID");
	put_cell(out, "COMM", width.comm);
	if (width.thread)
		put_cell(out, "THREAD", width.thread);
	if (width.container)
		put_cell(out, "CONTAINER", width.container);
	put_cell(out, "REASON", width.reason);
	fprintf(out, "%-7s %8s  %s\n", "TIMEOUT", "OLDEST", "WHERE");
	for (size_t r = 0; r < row_count && r < fit; r++)
		put_row(out, picture, &rows[r], &width);
	if (row_count > fit)
		fprintf(out, "... %zu more groups\n", row_count - fit);
	if (!rows)
		fputs("(out of memory: no rows)\n", out);
	if (has_top) {
		fprintf(out, "\n%cLEAK? pid %d: ", MARK_YELLOW, top.pid);
		utf8__escape(out, top.explanation, 0);
		fputc('\n', out);
	}
	if (findings_text)
		fputs(findings_text, out);
	free(findings_text);
	free(rows);
}

/* text's lines, each cut to columns (0: as it is) rather than left to wrap
 * and scroll the screen, at most max_lines of them (0: all); a marked line
 * in its colour, or without it. */
static void put_lines(FILE *out, const char *text, int columns, int max_lines, bool colour)
{
	for (int written = 0; *text && (!max_lines || written < max_lines); written++) {
		char mark = *text == MARK_RED || *text == MARK_YELLOW ? *text++ : 0;
		size_t len = strcspn(text, "\n");
		size_t fit = len;

		if (columns > 0) {
			char *line = strndup(text, len);

			fit = line ? utf8__fit(line, columns) : 0;
			free(line);
		}
		if (mark && colour)
			fputs(mark == MARK_RED ? SGR_RED : SGR_YELLOW, out);
		fwrite(text, 1, fit, out);
		if (mark && colour)
			fputs(SGR_RESET, out);
		text += len;
		if (*text == '\n') {
			fputc('\n', out);
			text++;
		}
	}
}

/* Draws into a buffer first: lines are cut and coloured whole. */
static void draw(struct live *live, FILE *out, const struct pw_picture *picture,
		 __u64 elapsed_ns, const struct live_screen *screen, int lines, const char *hint,
		 const struct trend *trend)
{
	char *text = NULL;
	size_t len = 0;
	FILE *table = open_memstream(&text, &len);

	if (table) {
		if (live->help_shown && screen->ansi)
			live__help(table, 0);
		else
			render_table(live, table, picture, elapsed_ns, lines, hint, trend);
		if (!fclose(table))
			put_lines(out, text, screen->columns, lines, screen->colour);
	}
	free(text);
	if (live->first_count.count > 2 * picture->group_count + 64)
		u64map__filter(&live->first_count, still_present, (void *)picture);
	live->started = true;
}

void live__render(struct live *live, FILE *out, const struct pw_picture *picture,
		  __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend)
{
	/* the last line is the prompt's, and a newline there would scroll */
	int lines = screen->lines > 1 ? screen->lines - 1 : screen->lines;

	if (screen->ansi && !live->on_alternate_screen) {
		/* as top and less: the shell's screen comes back at the end */
		fputs(ALTERNATE_SCREEN_ON, out);
		live->on_alternate_screen = true;
	}
	if (screen->ansi)
		fputs(CLEAR_SCREEN, out);
	draw(live, out, picture, elapsed_ns, screen, lines, screen->ansi ? "   (? keys, q quits)" : NULL,
	     trend);
	if (screen->ansi && live->prompt_open && !live->help_shown) {
		if (screen->lines > 0)
			fprintf(out, "\033[%d;1H", screen->lines);
		live__prompt(live, out, screen->columns);
	}
	fflush(out);
}

void live__leave(struct live *live, FILE *out)
{
	if (live->on_alternate_screen)
		fputs(ALTERNATE_SCREEN_OFF, out);
	live->on_alternate_screen = false;
	fflush(out);
}

void live__summary(struct live *live, FILE *out, const struct pw_picture *picture,
		   __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend)
{
	/* room for the last line and the shell's prompt after it */
	int lines = screen->lines > 4 ? screen->lines - 2 : screen->lines;

	live__leave(live, out);
	live->help_shown = false;
	draw(live, out, picture, elapsed_ns, screen, lines, "", trend);
	put_lines(out, "(the full dump: --final-dump)\n", screen->columns, 0, false);
	fflush(out);
}
