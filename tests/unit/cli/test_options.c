// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of command-line parsing (user/cli/options.c). */
#include <argp.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli/options.h"

#define SEC 1000000000ULL
#define MS 1000000ULL
#define TEST_FLAGS (ARGP_NO_EXIT | ARGP_NO_ERRS)

static struct env env;

/* Parses a NULL-terminated argument list (program name added). */
static int parse_args(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"parkwatch";
	va_start(ap, first);
	for (const char *arg = first; arg; arg = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)arg;
	}
	va_end(ap);
	argv[argc] = NULL;
	/* poison: options__parse must set every default itself */
	memset(&env, 0xa5, sizeof(env));
	return options__parse(argc, argv, &env, TEST_FLAGS);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse_args(NULL), 0);
	assert_int_equal(env.debug, 2);
	assert_int_equal(env.format, PW_FORMAT_TEXT);
	assert_true(env.interval_ns == 2 * SEC);
	assert_true(env.min_park_ns == 1 * SEC);
	assert_true(env.duration_ns == 0);
	assert_int_equal(env.pid_count, 0);
	assert_false(env.dump);
	assert_false(env.kernel_stacks);
	assert_false(env.folded_root);
	assert_null(env.cgroup_path);
}

/* --folded-root belongs to folded output, and only to it. */
static void test_folded_root(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--format", "folded", "--folded-root", NULL), 0);
	assert_true(env.folded_root);
	assert_int_equal(parse_args("--folded-root", "--dump", "--format=folded", NULL), 0);
	assert_true(env.folded_root);
	assert_int_equal(parse_args("--folded-root", NULL), EINVAL);
	assert_int_equal(parse_args("--format", "json", "--folded-root", NULL), EINVAL);
}

static void test_repeated_pid(void **state)
{
	(void)state;
	assert_int_equal(parse_args("-p", "123", "--pid", "456", "-p789", "--pid=1", NULL), 0);
	assert_int_equal(env.pid_count, 4);
	assert_int_equal(env.pids[0], 123);
	assert_int_equal(env.pids[1], 456);
	assert_int_equal(env.pids[2], 789);
	assert_int_equal(env.pids[3], 1);
}

static void test_max_pid(void **state)
{
	(void)state;
	assert_int_equal(parse_args("-p", "2147483647", NULL), 0);
	assert_int_equal(env.pid_count, 1);
	assert_int_equal(env.pids[0], 2147483647);
}

static void test_dump_debug_format(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--dump", "--debug", "1", "--format", "json", NULL), 0);
	assert_true(env.dump);
	assert_int_equal(env.debug, 1);
	assert_int_equal(env.format, PW_FORMAT_JSON);

	assert_int_equal(parse_args("--debug=2", "--format=text", NULL), 0);
	assert_false(env.dump);
	assert_int_equal(env.debug, 2);
	assert_int_equal(env.format, PW_FORMAT_TEXT);
}

/* Every output format by name; profiles default to no minimum park (every
 * parked thread's time counts), the others to one second. */
static void test_profile_formats(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--format", "pprof", NULL), 0);
	assert_int_equal(env.format, PW_FORMAT_PPROF);
	assert_true(env.min_park_ns == 0);
	assert_int_equal(parse_args("--format=folded", NULL), 0);
	assert_int_equal(env.format, PW_FORMAT_FOLDED);
	assert_true(env.min_park_ns == 0);
	assert_int_equal(parse_args("--format", "json", NULL), 0);
	assert_true(env.min_park_ns == 1 * SEC);
	/* an explicit --min-park wins, before or after --format */
	assert_int_equal(parse_args("--min-park", "2s", "--format", "pprof", NULL), 0);
	assert_true(env.min_park_ns == 2 * SEC);
	assert_int_equal(parse_args("--format", "folded", "--min-park", "300ms", NULL), 0);
	assert_true(env.min_park_ns == 300 * MS);
	/* every format the renderers have is one --format names */
	assert_int_equal(PW_FORMAT__COUNT, 4);
}

/* --dump copies every parked thread's stack unless --min-park says otherwise;
 * the live view keeps its one second. */
