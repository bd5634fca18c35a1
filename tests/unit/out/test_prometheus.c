// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the Prometheus exposition (user/out/prometheus.c) of the
 * picture of support/sample.h and its tier-1 totals: the families, the
 * per-pid series and their bound, the histograms, label escaping, and the
 * text format's rules (every family declared once, its samples right
 * after).  No BPF; parkwatch's own process metrics come from this process.
 */
#include "model/totals.h"
#include "out/prometheus.h"
#include "support/lock_sample.h"
#include "support/sample.h"

/* the labels of a process whose cgroup says nothing */
#define NOWHERE ",container=\"\",pod=\"\",unit=\"\""

struct fixture {
	struct sample p;
	struct metrics_input in;
	char *out;
	size_t out_len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sample_build(&f->p);
	f->in = (struct metrics_input){
		.picture = f->p.picture,
		.top_k = 10,
		.dropped = 3,
		.snapshot_seconds = 0.0125,
		.snapshots = 42,
		.symbol_cache_entries = 7,
		.symbol_cache = { .entries = 3, .bytes = 5000, .limit_bytes = 67108864, .hits = 90,
				  .misses = 10, .evictions = 2 },
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->out);
	sample_free(&f->p);
	free(f);
	return 0;
}

/*
 * The exposition format's rules: each family has one HELP and one TYPE
 * line, HELP first, and its samples follow them before any other family's
 * (a histogram's as NAME_bucket, NAME_sum and NAME_count); a sample is
 * NAME{labels} VALUE.
 */
static void check_exposition(const char *text)
{
	char family[128] = "", type[32] = "", *copy = strdup(text), *save = NULL;
	char *seen = calloc(1, strlen(text) + 2);

	assert_non_null(copy);
	assert_non_null(seen);
	seen[0] = ' '; /* " name name ... " */
	assert_true(ends_with(text, "\n"));
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], key[140];
		size_t len;

		if (sscanf(line, "# HELP %127s", name) == 1) {
			snprintf(key, sizeof(key), " %s ", name);
			if (strstr(seen, key))
				fail_msg("family %s declared twice", name);
			strcat(seen, key + 1);
			snprintf(family, sizeof(family), "%s", name);
			type[0] = '\0';
			continue;
		}
		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			assert_string_equal(name, family);
			assert_true(!strcmp(type, "gauge") || !strcmp(type, "counter") ||
				    !strcmp(type, "histogram"));
			continue;
		}
		assert_true(line[0] != '#');
		assert_true(type[0]); /* a sample before any TYPE */
		len = strcspn(line, "{ ");
		snprintf(name, sizeof(name), "%.*s", (int)len, line);
		if (strcmp(name, family)) {
			const char *suffix = name + strlen(family);

			if (!starts_with(name, family) || strcmp(type, "histogram") ||
			    (strcmp(suffix, "_bucket") && strcmp(suffix, "_sum") &&
			     strcmp(suffix, "_count")))
				fail_msg("sample %s outside its family (now %s)", line, family);
		}
		if (line[len] == '{')
			assert_non_null(strstr(line + len, "} "));
		/* the value: the text after the last space parses whole */
		{
			const char *value = strrchr(line, ' ') + 1;
			char *end;

			strtod(value, &end);
			if (*end || end == value)
				fail_msg("bad value in %s", line);
		}
	}
	free(copy);
	free(seen);
}

static const char *run(struct fixture *f)
{
	FILE *out = open_output(&f->out, &f->out_len);

	prometheus__write(out, &f->in);
	close_output(out, &f->out);
	check_exposition(f->out);
	return f->out;
}

static void expect_family(const char *out, const char *name, const char *type)
{
	char line[160];

	snprintf(line, sizeof(line), "\n# TYPE %s %s\n", name, type);
	expect(out, line);
	snprintf(line, sizeof(line), "# HELP %s ", name);
	assert_int_equal(occurrences(out, line), 1);
}

