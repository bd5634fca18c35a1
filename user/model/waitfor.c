// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The wait-for graph (waitfor.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/waitfor.h"
#include "util/u64map.h"

#define NO_NODE SIZE_MAX

struct graph {
	struct pw_picture *picture;
	size_t *next;               /* per unit: the unit holding what it waits for */
	size_t *head;               /* per unit: where its chain ends; NO_NODE: in or into a cycle */
	size_t *waiters;            /* per unit: units whose chain ends at it */
	struct pw_finding *found;
	size_t found_count, found_capacity;
	waitfor_confirm_fn confirm;
	void *ctx;
};

pid_t waitfor__owner_pid(const struct pw_unit *unit)
{
	return unit->blocked_on.owner_pid ? unit->blocked_on.owner_pid : unit->pid;
}

static size_t owner_of(const struct pw_picture *picture, const struct pw_unit *unit)
{
	const struct pw_blocked_on *on = &unit->blocked_on;
	const struct pw_unit *owner;

	if (unit->kind != PW_UNIT_THREAD || !unit->parked || !on->owner_tid || on->owner_dead)
		return NO_NODE;
	owner = picture__unit(picture, waitfor__owner_pid(unit), (__u64)on->owner_tid);
	return owner && owner->kind == PW_UNIT_THREAD ? (size_t)(owner - picture->units) : NO_NODE;
}

/* Confirms a candidate and keeps it, its units copied into the picture. */
static int offer(struct graph *graph, enum pw_finding_kind kind, const size_t *nodes, size_t count,
		 __u64 addr, pid_t owner_tid)
{
	struct pw_picture *picture = graph->picture;
	const struct pw_unit **units = malloc(count * sizeof(*units));
	struct pw_finding candidate = {
		.kind = kind,
		.pid = picture->units[nodes[0]].pid,
		.addr = addr,
		.owner_tid = owner_tid,
		.units = units,
		.unit_count = count,
	};
	int err = 0;

	if (!units)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		units[i] = &picture->units[nodes[i]];
	if (graph->confirm && !graph->confirm(graph->ctx, &candidate))
		goto out;
	candidate.units = (const struct pw_unit **)picture__copy(picture, units, count * sizeof(*units));
	if (!candidate.units)
		err = -ENOMEM;
	else if (graph->found_count == graph->found_capacity) {
		size_t capacity = graph->found_capacity ? 2 * graph->found_capacity : 8;
		struct pw_finding *grown = realloc(graph->found, capacity * sizeof(*grown));

		if (!grown)
			err = -ENOMEM;
		else {
			graph->found = grown;
			graph->found_capacity = capacity;
		}
	}
	if (!err)
		graph->found[graph->found_count++] = candidate;
out:
	free(units);
	return err;
}

/*
 * Walks each chain once (a node has one out-edge): the cycles, then where
 * every other chain ends.  path and on_path are scratch of n each.
 */
static int find_cycles(struct graph *graph, size_t n, size_t *path, size_t *on_path)
{
	enum { UNSEEN, ON_PATH, DONE };
	unsigned char *mark = calloc(n ? n : 1, 1);
	int err = 0;

	if (!mark)
		return -ENOMEM;
	for (size_t start = 0; start < n && !err; start++) {
		size_t depth = 0, node = start, end;

		while (node != NO_NODE && mark[node] == UNSEEN) {
			mark[node] = ON_PATH;
			on_path[node] = depth;
			path[depth++] = node;
			node = graph->next[node];
		}
		if (node != NO_NODE && mark[node] == ON_PATH) {
			size_t first = on_path[node], length = depth - first;
			const struct pw_unit *unit = &graph->picture->units[node];

			if (length == 1)
				err = offer(graph, PW_FINDING_SELF_DEADLOCK, &path[first], 1,
					    unit->blocked_on.addr, 0);
			else
				err = offer(graph, PW_FINDING_DEADLOCK, &path[first], length,
					    graph->picture->units[path[first]].blocked_on.addr, 0);
			end = NO_NODE;
		} else if (node == NO_NODE) {
			end = path[depth - 1]; /* the last node waits for no known owner */
		} else {
			end = graph->head[node]; /* joins a chain walked before */
		}
		for (size_t i = 0; i < depth; i++) {
			mark[path[i]] = DONE;
			graph->head[path[i]] = end;
			if (end != NO_NODE && path[i] != end)
				graph->waiters[end]++;
		}
	}
	free(mark);
	return err;
}

