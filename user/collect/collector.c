// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The tick: totals, snapshot, picture (collector.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/collector.h"
#include "collect/goroutines.h"
#include "collect/locks.h"
#include "collect/threads.h"
#include "kernel/snapshot.h"
#include "model/group.h"
#include "model/waitfor.h"
#include "model/totals.h"
#include "proc/fdpeers.h"
#include "proc/procs.h"
#include "util/clock.h"
#include "util/gaveup.h"

/* (process, reason) totals of processes gone kept apart, 48 B each: past
 * it the oldest half are added into one per reason (totals.h). */
#define GONE_TOTALS_MAX 4096

struct collector {
	struct tracker *tracker;
	struct snapshots *snapshots; /* each reads again only what changed since the last */
	struct collector_opts opts;
	struct procs *procs;
	struct fdpeers *peers;      /* the other ends of waited-on fds, from picture to picture */
	struct goroutines *goroutines;
	struct locks *locks;        /* owners of what threads wait for, and the second read */
	struct pw_totals *gone;     /* exited threads' totals of processes gone, moved out of
				     * the BPF map so that it never fills */
	bool go_off;                /* go_pid is not a readable Go program */
	int go_last_err;            /* the last goroutine-reading error said, not to repeat it */
	bool go_noted;              /* what reading go_pid took on trust was said */
	__u64 ticks;
	__u64 last_tick_ns;
};

struct collector *collector__new(struct tracker *tracker, const struct collector_opts *opts)
{
	struct collector *collector = calloc(1, sizeof(*collector));

	if (!collector)
		return NULL;
	collector->tracker = tracker;
	collector->snapshots = snapshots__new(tracker);
	collector->opts = *opts;
	collector->procs = procs__new(opts->symbol_cache_limit_bytes);
	collector->peers = fdpeers__new();
	collector->goroutines = goroutines__new(!opts->one_shot);
	collector->locks = locks__new();
	collector->gone = totals__new();
	if (!collector->snapshots || !collector->procs || !collector->peers ||
	    !collector->goroutines || !collector->locks || !collector->gone) {
		collector__free(collector);
		return NULL;
	}
	return collector;
}

void collector__free(struct collector *collector)
{
	if (!collector)
		return;
	snapshots__free(collector->snapshots);
	goroutines__free(collector->goroutines);
	locks__free(collector->locks);
	procs__free(collector->procs);
	fdpeers__free(collector->peers);
	totals__free(collector->gone);
	free(collector);
}

struct totals_ctx {
	struct pw_totals *totals;
	int err;
};

static void add_exited(const struct hist_key *key, __u64 count, __u64 total_ns, void *ctx)
{
	struct totals_ctx *add = ctx;

	if (!add->err)
		add->err = totals__add(add->totals, (pid_t)key->tgid, key->reason, count, total_ns);
}

/*
 * Tier-1 totals per (process, reason): exited threads' from their BPF map,
 * read before the snapshot (a thread that exits in between is then missed
 * once, never counted twice), live threads' from their records.
 */
static int gather_totals(struct collector *collector, const struct snapshot *snap,
			 struct pw_totals *totals)
{
	struct totals_ctx add = { totals, 0 };
	int err;

	for (size_t i = 0; i < snap->count && !add.err; i++) {
		const struct task_record *rec = snap->threads[i].rec;

		for (__u32 reason = 0; reason < PARK_REASON__COUNT && !add.err; reason++)
			if (rec->counts.parks[reason])
				add.err = totals__add(totals, (pid_t)rec->tgid, reason,
						      rec->counts.parks[reason],
						      rec->counts.parked_ns[reason]);
	}
	if (add.err)
		return add.err;
	err = tracker__reason_hists(collector->tracker, totals->hists);
	totals->has_hists = !err;
	totals->exited_capacity = tracker__exited_capacity(collector->tracker);
	return 0;
}

static struct budget go_budget(const struct collector *collector)
{
	return budget__start(collector->opts.go_time_budget_ns,
			     collector->opts.go_memory_budget_bytes, collector->opts.stop);
}

/* The goroutines of go_pid when it is in the snapshot and readable. */
static bool add_goroutines(struct collector *collector, struct pw_picture *picture,
			   const struct snapshot *snap)
{
	struct budget budget = go_budget(collector);
	pid_t pid = collector->opts.go_pid;
	bool present = false;
	struct proc *proc;
	const char *why;
	int err;

	if (!pid || collector->go_off)
		return false;
	for (size_t i = 0; i < snap->count && !present; i++)
		present = (pid_t)snap->threads[i].rec->tgid == pid;
	if (!present)
		return false;
	proc = procs__get(collector->procs, pid);
	err = proc ? goroutines__add(collector->goroutines, picture, proc, clock__monotonic_ns(),
				     &budget) :
		     -ENOMEM;
	if (budget.cut == BUDGET_CUT_STOPPED)
		picture->cut_short = BUDGET_CUT_STOPPED;
	why = goroutines__why(collector->goroutines, pid);
	if (err && err != -ENOEXEC && err != collector->go_last_err) {
		fprintf(stderr, "parkwatch: process %d: %s%s%s; showing its threads\n", pid,
			goroutines__strerror(err), why ? ": " : "", why ? why : "");
	} else if (!err && why && !collector->go_noted) {
		fprintf(stderr, "parkwatch: process %d: %s\n", pid, why);
		collector->go_noted = true;
	}
	collector->go_last_err = err;
	if (err == -ENOEXEC || err == -ENODATA)
		collector->go_off = true;
	return !err;
}