static void test_families(void **state)
{
	struct fixture *f = *state;
	const char *out = run(f);

	assert_true(starts_with(out, "# HELP parkwatch_parked "));
	expect_family(out, "parkwatch_parked", "gauge");
	expect_family(out, "parkwatch_watched", "gauge");
	expect_family(out, "parkwatch_watched_all", "gauge");
	expect_family(out, "parkwatch_park_duration_seconds", "histogram");
	expect_family(out, "parkwatch_parked_seconds_total", "counter");
	expect_family(out, "parkwatch_build_info", "gauge");
	expect_family(out, "parkwatch_snapshots_total", "counter");
	expect_family(out, "parkwatch_snapshot_duration_seconds", "gauge");
	expect_family(out, "parkwatch_parks_total", "counter");
	expect_family(out, "parkwatch_dropped_total", "counter");
	expect_family(out, "parkwatch_bpf_map_fullness_ratio", "gauge");
	expect_family(out, "parkwatch_symbol_cache_entries", "gauge");
	expect_family(out, "process_cpu_seconds_total", "counter");
	expect_family(out, "process_resident_memory_bytes", "gauge");
	expect_family(out, "process_open_fds", "gauge");
	expect_family(out, "process_start_time_seconds", "gauge");
	expect(out, "\nparkwatch_build_info{version=\"" PARKWATCH_VERSION "\",libbpf=\"v");
	expect(out, "\nparkwatch_snapshots_total 42\n");
	expect(out, "\nparkwatch_snapshot_duration_seconds 0.012500\n");
	expect(out, "\nparkwatch_dropped_total 3\n");
	expect(out, "\nparkwatch_symbol_cache_entries 7\n");
	expect_family(out, "parkwatch_symbol_cache_bytes", "gauge");
	expect_family(out, "parkwatch_symbol_cache_limit_bytes", "gauge");
	expect_family(out, "parkwatch_symbol_cache_lookups_total", "counter");
	expect_family(out, "parkwatch_symbol_cache_evictions_total", "counter");
	expect(out, "\nparkwatch_symbol_cache_bytes 5000\n");
	expect(out, "\nparkwatch_symbol_cache_limit_bytes 67108864\n");
	expect(out, "\nparkwatch_symbol_cache_lookups_total{result=\"hit\"} 90\n");
	expect(out, "\nparkwatch_symbol_cache_lookups_total{result=\"miss\"} 10\n");
	expect(out, "\nparkwatch_symbol_cache_evictions_total 2\n");
	/* no totals: nothing counted, no map to be full */
	expect(out, "\nparkwatch_parks_total 0\n");
	expect(out, "\nparkwatch_bpf_map_fullness_ratio 0.000000\n");
	expect_not(out, "_bucket{");
	/* the leak families need a trend */
	expect_not(out, "leak");
	expect_not(out, "parkwatch_trend_");
}

static void test_per_pid_series(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const __u64 other_pcs[2] = { s1_pcs[0], 0x401300 };
	const struct symbol *other_symbols[2] = { f->p.libc_cond, f->p.app_main };
	const char *out;

	/* 4244 on another stack: two groups, one series */
	picture->units[T_COND2].stack = make_stack(picture, 4242, other_pcs, other_symbols, 2);
	regroup(picture);
	assert_int_equal(picture->group_count, 3);
	out = run(f);
	expect(out, "\nparkwatch_parked{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",reason=\"cond wait\","
		    "timeout=\"none\"} 2\n");
	expect(out, "\nparkwatch_parked{comm=\"other\",exe=\"" OTHER "\"" NOWHERE ",kind=\"thread\",reason=\"sleep\","
		    "timeout=\"finite\"} 1\n");
	assert_int_equal(occurrences(out, "\nparkwatch_parked{"), 2);
	/* every state of every chosen process, most parked first */
	expect(out, "\nparkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",state=\"sleeping\"} 2\n"
		    "parkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",state=\"disk sleep\"} 0\n"
		    "parkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",state=\"running\"} 1\n"
		    "parkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",state=\"runnable\"} 0\n"
		    "parkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",state=\"stopped\"} 0\n"
		    "parkwatch_watched{comm=\"other\",exe=\"" OTHER "\"" NOWHERE ",kind=\"thread\",state=\"sleeping\"} 1\n");
	assert_int_equal(occurrences(out, "\nparkwatch_watched{"), 2 * PW_STATE__COUNT);
	expect(out, "\nparkwatch_watched_all{kind=\"thread\",state=\"sleeping\"} 3\n"
		    "parkwatch_watched_all{kind=\"thread\",state=\"disk sleep\"} 0\n"
		    "parkwatch_watched_all{kind=\"thread\",state=\"running\"} 1\n");
}