static int find_convoys(struct graph *graph, size_t n, size_t *nodes)
{
	int err = 0;

	for (size_t h = 0; h < n && !err; h++) {
		size_t count = 1;
		__u64 addr = 0;

		if (!graph->waiters[h] || graph->head[h] != h)
			continue;
		nodes[0] = h;
		for (size_t i = 0; i < n && count <= graph->waiters[h]; i++) {
			if (i == h || graph->head[i] != h)
				continue;
			nodes[count++] = i;
			if (!addr && graph->next[i] == h)
				addr = graph->picture->units[i].blocked_on.addr;
		}
		err = offer(graph, PW_FINDING_CONVOY, nodes, count, addr,
			    (pid_t)graph->picture->units[h].id);
	}
	return err;
}

/* The waiters of each lock whose owner is gone, one finding per lock. */
static int find_abandoned(struct graph *graph, size_t n, size_t *nodes)
{
	const struct pw_unit *units = graph->picture->units;
	unsigned char *taken = calloc(n ? n : 1, 1);
	int err = 0;

	if (!taken)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		const struct pw_blocked_on *on = &units[i].blocked_on;
		size_t count = 0;

		if (taken[i] || !on->owner_dead || !units[i].parked || units[i].kind != PW_UNIT_THREAD)
			continue;
		for (size_t j = i; j < n; j++) {
			if (!taken[j] && units[j].blocked_on.owner_dead && units[j].parked &&
			    units[j].pid == units[i].pid && units[j].blocked_on.addr == on->addr) {
				taken[j] = 1;
				nodes[count++] = j;
			}
		}
		err = offer(graph, PW_FINDING_ABANDONED, nodes, count, on->addr, on->owner_tid);
	}
	free(taken);
	return err;
}

int waitfor__find(struct pw_picture *picture, waitfor_confirm_fn confirm, void *ctx)
{
	size_t n = picture->unit_count, size = (n ? n : 1) * sizeof(size_t);
	struct graph graph = { .picture = picture, .confirm = confirm, .ctx = ctx };
	size_t *path = malloc(size), *scratch = malloc(size);
	bool any = false;
	int err = -ENOMEM;

	graph.next = malloc(size);
	graph.head = malloc(size);
	graph.waiters = calloc(n ? n : 1, sizeof(size_t));
	if (!path || !scratch || !graph.next || !graph.head || !graph.waiters)
		goto out;
	for (size_t i = 0; i < n; i++) {
		graph.next[i] = owner_of(picture, &picture->units[i]);
		any |= graph.next[i] != NO_NODE || picture->units[i].blocked_on.owner_dead;
	}
	err = 0;
	if (!any) /* no thread waits for a known owner: nothing to walk */
		goto out;
	err = find_cycles(&graph, n, path, scratch);
	/* self-deadlocks after the longer cycles, as the picture promises */
	for (size_t i = 0, kept = 0; !err && i < graph.found_count; i++)
		if (graph.found[i].kind == PW_FINDING_DEADLOCK) {
			struct pw_finding cycle = graph.found[i];

			memmove(&graph.found[kept + 1], &graph.found[kept],
				(i - kept) * sizeof(*graph.found));
			graph.found[kept++] = cycle;
		}
	if (!err)
		err = find_abandoned(&graph, n, path);
	if (!err)
		err = find_convoys(&graph, n, path);
	if (!err && graph.found_count) {
		picture->findings = (struct pw_finding *)picture__copy(
			picture, graph.found, graph.found_count * sizeof(*graph.found));
		picture->finding_count = picture->findings ? graph.found_count : 0;
		err = picture->findings ? 0 : -ENOMEM;
	}
out:
	free(graph.found);
	free(graph.next);
	free(graph.head);
	free(graph.waiters);
	free(path);
	free(scratch);
	return err;
}
