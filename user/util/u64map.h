/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A small open-addressing hash map from a non-zero __u64 key to a pointer,
 * used by every cache in parkwatch (processes, symbols, unwound stacks,
 * groups).  Values are owned by the caller.
 */
#ifndef PARKWATCH_U64MAP_H
#define PARKWATCH_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "util/hash.h"

struct u64map {
	__u64 *keys;                /* 0 marks an empty slot */
	void **values;
	size_t capacity;            /* a power of two */
	size_t count;
};

void *u64map__get(const struct u64map *map, __u64 key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int u64map__put(struct u64map *map, __u64 key, void *value);
/* Room for count entries in all, so that filling the map rehashes nothing;
 * 0 or -ENOMEM. */
int u64map__reserve(struct u64map *map, size_t count);
/* Removes key if present and returns its value. */
void *u64map__remove(struct u64map *map, __u64 key);
/* Visits every entry; fn returns false to remove the entry. */
void u64map__filter(struct u64map *map, bool (*keep)(__u64 key, void *value, void *ctx),
		    void *ctx);
void u64map__clear(struct u64map *map);
/* Frees every value with free_value, then clears the map. */
void u64map__free_all(struct u64map *map, void (*free_value)(void *value));


#endif /* PARKWATCH_U64MAP_H */
