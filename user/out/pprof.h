/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * pprof profile.proto writer (protobuf-c, gzip'd with zlib).  A picture's
 * profile looks to a reader like Go's goroutine profile: one sample per group
 * of threads with the same stack and labels, values [threads, parked ns].  A
 * window profile adds up the periodic pictures: every thread parked in a
 * picture counts one sample and one interval of parked time.
 */
#ifndef PARKWATCH_PPROF_H
#define PARKWATCH_PPROF_H

#include <stdio.h>
#include "model/picture.h"
#include "trend/trend.h"

enum pprof_kind {
	PPROF_PICTURE,             /* [threads count, parked nanoseconds] */
	PPROF_WINDOW,               /* [samples count, parked nanoseconds] */
	PPROF_GOROUTINE,            /* [goroutine count], period goroutine/count 1: as Go writes it */
};

struct pprof;

struct pprof *pprof__new(enum pprof_kind kind, __u64 period_ns);
void pprof__free(struct pprof *pprof);
/*
 * Adds a picture's groups: for a goroutine profile every group with Go's
 * own stacks and labels; else the parked groups, a window weighing each
 * unit by interval_ns, a picture's profile by the units' own park ages.  0 or
 * -ENOMEM.
 */
int pprof__add_picture(struct pprof *pprof, const struct pw_picture *picture, __u64 interval_ns);
/* A free-text comment, shown by `go tool pprof -raw`/-comments. */
int pprof__add_comment(struct pprof *pprof, const char *text);
/* Serializes, gzips and writes; samples of groups trend (may be NULL) holds
 * for leak suspects get the label leak_suspect=true.  0 or a negative errno. */
int pprof__write(struct pprof *pprof, FILE *out, __u64 time_unix_ns, __u64 duration_ns,
		 const struct trend *trend);

#endif /* PARKWATCH_PPROF_H */
