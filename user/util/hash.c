// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The hash (hash.h): eight bytes a step, each word mixed in by a multiply
 * and a rotate, the length folded in (a tail's zero padding tells nothing),
 * then the bits avalanched.  A byte-at-a-time hash was most of the cost of
 * grouping a picture's units and of interning their stacks.
 */
#include <string.h>
#include "util/hash.h"

static __u64 rotl(__u64 word, int bits)
{
	return (word << bits) | (word >> (64 - bits));
}

static __u64 mix_in(__u64 hash, __u64 word)
{
	return rotl(hash ^ (word * 0x9e3779b97f4a7c15ULL), 29) * 0xbf58476d1ce4e5b9ULL;
}

__u64 hash__bytes(const void *data, size_t len, __u64 seed)
{
	const unsigned char *bytes = data;
	__u64 hash = mix_in(seed ^ 0xcbf29ce484222325ULL, len), word;

	for (; len >= sizeof(word); len -= sizeof(word), bytes += sizeof(word)) {
		memcpy(&word, bytes, sizeof(word));
		hash = mix_in(hash, word);
	}
	if (len) {
		word = 0;
		memcpy(&word, bytes, len);
		hash = mix_in(hash, word);
	}
	hash ^= hash >> 32;
	hash *= 0xd6e8feb86659fd93ULL;
	hash ^= hash >> 32;
	return hash ? hash : 1;
}
