/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * How much one piece of reading may take: a deadline, a number of bytes,
 * and a way for the user to stop it (a signal, q).  Work done on another
 * process's say-so (a goroutine count it hands us, list lengths) checks
 * its budget as it goes and stops where the budget says, keeping what it
 * read; `cut` then says why.  Checking is cheap: the stop question is
 * asked at most once per BUDGET_CHECK_NS.
 */
#ifndef PARKWATCH_BUDGET_H
#define PARKWATCH_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define BUDGET_CHECK_NS 5000000ULL  /* 5 ms: a signal ends parkwatch well within 1 s */

/* Why reading stopped before the end; the order is the renderers' too. */
enum budget_cut {
	BUDGET_CUT_NONE,
	BUDGET_CUT_STOPPED,         /* the user asked parkwatch to stop */
	BUDGET_CUT_TIME,            /* the deadline passed */
	BUDGET_CUT_MEMORY,          /* more bytes than allowed were asked for */
};

struct stop_check {
	bool (*requested)(void *ctx); /* true once a stop is asked for, and after */
	void *ctx;
};

struct budget {
	__u64 deadline_ns;          /* CLOCK_MONOTONIC; 0: none */
	size_t max_bytes;           /* 0: none */
	const struct stop_check *stop; /* NULL: nothing stops it */
	enum budget_cut cut;        /* the first reason it was cut; stays */
	__u64 next_check_ns;        /* when stop is asked next */
};

/* A budget of time_ns from now (0: no deadline) and max_bytes (0: no limit). */
struct budget budget__start(__u64 time_ns, size_t max_bytes, const struct stop_check *stop);
/* Stop now: the deadline passed or the user asked (sets cut).  NULL-safe. */
bool budget__spent(struct budget *budget);
/* Whether bytes more than the budget allows (sets cut).  NULL-safe. */
bool budget__too_big(struct budget *budget, size_t bytes);
/* The first share_percent of what is left of budget's time, for a step whose
 * results the rest of the time turns into something (reading, then
 * naming what was read); bytes and stop as budget's.  Its cut is not
 * budget's until budget__take_cut. */
struct budget budget__first_part(const struct budget *budget, unsigned share_percent);
/* Makes part's cut budget's, unless budget was cut first.  NULL-safe. */
void budget__take_cut(struct budget *budget, const struct budget *part);
/* A stop check alone, for who has no budget of its own.  NULL-safe. */
bool stop_check__requested(const struct stop_check *stop);

#endif /* PARKWATCH_BUDGET_H */
