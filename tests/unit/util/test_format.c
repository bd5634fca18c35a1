// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of durations, ages and JSON strings (user/format.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/format.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

static void check_duration(const char *text, __u64 expected)
{
	__u64 ns = 0xdeadbeefULL;
	int err = format__parse_duration(text, &ns);

	if (err || ns != expected)
		print_message("parse_duration(\"%s\") = %d, %llu ns (expected %llu)\n", text, err, ns,
			      expected);
	assert_int_equal(err, 0);
	assert_true(ns == expected);
}

static void check_rejected(const char *text)
{
	__u64 ns = 0;
	int err = format__parse_duration(text, &ns);

	if (err != -EINVAL)
		print_message("parse_duration(\"%s\") accepted: %llu ns\n", text ? text : "(null)", ns);
	assert_int_equal(err, -EINVAL);
}

static void test_parse_duration_units(void **state)
{
	(void)state;
	check_duration("500ms", 500 * MS);
	check_duration("2s", 2 * SEC);
	check_duration("1.5m", 90 * SEC);
	check_duration("1h", 3600 * SEC);
	check_duration("3", 3 * SEC);
	check_duration("0", 0);
	check_duration("0s", 0);
	check_duration("250us", 250000);
	check_duration("10ns", 10);
	check_duration("0.5s", 500 * MS);
	check_duration("10ms", 10 * MS);
	check_duration("2.5", 2500 * MS);
	check_duration("1000000ns", 1 * MS);
}

/* Decimal fractions must not lose a nanosecond to binary rounding:
 * 4.1 * 1e9 is 4099999999.9999995 in double arithmetic. */
static void test_parse_duration_decimal_exact(void **state)
{
	(void)state;
	check_duration("0.1s", 100 * MS);
	check_duration("4.1s", 4100 * MS);
	check_duration("1.001s", 1001 * MS);
	check_duration("2.01s", 2010 * MS);
	check_duration("8.2s", 8200 * MS);
}

static void test_parse_duration_rejects(void **state)
{
	(void)state;
	check_rejected("");
	check_rejected(NULL);
	check_rejected("abc");
	check_rejected("-1s");
	check_rejected("-0");
	check_rejected("+1s");
	check_rejected("5x");
	check_rejected("5 s");
	check_rejected("5sec");
	check_rejected("5S");
	check_rejected("s");
	check_rejected("ms");
	check_rejected("1e30s");
	check_rejected("1e30");
	check_rejected("nan");
	check_rejected("nans");
	check_rejected("inf");
	check_rejected("infs");
	check_rejected("5s ");
	check_rejected("1h1m");
	/* just past the ~31 year cap */
	check_rejected("300000h");
}

static void test_parse_duration_cap(void **state)
{
	__u64 ns = 0;

	(void)state;
	/* 1e18 ns is accepted, anything past it not */
	assert_int_equal(format__parse_duration("1000000000s", &ns), 0);
	assert_true(ns == 1000000000ULL * SEC);
	assert_int_equal(format__parse_duration("1000000001s", &ns), -EINVAL);
}

static const char *age(__u64 ns)
{
	static char buf[64];

	memset(buf, 'X', sizeof(buf));
	format__age(ns, buf, sizeof(buf));
	return buf;
}

static void test_age(void **state)
{
	(void)state;
	assert_string_equal(age(5 * 60 * SEC + 30 * SEC), "5 minutes"); /* Go: whole minutes */
	assert_string_equal(age(60 * SEC), "1 minutes");                  /* Go says it so too */
	assert_string_equal(age(59 * SEC + 999 * MS), "59 seconds");
	assert_string_equal(age(12 * SEC + 700 * MS), "12 seconds");
	assert_string_equal(age(1 * SEC), "1 second");
	assert_string_equal(age(1 * SEC + 999 * MS), "1 second");
	assert_string_equal(age(2 * SEC), "2 seconds");
	assert_string_equal(age(340 * MS + 999999), "340 ms");
	assert_string_equal(age(999 * MS), "999 ms");
	assert_string_equal(age(0), "0 ms");
	assert_string_equal(age(3 * 3600 * SEC + 7 * 60 * SEC), "187 minutes");
}

static void test_age_truncates_to_buffer(void **state)
{
	char buf[6];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	format__age(5 * 60 * SEC, buf, sizeof(buf));
	assert_string_equal(buf, "5 min");
}

static const char *age_short(__u64 ns)
{
	static char buf[64];

	memset(buf, 'X', sizeof(buf));
	format__age_short(ns, buf, sizeof(buf));
	return buf;
}

static void test_age_short(void **state)
{
	(void)state;
	assert_string_equal(age_short(340 * MS), "340ms");
	assert_string_equal(age_short(0), "0ms");
	assert_string_equal(age_short(12 * SEC + 300 * MS), "12.3s");
	assert_string_equal(age_short(1 * SEC), "1.0s");
	assert_string_equal(age_short(5 * 60 * SEC + 7 * SEC), "5m07s");
	assert_string_equal(age_short(60 * SEC), "1m00s");
	assert_string_equal(age_short(59 * 60 * SEC + 59 * SEC), "59m59s");
	assert_string_equal(age_short(2 * 3600 * SEC + 13 * 60 * SEC + 59 * SEC), "2h13m");
	assert_string_equal(age_short(3600 * SEC), "1h00m");
	assert_string_equal(age_short(100 * 3600 * SEC + 5 * 60 * SEC), "100h05m");
}

/* Runs format__json_string into memory; the caller frees. */
static char *json(const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	format__json_string(out, text);
	assert_int_equal(fclose(out), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void check_json(const char *text, const char *expected)
{
	char *got = json(text);

	assert_string_equal(got, expected);
	free(got);
}

static void test_json_string(void **state)
{
	(void)state;
	check_json(NULL, "null");
	check_json("", "\"\"");
	check_json("plain", "\"plain\"");
	check_json("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_json("C:\\dir", "\"C:\\\\dir\"");
	check_json("a\nb", "\"a\\nb\"");
	check_json("a\tb", "\"a\\tb\"");
	check_json("\r", "\"\\u000d\"");
	check_json("\x01\x1f", "\"\\u0001\\u001f\"");
	check_json("\x1b[0m", "\"\\u001b[0m\"");
	/* DEL, C1 (U+009B, a CSI) and bidi overrides too: dumps meet terminals */
	check_json(" ~\x7f", "\" ~\\u007f\"");
	check_json("\xc2\x9b" "2J", "\"\\u009b2J\"");
	check_json("\xe2\x80\xae" "x", "\"\\u202ex\"");
	/* UTF-8 passes through unchanged */
	check_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	check_json("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	/* ill-formed UTF-8 is U+FFFD per maximal subpart (util/utf8.h), never raw */
	check_json("w\xff\xfe", "\"w\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_json("ab\xe2\x82", "\"ab\xef\xbf\xbd\"");
	check_json("\xed\xa0\x80\"", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"\"");
	check_json("/", "\"/\"");
}

static void test_json_string_no_raw_controls(void **state)
{
	char text[32];
	char *got;

	(void)state;
	for (int c = 1; c < 32; c++)
		text[c - 1] = (char)c;
	text[31] = '\0';
	got = json(text);
	for (const char *p = got; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	assert_true(got[0] == '"' && got[strlen(got) - 1] == '"');
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration_units),
		cmocka_unit_test(test_parse_duration_decimal_exact),
		cmocka_unit_test(test_parse_duration_rejects),
		cmocka_unit_test(test_parse_duration_cap),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_age_truncates_to_buffer),
		cmocka_unit_test(test_age_short),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_string_no_raw_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
