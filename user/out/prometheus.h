/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Prometheus text exposition (format 0.0.4) of a picture, the tier-1 park
 * histograms and parkwatch's own health.  Cardinality is bounded: per-process
 * series only for the watched pids, or without -p for the top_k processes
 * by parked threads; histograms and totals are per reason only.  A
 * per-process series is labelled with what runs (comm, exe, container, pod,
 * unit), never the pid, so that it goes on across a restart; processes with
 * the same labels add up.
 */
#ifndef PARKWATCH_PROMETHEUS_H
#define PARKWATCH_PROMETHEUS_H

#include <stdio.h>
#include "model/picture.h"
#include "park.h"
#include "trend/trend.h"
#include "util/bytelru.h"

#define PROMETHEUS_MAX_SUSPECTS 20

struct metrics_input {
	const struct pw_picture *picture;   /* latest picture with its tier-1 totals; may be NULL */
	size_t top_k;                       /* processes with per-pid series */
	__u64 dropped;                      /* tier-1 updates that did not fit */
	struct pw_stats bpf_stats;          /* what the BPF side gave up on */
	double snapshot_seconds;            /* how long the last picture took */
	__u64 snapshots;                    /* pictures taken */
	size_t symbol_cache_entries;
	struct bytelru_stats symbol_cache;  /* the shared module sessions (proc/modcache.h) */
	const struct trend *trend;          /* leak evidence, or NULL */
};

void prometheus__write(FILE *out, const struct metrics_input *in);
/* A quoted label value: backslash, double quote and newline escaped,
 * ill-formed UTF-8 as U+FFFD (util/utf8.h). */
void prometheus__label_value(FILE *out, const char *value);
/* A family's HELP and TYPE lines. */
void prometheus__family(FILE *out, const char *name, const char *type, const char *help);
/* parkwatch's own series: build info, pictures, give-ups, process_*. */
void prometheus__write_self(FILE *out, const struct metrics_input *in,
			    const struct pw_totals *totals);

#endif /* PARKWATCH_PROMETHEUS_H */
