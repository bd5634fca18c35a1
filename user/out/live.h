/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The live view: one row per group of parked threads or goroutines, with
 * the change since parkwatch started, the oldest park and where in the
 * application they wait; sorted and filtered by keys; each line cut to the
 * terminal's width, the table to its height.
 */
#ifndef PARKWATCH_LIVE_H
#define PARKWATCH_LIVE_H

#include <stdbool.h>
#include <stdio.h>
#include "model/picture.h"
#include "trend/trend.h"

struct live;

enum live_sort {
	LIVE_SORT_COUNT,            /* largest group first (the picture's order) */
	LIVE_SORT_AGE,              /* oldest park first */
	LIVE_SORT_GROWTH,           /* largest change since the start, then steepest slope */
	LIVE_SORT__COUNT,
};

/* "count", "age", "growth": what the header says. */
extern const char *const live_sort_names[LIVE_SORT__COUNT];

struct live *live__new(void);
void live__free(struct live *live);

/* Where the table goes. */
struct live_screen {
	bool ansi;                  /* a terminal with keys: take it over, redraw in place */
	bool colour;                /* LEAK? rows yellow, DEADLOCK and ABANDONED rows red */
	int lines;                  /* the screen's height: the table fits it; 0: all rows */
	int columns;                /* lines cut to this width; 0: not cut */
};

/* Draws the table: COUNT, CHANGE, GROWTH (from trend, may be NULL; for a
 * group in a finding DEADLOCK, ABANDONED or CONVOY instead), PID,
 * COMM (the process's name), THREAD (the threads' name, when some group's
 * differ from their process's), CONTAINER (picture__container_label, when
 * a process has one), REASON, TIMEOUT, OLDEST, WHERE; under it the top
 * leak suspect's LEAK? line and one line per deadlock, self-deadlock and
 * abandoned lock (at most 5).  Names are escaped (util/utf8.h).  With
 * ansi, the help or the filter's prompt when they are open. */
void live__render(struct live *live, FILE *out, const struct pw_picture *picture,
		  __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend);
/* Gives the terminal back after an ansi render: the screen as it was before
 * parkwatch.  Nothing when none took it over. */
void live__leave(struct live *live, FILE *out);
/* live__leave, then the summary: the table as last sorted and
 * filtered, in screen->lines - 2 lines at most, and where the full dump is. */
void live__summary(struct live *live, FILE *out, const struct pw_picture *picture,
		   __u64 elapsed_ns, const struct live_screen *screen, const struct trend *trend);

enum live_key {
	LIVE_KEY_NONE,              /* nothing changed */
	LIVE_KEY_REDRAW,            /* the view changed: draw it again */
	LIVE_KEY_QUIT,
};

/* A key typed (a byte; 27 is Esc): c, a, g sort; / opens the filter's
 * prompt (Enter applies, Esc clears, Backspace edits); Esc clears the
 * filter; ? shows the keys until the next key; q quits. */
enum live_key live__key(struct live *live, int key);

#endif /* PARKWATCH_LIVE_H */
