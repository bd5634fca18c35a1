// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Output captured in memory, with checks that print what they saw (fixtures.h). */
#include "support/fixtures.h"

/* A stream into *buf (freed first: earlier output is gone). */
FILE *open_output(char **buf, size_t *len)
{
	FILE *out;

	free(*buf);
	*buf = NULL;
	out = open_memstream(buf, len);
	assert_non_null(out);
	return out;
}

/* Closes a stream of open_output; returns what was written. */
const char *close_output(FILE *out, char **buf)
{
	assert_int_equal(fclose(out), 0);
	assert_non_null(*buf);
	return *buf;
}

/* strstr that fails the test, printing the whole output, when needle is missing. */
const char *expect(const char *haystack, const char *needle)
{
	const char *found = strstr(haystack, needle);

	if (!found)
		print_message("--- missing:\n%s\n--- in:\n%s\n---\n", needle, haystack);
	assert_non_null(found);
	return found;
}

void expect_not(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		print_message("--- unexpected:\n%s\n--- in:\n%s\n---\n", needle, haystack);
	assert_null(strstr(haystack, needle));
}

size_t occurrences(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

bool starts_with(const char *text, const char *prefix)
{
	bool ok = !strncmp(text, prefix, strlen(prefix));

	if (!ok)
		print_message("--- expected a start:\n%s\n--- in:\n%s\n---\n", prefix, text);
	return ok;
}

/* False for a NULL text. */
bool ends_with(const char *text, const char *suffix)
{
	size_t len = text ? strlen(text) : 0, suffix_len = strlen(suffix);
	bool ok = text && len >= suffix_len && !strcmp(text + len - suffix_len, suffix);

	if (!ok)
		print_message("--- expected an end:\n%s\n--- in:\n%s\n---\n", suffix,
			      text ? text : "(null)");
	return ok;
}

