// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The live view's keys: sort, the filter and its prompt, the help (live.h). */
#include <string.h>
#include "out/live_internal.h"
#include "util/utf8.h"

#define KEY_ESCAPE 27
#define KEY_BACKSPACE 127
#define KEY_CTRL_H 8
#define KEY_CTRL_U 21

const char *const live_sort_names[LIVE_SORT__COUNT] = {
	[LIVE_SORT_COUNT] = "count",
	[LIVE_SORT_AGE] = "age",
	[LIVE_SORT_GROWTH] = "growth",
};

static const char *const help_lines[] = {
	"parkwatch live view: keys",
	"",
	"  c      sort by count: the largest group first",
	"  a      sort by age: the oldest park first",
	"  g      sort by growth: the largest change since the start first",
	"  /      filter: type text, Enter applies it, Esc clears it",
	"         (matches process and thread names, wait reasons, functions)",
	"  Esc    clear the filter",
	"  ?      this help",
	"  q      quit, leaving a one-screen summary",
	"",
	"Any key closes this help.",
};

static bool holds(const char *text, const char *filter)
{
	return text && strcasestr(text, filter);
}

/* A name as the kernel keeps it, which may fill its array. */
static bool name_holds(const char name[PARK_COMM_LEN], const char *filter)
{
	char terminated[PARK_COMM_LEN + 1] = { 0 };

	memcpy(terminated, name, PARK_COMM_LEN);
	return strcasestr(terminated, filter);
}

static bool stack_holds(const struct pw_stack *stack, const char *filter)
{
	for (int f = 0; stack && f < stack->depth; f++) {
		const struct symbol *symbol = stack->symbols[f];

		for (int i = 0; i < symbol->frame_count; i++)
			if (holds(symbol->frames[i].function, filter))
				return true;
	}
	return false;
}

bool live__matches(const struct live *live, const struct pw_picture *picture,
		   const struct pw_group *group)
{
	const struct pw_process *proc = picture__process(picture, group->pid);

	if (!live->filter[0] || holds(group->reason, live->filter) ||
	    (proc && name_holds(proc->comm, live->filter)) || stack_holds(group->stack, live->filter))
		return true;
	for (size_t m = 0; group->kind == PW_UNIT_THREAD && m < group->count; m++)
		if (name_holds(group->members[m]->comm, live->filter))
			return true;
	return false;
}

void live__help(FILE *out, int columns)
{
	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++) {
		int cut = columns > 0 ? (int)utf8__fit(help_lines[i], columns) : (int)strlen(help_lines[i]);

		fprintf(out, "%.*s\n", cut, help_lines[i]);
	}
}

void live__prompt(const struct live *live, FILE *out, int columns)
{
	char escaped[4 * LIVE_FILTER_LEN + 2] = "/";

	/* what was typed may be any bytes: escaped, as every name */
	utf8__escape_buf(live->typed, 0, escaped + 1, sizeof(escaped) - 1);
	if (columns > 0)
		escaped[utf8__fit(escaped, columns - 1)] = '\0'; /* the cursor's column */
	fputs(escaped, out);
}

/* The last character of text removed, a whole UTF-8 sequence at a time. */
static void drop_last_character(char *text)
{
	size_t len = strlen(text);

	while (len && ((unsigned char)text[len - 1] & 0xc0) == 0x80)
		len--;
	if (len)
		len--;
	text[len] = '\0';
}

static enum live_key prompt_key(struct live *live, int key)
{
	size_t len = strlen(live->typed);

	switch (key) {
	case '\r':
	case '\n':
		memcpy(live->filter, live->typed, sizeof(live->filter));
		live->prompt_open = false;
		return LIVE_KEY_REDRAW;
	case KEY_ESCAPE:
		live->filter[0] = live->typed[0] = '\0';
		live->prompt_open = false;
		return LIVE_KEY_REDRAW;
	case KEY_BACKSPACE:
	case KEY_CTRL_H:
		drop_last_character(live->typed);
		return LIVE_KEY_REDRAW;
	case KEY_CTRL_U:
		live->typed[0] = '\0';
		return LIVE_KEY_REDRAW;
	}
	if (key < ' ' || len + 1 >= sizeof(live->typed))
		return LIVE_KEY_NONE; /* another control, or no room */
	live->typed[len] = (char)key;
	live->typed[len + 1] = '\0';
	return LIVE_KEY_REDRAW;
}

enum live_key live__key(struct live *live, int key)
{
	if (live->help_shown) {
		live->help_shown = false;
		return LIVE_KEY_REDRAW;
	}
	if (live->prompt_open)
		return prompt_key(live, key);
	switch (key) {
	case 'q':
	case 'Q':
		return LIVE_KEY_QUIT;
	case 'c':
		live->sort = LIVE_SORT_COUNT;
		return LIVE_KEY_REDRAW;
	case 'a':
		live->sort = LIVE_SORT_AGE;
		return LIVE_KEY_REDRAW;
	case 'g':
		live->sort = LIVE_SORT_GROWTH;
		return LIVE_KEY_REDRAW;
	case '/':
		/* the filter in force, to edit */
		memcpy(live->typed, live->filter, sizeof(live->typed));
		live->prompt_open = true;
		return LIVE_KEY_REDRAW;
	case KEY_ESCAPE:
		live->filter[0] = '\0';
		return LIVE_KEY_REDRAW;
	case '?':
	case 'h':
		live->help_shown = true;
		return LIVE_KEY_REDRAW;
	}
	return LIVE_KEY_NONE;
}
