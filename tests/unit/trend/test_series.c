// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the time-series statistics and sample rings (user/series.c)
 * on series whose answers are known exactly or published.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "trend/series.h"

#define SEC 1000000000ULL
#define EXACT 1e-12

struct sample {
	__u64 time_ns;              /* first, as the ring functions need */
	__u32 payload;              /* to see that whole samples move */
};

static void assert_near(double value, double expected, double tolerance)
{
	if (!(fabs(value - expected) <= tolerance))
		fail_msg("%.15g is not %.15g (within %g)", value, expected, tolerance);
}

/* ---- line fit ---- */

static void test_fit_exact_line(void **state)
{
	double x[10], rising[10], falling[10], far_x[10], far_y[10];
	struct series_line line;

	(void)state;
	for (int i = 0; i < 10; i++) {
		x[i] = i - 9;             /* minutes before the newest sample, as trend uses it */
		rising[i] = 3 * x[i] + 7;
		falling[i] = -2 * x[i] + 100;
		far_x[i] = 1e6 + i;       /* far from 0: the fit must work around the means */
		far_y[i] = 2 * far_x[i];
	}
	line = series__fit_line(x, rising, 10);
	assert_near(line.slope, 3, EXACT);
	assert_near(line.r2, 1, EXACT);
	line = series__fit_line(x, falling, 10);
	assert_near(line.slope, -2, EXACT);
	assert_near(line.r2, 1, EXACT); /* r², so a falling line fits as well */
	line = series__fit_line(far_x, far_y, 10);
	assert_near(line.slope, 2, 1e-9);
	assert_near(line.r2, 1, 1e-9);
}

static void test_fit_noisy_line(void **state)
{
	/* Anscombe's first quartet: slope 0.500, r 0.816 (Anscombe, 1973) */
	static const double anscombe_x[] = { 10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5 };
	static const double anscombe_y[] = { 8.04, 6.95, 7.58, 8.81, 8.33, 9.96,
					     7.24, 4.26, 10.84, 4.82, 5.68 };
	/* y = 2x + noise, the noise orthogonal to both 1 and x: the slope is
	 * exactly 2 and r² = 4 sxx / (4 sxx + see) = 70 / 74 */
	static const double x[] = { 0, 1, 2, 3, 4, 5 };
	static const double noise[] = { 1, -1, 0, 0, -1, 1 };
	double y[6];
	struct series_line line;

	(void)state;
	line = series__fit_line(anscombe_x, anscombe_y, 11);
	assert_near(line.slope, 0.5001, 1e-4);
	assert_near(line.r2, 0.816 * 0.816, 1e-3);
	for (int i = 0; i < 6; i++)
		y[i] = 2 * x[i] + noise[i];
	line = series__fit_line(x, y, 6);
	assert_near(line.slope, 2, EXACT);
	assert_near(line.r2, 70.0 / 74, EXACT);
}

/* No NaN from a zero variance: a flat series or a single point is no line. */
static void test_fit_constant_series(void **state)
{
	static const double x[] = { -3, -2, -1, 0 };
	static const double same_x[] = { 5, 5, 5, 5 };
	static const double flat[] = { 42, 42, 42, 42 };
	static const double varied[] = { 1, 4, 2, 8 };
	struct series_line line;

	(void)state;
	line = series__fit_line(x, flat, 4);
	assert_true(line.slope == 0 && line.r2 == 0);
	line = series__fit_line(same_x, varied, 4);
	assert_true(line.slope == 0 && line.r2 == 0);
	line = series__fit_line(x, varied, 1);
	assert_true(line.slope == 0 && line.r2 == 0);
	line = series__fit_line(x, varied, 0);
	assert_true(line.slope == 0 && line.r2 == 0);
}

/*
 * The claim trend's min_fit rests on: a line fits a single step, wherever it
 * falls, with r² = 3k(n-k)/(n²-1) (k samples before it), under 0.8 from the
 * 6 samples a verdict needs up to a full ring.
 */
static void test_fit_step_stays_under_min_fit(void **state)
{
	double x[32], y[32];

	(void)state;
	for (size_t n = 6; n <= 32; n++) {
		for (size_t k = 1; k < n; k++) {
			struct series_line line;

			for (size_t i = 0; i < n; i++) {
				x[i] = i;
				y[i] = i < k ? 5 : 55;
			}
			line = series__fit_line(x, y, n);
			assert_near(line.r2, 3.0 * k * (n - k) / (n * n - 1.0), 1e-9);
			assert_true(line.r2 < 0.8);
		}
	}
}

