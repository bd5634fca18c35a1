// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Statistics on short time series and the sample rings (series.h). */
#include <string.h>
#include "trend/series.h"
#include "util/units.h"


/*
 * Two passes around the means rather than one over raw sums: x is often
 * minutes a few apart and the values thousands of threads, and sums of
 * squares of those lose the digits that tell a line from a step.
 */
struct series_line series__fit_line(const double *x, const double *values, size_t n)
{
	double mean_x = 0, mean_y = 0, sxx = 0, sxy = 0, syy = 0;
	struct series_line line = { 0 };

	if (n < 2)
		return line;
	for (size_t i = 0; i < n; i++) {
		mean_x += x[i];
		mean_y += values[i];
	}
	mean_x /= n;
	mean_y /= n;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - mean_x, dy = values[i] - mean_y;

		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (sxx > 0)
		line.slope = sxy / sxx;
	if (sxx > 0 && syy > 0)
		line.r2 = sxy * sxy / (sxx * syy);
	return line;
}

/*
 * Against time, tau tells steady growth from a jump: a single step with k
 * samples before it rises between k(n-k) of the n(n-1)/2 pairs, about half
 * (0.6 at most for 6 samples, 0.52 for 32), while k even increments give
 * about 1 - 1/k.  Ties count for neither side.  O(n²), which is nothing for
 * the few dozen samples of a ring.
 */
double series__kendall_tau(const double *values, size_t n)
{
	long balance = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			balance += (values[j] > values[i]) - (values[j] < values[i]);
	return (double)balance / (n * (n - 1) / 2);
}

/* Written so that a NaN gives 0: no evidence, not full evidence. */
double series__ramp(double value, double low, double high)
{
	if (!(value > low))
		return 0;
	return value >= high ? 1 : (value - low) / (high - low);
}

/* memcpy: a ring is untyped here, and its samples need not be aligned for
 * a __u64 read through a cast. */
__u64 series__ring_time(const void *samples, size_t size, size_t i)
{
	__u64 time_ns;

	memcpy(&time_ns, (const char *)samples + i * size, sizeof(time_ns));
	return time_ns;
}

void series__ring_remove(void *samples, size_t size, size_t len, size_t i)
{
	memmove((char *)samples + i * size, (char *)samples + (i + 1) * size,
		(len - i - 1) * size);
}

size_t series__ring_expire(void *samples, size_t size, size_t len, __u64 window_start_ns)
{
	size_t stale = 0;

	while (stale < len && series__ring_time(samples, size, stale) < window_start_ns)
		stale++;
	memmove(samples, (char *)samples + stale * size, (len - stale) * size);
	return len - stale;
}

/*
 * The sample whose neighbours are closest together: the rest stay spread
 * evenly over the window whatever the update interval, so a long window
 * costs no more memory than a short one, and the oldest and newest samples,
 * which fix the span a verdict rests on, are never dropped.
 */
size_t series__ring_thin_index(const void *samples, size_t size, size_t len)
{
	__u64 best_gap = ~0ULL;
	size_t best = 1;

	for (size_t i = 1; i + 1 < len; i++) {
		__u64 gap = series__ring_time(samples, size, i + 1) -
			    series__ring_time(samples, size, i - 1);

		if (gap < best_gap) {
			best_gap = gap;
			best = i;
		}
	}
	return best;
}

/* Relative to the newest sample so that the x values stay small whatever
 * the monotonic clock reads: the fit's precision does not depend on uptime. */
void series__ring_minutes(const void *samples, size_t size, size_t len, double *minutes)
{
	__u64 newest_ns = series__ring_time(samples, size, len - 1);

	for (size_t i = 0; i < len; i++)
		minutes[i] = -(double)(newest_ns - series__ring_time(samples, size, i)) /
			     NSEC_PER_MIN;
}
