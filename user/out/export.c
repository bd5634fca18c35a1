// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Snapshot and window results (export.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "out/export.h"
#include "out/folded.h"
#include "out/pprof.h"

int export__snapshot(FILE *out, enum output_format format, const struct report *report,
		     const struct dump_opts *opts)
{
	struct folded *folded;
	struct pprof *pprof;
	int err;

	switch (format) {
	case FORMAT_JSON:
		dump__json(out, report, opts);
		break;
	case FORMAT_PPROF:
		pprof = pprof__new(PPROF_SNAPSHOT, 1);
		if (!pprof)
			return -ENOMEM;
		err = pprof__add_report(pprof, report, 0);
		if (!err)
			err = pprof__write(pprof, out, report->time_unix_ns, 0, opts->trend);
		pprof__free(pprof);
		return err;
	case FORMAT_FOLDED:
		folded = folded__new(false);
		if (!folded)
			return -ENOMEM;
		err = folded__add_report(folded, report, 0);
		if (!err)
			err = folded__write(folded, out, opts->trend);
		folded__free(folded);
		return err;
	default:
		dump__text(out, report, opts);
		break;
	}
	return ferror(out) ? -EIO : 0;
}

struct window {
	enum output_format format;
	struct pprof *pprof;
	struct folded *folded;
	struct park_totals *start_totals;
	size_t start_count;
};

struct window *window__new(enum output_format format, __u64 interval_ns,
			   const struct park_totals *start_totals, size_t start_count)
{
	struct window *window = calloc(1, sizeof(*window));

	if (!window)
		return NULL;
	window->format = format;
	if (format == FORMAT_PPROF)
		window->pprof = pprof__new(PPROF_WINDOW, interval_ns);
	else
		window->folded = folded__new(true);
	window->start_totals = malloc((start_count ? start_count : 1) * sizeof(*start_totals));
	if ((!window->pprof && !window->folded) || !window->start_totals) {
		window__free(window);
		return NULL;
	}
	memcpy(window->start_totals, start_totals, start_count * sizeof(*start_totals));
	window->start_count = start_count;
	return window;
}

void window__free(struct window *window)
{
	if (!window)
		return;
	pprof__free(window->pprof);
	folded__free(window->folded);
	free(window->start_totals);
	free(window);
}

int window__add(struct window *window, const struct report *report, __u64 weight_ns)
{
	if (window->pprof)
		return pprof__add_report(window->pprof, report, weight_ns);
	return folded__add_report(window->folded, report, weight_ns);
}

static const struct park_totals *find_totals(const struct park_totals *totals, size_t count,
					     const struct hist_key *key)
{
	for (size_t i = 0; i < count; i++)
		if (totals[i].key.tgid == key->tgid && totals[i].key.reason == key->reason)
			return &totals[i];
	return NULL;
}

/* Adds parks still open at the window's end, clipped to the window. */
static void add_open_parks(struct park_totals *entry, const struct report *last_report,
			   __u64 duration_ns, __u64 *open, __u64 *open_ns)
{
	for (size_t t = 0; last_report && t < last_report->thread_count; t++) {
		const struct thread_info *thread = &last_report->threads[t];

		if (thread->parked && thread->rec->tgid == entry->key.tgid &&
		    thread->rec->wait.reason == entry->key.reason) {
			(*open)++;
			*open_ns += thread->park_ns < duration_ns ? thread->park_ns : duration_ns;
		}
	}
}

/*
 * One comment per (pid, kernel-side reason) with parks in the window: those
 * that ended (tier-1 counts) and those still open at its end (threads parked
 * in the last report, which may never have ended a park at all).
 */
static int add_tier1_comments(struct window *window, const struct park_totals *end_totals,
			      size_t end_count, const struct report *last_report, __u64 duration_ns)
{
	size_t max = end_count + (last_report ? last_report->thread_count : 0);
	struct park_totals *keys = calloc(max ? max : 1, sizeof(*keys));
	size_t key_count = 0;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < end_count; i++)
		keys[key_count++] = end_totals[i];
	for (size_t t = 0; last_report && t < last_report->thread_count; t++) {
		const struct thread_info *thread = &last_report->threads[t];
		struct hist_key key = { thread->rec->tgid, thread->rec->wait.reason };

		if (thread->parked && !find_totals(keys, key_count, &key))
			keys[key_count++] = (struct park_totals){ .key = key };
	}
	for (size_t i = 0; i < key_count && !err; i++) {
		const struct park_totals *start = find_totals(window->start_totals,
							      window->start_count, &keys[i].key);
		__u64 closed = keys[i].count - (start ? start->count : 0);
		__u64 closed_ns = keys[i].total_ns - (start ? start->total_ns : 0);
		__u64 open = 0, open_ns = 0;
		char text[200];

		add_open_parks(&keys[i], last_report, duration_ns, &open, &open_ns);
		if (!closed && !open)
			continue;
		snprintf(text, sizeof(text),
			 "parkwatch tier1 pid=%u reason=%s closed_parks=%llu closed_ns=%llu "
			 "open_parks=%llu open_ns=%llu",
			 keys[i].key.tgid, classify__park_reason_name(keys[i].key.reason), closed,
			 closed_ns, open, open_ns);
		err = pprof__add_comment(window->pprof, text);
	}
	free(keys);
	return err;
}

int window__write(struct window *window, FILE *out, __u64 start_unix_ns, __u64 duration_ns,
		  const struct park_totals *end_totals, size_t end_count,
		  const struct report *last_report, const struct trend *trend)
{
	int err;

	if (window->folded)
		return folded__write(window->folded, out, trend);
	err = add_tier1_comments(window, end_totals, end_count, last_report, duration_ns);
	if (err)
		return err;
	return pprof__write(window->pprof, out, start_unix_ns, duration_ns, trend);
}
