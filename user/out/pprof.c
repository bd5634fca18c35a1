// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A picture as pprof samples (pprof.h): which groups, which labels, which values. */
#include <errno.h>
#include <stdio.h>
#include "out/blocked.h"
#include "out/pprof.h"
#include "out/render.h"

/* Where the process runs, as labels, only those known: container and pod
 * (strings, as Go's pprof labels are), ns_pid where it differs from pid.
 * Returns how many were added at labels, room for WHERE_LABELS. */
#define WHERE_LABELS 3

static size_t where_labels(struct pprof_label *labels, const struct pw_process *proc)
{
	size_t count = 0;

	if (!proc)
		return 0;
	if (proc->cgroup.container)
		labels[count++] = (struct pprof_label){ .key = "container",
							.str = proc->cgroup.container };
	if (proc->cgroup.pod)
		labels[count++] = (struct pprof_label){ .key = "pod", .str = proc->cgroup.pod };
	if (proc->ns_pid)
		labels[count++] = (struct pprof_label){ .key = "ns_pid", .num = proc->ns_pid };
	return count;
}

/*
 * What unit waits for, as labels where known: blocked_on ("mutex 0x… <sym>",
 * "channel 0x…", "fd 5: …") and the owner's tid, a number; the kind alone
 * in a group of many objects.  Returns how
 * many were added at labels, room for BLOCKED_LABELS; object is their text.
 */
#define BLOCKED_LABELS 2
/* Past this many distinct objects in one group, its samples name only the
 * kind: 10,000 goroutines each on a private channel stay one sample, not
 * 10,000 (group.objects says how many there are). */
#define BLOCKED_LABEL_MAX_OBJECTS 16

static size_t blocked_labels(struct pprof_label *labels, const struct pw_unit *unit,
			     const struct pw_group *group, char *object, size_t size)
{
	bool kind_only = group->objects > BLOCKED_LABEL_MAX_OBJECTS;
	size_t count = 0;

	if (!unit || !blocked__known(unit))
		return 0;
	if (kind_only)
		snprintf(object, size, "%s", pw_object_kind_names[unit->blocked_on.kind]);
	if (kind_only ? *object : *blocked__object(&unit->blocked_on, object, size))
		labels[count++] = (struct pprof_label){ .key = "blocked_on", .str = object };
	if (unit->blocked_on.owner_tid && !kind_only)
		labels[count++] = (struct pprof_label){ .key = "owner_tid",
							.num = unit->blocked_on.owner_tid };
	return count;
}

/* A goroutine group: its stack with runtime.goexit, as the runtime's own
 * profile has it, or, stackless, one pseudo frame named like folded
 * output's leaf: "[running]". */
static int add_goroutine_group(struct pprof_builder *pprof, const struct pw_process *proc,
			       const struct pw_group *group)
{
	struct pprof_label labels[2 + WHERE_LABELS + BLOCKED_LABELS] = {
		{ .key = "reason", .str = group->reason },
		{ .key = "pid", .num = group->pid },
	};
	size_t label_count = 2 + where_labels(&labels[2], proc);
	const struct pw_unit *shared = NULL;
	char object[512];
	__s64 count = (__s64)group->count;
	struct stack_frame pseudo_frame = { 0 };
	const struct symbol *pseudo_symbol;
	struct symbol *pseudo;
	char name[96];
	int err;

	/* a group's sample is labelled with the object only when its members share it */
	if (blocked__distinct(&group, 1, &shared) < 0)
		return -ENOMEM;
	label_count += blocked_labels(&labels[label_count], shared, group, object, sizeof(object));
	if (group->stack)
		return pprof_builder__add_sample(pprof, group->pid, group->stack->frames,
						 group->stack->symbols, group->stack->full_depth,
						 &count, labels, label_count, group->signature);
	pseudo = symbol__new(1);
	if (!pseudo)
		return -ENOMEM;
	snprintf(name, sizeof(name), "[%s]", group->reason);
	pseudo->frame_count = 1;
	pseudo->frames[0].function = name;
	pseudo_symbol = pseudo;
	err = pprof_builder__add_sample(pprof, group->pid, &pseudo_frame, &pseudo_symbol, 1,
					&count, labels, label_count, group->signature);
	pseudo->frames[0].function = NULL; /* the name is on the stack */
	symbol__put(pseudo);
	return err;
}