/* ---- Kendall's tau ---- */

static void test_tau_monotonic_and_reversed(void **state)
{
	double rising[20], falling[20];

	(void)state;
	for (int i = 0; i < 20; i++) {
		rising[i] = i * i;        /* any increasing series, not only a line */
		falling[i] = 100 - i;
	}
	assert_near(series__kendall_tau(rising, 20), 1, EXACT);
	assert_near(series__kendall_tau(falling, 20), -1, EXACT);
	assert_near(series__kendall_tau(rising, 2), 1, EXACT);
}

/* A step rises between k(n-k) of the n(n-1)/2 pairs: about half. */
static void test_tau_step(void **state)
{
	static const double six[] = { 5, 5, 5, 55, 55, 55 };
	double y[32];

	(void)state;
	assert_near(series__kendall_tau(six, 6), 9.0 / 15, EXACT);
	for (size_t k = 1; k < 32; k++) {
		for (size_t i = 0; i < 32; i++)
			y[i] = i < k ? 5 : 55;
		assert_near(series__kendall_tau(y, 32), 2.0 * k * (32 - k) / (32 * 31), EXACT);
		assert_true(series__kendall_tau(y, 32) < 0.52);
	}
}

/* k even increments: ties within a level count for neither side, 1 - 1/k. */
static void test_tau_staircase_and_ties(void **state)
{
	static const double flat[] = { 7, 7, 7, 7, 7 };
	static const double one[] = { 7 };
	double stairs[32];

	(void)state;
	for (int i = 0; i < 32; i++)
		stairs[i] = i / 8;        /* 4 levels of 8 */
	/* 496 pairs, 4 * 28 of them tied, the rest rising */
	assert_near(series__kendall_tau(stairs, 32), (496.0 - 112) / 496, EXACT);
	assert_near(series__kendall_tau(flat, 5), 0, EXACT);
	assert_near(series__kendall_tau(one, 1), 0, EXACT);
}

/* ---- ramp ---- */

static void test_ramp_edges(void **state)
{
	(void)state;
	assert_true(series__ramp(-5, 0.5, 0.8) == 0);
	assert_true(series__ramp(0.5, 0.5, 0.8) == 0);   /* the threshold itself is no evidence */
	assert_near(series__ramp(0.65, 0.5, 0.8), 0.5, EXACT);
	assert_true(series__ramp(0.8, 0.5, 0.8) == 1);
	assert_true(series__ramp(7, 0.5, 0.8) == 1);
	assert_true(series__ramp(NAN, 0.5, 0.8) == 0);
	assert_true(series__ramp(-INFINITY, 0.5, 0.8) == 0);
	assert_true(series__ramp(INFINITY, 0.5, 0.8) == 1);
	assert_true(series__ramp(0, -1, 1) == 0.5);       /* negative thresholds too */
}

/* ---- rings ---- */

static void fill(struct sample *ring, const __u64 *times, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ring[i] = (struct sample){ .time_ns = times[i], .payload = 100 + i };
}

static void test_ring_expire(void **state)
{
	static const __u64 times[] = { 10, 20, 30, 40, 50 };
	struct sample ring[5];

	(void)state;
	fill(ring, times, 5);
	assert_int_equal(series__ring_expire(ring, sizeof(*ring), 5, 0), 5);
	assert_int_equal(series__ring_expire(ring, sizeof(*ring), 5, 10), 5);
	assert_int_equal(ring[0].payload, 100);
	/* older than the window's start goes; at its start stays */
	assert_int_equal(series__ring_expire(ring, sizeof(*ring), 5, 30), 3);
	assert_int_equal(ring[0].time_ns, 30);
	assert_int_equal(ring[0].payload, 102);
	assert_int_equal(ring[2].time_ns, 50);
	assert_int_equal(ring[2].payload, 104);
	assert_int_equal(series__ring_time(ring, sizeof(*ring), 1), 40);
	assert_int_equal(series__ring_expire(ring, sizeof(*ring), 3, 51), 0);
	assert_int_equal(series__ring_expire(ring, sizeof(*ring), 0, 51), 0);
}