/* Per-pid series for the top_k processes by parked threads only; the
 * totals over every process stay whole. */
static void test_top_k(void **state)
{
	struct fixture *f = *state;
	const char *out;

	f->in.top_k = 1;
	out = run(f);
	expect(out, "\nparkwatch_parked{comm=\"app\",");
	expect(out, "\nparkwatch_watched{comm=\"app\",");
	expect_not(out, "comm=\"other\"");
	expect(out, "\nparkwatch_watched_all{kind=\"thread\",state=\"sleeping\"} 3\n");

	/* ties go to the lower pid */
	f->p.picture->units[T_COND2].parked = false;
	f->p.picture->units[T_COND2].state = PW_STATE_RUNNING;
	regroup(f->p.picture);
	out = run(f);
	expect(out, "\nparkwatch_parked{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\",reason=\"cond wait\","
		    "timeout=\"none\"} 1\n");
	expect_not(out, "comm=\"other\"");

	f->in.top_k = 0;
	out = run(f);
	expect_not(out, "comm=");
	expect(out, "# TYPE parkwatch_parked gauge\n# HELP parkwatch_oldest_park_age_seconds ");
}

/* Label values escape backslash, double quote and newline, and nothing else. */
static void test_label_escaping(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	FILE *out = open_output(&f->out, &f->out_len);
	const char *text;

	prometheus__label_value(out, "a\\b\"c\nd\te{}");
	fputc(' ', out);
	prometheus__label_value(out, NULL);
	assert_string_equal(close_output(out, &f->out), "\"a\\\\b\\\"c\\nd\te{}\" \"\"");

	snprintf(picture->procs[0].comm, sizeof(picture->procs[0].comm), "a\"b\\c\nd");
	picture->units[T_COND1].wait.reason = "wait \"x\"";
	picture->units[T_COND2].wait.reason = "wait \"x\"";
	regroup(picture);
	text = run(f);
	expect(text, "\nparkwatch_parked{comm=\"a\\\"b\\\\c\\nd\",exe=\"" APP "\"" NOWHERE
		     ",kind=\"thread\",reason=\"wait \\\"x\\\"\",timeout=\"none\"} 2\n");
	expect(text, "\nparkwatch_watched{comm=\"a\\\"b\\\\c\\nd\",exe=\"" APP "\"" NOWHERE
		     ",kind=\"thread\",state=\"sleeping\"} 2\n");
}

/* Ill-formed UTF-8 (a name set with prctl) is U+FFFD: Prometheus drops a
 * scrape with an invalid label value whole.  Valid characters stay. */
