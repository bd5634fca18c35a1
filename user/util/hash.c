// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* FNV-1a (hash.h): cheap, and good enough for keys that are mostly pcs. */
#include "util/hash.h"

__u64 hash__bytes(const void *data, size_t len, __u64 seed)
{
	const unsigned char *bytes = data;
	__u64 hash = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		hash ^= bytes[i];
		hash *= 0x100000001b3ULL;
	}
	return hash ? hash : 1;
}
