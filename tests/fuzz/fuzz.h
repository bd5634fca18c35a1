/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What every fuzz target of tests/fuzz/ shares. */
#ifndef PARKWATCH_FUZZ_H
#define PARKWATCH_FUZZ_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point: one input, data is not NUL-terminated. */
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Keeps a value the compiler would drop, so that the read of every byte it
 * came from happens (and AddressSanitizer checks it). */
static inline void fuzz_use(unsigned long long value)
{
	__asm__ volatile("" : : "r"(value));
}

/* The input past its first byte (which picks what to parse) as a C string:
 * malloc'd, NUL-terminated; NULL for an empty input or out of memory. */
static inline char *fuzz_text_after_choice(const unsigned char *data, size_t size)
{
	char *text;

	if (!size || !(text = malloc(size)))
		return NULL;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	return text;
}

#endif /* PARKWATCH_FUZZ_H */
