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
#include "model/report.h"
#include "trend/trend.h"

enum pprof_kind {
	PPROF_SNAPSHOT,             /* [threads count, parked nanoseconds] */
	PPROF_WINDOW,               /* [samples count, parked nanoseconds] */
	PPROF_GOROUTINE,            /* [goroutine count], period goroutine/count 1: as Go writes it */
};

/* A sample label: a string when str is set, else the number num. */
struct pprof_label {
	const char *key;
	const char *str;
	__s64 num;
};

struct pprof;

struct pprof *pprof__new(enum pprof_kind kind, __u64 period_ns);
void pprof__free(struct pprof *pprof);
/* Adds a report's parked groups.  A window profile weighs each thread by
 * interval_ns; a snapshot uses the threads' own park ages.  0 or -ENOMEM. */
int pprof__add_report(struct pprof *pprof, const struct report *report, __u64 interval_ns);
/*
 * Adds values (one per sample type: 1 for PPROF_GOROUTINE, 2 otherwise) to
 * the sample of this stack and label set, made on first use with signature
 * (its group's, for leak labels; 0: none).  frames and symbols are leaf
 * first, as a report's threads have them (a symbol may be NULL); a frame
 * whose lookup_pc is 0 is a pseudo frame named by its symbol alone.  0,
 * -EINVAL or -ENOMEM.
 */
int pprof__add_stack(struct pprof *pprof, pid_t pid, const struct stack_frame *frames,
		     const struct symbol *const *symbols, int depth, const __s64 *values,
		     const struct pprof_label *labels, size_t label_count, __u64 signature);
/* The file the first mapping should be (a report sets it itself). */
int pprof__set_main_binary(struct pprof *pprof, const char *path);
/* A free-text comment, shown by `go tool pprof -raw`/-comments. */
int pprof__add_comment(struct pprof *pprof, const char *text);
/* Serializes, gzips and writes; samples of groups trend (may be NULL) holds
 * for leak suspects get the label leak_suspect=true.  0 or a negative errno. */
int pprof__write(struct pprof *pprof, FILE *out, __u64 time_unix_ns, __u64 duration_ns,
		 const struct trend *trend);

#endif /* PARKWATCH_PPROF_H */
