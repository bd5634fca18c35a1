// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* UTF-8 for untrusted names (utf8.h). */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "util/utf8.h"

static bool is_continuation(unsigned char byte)
{
	return byte >= 0x80 && byte <= 0xbf;
}

size_t utf8__next(const char *text, __u32 *codepoint)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char lead = s[0], second_low = 0x80, second_high = 0xbf;
	size_t length;
	__u32 value;

	if (!lead) {
		*codepoint = 0;
		return 0;
	}
	if (lead < 0x80) {
		*codepoint = lead;
		return 1;
	}
	/* the ranges of Unicode's table 3-7: the second byte rules out
	 * overlong forms (E0, F0), surrogates (ED) and past U+10FFFF (F4) */
	if (lead >= 0xc2 && lead <= 0xdf) {
		length = 2;
		value = lead & 0x1f;
	} else if (lead >= 0xe0 && lead <= 0xef) {
		length = 3;
		value = lead & 0x0f;
		if (lead == 0xe0)
			second_low = 0xa0;
		else if (lead == 0xed)
			second_high = 0x9f;
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		length = 4;
		value = lead & 0x07;
		if (lead == 0xf0)
			second_low = 0x90;
		else if (lead == 0xf4)
			second_high = 0x8f;
	} else {
		*codepoint = UTF8_ILL_FORMED; /* a continuation, C0/C1 overlong, F5..FF */
		return 1;
	}
	if (s[1] < second_low || s[1] > second_high) {
		*codepoint = UTF8_ILL_FORMED;
		return 1;
	}
	value = value << 6 | (s[1] & 0x3f);
	for (size_t i = 2; i < length; i++) {
		if (!is_continuation(s[i])) { /* truncated: what came so far is one subpart */
			*codepoint = UTF8_ILL_FORMED;
			return i;
		}
		value = value << 6 | (s[i] & 0x3f);
	}
	*codepoint = value;
	return length;
}

bool utf8__valid(const char *text)
{
	__u32 codepoint;
	size_t length;

	for (; text && (length = utf8__next(text, &codepoint)); text += length)
		if (codepoint == UTF8_ILL_FORMED)
			return false;
	return true;
}

static size_t encode(__u32 codepoint, char *buf)
{
	if (codepoint < 0x80) {
		buf[0] = (char)codepoint;
		return 1;
	}
	if (codepoint < 0x800) {
		buf[0] = (char)(0xc0 | codepoint >> 6);
		buf[1] = (char)(0x80 | (codepoint & 0x3f));
		return 2;
	}
	if (codepoint < 0x10000) {
		buf[0] = (char)(0xe0 | codepoint >> 12);
		buf[1] = (char)(0x80 | (codepoint >> 6 & 0x3f));
		buf[2] = (char)(0x80 | (codepoint & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | codepoint >> 18);
	buf[1] = (char)(0x80 | (codepoint >> 12 & 0x3f));
	buf[2] = (char)(0x80 | (codepoint >> 6 & 0x3f));
	buf[3] = (char)(0x80 | (codepoint & 0x3f));
	return 4;
}

void utf8__put(FILE *out, __u32 codepoint)
{
	char buf[4];

	fwrite(buf, 1, encode(codepoint, buf), out);
}

char *utf8__clean(const char *text, char *buf, size_t size)
{
	size_t used = 0, length;
	__u32 codepoint;

	if (!size)
		return buf;
	for (; text && (length = utf8__next(text, &codepoint)); text += length) {
		char replacement[4];
		const char *bytes = text;
		size_t count = length;

		if (codepoint == UTF8_ILL_FORMED) {
			count = encode(UTF8_REPLACEMENT, replacement);
			bytes = replacement;
		}
		if (used + count >= size)
			break;
		memcpy(buf + used, bytes, count);
		used += count;
	}
	buf[used] = '\0';
	return buf;
}

char *utf8__clean_dup(const char *text)
{
	/* U+FFFD is 3 bytes for each ill-formed subpart of at least 1 */
	size_t size = 3 * strlen(text) + 1;
	char *buf = malloc(size);

	return buf ? utf8__clean(text, buf, size) : NULL;
}

bool utf8__is_control(__u32 codepoint)
{
	return codepoint < 0x20 || (codepoint >= 0x7f && codepoint < 0xa0) ||
	       (codepoint >= 0x202a && codepoint <= 0x202e) ||
	       (codepoint >= 0x2066 && codepoint <= 0x2069);
}

void utf8__escape(FILE *out, const char *text, char quote)
{
	const char *run = text; /* plain characters not yet written: one fwrite each run */
	size_t length;
	__u32 codepoint;

	if (!text)
		return;
	for (; *text; text += length) {
		bool ill_formed;

		/* printable ASCII, the common case, without decoding */
		if ((unsigned char)*text >= 0x20 && (unsigned char)*text < 0x7f && *text != '\\' &&
		    *text != quote) {
			length = 1;
			continue;
		}
		length = utf8__next(text, &codepoint);
		ill_formed = codepoint == UTF8_ILL_FORMED;

		if (!ill_formed && codepoint != '\\' && !(quote && codepoint == (__u32)quote) &&
		    !utf8__is_control(codepoint))
			continue;
		fwrite(run, 1, text - run, out);
		run = text + length;
		if (ill_formed) {
			for (size_t i = 0; i < length; i++)
				fprintf(out, "\\x%02x", (unsigned char)text[i]);
		} else if (codepoint == '\\' || (quote && codepoint == (__u32)quote)) {
			fputc('\\', out);
			fputc((int)codepoint, out);
		} else if (codepoint == '\n') {
			fputs("\\n", out);
		} else if (codepoint == '\r') {
			fputs("\\r", out);
		} else if (codepoint == '\t') {
			fputs("\\t", out);
		} else {
			fprintf(out, codepoint < 0x80 ? "\\x%02x" : "\\u%04x", codepoint);
		}
	}
	fwrite(run, 1, text - run, out);
}

char *utf8__escape_buf(const char *text, char quote, char *buf, size_t size)
{
	FILE *out;

	if (!size)
		return buf;
	buf[0] = buf[size - 1] = '\0'; /* fmemopen leaves a full buffer unterminated */
	out = size > 1 ? fmemopen(buf, size - 1, "w") : NULL;
	if (out) {
		utf8__escape(out, text, quote);
		fclose(out);
	}
	return buf;
}

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void open_utf8_locale(void)
{
	/* glibc's built-in C.UTF-8 (2.35+): wcwidth needs a UTF-8 LC_CTYPE,
	 * and the process's own locale is left alone */
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

int utf8__columns(__u32 codepoint)
{
	locale_t previous;
	int width;

	if (codepoint < 0x80)
		return 1;
	pthread_once(&utf8_locale_once, open_utf8_locale);
	if (!utf8_locale)
		return 1;
	previous = uselocale(utf8_locale);
	width = wcwidth((wchar_t)codepoint);
	uselocale(previous);
	return width < 0 ? 1 : width;
}

int utf8__width(const char *text)
{
	size_t length;
	__u32 codepoint;
	int width = 0;

	for (; (length = utf8__next(text, &codepoint)); text += length)
		width += codepoint == UTF8_ILL_FORMED ? 1 : utf8__columns(codepoint);
	return width;
}

size_t utf8__fit(const char *text, int columns)
{
	size_t used = 0, length;
	__u32 codepoint;

	while ((length = utf8__next(text + used, &codepoint))) {
		int width = codepoint == UTF8_ILL_FORMED ? 1 : utf8__columns(codepoint);

		if (width > columns)
			break;
		columns -= width;
		used += length;
	}
	return used;
}
