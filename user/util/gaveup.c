// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Userspace give-up counters (gaveup.h). */
#include <stdatomic.h>
#include "util/format.h"
#include "util/gaveup.h"

const struct gaveup_name gaveup_names[GAVEUP__COUNT] = {
	[GAVEUP_PROCESS_UNREADABLE] = { "process_unreadable", "unreadable process",
					"unreadable processes" },
	[GAVEUP_HTTP_REFUSED] = { "http_refused", "refused HTTP connection or request",
				  "refused HTTP connections or requests" },
	[GAVEUP_IMPLAUSIBLE_RUNTIME] = { "implausible_runtime", "implausible Go runtime",
					 "implausible Go runtimes" },
	[GAVEUP_GO_BUDGET_EXCEEDED] = { "go_budget_exceeded", "goroutine read cut short",
					"goroutine reads cut short" },
	[GAVEUP_MAPPED_FILE_TRUNCATED] = { "mapped_file_truncated",
					   "page of a truncated file", "pages of truncated files" },
	[GAVEUP_FD_LIMIT] = { "fd_limit", "process unsymbolized (fd limit)",
			      "processes unsymbolized (fd limit)" },
	[GAVEUP_BROKER_GONE] = { "broker_gone", "file not opened (broker gone)",
				 "files not opened (broker gone)" },
	[GAVEUP_GOROUTINE_CHANGED] = { "goroutine_changed",
				       "goroutine left out (changed under every read)",
				       "goroutines left out (changed under every read)" },
	[GAVEUP_EXITED_TOTALS_FOLDED] = { "exited_totals_folded",
					  "exited process's total folded into pid 0",
					  "exited processes' totals folded into pid 0" },
};

static _Atomic uint64_t counters[GAVEUP__COUNT];

void gaveup__add(enum gaveup_reason reason, uint64_t n)
{
	if ((unsigned)reason < GAVEUP__COUNT)
		atomic_fetch_add_explicit(&counters[reason], n, memory_order_relaxed);
}

void gaveup__count(enum gaveup_reason reason)
{
	gaveup__add(reason, 1);
}

uint64_t gaveup__value(enum gaveup_reason reason)
{
	if ((unsigned)reason >= GAVEUP__COUNT)
		return 0;
	return atomic_load_explicit(&counters[reason], memory_order_relaxed);
}

bool gaveup__summary(char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (int i = 0; i < GAVEUP__COUNT; i++)
		if (gaveup__value(i))
			len = format__count_phrase(buf, size, len, gaveup__value(i), gaveup_names[i].one,
						   gaveup_names[i].many);
	return len > 0;
}
