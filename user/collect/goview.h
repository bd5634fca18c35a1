/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Goroutine mode for the live view, the leak trends and /metrics: a
 * goroutine picture (goreport.h) dressed as a thread report (report.h), so
 * that every consumer of reports works on goroutine groups unchanged.  Each
 * user goroutine is one "thread" (tid = its goid, truncated to 32 bits), each
 * waiting group one group with the gogroup's signature.
 *
 * A goroutine's park age is the time since parkwatch first saw it in its
 * current wait (the runtime's waitsince is only set by a garbage collection):
 * struct goreport_ages remembers that across pictures.
 */
#ifndef PARKWATCH_GOVIEW_H
#define PARKWATCH_GOVIEW_H

#include <linux/types.h>
#include "collect/goreport.h"
#include "model/report.h"
#include "util/u64map.h"

/* Goroutines remembered at most; beyond that new ones age from each picture. */
#define GOREPORT_AGES_MAX (1u << 21)

struct goreport_ages {
	struct u64map seen;         /* goid -> struct goreport_age * */
	__u64 last_first_seen_ns;   /* the latest first-seen time handed out */
	unsigned int generation;
};

/* Zero-initialised is ready; goreport_ages__clear releases it. */
void goreport_ages__clear(struct goreport_ages *ages);

/*
 * Builds a heap report from g: the waiting user goroutines' groups, every
 * user goroutine as a thread, the process as procs[0].  now_ns is
 * CLOCK_MONOTONIC, the clock of park_start_ns.  Takes over g in every case
 * (report__free frees it with the report).  0 or -ENOMEM.
 */
int goreport__as_report(struct goreport *g, struct goreport_ages *ages, __u64 now_ns,
			struct report **out);

#endif /* PARKWATCH_GOVIEW_H */
