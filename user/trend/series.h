/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Plain statistics on short time series, with no knowledge of what is being
 * counted: the least-squares line, Kendall's tau against time, the ramp the
 * leak score is built from, and the fixed-size sample rings trend keeps its
 * history in.
 *
 * A ring is an array of samples of one type whose first member is a __u64
 * time in ns, oldest first; the ring functions take the sample size so that
 * every sample type of trend shares them.
 */
#ifndef PARKWATCH_SERIES_H
#define PARKWATCH_SERIES_H

#include <stddef.h>
#include <linux/types.h>

struct series_line {
	double slope;               /* values per unit of x */
	double r2;                  /* 0..1; 0 when x or the values are constant */
};

/* Least squares through (x[i], values[i]); all 0 under two points. */
struct series_line series__fit_line(const double *x, const double *values, size_t n);
/* Kendall's tau of values against their order: +1 when every value is above
 * every earlier one, -1 when below, 0 under two points. */
double series__kendall_tau(const double *values, size_t n);
/* 0 up to low, 1 from high, linear in between; 0 for NaN.  low < high. */
double series__ramp(double value, double low, double high);

__u64 series__ring_time(const void *samples, size_t size, size_t i);
/* Drops sample i of len, keeping the order. */
void series__ring_remove(void *samples, size_t size, size_t len, size_t i);
/* Drops the samples older than window_start_ns; returns the new length. */
size_t series__ring_expire(void *samples, size_t size, size_t len, __u64 window_start_ns);
/* In a full ring (len >= 3), the sample to drop to make room; never the
 * first or the last. */
size_t series__ring_thin_index(const void *samples, size_t size, size_t len);
/* Each sample's time in minutes relative to the newest (<= 0), the x axis of
 * a fit whose slope is then per minute.  len >= 1. */
void series__ring_minutes(const void *samples, size_t size, size_t len, double *minutes);

#endif /* PARKWATCH_SERIES_H */