static void test_label_invalid_utf8(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	FILE *out = open_output(&f->out, &f->out_len);
	const char *text;

	prometheus__label_value(out, "w\xff\xfe-\xc3\xa9-\xe2\x82");
	assert_string_equal(close_output(out, &f->out),
			    "\"w\xef\xbf\xbd\xef\xbf\xbd-\xc3\xa9-\xef\xbf\xbd\"");

	snprintf(picture->procs[0].comm, sizeof(picture->procs[0].comm), "bad\xc0\xaf");
	text = run(f);
	expect(text, "\nparkwatch_watched{comm=\"bad\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_not(text, "\xc0");
}

/* Where a process runs: container, pod and unit on every per-process series,
 * the same label set on all of them. */
static void test_container_labels(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	struct pw_cgroup *cgroup = &picture->procs[0].cgroup;
	const char *text;

	cgroup->container = picture__string(picture, "3f2a9c0e1b7d4c5e6f708192a3b4c5d6e7f80910a1b2c3d4e5f60718293a4b5c");
	cgroup->pod = picture__string(picture, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	cgroup->unit = picture__string(picture, "app.service");
	text = run(f);
#define APP_WHERE ",container=\"3f2a9c0e1b7d4c5e6f708192a3b4c5d6e7f80910a1b2c3d4e5f60718293a4b5c\"," \
		  "pod=\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\",unit=\"app.service\""
	expect(text, "\nparkwatch_parked{comm=\"app\",exe=\"" APP "\"" APP_WHERE
		     ",kind=\"thread\",reason=\"cond wait\",");
	expect(text, "\nparkwatch_watched{comm=\"app\",exe=\"" APP "\"" APP_WHERE ",kind=\"thread\",state=\"sleeping\"} 2\n");
	/* the other process keeps the same labels, empty */
	expect(text, "\nparkwatch_watched{comm=\"other\",exe=\"" OTHER "\"" NOWHERE ",kind=\"thread\",state=\"sleeping\"} 1\n");
#undef APP_WHERE
}

/*
 * Tier-1 histograms per kernel-side reason: cumulative buckets at every
 * other power of two from 1024 ns, the open-ended last slot only in +Inf;
 * the parks and time they count; the map's fullness.
 */
static void test_histograms(void **state)
{
	struct fixture *f = *state;
	struct pw_totals *totals = totals__new();
	struct park_hist *futex;
	const char *out;

	assert_non_null(totals);
	f->p.picture->totals = totals; /* the picture frees it */
	futex = &totals->hists[PARK_REASON_FUTEX];
	futex->count = 7;
	futex->total_ns = 5 * SEC;
	futex->slots[9] = 1;  /* [512 ns, 1024 ns) */
	futex->slots[10] = 2; /* [1024 ns, 2048 ns) */
	futex->slots[20] = 3;
	futex->slots[PARK_HIST_SLOTS - 1] = 1;
	totals->hists[PARK_REASON_SLEEP].count = 2;
	totals->hists[PARK_REASON_SLEEP].total_ns = 250 * MS;
	totals->hists[PARK_REASON_SLEEP].slots[27] = 2;
	totals->exited_entries = 25;
	totals->exited_capacity = 100;

	/* histograms that couldn't be read are none */
	out = run(f);
	expect_not(out, "_bucket{");
	expect(out, "\nparkwatch_parks_total 0\n");
	expect(out, "\nparkwatch_bpf_map_fullness_ratio 0.250000\n");

	totals->has_hists = true;
	out = run(f);
	expect(out, "\nparkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"1.024e-06\"} 1\n"
		    "parkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"4.096e-06\"} 3\n");
	expect(out, "\nparkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"0.001048576\"} 3\n"
		    "parkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"0.004194304\"} 6\n");
	expect(out, "\nparkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"274.877907\"} 6\n"
		    "parkwatch_park_duration_seconds_bucket{reason=\"futex\",le=\"+Inf\"} 7\n"
		    "parkwatch_park_duration_seconds_sum{reason=\"futex\"} 5.000000000\n"
		    "parkwatch_park_duration_seconds_count{reason=\"futex\"} 7\n");
	assert_int_equal(occurrences(out, "_bucket{reason=\"futex\""), 15 + 1);
	expect(out, "\nparkwatch_park_duration_seconds_bucket{reason=\"sleep\",le=\"0.268435456\"} 2\n");
	expect(out, "\nparkwatch_park_duration_seconds_count{reason=\"sleep\"} 2\n");
	/* reasons without parks have no histogram, but a counter at zero */
	expect_not(out, "_bucket{reason=\"poll\"");
	expect(out, "\nparkwatch_parked_seconds_total{reason=\"futex\"} 5.000000000\n"
		    "parkwatch_parked_seconds_total{reason=\"epoll wait\"} 0.000000000\n");
	expect(out, "\nparkwatch_parked_seconds_total{reason=\"sleep\"} 0.250000000\n");
	expect_not(out, "reason=\"none\"");
	expect(out, "\nparkwatch_parks_total 9\n");
}

/* With a trend: the leak families (no suspects yet) and every chosen
 * process's growth, still one family each. */
static void test_trend_families(void **state)
{
	struct fixture *f = *state;
	struct trend *trend = trend__new(NULL);
	const char *out;

	assert_non_null(trend);
	assert_int_equal(trend__update(trend, f->p.picture, NOW_NS), 0);
	f->in.trend = trend;
	out = run(f);
	expect_family(out, "parkwatch_leak_suspect_parked", "gauge");
	expect_family(out, "parkwatch_leak_score", "gauge");
	expect_family(out, "parkwatch_trend_groups", "gauge");
	expect_family(out, "parkwatch_trend_folded_total", "counter");
	expect_family(out, "parkwatch_parked_growth_per_second", "gauge");
	expect_not(out, "\nparkwatch_leak_suspect_parked{");
	expect(out, "\nparkwatch_trend_groups 2\n");
	expect(out, "\nparkwatch_trend_folded_total 0\n");
	expect(out, "\nparkwatch_parked_growth_per_second{comm=\"app\",exe=\"" APP "\"" NOWHERE ",kind=\"thread\"} ");
	expect(out, "\nparkwatch_parked_growth_per_second{comm=\"other\",exe=\"" OTHER "\"" NOWHERE ",kind=\"thread\"} ");
	trend__free(trend);
}

/* No picture yet: parkwatch's own health alone. */
static void test_no_picture(void **state)
{
	struct fixture *f = *state;
	const char *out;

	f->in.picture = NULL;
	out = run(f);
	expect_not(out, "parkwatch_parked ");
	expect_not(out, "parkwatch_parked{");
	expect_not(out, "parkwatch_watched");
	expect_family(out, "parkwatch_park_duration_seconds", "histogram");
	expect_not(out, "_bucket{");
	expect(out, "\nparkwatch_snapshots_total 42\n");
	expect(out, "\nparkwatch_parks_total 0\n");
}

/* The oldest park of a (process, reason, timeout), in seconds: the most of
 * its groups' (4243 parked 5 s on one stack, 4244 2 s on another). */
static void test_oldest_park_age(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const __u64 other_pcs[2] = { s1_pcs[0], 0x401300 };
	const struct symbol *other_symbols[2] = { f->p.libc_cond, f->p.app_main };
	const char *out;

	picture->units[T_COND2].stack = make_stack(picture, 4242, other_pcs, other_symbols, 2);
	regroup(picture);
	out = run(f);
	expect_family(out, "parkwatch_oldest_park_age_seconds", "gauge");
	expect(out, "\nparkwatch_oldest_park_age_seconds{comm=\"app\",exe=\"" APP "\"" NOWHERE
		    ",kind=\"thread\",reason=\"cond wait\",timeout=\"none\"} 5.000\n");
	expect(out, "\nparkwatch_oldest_park_age_seconds{comm=\"other\",exe=\"" OTHER "\"" NOWHERE
		    ",kind=\"thread\",reason=\"sleep\",timeout=\"finite\"} 0.300\n");
}

/*
 * No pid in any series: two processes of one program (a restart caught in
 * one picture, a pool of workers) are one series, counts added up, ages
 * the oldest.  A goroutine process's series say kind="goroutine".
 */
static void test_same_program_one_series(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	const char *out;

	snprintf(picture->procs[1].comm, sizeof(picture->procs[1].comm), "app");
	free(picture->procs[1].exe);
	picture->procs[1].exe = strdup(APP);
	picture->units[T_SLEEP].wait.reason = "cond wait";
	picture->units[T_SLEEP].wait.has_timeout = false;
	regroup(picture);
	out = run(f);
	expect_not(out, "pid=");
	expect(out, "\nparkwatch_parked{comm=\"app\",exe=\"" APP "\"" NOWHERE
		    ",kind=\"thread\",reason=\"cond wait\",timeout=\"none\"} 3\n");
	assert_int_equal(occurrences(out, "\nparkwatch_parked{"), 1);
	expect(out, "\nparkwatch_oldest_park_age_seconds{comm=\"app\",exe=\"" APP "\"" NOWHERE
		    ",kind=\"thread\",reason=\"cond wait\",timeout=\"none\"} 5.000\n");
	expect(out, "\nparkwatch_watched{comm=\"app\",exe=\"" APP "\"" NOWHERE
		    ",kind=\"thread\",state=\"sleeping\"} 3\n");
	assert_int_equal(occurrences(out, "\nparkwatch_watched{"), PW_STATE__COUNT);
	expect(out, "\nparkwatch_deadlocks{comm=\"app\",exe=\"" APP "\"" NOWHERE "} 0\n");
	assert_int_equal(occurrences(out, "\nparkwatch_deadlocks{"), 1);

	/* another executable under the same name is another program */
	free(picture->procs[1].exe);
	picture->procs[1].exe = strdup("/opt/app");
	out = run(f);
	assert_int_equal(occurrences(out, "\nparkwatch_parked{"), 2);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)


/* The findings of support/lock_sample.h as metrics: its deadlock and
 * self-deadlock, its convoy's head parked in IO, its owners by waiters. */
static void test_lock_metrics(void **state)
{
	struct fixture *f = *state;
	struct lock_sample s = { 0 };
	const char *out, *waiters;

	lock_sample_build(&s);
	f->in.picture = s.picture;
	out = run(f);
	expect_family(out, "parkwatch_deadlocks", "gauge");
	expect_family(out, "parkwatch_locks_held_across_io", "gauge");
	expect_family(out, "parkwatch_lock_waiters", "gauge");
	expect(out, "\nparkwatch_deadlocks{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE "} 2\n");
	expect(out, "\nparkwatch_deadlocks{comm=\"shared\",exe=\"" LOCK_APP "\"" NOWHERE "} 0\n");
	expect(out, "\nparkwatch_locks_held_across_io{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE "} 1\n");
	expect(out, "\nparkwatch_locks_held_across_io{comm=\"shared\",exe=\"" LOCK_APP "\"" NOWHERE "} 0\n");
	/* most waiters first (a process-shared lock's waiter counts for its
	 * owner's process), then by tid */
	waiters = expect(out, "\nparkwatch_lock_waiters{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE
			      ",owner_tid=\"4201\"} 4\n"
			      "parkwatch_lock_waiters{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE
			      ",owner_tid=\"99\"} 1\n"
			      "parkwatch_lock_waiters{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE
			      ",owner_tid=\"101\"} 1\n");
	assert_int_equal(occurrences(waiters, "\nparkwatch_lock_waiters{"), 6);
	expect(out, ",owner_tid=\"7777\"} 1\n");

	/* bounded by top_k, like every per-pid family */
	f->in.top_k = 2;
	out = run(f);
	assert_int_equal(occurrences(out, "\nparkwatch_lock_waiters{"), 2);
	expect(out, ",owner_tid=\"99\"} 1\n# HELP ");
	f->in.top_k = 0;
	out = run(f);
	expect_not(out, "parkwatch_lock_waiters{");
	expect_not(out, "parkwatch_deadlocks{");

	/* a head that sleeps holds no lock across IO */
	f->in.top_k = 10;
	lock_sample_unit(&s, 1234, 4201)->wait.kernel_reason = PARK_REASON_SLEEP;
	out = run(f);
	expect(out, "\nparkwatch_locks_held_across_io{comm=\"locks\",exe=\"" LOCK_APP "\"" NOWHERE "} 0\n");
	f->in.picture = f->p.picture;
	lock_sample_free(&s);
}

/* Processes without findings say 0 rather than nothing. */
static void test_no_deadlocks(void **state)
{
	struct fixture *f = *state;
	const char *out = run(f);

	expect(out, "\nparkwatch_deadlocks{comm=\"app\",exe=\"" APP "\"" NOWHERE "} 0\n");
	expect(out, "\nparkwatch_deadlocks{comm=\"other\",");
	expect(out, "# TYPE parkwatch_lock_waiters gauge\n# HELP ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_families),
		TEST(test_per_pid_series),
		TEST(test_top_k),
		TEST(test_oldest_park_age),
		TEST(test_same_program_one_series),
		TEST(test_lock_metrics),
		TEST(test_no_deadlocks),
		TEST(test_label_escaping),
		TEST(test_label_invalid_utf8),
		TEST(test_container_labels),
		TEST(test_histograms),
		TEST(test_trend_families),
		TEST(test_no_picture),
	};

	return cmocka_run_group_tests_name("prometheus", tests, NULL, NULL);
}
