/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The BPF side's give-up counters (struct pw_stats, park.h) by name: the
 * reason label of parkwatch_bpf_gave_up_total in /metrics, and the words of
 * the line parkwatch prints on stderr when it exits.
 */
#ifndef PARKWATCH_PW_STATS_H
#define PARKWATCH_PW_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include "park.h"

#define PW_STATS_COUNT (sizeof(struct pw_stats) / sizeof(__u64))

struct pw_stat_name {
	const char *reason;         /* the field's name, and the metric's reason label */
	const char *one, *many;     /* what it counts, for people: "stack copy", "stack copies" */
	size_t offset;              /* of the field in struct pw_stats */
	bool lost;                  /* something is missing from the output (not a retry) */
};

/* One per field of struct pw_stats, in field order. */
extern const struct pw_stat_name pw_stat_names[PW_STATS_COUNT];

__u64 pw_stats__value(const struct pw_stats *stats, size_t index);

/*
 * "3 task-storage allocations, 1 stack copy": the counters of things lost
 * that are not zero, into buf.  Returns false, with buf empty, when there
 * are none.
 */
bool pw_stats__summary(const struct pw_stats *stats, char *buf, size_t size);

#endif /* PARKWATCH_PW_STATS_H */
