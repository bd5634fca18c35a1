/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Small tests on C strings that several layers ask. */
#ifndef PARKWATCH_TEXT_H
#define PARKWATCH_TEXT_H

#include <stdbool.h>
#include <string.h>

/* False for a NULL text. */
static inline bool text__has_prefix(const char *text, const char *prefix)
{
	return text && !strncmp(text, prefix, strlen(prefix));
}

#endif /* PARKWATCH_TEXT_H */
