// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The picture: building, sharing, reading (picture.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/picture.h"
#include "model/totals.h"
#include "util/u64map.h"

const char *const pw_object_kind_names[PW_OBJECT__COUNT] = {
	[PW_OBJECT_NONE] = "",
	[PW_OBJECT_MUTEX] = "mutex",
	[PW_OBJECT_RWLOCK] = "rwlock",
	[PW_OBJECT_CONDVAR] = "condvar",
	[PW_OBJECT_LOCK] = "lock",
	[PW_OBJECT_SEMA] = "sema",
	[PW_OBJECT_BARRIER] = "barrier",
	[PW_OBJECT_FUTEX] = "futex",
	[PW_OBJECT_CHANNEL] = "channel",
	[PW_OBJECT_FD] = "fd",
};

const char *const pw_finding_kind_names[PW_FINDING__COUNT] = {
	[PW_FINDING_DEADLOCK] = "deadlock",
	[PW_FINDING_SELF_DEADLOCK] = "self-deadlock",
	[PW_FINDING_ABANDONED] = "abandoned lock",
	[PW_FINDING_CONVOY] = "convoy",
};

const char *const pw_state_names[PW_STATE__COUNT] = {
	[PW_STATE_SLEEPING] = "sleeping",
	[PW_STATE_DISK_SLEEP] = "disk sleep",
	[PW_STATE_RUNNING] = "running",
	[PW_STATE_RUNNABLE] = "runnable",
	[PW_STATE_STOPPED] = "stopped",
};

const char *picture__cut_name(enum budget_cut cut)
{
	switch (cut) {
	case BUDGET_CUT_STOPPED:
		return "stopped";
	case BUDGET_CUT_TIME:
		return "time_budget";
	case BUDGET_CUT_MEMORY:
		return "memory_budget";
	default:
		return NULL;
	}
}

/* Everything a picture frees, beyond its arrays. */
struct picture_owned {
	size_t unit_capacity, proc_capacity;
	struct pw_stack **stacks;
	size_t stack_count, stack_capacity;
	struct u64map stack_index;  /* signature -> stack (collisions probe the next seed) */
	void **blocks;              /* kernel stacks, goroutine extras, strings */
	const struct symbol **held; /* references taken outside stacks, one per symbol */
	size_t held_count, held_capacity;
	struct u64map held_index;   /* symbol -> 1: already held */
	size_t block_count, block_capacity;
	struct u64map strings;      /* hash of the text -> the copy */
};

struct pw_picture *picture__new(void)
{
	struct pw_picture *picture = calloc(1, sizeof(*picture));

	if (!picture)
		return NULL;
	picture->owned = calloc(1, sizeof(*picture->owned));
	if (!picture->owned) {
		free(picture);
		return NULL;
	}
	picture->refs = 1;
	return picture;
}

struct pw_picture *picture__get(struct pw_picture *picture)
{
	__atomic_add_fetch(&picture->refs, 1, __ATOMIC_RELAXED);
	return picture;
}

static void free_stack(struct pw_stack *stack)
{
	for (int i = 0; i < stack->full_depth; i++)
		symbol__put(stack->symbols[i]);
	free(stack);
}