static void test_ring_remove(void **state)
{
	static const __u64 times[] = { 10, 20, 30, 40 };
	struct sample ring[4];

	(void)state;
	fill(ring, times, 4);
	series__ring_remove(ring, sizeof(*ring), 4, 1);
	assert_int_equal(ring[0].payload, 100);
	assert_int_equal(ring[1].payload, 102);
	assert_int_equal(ring[2].payload, 103);
	series__ring_remove(ring, sizeof(*ring), 3, 2); /* the last: nothing moves */
	assert_int_equal(ring[1].payload, 102);
}

/* The sample whose neighbours are closest, the first of equals, never an end. */
static void test_ring_thin_index(void **state)
{
	static const __u64 crowded[] = { 0, 10, 12, 30, 40 };  /* gaps around: 12, 20, 28 */
	static const __u64 close_ends[] = { 0, 1, 50, 100, 101 };
	static const __u64 even[] = { 0, 10, 20, 30, 40 };
	static const __u64 late[] = { 0, 10, 25, 30, 35 };      /* gaps around: 25, 20, 10 */
	static const __u64 three[] = { 0, 1, 2 };
	struct sample ring[5];

	(void)state;
	fill(ring, crowded, 5);
	assert_int_equal(series__ring_thin_index(ring, sizeof(*ring), 5), 1);
	fill(ring, close_ends, 5);
	assert_int_equal(series__ring_thin_index(ring, sizeof(*ring), 5), 1);
	fill(ring, even, 5);
	assert_int_equal(series__ring_thin_index(ring, sizeof(*ring), 5), 1);
	fill(ring, late, 5);
	assert_int_equal(series__ring_thin_index(ring, sizeof(*ring), 5), 3);
	fill(ring, three, 3);
	assert_int_equal(series__ring_thin_index(ring, sizeof(*ring), 3), 1);
}

/* Thinning a full ring on every append keeps the first and the newest
 * sample and spreads the rest over the history. */
static void test_ring_thin_keeps_spread(void **state)
{
	enum { LEN = 8, APPENDS = 1000 };
	struct sample ring[LEN];
	size_t len = 0;
	__u64 widest = 0;

	(void)state;
	for (__u32 i = 0; i < APPENDS; i++) {
		if (len == LEN) {
			series__ring_remove(ring, sizeof(*ring), len,
					    series__ring_thin_index(ring, sizeof(*ring), len));
			len--;
		}
		ring[len++] = (struct sample){ .time_ns = i * SEC, .payload = i };
	}
	assert_int_equal(len, LEN);
	assert_int_equal(ring[0].payload, 0);
	assert_int_equal(ring[LEN - 1].payload, APPENDS - 1);
	for (size_t i = 1; i < LEN; i++) {
		__u64 gap = ring[i].time_ns - ring[i - 1].time_ns;

		assert_true(gap > 0);
		widest = gap > widest ? gap : widest;
	}
	/* evenly spread would be 1/7 of the history; no gap is more than twice that */
	assert_true(widest <= 2 * (APPENDS - 1) * SEC / (LEN - 1));
}

static void test_ring_minutes(void **state)
{
	static const __u64 times[] = { 1000 * SEC, 1030 * SEC, 1090 * SEC };
	struct sample ring[3];
	double minutes[3];

	(void)state;
	fill(ring, times, 3);
	series__ring_minutes(ring, sizeof(*ring), 3, minutes);
	assert_near(minutes[0], -1.5, EXACT);
	assert_near(minutes[1], -1, EXACT);
	assert_true(minutes[2] == 0);
	series__ring_minutes(ring, sizeof(*ring), 1, minutes);
	assert_true(minutes[0] == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_exact_line),
		cmocka_unit_test(test_fit_noisy_line),
		cmocka_unit_test(test_fit_constant_series),
		cmocka_unit_test(test_fit_step_stays_under_min_fit),
		cmocka_unit_test(test_tau_monotonic_and_reversed),
		cmocka_unit_test(test_tau_step),
		cmocka_unit_test(test_tau_staircase_and_ties),
		cmocka_unit_test(test_ramp_edges),
		cmocka_unit_test(test_ring_expire),
		cmocka_unit_test(test_ring_remove),
		cmocka_unit_test(test_ring_thin_index),
		cmocka_unit_test(test_ring_thin_keeps_spread),
		cmocka_unit_test(test_ring_minutes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
