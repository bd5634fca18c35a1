/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What live.c (the table) and live_keys.c (keys, filter, help) share. */
#ifndef PARKWATCH_LIVE_INTERNAL_H
#define PARKWATCH_LIVE_INTERNAL_H

#include "out/live.h"
#include "util/u64map.h"

/* The filter's text: a prompt longer than a screen line has no use. */
#define LIVE_FILTER_LEN 64

struct live {
	struct u64map first_count;  /* group signature -> count when first seen + 1 */
	bool started;
	bool on_alternate_screen;   /* the table took over the terminal (ansi) */
	enum live_sort sort;
	char filter[LIVE_FILTER_LEN];  /* rows shown match it; "": all */
	char typed[LIVE_FILTER_LEN];   /* the prompt's text while it is open */
	bool prompt_open;
	bool help_shown;
};

/* Whether group matches live's filter: its process's or threads' name, its
 * wait reason, or a function of its stack holds the filter's text (ASCII
 * case ignored). */
bool live__matches(const struct live *live, const struct pw_picture *picture,
		   const struct pw_group *group);
/* The keys' screen, lines cut to columns (0: not cut). */
void live__help(FILE *out, int columns);
/* The prompt's line, "/text", cut to columns. */
void live__prompt(const struct live *live, FILE *out, int columns);

#endif /* PARKWATCH_LIVE_INTERNAL_H */