void picture__put(struct pw_picture *picture)
{
	struct picture_owned *owned;

	if (!picture || __atomic_sub_fetch(&picture->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (size_t g = 0; g < picture->group_count; g++)
		free(picture->groups[g].members);
	free(picture->groups);
	if (picture->parent) { /* a view: units and summaries are the parent's */
		free(picture->findings);
		picture__put(picture->parent);
		free(picture);
		return;
	}
	owned = picture->owned;
	for (size_t i = 0; i < owned->stack_count; i++)
		free_stack(owned->stacks[i]);
	free(owned->stacks);
	u64map__clear(&owned->stack_index);
	for (size_t i = 0; i < owned->block_count; i++)
		free(owned->blocks[i]);
	free(owned->blocks);
	for (size_t i = 0; i < owned->held_count; i++)
		symbol__put(owned->held[i]);
	free(owned->held);
	u64map__clear(&owned->held_index);
	u64map__clear(&owned->strings);
	totals__free(picture->totals);
	for (size_t i = 0; i < picture->proc_count; i++) {
		free(picture->procs[i].exe);
		free(picture->procs[i].go_version);
		free(picture->procs[i].goroot_src);
	}
	free(picture->procs);
	free(picture->units);
	free(owned);
	free(picture);
}

/* Makes room for one more item in an array of capacity *capacity. */
static int grow(void **items, size_t *capacity, size_t count, size_t more, size_t size)
{
	size_t wanted = count + more, capacity_now = *capacity;
	void *grown;

	if (wanted <= capacity_now)
		return 0;
	while (capacity_now < wanted)
		capacity_now = capacity_now ? capacity_now * 2 : 64;
	grown = realloc(*items, capacity_now * size);
	if (!grown)
		return -ENOMEM;
	*items = grown;
	*capacity = capacity_now;
	return 0;
}

struct pw_unit *picture__add_units(struct pw_picture *picture, size_t count)
{
	struct pw_unit *units;

	if (grow((void **)&picture->units, &picture->owned->unit_capacity, picture->unit_count,
		 count, sizeof(*picture->units)))
		return NULL;
	units = &picture->units[picture->unit_count];
	memset(units, 0, count * sizeof(*units));
	picture->unit_count += count;
	return units;
}

struct pw_process *picture__add_process(struct pw_picture *picture, pid_t pid)
{
	struct pw_process *proc;

	if (grow((void **)&picture->procs, &picture->owned->proc_capacity, picture->proc_count, 1,
		 sizeof(*picture->procs)))
		return NULL;
	proc = &picture->procs[picture->proc_count++];
	memset(proc, 0, sizeof(*proc));
	proc->pid = pid;
	return proc;
}

/* Keeps block, freed with the picture; block itself is freed on failure. */
static void *own(struct pw_picture *picture, void *block)
{
	struct picture_owned *owned = picture->owned;

	if (!block)
		return NULL;
	if (grow((void **)&owned->blocks, &owned->block_capacity, owned->block_count, 1,
		 sizeof(*owned->blocks))) {
		free(block);
		return NULL;
	}
	owned->blocks[owned->block_count++] = block;
	return block;
}

const void *picture__copy(struct pw_picture *picture, const void *data, size_t size)
{
	void *copy = malloc(size ? size : 1);

	if (copy)
		memcpy(copy, data, size);
	return own(picture, copy);
}

const char *picture__string(struct pw_picture *picture, const char *text)
{
	struct picture_owned *owned = picture->owned;

	if (!text)
		return NULL;
	for (__u64 seed = 0;; seed++) {
		__u64 key = hash__bytes(text, strlen(text), seed) | 1;
		char *copy = u64map__get(&owned->strings, key);

		if (copy && !strcmp(copy, text))
			return copy;
		if (copy)
			continue;
		copy = own(picture, strdup(text));
		if (!copy || u64map__put(&owned->strings, key, copy))
			return NULL;
		return copy;
	}
}

const struct symbol *picture__hold_symbol(struct pw_picture *picture, const struct symbol *symbol)
{
	struct picture_owned *owned = picture->owned;

	/* many units name the same few symbols (a goroutine's creator) */
	if (u64map__get(&owned->held_index, (uintptr_t)symbol))
		return symbol;
	if (grow((void **)&owned->held, &owned->held_capacity, owned->held_count, 1,
		 sizeof(*owned->held)) ||
	    u64map__put(&owned->held_index, (uintptr_t)symbol, (void *)1))
		return NULL;
	owned->held[owned->held_count++] = symbol__get(symbol);
	return symbol;
}

struct pw_chan *picture__add_chan(struct pw_picture *picture)
{
	return own(picture, calloc(1, sizeof(struct pw_chan)));
}

struct pw_fd *picture__add_fd(struct pw_picture *picture)
{
	return own(picture, calloc(1, sizeof(struct pw_fd)));
}

struct pw_goroutine *picture__add_goroutines(struct pw_picture *picture, size_t count)
{
	return own(picture, calloc(count ? count : 1, sizeof(struct pw_goroutine)));
}

static bool same_stack(const struct pw_stack *stack, const struct stack_frame *frames, int depth,
		       int full_depth, bool truncated)
{
	if (stack->depth != depth || stack->full_depth != full_depth || stack->truncated != truncated)
		return false;
	for (int i = 0; i < full_depth; i++)
		if (stack->frames[i].pc != frames[i].pc ||
		    stack->frames[i].lookup_pc != frames[i].lookup_pc)
			return false;
	return true;
}

struct pw_stack *picture__intern_stack(struct pw_picture *picture, pid_t pid,
					     const struct stack_frame *frames,
					     const struct symbol *const *symbols, int depth,
					     int full_depth, bool truncated)
{
	struct picture_owned *owned = picture->owned;
	__u64 signature = truncated;
	struct pw_stack *stack;
	size_t size;

	/* the signature covers what the stack shows: a stack seen in two
	 * processes gets one signature, the group adds the pid */
	for (int i = 0; i < full_depth; i++)
		signature = hash__bytes(&frames[i], sizeof(frames[i]), signature);
	signature = signature ? signature : 1;
	for (__u64 seed = 0;; seed++) {
		__u64 key = hash__bytes(&pid, sizeof(pid), signature + seed) | 1;

		stack = u64map__get(&owned->stack_index, key);
		if (stack && same_stack(stack, frames, depth, full_depth, truncated))
			return stack;
		if (stack)
			continue;
		size = sizeof(*stack) + full_depth * (sizeof(stack->frames[0]) + sizeof(stack->symbols[0]));
		stack = calloc(1, size);
		if (!stack)
			return NULL;
		stack->signature = signature;
		stack->depth = depth;
		stack->full_depth = full_depth;
		stack->truncated = truncated;
		stack->frames = (struct stack_frame *)(stack + 1);
		stack->symbols = (const struct symbol **)(stack->frames + full_depth);
		memcpy(stack->frames, frames, full_depth * sizeof(frames[0]));
		if (grow((void **)&owned->stacks, &owned->stack_capacity, owned->stack_count, 1,
			 sizeof(*owned->stacks)) ||
		    u64map__put(&owned->stack_index, key, stack)) {
			free(stack);
			return NULL;
		}
		owned->stacks[owned->stack_count++] = stack;
		for (int i = 0; i < full_depth; i++) /* after: free_stack puts them */
			stack->symbols[i] = symbol__get(symbols[i]);
		return stack;
	}
}

/* A run of units of one process, as a source added them. */
struct unit_run {
	pid_t pid;
	size_t first, count;
};

static int by_run_pid(const void *a, const void *b)
{
	const struct unit_run *left = a, *right = b;

	if (left->pid != right->pid)
		return left->pid < right->pid ? -1 : 1;
	return left->first < right->first ? -1 : left->first > right->first;
}

/* Moves each run of one process's units to its place by pid. */
static int sort_runs(struct pw_picture *picture)
{
	struct unit_run *runs = calloc(picture->unit_count ? picture->unit_count : 1, sizeof(*runs));
	struct pw_unit *sorted = malloc((picture->unit_count ? picture->unit_count : 1) *
					sizeof(*sorted));
	size_t run_count = 0, at = 0;

	if (!runs || !sorted) {
		free(runs);
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < picture->unit_count; i++) {
		if (run_count && runs[run_count - 1].pid == picture->units[i].pid) {
			runs[run_count - 1].count++;
			continue;
		}
		runs[run_count++] = (struct unit_run){ picture->units[i].pid, i, 1 };
	}
	qsort(runs, run_count, sizeof(*runs), by_run_pid);
	for (size_t r = 0; r < run_count; r++) {
		memcpy(&sorted[at], &picture->units[runs[r].first], runs[r].count * sizeof(*sorted));
		at += runs[r].count;
	}
	free(picture->units);
	picture->units = sorted;
	picture->owned->unit_capacity = picture->unit_count;
	free(runs);
	return 0;
}

/* Units by pid, each process's in the order its source gave them. */
static int sort_units(struct pw_picture *picture)
{
	bool sorted_already = true;

	for (size_t i = 1; i < picture->unit_count && sorted_already; i++)
		sorted_already = picture->units[i - 1].pid <= picture->units[i].pid;
	if (sorted_already)
		return 0;
	return sort_runs(picture);
}

static int by_pid(const void *a, const void *b)
{
	const struct pw_process *left = a, *right = b;

	return left->pid < right->pid ? -1 : left->pid > right->pid;
}

int picture__finish(struct pw_picture *picture)
{
	int err = sort_units(picture);

	if (err)
		return err;
	if (picture->proc_count) /* an empty picture has no array: qsort wants one */
		qsort(picture->procs, picture->proc_count, sizeof(*picture->procs), by_pid);
	picture->parked_count = 0;
	memset(picture->state_counts, 0, sizeof(picture->state_counts));
	for (size_t i = 0; i < picture->proc_count; i++)
		picture->procs[i].units = picture->procs[i].parked = picture->procs[i].system_units = 0;
	for (size_t i = 0; i < picture->unit_count; i++) {
		const struct pw_unit *unit = &picture->units[i];
		struct pw_process *proc = (struct pw_process *)picture__process(picture, unit->pid);

		if (!proc)
			return -EINVAL; /* a source added units without their process */
		if (unit->go && unit->go->system) {
			proc->system_units++; /* the runtime's own: apart, as in Go's dumps */
			continue;
		}
		proc->units++;
		proc->parked += unit->parked;
		picture->parked_count += unit->parked;
		picture->state_counts[unit->state]++;
	}
	return 0;
}

const struct pw_unit *picture__unit(const struct pw_picture *picture, pid_t pid, __u64 id)
{
	size_t lo = 0, hi = picture->unit_count, end;

	while (lo < hi) { /* the first unit of pid */
		size_t mid = lo + (hi - lo) / 2;

		if (picture->units[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == picture->unit_count || picture->units[lo].pid != pid)
		return NULL;
	if (picture->units[lo].kind == PW_UNIT_GOROUTINE) { /* in the runtime's order */
		for (size_t i = lo; i < picture->unit_count && picture->units[i].pid == pid; i++)
			if (picture->units[i].id == id)
				return &picture->units[i];
		return NULL;
	}
	/* past the last unit of pid, by bisection too: a walk would make
	 * looking up every thread of a 10,000-thread process quadratic */
	for (hi = picture->unit_count, end = lo; end < hi;) {
		size_t mid = end + (hi - end) / 2;

		if (picture->units[mid].pid <= pid)
			end = mid + 1;
		else
			hi = mid;
	}
	while (lo < end) { /* threads: by tid */
		size_t mid = lo + (end - lo) / 2;

		if (picture->units[mid].id == id)
			return &picture->units[mid];
		if (picture->units[mid].id < id)
			lo = mid + 1;
		else
			end = mid;
	}
	return NULL;
}

const struct pw_process *picture__process(const struct pw_picture *picture, pid_t pid)
{
	size_t lo = 0, hi = picture->proc_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (picture->procs[mid].pid == pid)
			return &picture->procs[mid];
		if (picture->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int picture__view_pid(struct pw_picture *picture, pid_t pid, struct pw_picture **out)
{
	const struct pw_process *proc = picture__process(picture, pid);
	struct pw_picture *view;
	size_t first = 0, groups = 0;

	if (!proc)
		return -ENOENT;
	view = calloc(1, sizeof(*view));
	if (!view)
		return -ENOMEM;
	view->refs = 1;
	view->time_unix_ns = picture->time_unix_ns;
	view->time_mono_ns = picture->time_mono_ns;
	view->cut_short = picture->cut_short;
	/* units are by pid: the process's are one run */
	while (first < picture->unit_count && picture->units[first].pid != pid)
		first++;
	view->units = &picture->units[first];
	while (first + view->unit_count < picture->unit_count && view->units[view->unit_count].pid == pid)
		view->unit_count++;
	for (size_t i = 0; i < view->unit_count; i++) {
		const struct pw_unit *unit = &view->units[i];

		if (unit->go && unit->go->system)
			continue;
		view->parked_count += unit->parked;
		view->state_counts[unit->state]++;
	}
	view->procs = (struct pw_process *)proc;
	view->totals = picture->totals; /* the parent's: a view frees none */
	view->proc_count = 1;
	for (size_t g = 0; g < picture->group_count; g++)
		groups += picture->groups[g].pid == pid;
	view->groups = calloc(groups ? groups : 1, sizeof(*view->groups));
	if (!view->groups) {
		free(view);
		return -ENOMEM;
	}
	/* a view from here on: picture__put frees only what is the view's */
	view->parent = picture__get(picture);
	for (size_t g = 0; g < picture->group_count; g++) {
		struct pw_group *group;

		if (picture->groups[g].pid != pid)
			continue;
		group = &view->groups[view->group_count++];
		*group = picture->groups[g];
		group->members = malloc(group->count * sizeof(*group->members));
		if (!group->members) {
			view->group_count--;
			picture__put(view);
			return -ENOMEM;
		}
		memcpy(group->members, picture->groups[g].members, group->count * sizeof(*group->members));
	}
	view->findings = calloc(picture->finding_count ? picture->finding_count : 1,
				sizeof(*view->findings));
	if (!view->findings) {
		picture__put(view);
		return -ENOMEM;
	}
	for (size_t f = 0; f < picture->finding_count; f++) {
		const struct pw_finding *finding = &picture->findings[f];
		bool names_pid = false;

		for (size_t i = 0; i < finding->unit_count && !names_pid; i++)
			names_pid = finding->units[i]->pid == pid;
		if (names_pid)
			view->findings[view->finding_count++] = *finding;
	}
	*out = view;
	return 0;
}

const struct pw_process *picture__goroutine_process(const struct pw_picture *picture)
{
	if (picture->proc_count != 1 || picture->procs[0].unit_kind != PW_UNIT_GOROUTINE)
		return NULL;
	return &picture->procs[0];
}

const char *picture__timeout_name(bool has_timeout)
{
	return has_timeout ? "finite" : "none";
}

const char *picture__container_label(const struct pw_process *process, char *buf, size_t size)
{
	const struct pw_cgroup *cg = &process->cgroup;

	if (cg->container)
		snprintf(buf, size, "%.12s", cg->container);
	else if (cg->pod)
		snprintf(buf, size, "pod/%s", cg->pod);
	else if (cg->unit)
		snprintf(buf, size, "%s", cg->unit);
	else
		return NULL;
	return buf;
}