/*
 * A parked group: its stack as dumps show it, [units, parked ns], one
 * member at a time so that each sample has its threads' own name (the
 * builder adds up members with the same stack and labels).
 */
static int add_parked_group(struct pprof_builder *pprof, const struct pw_process *proc,
			    const struct pw_group *group, __u64 interval_ns)
{
	const struct pw_stack *stack = group->stack;
	int err = 0;

	for (size_t m = 0; m < group->count && !err; m++) {
		const struct pw_unit *member = group->members[m];
		struct pprof_label labels[6 + WHERE_LABELS + BLOCKED_LABELS] = {
			{ .key = "reason", .str = group->reason },
			{ .key = "state", .str = member->state_name },
			{ .key = "timeout", .str = picture__timeout_name(group->has_timeout) },
			{ .key = "comm", .str = proc ? proc->comm : "" },
			{ .key = "thread_name", .str = member->comm },
			{ .key = "pid", .num = group->pid },
		};
		size_t label_count = 6 + where_labels(&labels[6], proc);
		__s64 values[2] = { 1, (__s64)member->park_ns };
		char object[512];

		label_count += blocked_labels(&labels[label_count], member, group, object,
					      sizeof(object));
		if (pprof_builder__kind(pprof) == PPROF_WINDOW)
			values[1] = (__s64)interval_ns;
		err = pprof_builder__add_sample(pprof, group->pid, stack ? stack->frames : NULL,
						stack ? stack->symbols : NULL,
						stack ? stack->depth : 0, values, labels, label_count,
						group->signature);
	}
	return err;
}

int pprof__add_picture(struct pprof_builder *pprof, const struct pw_picture *picture,
		       __u64 interval_ns)
{
	int err = 0;

	if (picture->proc_count)
		err = pprof_builder__set_main_binary(pprof, picture->procs[0].exe);
	for (size_t g = 0; g < picture->group_count && !err; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);

		if (pprof_builder__kind(pprof) == PPROF_GOROUTINE)
			err = add_goroutine_group(pprof, proc, group);
		else if (group->parked)
			err = add_parked_group(pprof, proc, group, interval_ns);
	}
	return err;
}

int pprof__write_picture(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
			 const struct render_opts *opts)
{
	enum pprof_kind kind = picture__goroutine_process(picture) ? PPROF_GOROUTINE : PPROF_PICTURE;
	struct pprof_builder *pprof = pprof_builder__new(kind, 1);
	int err;

	(void)opts;
	if (!pprof)
		return -ENOMEM;
	err = pprof__add_picture(pprof, picture, 0);
	if (!err)
		err = pprof_builder__write(pprof, out, picture->time_unix_ns, 0, ctx->trend);
	pprof_builder__free(pprof);
	return err;
}

int pprof__write_merged(FILE *out, struct pw_picture *const *pictures, size_t count,
			size_t left_out, const struct pw_context *ctx)
{
	enum pprof_kind kind = count ? PPROF_GOROUTINE : PPROF_PICTURE;
	struct pprof_builder *pprof;
	__u64 time_unix_ns = 0;
	char comment[96];
	int err = 0;

	for (size_t i = 0; i < count; i++) {
		if (!picture__goroutine_process(pictures[i]))
			kind = PPROF_PICTURE; /* one profile has one set of sample types */
		if (pictures[i]->time_unix_ns > time_unix_ns)
			time_unix_ns = pictures[i]->time_unix_ns;
	}
	pprof = pprof_builder__new(kind, 1);
	if (!pprof)
		return -ENOMEM;
	for (size_t i = 0; i < count && !err; i++)
		err = pprof__add_picture(pprof, pictures[i], 0);
	if (!err && left_out) {
		snprintf(comment, sizeof(comment), "%zu more matching processes left out", left_out);
		err = pprof_builder__add_comment(pprof, comment);
	}
	if (!err)
		err = pprof_builder__write(pprof, out, time_unix_ns, 0, ctx->trend);
	pprof_builder__free(pprof);
	return err;
}
