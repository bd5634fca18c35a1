/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The one hash parkwatch keys its maps and signatures with. */
#ifndef PARKWATCH_HASH_H
#define PARKWATCH_HASH_H

#include <stddef.h>
#include <linux/types.h>

/* A 64-bit hash of the bytes, seeded; never 0 (the maps' empty key).  Not
 * kept anywhere: it may change from one build to the next. */
__u64 hash__bytes(const void *data, size_t len, __u64 seed);

#endif /* PARKWATCH_HASH_H */
