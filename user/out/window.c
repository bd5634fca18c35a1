// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Window results (window.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/classify.h"
#include "out/folded.h"
#include "out/pprof.h"
#include "out/window.h"

struct window {
	struct pprof_builder *pprof;
	struct folded *folded;
	struct pw_totals *start_totals;
};

struct window *window__new(enum pw_format format, __u64 interval_ns,
			   const struct pw_totals *start_totals, const struct render_opts *opts)
{
	struct window *window = calloc(1, sizeof(*window));

	if (!window)
		return NULL;
	if (format == PW_FORMAT_PPROF)
		window->pprof = pprof_builder__new(PPROF_WINDOW, interval_ns);
	else
		window->folded = folded__new(true, opts && opts->folded_root);
	window->start_totals = start_totals ? totals__clone(start_totals) : totals__new();
	if ((!window->pprof && !window->folded) || !window->start_totals) {
		window__free(window);
		return NULL;
	}
	return window;
}

void window__free(struct window *window)
{
	if (!window)
		return;
	pprof_builder__free(window->pprof);
	folded__free(window->folded);
	totals__free(window->start_totals);
	free(window);
}

int window__add(struct window *window, const struct pw_picture *picture, __u64 weight_ns)
{
	if (window->pprof)
		return pprof__add_picture(window->pprof, picture, weight_ns);
	return folded__add_picture(window->folded, picture, weight_ns);
}

/* Parks still open at the window's end, clipped to the window. */
static void open_parks(const struct pw_picture *last, pid_t pid, enum park_reason reason,
		       __u64 duration_ns, __u64 *open, __u64 *open_ns)
{
	for (size_t u = 0; u < last->unit_count; u++) {
		const struct pw_unit *unit = &last->units[u];

		if (unit->kind == PW_UNIT_THREAD && unit->parked && unit->pid == pid &&
		    unit->wait.kernel_reason == reason) {
			(*open)++;
			*open_ns += unit->park_ns < duration_ns ? unit->park_ns : duration_ns;
		}
	}
}

/*
 * One comment per (pid, kernel-side reason) with parks in the window: those
 * that ended (tier-1 counts) and those still open at its end (threads parked
 * in the last picture, which may never have ended a park at all).
 */
static int add_tier1_comments(struct window *window, const struct pw_picture *last,
			      __u64 duration_ns)
{
	struct pw_totals *keys = last->totals ? totals__clone(last->totals) : totals__new();
	int err = keys ? 0 : -ENOMEM;

	for (size_t u = 0; !err && u < last->unit_count; u++) {
		const struct pw_unit *unit = &last->units[u];

		if (unit->kind == PW_UNIT_THREAD && unit->parked)
			err = totals__add(keys, unit->pid, unit->wait.kernel_reason, 0, 0);
	}
	for (size_t i = 0; !err && i < keys->count; i++) {
		const struct pw_park_total *end = &keys->entries[i];
		const struct pw_park_total *start = totals__find(window->start_totals, end->pid,
								 end->reason);
		__u64 start_count = start ? start->count : 0, start_ns = start ? start->total_ns : 0;
		/* a total can fall (a thread exiting between the collector's reads
		 * is missed once; a full map drops exited threads' counts): none
		 * closed then, rather than a wrapped difference */
		__u64 closed = end->count > start_count ? end->count - start_count : 0;
		__u64 closed_ns = end->total_ns > start_ns ? end->total_ns - start_ns : 0;
		__u64 open = 0, open_ns = 0;
		char text[200];

		open_parks(last, end->pid, end->reason, duration_ns, &open, &open_ns);
		if (!closed && !open)
			continue;
		snprintf(text, sizeof(text),
			 "parkwatch tier1 pid=%d reason=%s closed_parks=%llu closed_ns=%llu "
			 "open_parks=%llu open_ns=%llu",
			 end->pid, classify__park_reason_name(end->reason), closed, closed_ns, open,
			 open_ns);
		err = pprof_builder__add_comment(window->pprof, text);
	}
	totals__free(keys);
	return err;
}

int window__write(struct window *window, FILE *out, __u64 start_unix_ns, __u64 duration_ns,
		  const struct pw_picture *last, const struct trend *trend)
{
	int err;

	if (window->folded)
		return folded__write(window->folded, out, trend);
	if (last && (err = add_tier1_comments(window, last, duration_ns)))
		return err;
	return pprof_builder__write(window->pprof, out, start_unix_ns, duration_ns, trend);
}
