/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What every fuzz target of tests/fuzz/ shares. */
#ifndef PARKWATCH_FUZZ_H
#define PARKWATCH_FUZZ_H

#include <stddef.h>

/* libFuzzer's entry point: one input, data is not NUL-terminated. */
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Keeps a value the compiler would drop, so that the read of every byte it
 * came from happens (and AddressSanitizer checks it). */
static inline void fuzz_use(unsigned long long value)
{
	__asm__ volatile("" : : "r"(value));
}

#endif /* PARKWATCH_FUZZ_H */
