// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of windows (user/out/window.c): the pictures of a duration
 * added up into one pprof profile, with the tier-1 totals as comments, or
 * into folded stacks.  On the picture of support/sample.h, its cond waiters
 * in futex and its sleeper in nanosleep.  No BPF, no process is looked at.
 */
#include "model/totals.h"
#include "out/window.h"
#include "support/profile.h"
#include "support/sample.h"

typedef Parkwatch__Pprof__Profile Profile;
typedef Parkwatch__Pprof__Sample Sample;

#define WINDOW_START_NS (TIME_UNIX_NS - 3 * SEC)

struct fixture {
	struct sample p;
	struct window *window;
	Profile *profile;
	uint8_t *raw;
	size_t raw_len;
	char *text;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sample_build(&f->p);
	f->p.picture->units[T_COND1].wait.kernel_reason = PARK_REASON_FUTEX;
	f->p.picture->units[T_COND2].wait.kernel_reason = PARK_REASON_FUTEX;
	f->p.picture->units[T_SLEEP].wait.kernel_reason = PARK_REASON_SLEEP;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	window__free(f->window);
	if (f->profile)
		parkwatch__pprof__profile__free_unpacked(f->profile, NULL);
	free(f->raw);
	free(f->text);
	sample_free(&f->p);
	free(f);
	return 0;
}

/* A window over the fixture's picture, added twice for 500 ms each. */
static void open_window(struct fixture *f, enum pw_format format,
			const struct pw_totals *start_totals)
{
	f->window = window__new(format, 500 * MS, start_totals, NULL);
	assert_non_null(f->window);
	assert_int_equal(window__add(f->window, f->p.picture, 500 * MS), 0);
	assert_int_equal(window__add(f->window, f->p.picture, 500 * MS), 0);
}

/* The window written as a profile, ending with last. */
static const Profile *write_profile(struct fixture *f, __u64 duration_ns,
				    const struct pw_picture *last)
{
	FILE *file = tmpfile();

	assert_non_null(file);
	assert_int_equal(window__write(f->window, file, WINDOW_START_NS, duration_ns, last, NULL), 0);
	if (f->profile)
		parkwatch__pprof__profile__free_unpacked(f->profile, NULL);
	f->profile = read_profile(file, &f->raw, &f->raw_len);
	return f->profile;
}

static const char *str(const Profile *p, int64_t index)
{
	assert_true(index >= 0 && (size_t)index < p->n_string_table);
	return p->string_table[index];
}

static const char *comment(const Profile *p, size_t i)
{
	assert_true(i < p->n_comment);
	return str(p, p->comment[i]);
}

static struct pw_totals *make_totals(void)
{
	struct pw_totals *totals = totals__new();

	assert_non_null(totals);
	return totals;
}

/*
 * Per (pid, kernel-side reason): parks closed in the window (the last
 * picture's totals less the start's, which the window copied) and parks
 * still open at its end, clipped to the window.  A key with neither has no
 * comment.
 */
static void test_tier1_comments(void **state)
{
	struct fixture *f = *state;
	struct pw_totals *start = make_totals(), *end = make_totals();
	const Profile *p;

	assert_int_equal(totals__add(start, 4242, PARK_REASON_FUTEX, 10, 1 * SEC), 0);
	assert_int_equal(totals__add(start, 4242, PARK_REASON_EPOLL, 5, 5 * SEC), 0);
	open_window(f, PW_FORMAT_PPROF, start);
	/* the window has its own copy */
	assert_int_equal(totals__add(start, 4242, PARK_REASON_FUTEX, 100, 100 * SEC), 0);
	totals__free(start);

	assert_int_equal(totals__add(end, 4242, PARK_REASON_FUTEX, 13, 1500 * MS), 0);
	assert_int_equal(totals__add(end, 4242, PARK_REASON_EPOLL, 5, 5 * SEC), 0);
	assert_int_equal(totals__add(end, 5000, PARK_REASON_SLEEP, 4, 2 * SEC), 0);
	f->p.picture->totals = end; /* the picture frees it */
	p = write_profile(f, 3 * SEC, f->p.picture);

	assert_int_equal(p->time_nanos, (int64_t)WINDOW_START_NS);
	assert_int_equal(p->duration_nanos, (int64_t)(3 * SEC));
	assert_int_equal(p->period, (int64_t)(500 * MS));
	assert_int_equal(p->n_comment, 2);
	/* 4243 open for 5 s, clipped to the 3 s window; 4244 for 2 s */
	assert_string_equal(comment(p, 0), "parkwatch tier1 pid=4242 reason=futex closed_parks=3 "
					   "closed_ns=500000000 open_parks=2 open_ns=5000000000");
	assert_string_equal(comment(p, 1), "parkwatch tier1 pid=5000 reason=sleep closed_parks=4 "
					   "closed_ns=2000000000 open_parks=1 open_ns=300000000");

	/* the samples are the two pictures added up */
	assert_int_equal(p->n_sample, 2);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Sample *s = p->sample[i];

		assert_int_equal(s->n_value, 2);
		assert_int_equal(s->value[1], s->value[0] * (int64_t)(500 * MS));
		assert_true(s->value[0] == 4 || s->value[0] == 2);
	}
}

