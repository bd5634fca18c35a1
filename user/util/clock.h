/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The two clocks parkwatch reads, in nanoseconds: monotonic for intervals
 * and deadlines, real time for timestamps people and profiles read. */
#ifndef PARKWATCH_CLOCK_H
#define PARKWATCH_CLOCK_H

#include <time.h>
#include <linux/types.h>
#include "util/units.h"

static inline __u64 clock__ns(clockid_t clock)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return (__u64)now.tv_sec * NSEC_PER_SEC + now.tv_nsec;
}

static inline __u64 clock__monotonic_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

static inline __u64 clock__unix_ns(void)
{
	return clock__ns(CLOCK_REALTIME);
}

#endif /* PARKWATCH_CLOCK_H */
