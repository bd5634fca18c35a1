// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes the duration parser (util/format.c) every --interval, --duration
 * and --min-park goes through, and the printing of what it returns. */
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1), buf[64];
	__u64 ns;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!format__parse_duration(text, &ns)) {
		format__age(ns, buf, sizeof(buf));
		format__age_short(ns, buf, sizeof(buf));
	}
	free(text);
	return 0;
}