static void test_dump_min_park(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--dump", NULL), 0);
	assert_true(env.min_park_ns == 0);
	assert_int_equal(parse_args("--dump", "--format", "json", NULL), 0);
	assert_true(env.min_park_ns == 0);
	assert_int_equal(parse_args("--dump", "--min-park", "2s", NULL), 0);
	assert_true(env.min_park_ns == 2 * SEC);
	assert_int_equal(parse_args("--min-park=500ms", "--dump", NULL), 0);
	assert_true(env.min_park_ns == 500 * MS);
	assert_int_equal(parse_args("--duration", "5s", NULL), 0);
	assert_true(env.min_park_ns == 1 * SEC);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--interval", "500ms", "--duration", "10s", "--min-park", "0",
				    NULL), 0);
	assert_true(env.interval_ns == 500 * MS);
	assert_true(env.duration_ns == 10 * SEC);
	assert_true(env.min_park_ns == 0);

	assert_int_equal(parse_args("--interval=10ms", "--min-park=1.5m", "--duration", "1h", NULL), 0);
	assert_true(env.interval_ns == 10 * MS);
	assert_true(env.min_park_ns == 90 * SEC);
	assert_true(env.duration_ns == 3600 * SEC);
}

static void test_kernel_stacks_and_cgroup(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--kernel-stacks", "--cgroup", "/sys/fs/cgroup/app", NULL), 0);
	assert_true(env.kernel_stacks);
	assert_non_null(env.cgroup_path);
	assert_string_equal(env.cgroup_path, "/sys/fs/cgroup/app");
}

/* Every option together, in an order different from the help. */
static void test_all_options(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--format", "json", "-p", "42", "--min-park", "250ms", "--dump",
				    "--kernel-stacks", "--debug", "1", "-p", "43", "--interval", "3s",
				    NULL), 0);
	assert_int_equal(env.format, PW_FORMAT_JSON);
	assert_int_equal(env.pid_count, 2);
	assert_int_equal(env.pids[0], 42);
	assert_int_equal(env.pids[1], 43);
	assert_true(env.min_park_ns == 250 * MS);
	assert_true(env.dump);
	assert_true(env.kernel_stacks);
	assert_int_equal(env.debug, 1);
	assert_true(env.interval_ns == 3 * SEC);
}

static void check_rejected(const char *a, const char *b)
{
	int err = parse_args(a, b, NULL);

	if (!err)
		print_message("accepted: %s %s\n", a, b ? b : "");
	assert_int_not_equal(err, 0);
}

static void test_rejections(void **state)
{
	(void)state;
	check_rejected("--debug", "7");
	check_rejected("--debug", "0");
	check_rejected("--debug", "12");
	check_rejected("--debug", "");
	check_rejected("--format", "xml");
	check_rejected("--format", "JSON");
	check_rejected("-p", "abc");
	check_rejected("-p", "0");
	check_rejected("-p", "-5");
	check_rejected("-p", "12abc");
	check_rejected("-p", "");
	check_rejected("-p", "2147483648");
	check_rejected("--interval", "banana");
	check_rejected("--interval", "1ms");
	check_rejected("--interval", "9999us");
	check_rejected("--interval", "0");
	check_rejected("--duration", "-1s");
	check_rejected("--min-park", "5x");
	check_rejected("1234", NULL);
	check_rejected("--no-such-option", NULL);
}

/* --http on TCP served every process's stacks to any local user: it needs
 * credentials, or an explicit --http-no-auth. */
static void test_http_needs_auth(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--http", NULL), EINVAL);
	assert_int_equal(parse_args("--http=127.0.0.1:9", NULL), EINVAL);
	assert_int_equal(parse_args("--http", "--http-auth", "users", NULL), 0);
	assert_string_equal(env.http_auth_file, "users");
	assert_false(env.http_no_auth);
	assert_int_equal(parse_args("--http", "--http-no-auth", NULL), 0);
	assert_true(env.http_no_auth);
	assert_null(env.http_auth_file);
	assert_int_equal(parse_args("--http", "--http-no-auth", "--http-auth", "users", NULL),
			 EINVAL);
	assert_int_equal(parse_args("--dump", "--http-no-auth", NULL), EINVAL);
	/* a UNIX socket's peers are told apart by their uid */
	assert_int_equal(parse_args("--http", "unix:/run/parkwatch.sock", NULL), 0);
	assert_string_equal(env.http_address, "unix:/run/parkwatch.sock");
}

/* strtol skips leading blanks and takes a sign: a pid must not. */
static void test_pid_digits_only(void **state)
{
	(void)state;
	check_rejected("-p", " 5");
	check_rejected("-p", "+5");
	check_rejected("-p", "\t5");
	check_rejected("-p", "5 ");
	assert_int_equal(parse_args("-p", "05", NULL), 0);
	assert_int_equal(env.pids[0], 5);
}

/* --duration 0 used to run forever: it is a usage error, as is a duration
 * that rounds to no nanosecond at all. */
