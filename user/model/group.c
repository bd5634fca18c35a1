// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Grouping of parked threads (group.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/group.h"
#include "model/report.h"
#include "util/u64map.h"

__u64 group__signature(const struct thread_info *thread)
{
	__u64 hash = hash_bytes(&thread->rec->tgid, sizeof(thread->rec->tgid), 0);

	hash = hash_bytes(thread->wait.reason, strlen(thread->wait.reason), hash);
	hash = hash_bytes(&thread->wait.has_timeout, sizeof(thread->wait.has_timeout), hash);
	for (int i = 0; thread->stack && i < thread->stack->depth; i++)
		hash = hash_bytes(&thread->stack->frames[i].pc, sizeof(__u64), hash);
	return hash;
}

static int by_size(const void *a, const void *b)
{
	const struct group *left = a, *right = b;

	if (left->count != right->count)
		return left->count < right->count ? 1 : -1;
	if (left->oldest_park_ns != right->oldest_park_ns)
		return left->oldest_park_ns < right->oldest_park_ns ? 1 : -1;
	return left->signature < right->signature ? -1 : left->signature > right->signature;
}

static int by_age(const void *a, const void *b)
{
	const struct thread_info *left = *(const struct thread_info *const *)a;
	const struct thread_info *right = *(const struct thread_info *const *)b;

	if (left->park_ns != right->park_ns)
		return left->park_ns < right->park_ns ? 1 : -1;
	return left->rec->tid < right->rec->tid ? -1 : 1;
}

int group__build(const struct thread_info *threads, size_t count, struct group **out,
		 size_t *group_count)
{
	struct u64map index = { 0 };   /* signature -> group number + 1 */
	struct group *groups = calloc(count ? count : 1, sizeof(*groups));
	size_t *slot_of = calloc(count ? count : 1, sizeof(*slot_of));
	size_t used = 0, filled;
	int err = 0;

	if (!groups || !slot_of) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* first pass: find each thread's group and count the members */
	for (size_t i = 0; i < count; i++) {
		const struct thread_info *thread = &threads[i];
		struct group *group;
		__u64 signature;
		uintptr_t slot;

		if (!thread->parked)
			continue;
		signature = group__signature(thread);
		slot = (uintptr_t)u64map__get(&index, signature);
		if (!slot) {
			slot = ++used;
			if (u64map__put(&index, signature, (void *)slot)) {
				err = -ENOMEM;
				goto cleanup;
			}
			group = &groups[slot - 1];
			group->signature = signature;
			group->pid = thread->rec->tgid;
			group->reason = thread->wait.reason;
			group->has_timeout = thread->wait.has_timeout;
		}
		group = &groups[slot - 1];
		group->count++;
		if (thread->park_ns > group->oldest_park_ns)
			group->oldest_park_ns = thread->park_ns;
		slot_of[i] = slot;
	}
	for (size_t g = 0; g < used; g++) {
		groups[g].members = calloc(groups[g].count, sizeof(*groups[g].members));
		if (!groups[g].members) {
			err = -ENOMEM;
			goto cleanup;
		}
		groups[g].count = 0;
	}
	/* second pass: fill the members */
	for (size_t i = 0; i < count; i++) {
		if (slot_of[i]) {
			struct group *group = &groups[slot_of[i] - 1];

			group->members[group->count++] = &threads[i];
		}
	}
	for (filled = 0; filled < used; filled++)
		qsort(groups[filled].members, groups[filled].count, sizeof(*groups[filled].members),
		      by_age);
	qsort(groups, used, sizeof(*groups), by_size);
	*out = groups;
	*group_count = used;
	groups = NULL;
cleanup:
	if (groups)
		group__free_all(groups, used);
	free(slot_of);
	u64map__clear(&index);
	return err;
}

void group__free_all(struct group *groups, size_t count)
{
	if (!groups)
		return;
	for (size_t i = 0; i < count; i++)
		free(groups[i].members);
	free(groups);
}