/* Without totals, the parks open at the end still are comments, threads'
 * only: a goroutine's wait has no kernel-side reason. */
static void test_open_parks_without_totals(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const Profile *p;

	add_go_proc(picture, 6000, "gosrv", "/usr/bin/gosrv", "go1.22.1");
	add_goroutine(picture, 6000, 1, "waiting", "chan receive", 9 * SEC, NULL, NULL);
	regroup(picture);
	open_window(f, PW_FORMAT_PPROF, NULL);
	p = write_profile(f, 10 * SEC, picture);
	assert_int_equal(p->n_comment, 2);
	assert_string_equal(comment(p, 0), "parkwatch tier1 pid=4242 reason=futex closed_parks=0 "
					   "closed_ns=0 open_parks=2 open_ns=7000000000");
	assert_string_equal(comment(p, 1), "parkwatch tier1 pid=5000 reason=sleep closed_parks=0 "
					   "closed_ns=0 open_parks=1 open_ns=300000000");
}

/*
 * A total can be lower at the end than at the start: the collector misses
 * once a thread that exits between its two reads, and an exited thread's
 * counts are lost when their BPF map is full.  No parks closed then, not
 * 2^64 of them.
 */
static void test_totals_that_fell(void **state)
{
	struct fixture *f = *state;
	struct pw_totals *start = make_totals(), *end = make_totals();
	const Profile *p;

	assert_int_equal(totals__add(start, 4242, PARK_REASON_FUTEX, 10, 4 * SEC), 0);
	assert_int_equal(totals__add(start, 5000, PARK_REASON_SLEEP, 7, 3 * SEC), 0);
	open_window(f, PW_FORMAT_PPROF, start);
	totals__free(start);
	assert_int_equal(totals__add(end, 4242, PARK_REASON_FUTEX, 8, 3 * SEC), 0);
	assert_int_equal(totals__add(end, 5000, PARK_REASON_SLEEP, 9, 2 * SEC), 0);
	f->p.picture->totals = end;
	p = write_profile(f, 10 * SEC, f->p.picture);
	assert_int_equal(p->n_comment, 2);
	assert_string_equal(comment(p, 0), "parkwatch tier1 pid=4242 reason=futex closed_parks=0 "
					   "closed_ns=0 open_parks=2 open_ns=7000000000");
	assert_string_equal(comment(p, 1), "parkwatch tier1 pid=5000 reason=sleep closed_parks=2 "
					   "closed_ns=0 open_parks=1 open_ns=300000000");
}

/* No last picture: the profile alone. */
static void test_no_last_picture(void **state)
{
	struct fixture *f = *state;
	const Profile *p;

	open_window(f, PW_FORMAT_PPROF, NULL);
	p = write_profile(f, SEC, NULL);
	assert_int_equal(p->n_comment, 0);
	assert_int_equal(p->n_sample, 2);
	assert_string_equal(str(p, p->default_sample_type), "samples");
}

/* A folded window weighs by parked milliseconds and has no comments. */
static void test_folded(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	FILE *out;

	f->window = window__new(PW_FORMAT_FOLDED, 500 * MS, NULL, NULL);
	assert_non_null(f->window);
	assert_int_equal(window__add(f->window, f->p.picture, 500 * MS), 0);
	assert_int_equal(window__add(f->window, f->p.picture, 700 * MS), 0);
	out = open_output(&f->text, &len);
	assert_int_equal(window__write(f->window, out, WINDOW_START_NS, 1200 * MS, f->p.picture,
				       NULL), 0);
	assert_string_equal(close_output(out, &f->text),
			    "main;[unknown]+0x4000;libplugin.so+0x11233;level_three;inlined_helper;"
			    "pthread_cond_wait;[cond wait] 2400\n"
			    "main;clock_nanosleep;[sleep] 1200\n");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_tier1_comments),
		TEST(test_open_parks_without_totals),
		TEST(test_totals_that_fell),
		TEST(test_no_last_picture),
		TEST(test_folded),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
