// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Grouping of units (group.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/classify.h"
#include "model/group.h"
#include "model/waitfor.h"
#include "util/u64map.h"

bool group__includes(const struct pw_unit *unit)
{
	if (unit->kind == PW_UNIT_GOROUTINE)
		return !unit->go->system;
	return unit->parked;
}

static __u64 signature_of(const struct pw_unit *unit, __u64 seed)
{
	__u64 key[3] = { (__u64)unit->pid, unit->stack ? unit->stack->signature : 0, seed };
	__u64 hash = hash__bytes(key, sizeof(key), unit->wait.has_timeout);

	hash = hash__bytes(unit->wait.reason, strlen(unit->wait.reason), hash);
	return hash ? hash : 1;
}

static bool same_group(const struct pw_group *group, const struct pw_unit *unit)
{
	return group->pid == unit->pid && group->stack == unit->stack &&
	       group->has_timeout == unit->wait.has_timeout && !strcmp(group->reason, unit->wait.reason);
}

/* Scratch space of group__build. */
struct grouping {
	struct pw_group *found;     /* in order of first sight */
	size_t *first_member;       /* per found group: index of its first unit */
	size_t count, capacity;
	struct u64map index;        /* signature -> found index + 1 */
};

/* Room for one more group: groups are few next to units, so grow. */
static int make_room(struct grouping *work)
{
	size_t capacity = work->capacity ? work->capacity * 2 : 16;
	struct pw_group *found;
	size_t *first;

	if (work->count < work->capacity)
		return 0;
	found = realloc(work->found, capacity * sizeof(*found));
	if (!found)
		return -ENOMEM;
	work->found = found;
	first = realloc(work->first_member, capacity * sizeof(*first));
	if (!first)
		return -ENOMEM;
	work->first_member = first;
	work->capacity = capacity;
	return 0;
}

/* The group of unit among those found so far, added when new.  A different
 * group with the same signature probes the next seed.  Its index + 1, or 0
 * when out of memory. */
static size_t slot_of(struct grouping *work, const struct pw_picture *picture, size_t i)
{
	const struct pw_unit *unit = &picture->units[i];

	for (__u64 seed = 0;; seed++) {
		__u64 signature = signature_of(unit, seed);
		uintptr_t slot = (uintptr_t)u64map__get(&work->index, signature);
		const struct pw_process *proc;
		struct pw_group *group;

		if (slot && same_group(&work->found[slot - 1], unit))
			return slot;
		if (slot)
			continue;
		if (make_room(work))
			return 0;
		slot = ++work->count;
		group = &work->found[slot - 1];
		memset(group, 0, sizeof(*group));
		group->signature = signature;
		group->pid = unit->pid;
		group->kind = unit->kind;
		group->reason = unit->wait.reason;
		group->has_timeout = unit->wait.has_timeout;
		group->parked = unit->parked;
		group->stack = unit->stack;
		proc = picture__process(picture, unit->pid);
		group->where = classify__where(unit->stack, unit->kind, proc ? proc->goroot_src : NULL);
		work->first_member[slot - 1] = i;
		return u64map__put(&work->index, signature, (void *)slot) ? 0 : slot;
	}
}

static int by_size(const void *a, const void *b, void *ctx)
{
	const struct grouping *work = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct pw_group *left = &work->found[x], *right = &work->found[y];

	if (left->count != right->count)
		return left->count < right->count ? 1 : -1;
	if (left->oldest_park_ns != right->oldest_park_ns)
		return left->oldest_park_ns < right->oldest_park_ns ? 1 : -1;
	return work->first_member[x] < work->first_member[y] ? -1 :
	       work->first_member[x] > work->first_member[y];
}

static bool oldest_first(const struct pw_unit *const *members, size_t count)
{
	for (size_t i = 1; i < count; i++)
		if (members[i - 1]->park_ns < members[i]->park_ns)
			return false;
	return true;
}

static int by_age(const void *a, const void *b)
{
	const struct pw_unit *left = *(const struct pw_unit *const *)a;
	const struct pw_unit *right = *(const struct pw_unit *const *)b;

	if (left->park_ns != right->park_ns)
		return left->park_ns < right->park_ns ? 1 : -1;
	/* same age: the order the source gave (units are one array) */
	return left < right ? -1 : left > right;
}

