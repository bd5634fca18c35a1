/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A profile.proto in the making (protobuf-c, gzip'd with zlib): tables of
 * strings, functions, mappings and locations, samples keyed by stack and
 * labels, comments; written as pprof readers expect (the main binary's
 * mapping first, leak suspects labelled).  What goes into the samples is
 * pprof.c's.
 */
#ifndef PARKWATCH_PPROF_BUILDER_H
#define PARKWATCH_PPROF_BUILDER_H

#include <stdio.h>
#include <sys/types.h>
#include "model/symbol.h"
#include "trend/trend.h"

enum pprof_kind {
	PPROF_PICTURE,              /* [threads count, parked nanoseconds] */
	PPROF_WINDOW,               /* [samples count, parked nanoseconds] */
	PPROF_GOROUTINE,            /* [goroutine count], period goroutine/count 1: as Go writes it */
};

/* A sample label: a string when str is set, else the number num. */
struct pprof_label {
	const char *key;
	const char *str;
	__s64 num;
};

struct pprof_builder;

struct pprof_builder *pprof_builder__new(enum pprof_kind kind, __u64 period_ns);
void pprof_builder__free(struct pprof_builder *pprof);
int pprof_builder__kind(const struct pprof_builder *pprof);
/*
 * Adds values (one per sample type) to the sample of this stack and label
 * set, made on first use with signature (its group's, for leak labels).
 * frames and symbols are leaf first; a frame whose lookup_pc is 0 is a
 * pseudo frame named by its symbol.  0 or -ENOMEM.
 */
int pprof_builder__add_sample(struct pprof_builder *pprof, pid_t pid,
			      const struct stack_frame *frames, const struct symbol *const *symbols,
			      int depth, const __s64 *values, const struct pprof_label *labels,
			      size_t label_count, __u64 signature);
/* The file the first mapping should be, unless one is set already. */
int pprof_builder__set_main_binary(struct pprof_builder *pprof, const char *path);
/* A free-text comment, shown by `go tool pprof -raw`/-comments. */
int pprof_builder__add_comment(struct pprof_builder *pprof, const char *text);
/* Serializes, gzips and writes; samples of groups trend (may be NULL) holds
 * for leak suspects get the label leak_suspect=true.  0 or a negative errno. */
int pprof_builder__write(struct pprof_builder *pprof, FILE *out, __u64 time_unix_ns,
			 __u64 duration_ns, const struct trend *trend);

#endif /* PARKWATCH_PPROF_BUILDER_H */
