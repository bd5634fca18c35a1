/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The one reader of untrusted text (thread and process names, which any
 * local user sets with prctl(PR_SET_NAME), and names from binaries) for the
 * outputs that need valid UTF-8 or must not pass control characters.
 *
 * utf8__next splits a text into characters: well-formed UTF-8 sequences and
 * ill-formed "maximal subparts" (Unicode 15, ch. 3, "U+FFFD Substitution of
 * Maximal Subparts"), the units Python's and WHATWG's decoders replace by
 * one U+FFFD each.  Overlong forms, surrogates (U+D800..DFFF), code points
 * past U+10FFFF and 5- or 6-byte forms are ill-formed.
 *
 * The rules per output, each applied through this module:
 *   JSON, Prometheus label values, pprof strings, HTML, folded stacks:
 *     an ill-formed subpart becomes U+FFFD, valid characters stay; JSON
 *     escapes control characters (utf8__is_control) as \uNNNN, HTML and
 *     folded stacks make them U+FFFD, label values escape \n as the
 *     format requires;
 *   text dump, live view and leak report (a terminal): utf8__escape, Go's
 *     %q style: ill-formed bytes and controls become \xNN or \uNNNN.
 */
#ifndef PARKWATCH_UTF8_H
#define PARKWATCH_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define UTF8_ILL_FORMED 0xffffffffu
#define UTF8_REPLACEMENT 0xfffdu

/*
 * The character at text (NUL-terminated): its length in bytes, 0 at the
 * end, and in *codepoint its code point, or UTF8_ILL_FORMED for a maximal
 * ill-formed subpart (1 to 3 bytes).
 */
size_t utf8__next(const char *text, __u32 *codepoint);
/* True when text is all well-formed UTF-8 (NULL is). */
bool utf8__valid(const char *text);
/* Writes codepoint (<= U+10FFFF, not a surrogate) as UTF-8. */
void utf8__put(FILE *out, __u32 codepoint);
/*
 * text with each ill-formed subpart as U+FFFD, into buf (truncated on a
 * character boundary, always terminated); returns buf.
 */
char *utf8__clean(const char *text, char *buf, size_t size);
/* The same, malloc'd; NULL when out of memory.  text may not be NULL. */
char *utf8__clean_dup(const char *text);
/*
 * A control character a terminal acts on: C0, DEL, C1, and the bidi
 * overrides and isolates that reorder what follows them on the line.
 */
bool utf8__is_control(__u32 codepoint);
/*
 * text for a terminal, in Go's %q style: printable characters as they are;
 * backslash and quote (0: none) escaped; \n, \r, \t; other controls as
 * \xNN (below U+0080) or \uNNNN; each byte of an ill-formed subpart as \xNN.
 */
void utf8__escape(FILE *out, const char *text, char quote);
/* The same into buf, cut at its size (always terminated); returns buf. */
char *utf8__escape_buf(const char *text, char quote, char *buf, size_t size);
/* Terminal columns codepoint takes (0 to 2; 1 when unknown). */
int utf8__columns(__u32 codepoint);
/* Terminal columns of text (escaped: no controls). */
int utf8__width(const char *text);
/*
 * How many bytes of text (NUL-terminated, escaped: no controls) fit in
 * columns terminal columns, ending on a character boundary.
 */
size_t utf8__fit(const char *text, int columns);

#endif /* PARKWATCH_UTF8_H */