static void test_duration_zero_rejected(void **state)
{
	(void)state;
	check_rejected("--duration", "0");
	check_rejected("--duration", "0s");
	check_rejected("--duration", "0.1ns");
	assert_int_equal(parse_args("--duration", "1ns", NULL), 0);
	assert_true(env.duration_ns == 1);
}

/* The leak report needs pictures over time (--dump crashed with it) and is
 * text or JSON (pprof and folded wrote the text report into their file). */
static void test_leaks_combinations(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--leaks", "--dump", NULL), EINVAL);
	assert_int_equal(parse_args("--dump", "--leaks", "--format", "json", NULL), EINVAL);
	assert_int_equal(parse_args("--leaks", "--format", "pprof", "-o", "x.pb.gz", NULL), EINVAL);
	assert_int_equal(parse_args("--leaks", "--format", "folded", NULL), EINVAL);
	assert_int_equal(parse_args("--leaks", "--format", "json", "--duration", "2m", NULL), 0);
	assert_true(env.leaks);
	assert_int_equal(parse_args("--leaks", "-o", "report.txt", NULL), 0);
}

/* -p takes a comma-separated list as well as repeats; a list with an empty
 * item or anything but digits is refused whole. */
static void test_pid_lists(void **state)
{
	static const char *const bad[] = { "1,", ",1", "1,,2", "1,x", "1, 2", "1,+2", "1,0",
					   "1,2147483648", "1;2", "," };

	(void)state;
	assert_int_equal(parse_args("-p", "1,2,3", "-p", "40", "--pid=5,6", NULL), 0);
	assert_int_equal(env.pid_count, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(env.pids[i], ((const pid_t[]){ 1, 2, 3, 40, 5, 6 })[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("-p %s\n", bad[i]);
		assert_int_equal(parse_args("-p", bad[i], NULL), EINVAL);
	}
}

/* --comm: repeatable, adds to -p, and refuses names the kernel can't hold. */
static void test_comm(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--comm", "redis-server", "--comm=nginx", "-p", "7", NULL), 0);
	assert_int_equal(env.comm_count, 2);
	assert_string_equal(env.comms[0], "redis-server");
	assert_string_equal(env.comms[1], "nginx");
	assert_int_equal(env.pid_count, 1);
	/* 15 bytes is the most /proc/PID/comm shows */
	assert_int_equal(parse_args("--comm", "abcdefghijklmno", NULL), 0);
	assert_int_equal(parse_args("--comm", "abcdefghijklmnop", NULL), EINVAL);
	assert_int_equal(parse_args("--comm", "", NULL), EINVAL);
	assert_int_equal(parse_args("--comm", "a", "--comm", "b", "--comm", "c", "--comm", "d",
				    "--comm", "e", "--comm", "f", "--comm", "g", "--comm", "h",
				    NULL), 0);
	assert_int_equal(env.comm_count, PARK_MAX_COMMS);
	assert_int_equal(parse_args("--comm", "a", "--comm", "b", "--comm", "c", "--comm", "d",
				    "--comm", "e", "--comm", "f", "--comm", "g", "--comm", "h",
				    "--comm", "i", NULL), EINVAL);
}

/* --leaks that ends before any group can have the history a suspect needs
 * is refused, not an empty report; the span it needs counts as the trend
 * engine does (a --leak-window shorter than it caps it). */
static void test_leaks_shorter_than_min_span(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--leaks", "--duration", "10s", NULL), EINVAL);
	assert_int_equal(parse_args("--leaks", "--duration", "20s", NULL), 0);
	assert_int_equal(parse_args("--leaks", "--duration", "10s", "--leak-min-span", "5s", NULL),
			 0);
	assert_int_equal(parse_args("--leaks", "--duration", "30s", "--leak-min-span", "1m",
				    NULL), EINVAL);
	assert_int_equal(parse_args("--leaks", "--duration", "10s", "--leak-window", "8s", NULL),
			 0);
	/* without --leaks, or without --duration (Ctrl-C ends it), nothing to check */
	assert_int_equal(parse_args("--duration", "1s", "--leak-min-span", "1m", NULL), 0);
	assert_int_equal(parse_args("--leaks", NULL), 0);
}

/* --help and --version print and, for a test's flags, return without an error. */
static void test_help_and_version_parse(void **state)
{
	(void)state;
	assert_int_equal(parse_args("-h", NULL), 0);
	assert_int_equal(parse_args("--version", NULL), 0);
	assert_int_not_equal(parse_args("--version=3", NULL), 0);
	assert_int_not_equal(parse_args("--dump", "--nope", NULL), 0);
	assert_int_not_equal(parse_args("--debug", NULL), 0);
}

static void test_positional_rejected_after_options(void **state)
{
	(void)state;
	assert_int_not_equal(parse_args("-p", "1", "extra", NULL), 0);
}

static void test_rejection_returns_einval(void **state)
{
	(void)state;
	assert_int_equal(parse_args("--debug", "7", NULL), EINVAL);
	assert_int_equal(parse_args("-p", "0", NULL), EINVAL);
	assert_int_equal(parse_args("--interval", "banana", NULL), EINVAL);
}

static void test_too_many_pids(void **state)
{
	static char *argv[2 * PARK_MAX_WATCHED + 4];
	static char numbers[PARK_MAX_WATCHED + 1][12];
	int argc = 0;

	(void)state;
	argv[argc++] = (char *)"parkwatch";
	for (int i = 0; i < PARK_MAX_WATCHED; i++) {
		snprintf(numbers[i], sizeof(numbers[i]), "%d", i + 1);
		argv[argc++] = (char *)"-p";
		argv[argc++] = numbers[i];
	}
	argv[argc] = NULL;
	assert_int_equal(options__parse(argc, argv, &env, TEST_FLAGS), 0);
	assert_int_equal(env.pid_count, PARK_MAX_WATCHED);
	assert_int_equal(env.pids[PARK_MAX_WATCHED - 1], PARK_MAX_WATCHED);

	snprintf(numbers[PARK_MAX_WATCHED], sizeof(numbers[0]), "%d", PARK_MAX_WATCHED + 1);
	argv[argc++] = (char *)"-p";
	argv[argc++] = numbers[PARK_MAX_WATCHED];
	argv[argc] = NULL;
	assert_int_not_equal(options__parse(argc, argv, &env, TEST_FLAGS), 0);
	assert_int_equal(env.pid_count, PARK_MAX_WATCHED);
}

/* A parse starts from the defaults, not from the previous parse. */
/* The Go reading budgets: defaults, 0 for no limit, MiB digits only. */
static void test_go_budgets(void **state)
{
	(void)state;
	assert_int_equal(parse_args(NULL), 0);
	assert_true(env.go_time_budget_ns == GO_TIME_BUDGET_DEFAULT_NS);
	assert_true(env.go_memory_budget_bytes == GO_MEMORY_BUDGET_DEFAULT_BYTES);
	assert_int_equal(parse_args("--go-time-budget", "250ms", "--go-memory-budget", "64", NULL),
			 0);
	assert_true(env.go_time_budget_ns == 250 * MS);
	assert_true(env.go_memory_budget_bytes == (size_t)64 << 20);
	assert_int_equal(parse_args("--go-time-budget", "0", "--go-memory-budget", "0", NULL), 0);
	assert_true(env.go_time_budget_ns == 0);
	assert_true(env.go_memory_budget_bytes == 0);
	check_rejected("--go-time-budget", "soon");
	check_rejected("--go-memory-budget", "-1");
	check_rejected("--go-memory-budget", "+5");
	check_rejected("--go-memory-budget", "5M");
	check_rejected("--go-memory-budget", "");
	check_rejected("--go-memory-budget", "99999999999");
}

static void test_reparse_resets(void **state)
{
	(void)state;
	assert_int_equal(parse_args("-p", "5", "--dump", "--debug", "1", NULL), 0);
	assert_int_equal(env.pid_count, 1);
	{
		char *argv[] = { (char *)"parkwatch", NULL };

		/* no poisoning this time: env still holds the previous result */
		assert_int_equal(options__parse(1, argv, &env, TEST_FLAGS), 0);
	}
	assert_int_equal(env.pid_count, 0);
	assert_false(env.dump);
	assert_int_equal(env.debug, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_folded_root),
		cmocka_unit_test(test_repeated_pid),
		cmocka_unit_test(test_max_pid),
		cmocka_unit_test(test_dump_debug_format),
		cmocka_unit_test(test_profile_formats),
		cmocka_unit_test(test_dump_min_park),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_kernel_stacks_and_cgroup),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_pid_digits_only),
		cmocka_unit_test(test_http_needs_auth),
		cmocka_unit_test(test_duration_zero_rejected),
		cmocka_unit_test(test_leaks_combinations),
		cmocka_unit_test(test_help_and_version_parse),
		cmocka_unit_test(test_pid_lists),
		cmocka_unit_test(test_comm),
		cmocka_unit_test(test_leaks_shorter_than_min_span),
		cmocka_unit_test(test_positional_rejected_after_options),
		cmocka_unit_test(test_rejection_returns_einval),
		cmocka_unit_test(test_too_many_pids),
		cmocka_unit_test(test_go_budgets),
		cmocka_unit_test(test_reparse_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