/* Bounds the totals of processes gone, which a daemon would otherwise keep
 * for every process that ever exited. */
static int fold_gone(struct collector *collector)
{
	size_t folded = 0;
	int err;

	if (collector->gone->count <= GONE_TOTALS_MAX)
		return 0;
	err = totals__fold_oldest(collector->gone, GONE_TOTALS_MAX / 2, &folded);
	gaveup__add(GAVEUP_EXITED_TOTALS_FOLDED, folded);
	return err;
}

int collector__tick(struct collector *collector, struct pw_picture **out)
{
	__u64 started_ns = clock__monotonic_ns();
	struct pw_picture *picture = picture__new();
	struct totals_ctx gone = { collector->gone, 0 };
	struct pw_totals *totals = NULL;
	struct totals_ctx exited = { NULL, 0 };
	struct budget stop_only = budget__start(0, 0, collector->opts.stop);
	const struct snapshot *snap = NULL;
	pid_t skip_pid = 0;
	int err;

	*out = NULL;
	err = tracker__drain_exited(collector->tracker, add_exited, &gone);
	if (err >= 0)
		err = gone.err;
	if (!err)
		err = fold_gone(collector);
	if (err)
		goto fail;
	err = -ENOMEM;
	totals = totals__clone(collector->gone);
	if (!picture || !totals)
		goto fail;
	picture->totals = totals;
	exited.totals = totals;
	totals = NULL;
	err = tracker__for_each_exited(collector->tracker, add_exited, &exited);
	picture->totals->exited_entries = err > 0 ? err : 0;
	err = exited.err;
	if (!err)
		err = snapshots__take(collector->snapshots, &snap);
	if (err == -EMFILE || err == -ENFILE) {
		/* out of fds: the processes' sessions give theirs back, never
		 * the picture; they cost their symbols once, counted */
		procs__shed_fds(collector->procs);
		gaveup__count(GAVEUP_FD_LIMIT);
		err = snapshots__take(collector->snapshots, &snap);
	}
	if (!err)
		err = gather_totals(collector, snap, picture->totals);
	if (err)
		goto fail;
	picture->time_unix_ns = clock__unix_ns();
	picture->time_mono_ns = clock__monotonic_ns();
	procs__begin(collector->procs);
	if (add_goroutines(collector, picture, snap))
		skip_pid = collector->opts.go_pid;
	err = threads__add(picture, snap, collector->procs, collector->peers, skip_pid, &stop_only);
	if (stop_only.cut == BUDGET_CUT_STOPPED)
		picture->cut_short = BUDGET_CUT_STOPPED;
	if (!err)
		err = locks__fill(collector->locks, picture, snap, collector->procs);
	procs__end(collector->procs);
	goroutines__prune(collector->goroutines);
	if (!err)
		err = picture__finish(picture);
	if (!err)
		err = waitfor__find(picture, locks__confirm, collector->locks);
	if (!err)
		err = group__build(picture);
	if (err)
		goto fail;
	collector->ticks++;
	collector->last_tick_ns = clock__monotonic_ns() - started_ns;
	*out = picture;
	return 0;
fail:
	totals__free(totals);
	picture__put(picture);
	return err;
}

int collector__goroutines(struct collector *collector, pid_t pid, struct pw_picture **out)
{
	struct pw_picture *picture = picture__new();
	struct proc *proc = procs__get(collector->procs, pid);
	struct budget budget = go_budget(collector);
	int err;

	*out = NULL;
	if (!picture || !proc) {
		picture__put(picture);
		return -ENOMEM;
	}
	picture->time_unix_ns = clock__unix_ns();
	picture->time_mono_ns = clock__monotonic_ns();
	err = goroutines__add(collector->goroutines, picture, proc, picture->time_mono_ns, &budget);
	if (!err)
		err = group__finish(picture);
	if (err) {
		picture__put(picture);
		return err;
	}
	*out = picture;
	return 0;
}

__u64 collector__ticks(const struct collector *collector)
{
	return collector->ticks;
}

__u64 collector__last_tick_ns(const struct collector *collector)
{
	return collector->last_tick_ns;
}

size_t collector__symbol_count(const struct collector *collector)
{
	return procs__symbol_count(collector->procs);
}

void collector__cache_stats(const struct collector *collector, struct bytelru_stats *stats)
{
	procs__cache_stats(collector->procs, stats);
}
