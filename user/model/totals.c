// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tier-1 totals (totals.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/totals.h"

struct pw_totals *totals__new(void)
{
	return calloc(1, sizeof(struct pw_totals));
}

void totals__free(struct pw_totals *totals)
{
	if (!totals)
		return;
	free(totals->entries);
	u64map__clear(&totals->index);
	free(totals);
}

static __u64 key_of(pid_t pid, enum park_reason reason)
{
	return ((__u64)(__u32)pid << 8 | reason) + 1;
}

int totals__add(struct pw_totals *totals, pid_t pid, enum park_reason reason, __u64 count,
		__u64 total_ns)
{
	uintptr_t index = (uintptr_t)u64map__get(&totals->index, key_of(pid, reason));

	if (!index) {
		if (totals->count == totals->capacity) {
			size_t capacity = totals->capacity ? totals->capacity * 2 : 64;
			struct pw_park_total *grown = realloc(totals->entries,
							      capacity * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			totals->entries = grown;
			totals->capacity = capacity;
		}
		index = totals->count + 1;
		if (u64map__put(&totals->index, key_of(pid, reason), (void *)index))
			return -ENOMEM;
		totals->entries[totals->count++] = (struct pw_park_total){ .pid = pid, .reason = reason };
	}
	totals->entries[index - 1].count += count;
	totals->entries[index - 1].total_ns += total_ns;
	return 0;
}

const struct pw_park_total *totals__find(const struct pw_totals *totals, pid_t pid,
					 enum park_reason reason)
{
	uintptr_t index = (uintptr_t)u64map__get(&totals->index, key_of(pid, reason));

	return index ? &totals->entries[index - 1] : NULL;
}

struct pw_totals *totals__clone(const struct pw_totals *totals)
{
	struct pw_totals *copy = totals__new();

	if (!copy)
		return NULL;
	memcpy(copy->hists, totals->hists, sizeof(copy->hists));
	copy->has_hists = totals->has_hists;
	copy->exited_entries = totals->exited_entries;
	copy->exited_capacity = totals->exited_capacity;
	for (size_t i = 0; i < totals->count; i++) {
		const struct pw_park_total *entry = &totals->entries[i];

		if (totals__add(copy, entry->pid, entry->reason, entry->count, entry->total_ns)) {
			totals__free(copy);
			return NULL;
		}
	}
	return copy;
}

int totals__fold_oldest(struct pw_totals *totals, size_t keep, size_t *folded)
{
	size_t fold = totals->count > keep ? totals->count - keep : 0;
	struct pw_totals *kept;
	struct pw_totals swap;

	if (folded)
		*folded = 0;
	if (!fold)
		return 0;
	kept = totals__new();
	if (!kept)
		return -ENOMEM;
	/* the folded entries first: they stand for the oldest processes */
	for (size_t i = 0; i < totals->count; i++) {
		const struct pw_park_total *entry = &totals->entries[i];
		pid_t pid = i < fold ? TOTALS_FOLDED_PID : entry->pid;

		if (totals__add(kept, pid, entry->reason, entry->count, entry->total_ns)) {
			totals__free(kept);
			return -ENOMEM;
		}
	}
	swap = *totals;
	totals->entries = kept->entries;
	totals->count = kept->count;
	totals->capacity = kept->capacity;
	totals->index = kept->index;
	kept->entries = swap.entries;
	kept->index = swap.index;
	totals__free(kept);
	if (folded)
		*folded = fold;
	return 0;
}
