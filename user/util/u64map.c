// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Open-addressing hash map with linear probing (u64map.h). */
#include <errno.h>
#include <stdlib.h>
#include "util/u64map.h"

static size_t slot_of(__u64 key, size_t capacity)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key & (capacity - 1);
}

void *u64map__get(const struct u64map *map, __u64 key)
{
	if (!map->capacity || !key)
		return NULL;
	for (size_t i = slot_of(key, map->capacity);; i = (i + 1) & (map->capacity - 1)) {
		if (map->keys[i] == key)
			return map->values[i];
		if (!map->keys[i])
			return NULL;
	}
}

/* Rehashes into capacity slots (a power of two, above count). */
static int rehash(struct u64map *map, size_t capacity)
{
	struct u64map bigger = { .capacity = capacity };

	bigger.keys = calloc(bigger.capacity, sizeof(*bigger.keys));
	bigger.values = calloc(bigger.capacity, sizeof(*bigger.values));
	if (!bigger.keys || !bigger.values) {
		free(bigger.keys);
		free(bigger.values);
		return -ENOMEM;
	}
	for (size_t i = 0; i < map->capacity; i++)
		if (map->keys[i])
			u64map__put(&bigger, map->keys[i], map->values[i]);
	free(map->keys);
	free(map->values);
	*map = bigger;
	return 0;
}

/* Whether count entries fit capacity slots, at most three quarters full. */
static bool fits(size_t count, size_t capacity)
{
	return count * 4 <= capacity * 3;
}

int u64map__reserve(struct u64map *map, size_t count)
{
	size_t capacity = map->capacity ? map->capacity : 64;

	while (!fits(count, capacity))
		capacity *= 2;
	return capacity == map->capacity ? 0 : rehash(map, capacity);
}

int u64map__put(struct u64map *map, __u64 key, void *value)
{
	size_t i;

	if (!key)
		return -EINVAL;
	if (!fits(map->count + 1, map->capacity) &&
	    rehash(map, map->capacity ? map->capacity * 2 : 64))
		return -ENOMEM;
	for (i = slot_of(key, map->capacity); map->keys[i] && map->keys[i] != key;
	     i = (i + 1) & (map->capacity - 1))
		;
	if (!map->keys[i])
		map->count++;
	map->keys[i] = key;
	map->values[i] = value;
	return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void remove_slot(struct u64map *map, size_t hole)
{
	size_t mask = map->capacity - 1;

	map->keys[hole] = 0;
	map->values[hole] = NULL;
	map->count--;
	for (size_t i = (hole + 1) & mask; map->keys[i]; i = (i + 1) & mask) {
		size_t home = slot_of(map->keys[i], map->capacity);

		/* move i into the hole unless its home lies cyclically in (hole, i] */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			map->keys[hole] = map->keys[i];
			map->values[hole] = map->values[i];
			map->keys[i] = 0;
			map->values[i] = NULL;
			hole = i;
		}
	}
}

void *u64map__remove(struct u64map *map, __u64 key)
{
	void *value;

	if (!map->capacity || !key)
		return NULL;
	for (size_t i = slot_of(key, map->capacity); map->keys[i];
	     i = (i + 1) & (map->capacity - 1)) {
		if (map->keys[i] == key) {
			value = map->values[i];
			remove_slot(map, i);
			return value;
		}
	}
	return NULL;
}

void u64map__filter(struct u64map *map, bool (*keep)(__u64 key, void *value, void *ctx),
		    void *ctx)
{
	size_t mask = map->capacity - 1, start = 0;

	if (!map->count)
		return;
	/* start after an empty slot: no probe chain crosses it, so removals
	 * never shift an entry back into the part already visited */
	while (map->keys[start])
		start++;
	for (size_t step = 1; step <= map->capacity;) {
		size_t i = (start + step) & mask;

		/* a removal may shift a later entry into i: look at i again */
		if (map->keys[i] && !keep(map->keys[i], map->values[i], ctx))
			remove_slot(map, i);
		else
			step++;
	}
}

void u64map__clear(struct u64map *map)
{
	free(map->keys);
	free(map->values);
	map->keys = NULL;
	map->values = NULL;
	map->capacity = map->count = 0;
}

void u64map__free_all(struct u64map *map, void (*free_value)(void *value))
{
	for (size_t i = 0; i < map->capacity; i++)
		if (map->keys[i])
			free_value(map->values[i]);
	u64map__clear(map);
}
