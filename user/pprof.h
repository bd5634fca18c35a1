/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * pprof profile.proto writer (protobuf-c, gzip'd with zlib).  A snapshot
 * profile looks to a reader like Go's goroutine profile: one sample per group
 * of threads with the same stack and labels, values [threads, parked ns].  A
 * window profile adds up the periodic snapshots: every thread parked at a
 * snapshot counts one sample and one interval of parked time.
 */
#ifndef PARKWATCH_PPROF_H
#define PARKWATCH_PPROF_H

#include <stdio.h>
#include "report.h"

enum pprof_kind {
	PPROF_SNAPSHOT,             /* [threads count, parked nanoseconds] */
	PPROF_WINDOW,               /* [samples count, parked nanoseconds] */
};

struct pprof;

struct pprof *pprof__new(enum pprof_kind kind, __u64 period_ns);
void pprof__free(struct pprof *pprof);
/* Adds a report's parked groups.  A window profile weighs each thread by
 * interval_ns; a snapshot uses the threads' own park ages.  0 or -ENOMEM. */
int pprof__add_report(struct pprof *pprof, const struct report *report, __u64 interval_ns);
/* A free-text comment, shown by `go tool pprof -raw`/-comments. */
int pprof__add_comment(struct pprof *pprof, const char *text);
/* Serializes, gzips and writes.  0 or a negative errno. */
int pprof__write(struct pprof *pprof, FILE *out, __u64 time_unix_ns, __u64 duration_ns);

#endif /* PARKWATCH_PPROF_H */
