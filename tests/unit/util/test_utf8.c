// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the UTF-8 sanitizer (user/util/utf8.c).  The expected
 * column of the table is CPython 3.11's bytes.decode("utf-8", "replace")
 * re-encoded: an independent decoder that replaces each maximal ill-formed
 * subpart by one U+FFFD, as Unicode recommends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/utf8.h"

static const struct {
	const char *name, *input, *python_clean;
} cases[] = {
	{ "ascii", "worker-3", "worker-3" },
	{ "2-byte", "\xc3\xa9", "\xc3\xa9" },
	{ "3-byte", "\xe2\x82\xac", "\xe2\x82\xac" },
	{ "4-byte", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	{ "max U+10FFFF", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	{ "past U+10FFFF", "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "prctl xff xfe", "\x77\xff\xfe\x6f\x72\x6b\x65\x72",
	  "\x77\xef\xbf\xbd\xef\xbf\xbd\x6f\x72\x6b\x65\x72" },
	{ "lone continuation", "\x61\x80\x62", "\x61\xef\xbf\xbd\x62" },
	{ "overlong slash 2", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "overlong 3", "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "overlong 4", "\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "surrogate high", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "surrogate low", "\xed\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "truncated 3 at end", "\x61\x62\xe2\x82", "\x61\x62\xef\xbf\xbd" },
	{ "truncated 4 at end", "\x61\x62\xf0\x9f\x98", "\x61\x62\xef\xbf\xbd" },
	{ "truncated 2 then ascii", "\xc3\x78", "\xef\xbf\xbd\x78" },
	{ "5-byte form", "\xf8\x88\x80\x80\x80",
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "6-byte form", "\xfc\x84\x80\x80\x80\x80",
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "f5 lead", "\xf5\x80", "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "fe ff", "\xfe\xff", "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "truncated then valid", "\xe2\x82\xe2\x82\xac", "\xef\xbf\xbd\xe2\x82\xac" },
	{ "valid mixed", "\x5a\xc3\xbc\x72\x69\x63\x68\x2d\xe6\x9d\xb1\xe4\xba\xac",
	  "\x5a\xc3\xbc\x72\x69\x63\x68\x2d\xe6\x9d\xb1\xe4\xba\xac" },
};

#define CASES (sizeof(cases) / sizeof(cases[0]))

static void test_clean_matches_python(void **state)
{
	char buf[128];

	(void)state;
	for (size_t i = 0; i < CASES; i++) {
		char *dup = utf8__clean_dup(cases[i].input);

		utf8__clean(cases[i].input, buf, sizeof(buf));
		if (strcmp(buf, cases[i].python_clean))
			print_message("case %s differs from Python\n", cases[i].name);
		assert_string_equal(buf, cases[i].python_clean);
		assert_non_null(dup);
		assert_string_equal(dup, cases[i].python_clean);
		free(dup);
		/* valid exactly when Python replaced nothing; the result always is */
		assert_int_equal(utf8__valid(cases[i].input),
				 !strcmp(cases[i].input, cases[i].python_clean));
		assert_true(utf8__valid(buf));
	}
}

static void test_next_code_points(void **state)
{
	__u32 codepoint;

	(void)state;
	assert_int_equal(utf8__next("", &codepoint), 0);
	assert_int_equal(utf8__next("\xc3\xa9", &codepoint), 2);
	assert_int_equal(codepoint, 0xe9);
	assert_int_equal(utf8__next("\xe2\x82\xac", &codepoint), 3);
	assert_int_equal(codepoint, 0x20ac);
	assert_int_equal(utf8__next("\xf4\x8f\xbf\xbf", &codepoint), 4);
	assert_int_equal(codepoint, 0x10ffff);
	/* a truncated sequence is one subpart, up to the byte that breaks it */
	assert_int_equal(utf8__next("\xf0\x9f\x98x", &codepoint), 3);
	assert_int_equal(codepoint, UTF8_ILL_FORMED);
	/* the terminating NUL is never swallowed */
	assert_int_equal(utf8__next("\xe2\x82", &codepoint), 2);
	assert_int_equal(codepoint, UTF8_ILL_FORMED);
	assert_int_equal(utf8__next("\xed\xa0\x80", &codepoint), 1);
	assert_int_equal(codepoint, UTF8_ILL_FORMED);
	assert_true(utf8__valid(NULL));
}

static void test_clean_truncates_on_boundary(void **state)
{
	char buf[6];

	(void)state;
	/* "ab€€": the second € doesn't fit in 5 bytes and a terminator */
	utf8__clean("ab\xe2\x82\xac\xe2\x82\xac", buf, sizeof(buf));
	assert_string_equal(buf, "ab\xe2\x82\xac");
	utf8__clean("abc\xff", buf, 6);
	assert_string_equal(buf, "abc"); /* U+FFFD needs 3 more */
	assert_true(utf8__clean(NULL, buf, sizeof(buf)) == buf);
	assert_string_equal(buf, "");
}

static char *escaped(const char *text, char quote)
{
	static char buf[256];
	FILE *out = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(out);
	utf8__escape(out, text, quote);
	fclose(out);
	return buf;
}

static void test_escape_for_terminals(void **state)
{
	(void)state;
	assert_string_equal(escaped("worker-3", '"'), "worker-3");
	assert_string_equal(escaped("Z\xc3\xbcrich", '"'), "Z\xc3\xbcrich");
	/* a name that would clear the screen or forge a line */
	assert_string_equal(escaped("\x1b[2J\nthread 1", '"'), "\\x1b[2J\\nthread 1");
	assert_string_equal(escaped("a\"b\\c", '"'), "a\\\"b\\\\c");
	assert_string_equal(escaped("a\"b", 0), "a\"b");
	assert_string_equal(escaped("\t\r\x7f", '"'), "\\t\\r\\x7f");
	/* ill-formed bytes one by one, C1 CSI and a bidi override as \u */
	assert_string_equal(escaped("w\xff\xfe", '"'), "w\\xff\\xfe");
	assert_string_equal(escaped("\xe2\x82", '"'), "\\xe2\\x82");
	assert_string_equal(escaped("\xc2\x9b" "2J", '"'), "\\u009b2J");
	assert_string_equal(escaped("\xe2\x80\xae" "abc", '"'), "\\u202eabc");
}

static void test_columns_and_fit(void **state)
{
	(void)state;
	assert_int_equal(utf8__columns('a'), 1);
	assert_int_equal(utf8__fit("abcdef", 4), 4);
	assert_int_equal(utf8__fit("abc", 10), 3);
	assert_int_equal(utf8__fit("abc", 0), 0);
	/* never splits a character: "é" is 2 bytes, one column */
	assert_int_equal(utf8__fit("a\xc3\xa9z", 2), 3);
	/* East Asian wide characters take two columns (glibc's C.UTF-8 wcwidth) */
	assert_int_equal(utf8__columns(0x6771), 2);
	assert_int_equal(utf8__fit("\xe6\x9d\xb1\xe4\xba\xac", 3), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_matches_python),
		cmocka_unit_test(test_next_code_points),
		cmocka_unit_test(test_clean_truncates_on_boundary),
		cmocka_unit_test(test_escape_for_terminals),
		cmocka_unit_test(test_columns_and_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