/* (kind, address) of what a unit waits on, or 0 when nothing is known */
static __u64 object_key(const struct pw_unit *unit)
{
	const struct pw_blocked_on *on = &unit->blocked_on;
	__u64 where = on->kind == PW_OBJECT_FD && on->fd ? (__u64)on->fd->fd + 1 : on->addr;

	return on->kind == PW_OBJECT_NONE || !where ? 0 : hash__bytes(&where, sizeof(where), on->kind) | 1;
}

/* Each group's distinct objects, and whether a finding names a member. */
static int mark_objects(struct pw_picture *picture)
{
	struct u64map marks = { 0 }, seen = { 0 };
	int err = 0;

	for (size_t f = 0; f < picture->finding_count && !err; f++) {
		const struct pw_finding *finding = &picture->findings[f];
		uintptr_t mark = finding->kind == PW_FINDING_CONVOY ? 2 : 1;

		for (size_t i = 0; i < finding->unit_count && !err; i++) {
			__u64 key = (uintptr_t)finding->units[i];

			err = u64map__put(&marks, key, (void *)((uintptr_t)u64map__get(&marks, key) | mark));
		}
	}
	for (size_t g = 0; g < picture->group_count && !err; g++) {
		struct pw_group *group = &picture->groups[g];

		u64map__clear(&seen);
		for (size_t m = 0; m < group->count && !err; m++) {
			uintptr_t mark = (uintptr_t)u64map__get(&marks, (uintptr_t)group->members[m]);
			__u64 key = object_key(group->members[m]);

			group->deadlocked |= mark & 1;
			group->convoy |= (mark & 2) != 0;
			if (key && !u64map__get(&seen, key)) {
				group->objects++;
				err = u64map__put(&seen, key, (void *)1);
			}
		}
	}
	u64map__clear(&marks);
	u64map__clear(&seen);
	return err ? -ENOMEM : 0;
}

int group__build(struct pw_picture *picture)
{
	size_t units = picture->unit_count ? picture->unit_count : 1;
	struct grouping work = { 0 };
	size_t *slot = calloc(units, sizeof(*slot)), *order = NULL;
	struct pw_group *groups = NULL;
	int err = -ENOMEM;

	if (!slot)
		goto out;
	for (size_t i = 0; i < picture->unit_count; i++) {
		const struct pw_unit *unit = &picture->units[i];
		struct pw_group *group;

		if (!group__includes(unit))
			continue;
		slot[i] = slot_of(&work, picture, i);
		if (!slot[i])
			goto out;
		group = &work.found[slot[i] - 1];
		group->count++;
		if (unit->park_ns > group->oldest_park_ns)
			group->oldest_park_ns = unit->park_ns;
	}
	order = calloc(work.count ? work.count : 1, sizeof(*order));
	groups = calloc(work.count ? work.count : 1, sizeof(*groups));
	if (!order || !groups)
		goto out;
	for (size_t g = 0; g < work.count; g++) {
		work.found[g].members = calloc(work.found[g].count, sizeof(*work.found[g].members));
		if (!work.found[g].members)
			goto out;
		work.found[g].count = 0;
	}
	for (size_t i = 0; i < picture->unit_count; i++) {
		if (slot[i]) {
			struct pw_group *group = &work.found[slot[i] - 1];

			group->members[group->count++] = &picture->units[i];
		}
	}
	for (size_t g = 0; g < work.count; g++) {
		if (!oldest_first(work.found[g].members, work.found[g].count))
			qsort(work.found[g].members, work.found[g].count,
			      sizeof(*work.found[g].members), by_age);
		order[g] = g;
	}
	qsort_r(order, work.count, sizeof(*order), by_size, &work);
	for (size_t g = 0; g < work.count; g++)
		groups[g] = work.found[order[g]];
	picture->groups = groups;
	picture->group_count = work.count;
	groups = NULL;
	work.count = 0;
	err = mark_objects(picture);
out:
	for (size_t g = 0; g < work.count; g++)
		free(work.found[g].members);
	free(groups);
	free(work.found);
	free(work.first_member);
	free(slot);
	free(order);
	u64map__clear(&work.index);
	return err;
}

int group__finish(struct pw_picture *picture)
{
	int err = picture__finish(picture);

	if (!err)
		err = waitfor__find(picture, NULL, NULL);
	return err ? err : group__build(picture);
}
