// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A byte-budgeted LRU cache (bytelru.h). */
#include <stdint.h>
#include <stdlib.h>
#include "util/bytelru.h"

void bytelru__init(struct bytelru *lru, size_t limit_bytes, size_t max_entries,
		   void (*free_value)(void *value))
{
	*lru = (struct bytelru){
		.limit_bytes = limit_bytes,
		.max_entries = max_entries,
		.free_value = free_value,
	};
}

static void unlink_entry(struct bytelru *lru, struct bytelru_entry *entry)
{
	if (entry->newer)
		entry->newer->older = entry->older;
	else
		lru->newest = entry->older;
	if (entry->older)
		entry->older->newer = entry->newer;
	else
		lru->oldest = entry->newer;
	entry->newer = entry->older = NULL;
}

static void link_newest(struct bytelru *lru, struct bytelru_entry *entry)
{
	entry->older = lru->newest;
	entry->newer = NULL;
	if (lru->newest)
		lru->newest->newer = entry;
	else
		lru->oldest = entry;
	lru->newest = entry;
}

static void drop(struct bytelru *lru, struct bytelru_entry *entry)
{
	unlink_entry(lru, entry);
	u64map__remove(&lru->by_key, entry->key);
	lru->bytes -= entry->bytes;
	if (lru->free_value)
		lru->free_value(entry->value);
	free(entry);
}

void bytelru__fini(struct bytelru *lru)
{
	while (lru->oldest)
		drop(lru, lru->oldest);
	u64map__clear(&lru->by_key);
}

/* The oldest entries not held go until the cache holds at most
 * limit_bytes in at most max_entries. */
static void evict_to(struct bytelru *lru, size_t limit_bytes, size_t max_entries)
{
	struct bytelru_entry *entry = lru->oldest, *newer;

	for (; entry && (lru->bytes > limit_bytes || lru->by_key.count > max_entries);
	     entry = newer) {
		newer = entry->newer;
		if (entry->holds)
			continue;
		drop(lru, entry);
		lru->evictions++;
	}
}

struct bytelru_entry *bytelru__hold(struct bytelru *lru, __u64 key)
{
	struct bytelru_entry *entry = u64map__get(&lru->by_key, key);

	if (!entry) {
		lru->misses++;
		return NULL;
	}
	lru->hits++;
	unlink_entry(lru, entry);
	link_newest(lru, entry);
	entry->holds++;
	return entry;
}

struct bytelru_entry *bytelru__add(struct bytelru *lru, __u64 key, void *value)
{
	struct bytelru_entry *entry = calloc(1, sizeof(*entry));

	if (!entry)
		return NULL;
	/* the count bounds what can't wait for a trim: open files */
	evict_to(lru, SIZE_MAX, lru->max_entries ? lru->max_entries - 1 : 0);
	entry->key = key;
	entry->value = value;
	entry->holds = 1;
	if (u64map__put(&lru->by_key, key, entry)) {
		free(entry);
		return NULL;
	}
	link_newest(lru, entry);
	return entry;
}

void bytelru__charge(struct bytelru *lru, struct bytelru_entry *entry, ssize_t delta_bytes)
{
	/* a value never holds less than nothing, whatever was freed meanwhile */
	if (delta_bytes < 0 && (size_t)-delta_bytes > entry->bytes)
		delta_bytes = -(ssize_t)entry->bytes;
	entry->bytes += delta_bytes;
	lru->bytes += delta_bytes;
}

void bytelru__release(struct bytelru_entry *entry)
{
	if (entry->holds)
		entry->holds--;
}

void bytelru__trim(struct bytelru *lru)
{
	evict_to(lru, lru->limit_bytes, lru->max_entries);
}

void bytelru__stats(const struct bytelru *lru, struct bytelru_stats *stats)
{
	*stats = (struct bytelru_stats){
		.entries = lru->by_key.count,
		.bytes = lru->bytes,
		.limit_bytes = lru->limit_bytes,
		.hits = lru->hits,
		.misses = lru->misses,
		.evictions = lru->evictions,
	};
}
