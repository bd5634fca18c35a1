/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A cache of values by key under a byte budget: what each value holds is
 * charged to its entry as it grows, and when trimmed (between two pieces
 * of work: a picture) the least recently used entries go until the rest
 * fit, never one that is held (in use by a caller right now).  A piece of
 * work that needs more than the budget is not made to read its files
 * again and again: it gets them all, and the trim after it takes the
 * excess back.  A count of entries, for what each holds that is not
 * memory (open files), is kept at every add.  Counts its hits, misses and evictions.  The shared module
 * cache (proc/modcache.h) is one.
 */
#ifndef PARKWATCH_BYTELRU_H
#define PARKWATCH_BYTELRU_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "util/u64map.h"

struct bytelru_entry {
	__u64 key;
	void *value;
	size_t bytes;               /* what the value holds, as charged */
	unsigned int holds;         /* callers using it now: never evicted */
	struct bytelru_entry *newer, *older;
};

struct bytelru_stats {
	size_t entries;
	size_t bytes, limit_bytes;
	__u64 hits, misses, evictions;
};

struct bytelru {
	struct u64map by_key;
	struct bytelru_entry *newest, *oldest;
	size_t bytes, limit_bytes;
	size_t max_entries;
	__u64 hits, misses, evictions;
	void (*free_value)(void *value);
};

void bytelru__init(struct bytelru *lru, size_t limit_bytes, size_t max_entries,
		   void (*free_value)(void *value));
/* Frees every value, held or not. */
void bytelru__fini(struct bytelru *lru);
/* The entry of key, made the most recently used and held; NULL (a miss)
 * when there is none. */
struct bytelru_entry *bytelru__hold(struct bytelru *lru, __u64 key);
/* Adds value under key (not present), held, after evicting what must be
 * evicted to leave room for one more entry under the count.  NULL when out of memory: value is
 * then the caller's. */
struct bytelru_entry *bytelru__add(struct bytelru *lru, __u64 key, void *value);
/* What the entry's value holds grew (or shrank) by delta_bytes. */
void bytelru__charge(struct bytelru *lru, struct bytelru_entry *entry, ssize_t delta_bytes);
/* Ends a hold. */
void bytelru__release(struct bytelru_entry *entry);
/* Evicts the least recently used entries not held until the rest fit the
 * budget and the count. */
void bytelru__trim(struct bytelru *lru);
void bytelru__stats(const struct bytelru *lru, struct bytelru_stats *stats);

#endif /* PARKWATCH_BYTELRU_H */
