// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Durations, ages and JSON strings (format.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "util/units.h"
#include "util/utf8.h"


int format__parse_duration(const char *text, __u64 *ns)
{
	static const struct {
		const char *suffix;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
		{ "", 1e9 },
	};
	char *end;
	double value;

	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || !isfinite(value) || value < 0 || *text == '-' || *text == '+')
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].suffix)) {
			double total = value * units[i].ns;

			if (total > 1e18) /* about 31 years: past this the caller's arithmetic overflows */
				return -EINVAL;
			*ns = (__u64)(total + 0.5); /* "4.1s" is 4099999999.99...: round */
			return 0;
		}
	}
	return -EINVAL;
}

void format__age(__u64 ns, char *buf, size_t size)
{
	__u64 seconds = ns / NSEC_PER_SEC;

	if (seconds >= 60)
		snprintf(buf, size, "%llu minutes", seconds / 60);
	else if (seconds >= 1)
		snprintf(buf, size, "%llu second%s", seconds, seconds == 1 ? "" : "s");
	else
		snprintf(buf, size, "%llu ms", ns / NSEC_PER_MSEC);
}

void format__age_short(__u64 ns, char *buf, size_t size)
{
	__u64 seconds = ns / NSEC_PER_SEC;

	if (seconds >= 3600)
		snprintf(buf, size, "%lluh%02llum", seconds / 3600, seconds / 60 % 60);
	else if (seconds >= 60)
		snprintf(buf, size, "%llum%02llus", seconds / 60, seconds % 60);
	else if (ns >= NSEC_PER_SEC && ns < 59950000000ULL)
		snprintf(buf, size, "%.1fs", (double)ns / NSEC_PER_SEC);
	else if (seconds >= 1)
		snprintf(buf, size, "1m00s"); /* 59.95 s and up would print as 60.0s */
	else
		snprintf(buf, size, "%llums", ns / NSEC_PER_MSEC);
}

void format__json_string(FILE *out, const char *text)
{
	const char *run = text; /* plain characters not yet written: one fwrite each run */
	size_t length;
	__u32 codepoint;

	if (!text) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *text; text += length) {
		/* printable ASCII, the common case, without decoding */
		if ((unsigned char)*text >= 0x20 && (unsigned char)*text < 0x7f && *text != '"' &&
		    *text != '\\') {
			length = 1;
			continue;
		}
		length = utf8__next(text, &codepoint);
		/* JSON needs C0 escaped; DEL, C1 and bidi controls too, for the
		 * terminals dumps are read on (util/utf8.h) */
		if (codepoint != '"' && codepoint != '\\' && codepoint != UTF8_ILL_FORMED &&
		    !utf8__is_control(codepoint))
			continue;
		fwrite(run, 1, text - run, out);
		run = text + length;
		if (codepoint == '"')
			fputs("\\\"", out);
		else if (codepoint == '\\')
			fputs("\\\\", out);
		else if (codepoint == '\n')
			fputs("\\n", out);
		else if (codepoint == '\t')
			fputs("\\t", out);
		else if (codepoint == UTF8_ILL_FORMED) /* JSON is UTF-8 (RFC 8259): never a raw byte */
			utf8__put(out, UTF8_REPLACEMENT);
		else
			fprintf(out, "\\u%04x", codepoint);
	}
	fwrite(run, 1, text - run, out);
	fputc('"', out);
}

size_t format__count_phrase(char *buf, size_t size, size_t len, __u64 value, const char *one,
			    const char *many)
{
	/* past the end, only the length is counted */
	int n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, "%s%llu %s",
			 len ? ", " : "", (unsigned long long)value, value == 1 ? one : many);

	return n > 0 ? len + (size_t)n : len;
}

void format__count(__u64 count, char *buf, size_t size)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)count);
	size_t used = 0;

	for (int i = 0; i < len && used + 2 < size; i++) {
		if (i && (len - i) % 3 == 0)
			buf[used++] = ',';
		buf[used++] = digits[i];
	}
	buf[used] = '\0';
}

/* "+598", "+1,204", "+0.4", "-3.0" */
void format__rate(double per_min, char *buf, size_t size)
{
	double magnitude = per_min < 0 ? -per_min : per_min;
	char sign = per_min < 0 ? '-' : '+';

	if (magnitude >= 9.95 && size > 1) {
		buf[0] = sign;
		format__count((__u64)(magnitude + 0.5), buf + 1, size - 1);
	} else {
		snprintf(buf, size, "%c%.1f", sign, magnitude);
	}
}
