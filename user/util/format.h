/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Small text conversions shared by the CLI and the exporters. */
#ifndef PARKWATCH_FORMAT_H
#define PARKWATCH_FORMAT_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

/* "500ms", "2s", "1.5m", "1h", or a bare number of seconds.  0 or -EINVAL. */
int format__parse_duration(const char *text, __u64 *ns);
/* How long a thread has waited, the way Go's dumps say it: "5 minutes";
 * under a minute, "12 seconds" or "340 ms". */
void format__age(__u64 ns, char *buf, size_t size);
/* Compact age for tables: "340ms", "12.3s", "5m07s", "2h13m". */
void format__age_short(__u64 ns, char *buf, size_t size);
/* 1204 as "1,204". */
void format__count(__u64 count, char *buf, size_t size);
/*
 * Appends "N thing" (or "N things"), after ", " unless it is the first, to
 * the list of len bytes in buf (terminated, cut at size); returns the new
 * length, counted past size too, as snprintf does.  For the lines that say
 * what was given up: "3 task-storage allocations, 1 stack copy".
 */
size_t format__count_phrase(char *buf, size_t size, size_t len, __u64 value, const char *one,
			    const char *many);
/* A rate per minute for people: "+598", "+1,204", "+0.4", "-3.0". */
void format__rate(double per_min, char *buf, size_t size);
/* A JSON string literal, quoted and escaped, ill-formed UTF-8 as U+FFFD
 * (util/utf8.h); NULL prints null. */
void format__json_string(FILE *out, const char *text);

#endif /* PARKWATCH_FORMAT_H */
