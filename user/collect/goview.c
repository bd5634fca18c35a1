// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A goroutine picture as a thread report (goview.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/goview.h"

struct goreport_age {
	__u64 signature;            /* of the group the goroutine was seen waiting in */
	__u64 first_seen_ns;
	unsigned int generation;    /* last picture that saw it */
};

void goreport_ages__clear(struct goreport_ages *ages)
{
	u64map__free_all(&ages->seen, free);
	memset(ages, 0, sizeof(*ages));
}

static bool keep_seen(__u64 key, void *value, void *ctx)
{
	const struct goreport_age *age = value;

	(void)key;
	if (age->generation == *(const unsigned int *)ctx)
		return true;
	free(value);
	return false;
}

static int by_goid(const void *a, const void *b)
{
	const struct goroutine_info *left = *(const struct goroutine_info *const *)a;
	const struct goroutine_info *right = *(const struct goroutine_info *const *)b;

	return left->goid < right->goid ? -1 : left->goid > right->goid;
}

/* The next first-seen time: now, but strictly after every one handed out. */
static __u64 next_first_seen(struct goreport_ages *ages, __u64 now_ns)
{
	__u64 t = now_ns > ages->last_first_seen_ns ? now_ns : ages->last_first_seen_ns + 1;

	ages->last_first_seen_ns = t;
	return t;
}

/*
 * first_seen[i] for the waiting user goroutines in waiting[] (sorted by
 * goid): when parkwatch first saw each one in its current group.  New ones
 * get increasing times in goid order; goids not seen in this picture are
 * forgotten.
 */
static int age_goroutines(struct goreport_ages *ages, const struct goroutine_info **waiting,
			  size_t count, __u64 now_ns, __u64 *first_seen)
{
	unsigned int generation = ++ages->generation;

	for (size_t i = 0; i < count; i++) {
		const struct goroutine_info *g = waiting[i];
		__u64 signature = g->group->signature;
		struct goreport_age *age = g->goid ? u64map__get(&ages->seen, g->goid) : NULL;

		if (age && age->signature == signature) {
			age->generation = generation;
			first_seen[i] = age->first_seen_ns;
			continue;
		}
		first_seen[i] = next_first_seen(ages, now_ns);
		if (age) { /* woke and waits again elsewhere: a new wait */
			age->signature = signature;
			age->first_seen_ns = first_seen[i];
			age->generation = generation;
			continue;
		}
		if (!g->goid || ages->seen.count >= GOREPORT_AGES_MAX)
			continue;
		age = malloc(sizeof(*age));
		if (!age)
			return -ENOMEM;
		*age = (struct goreport_age){ signature, first_seen[i], generation };
		if (u64map__put(&ages->seen, g->goid, age)) {
			free(age);
			return -ENOMEM;
		}
	}
	u64map__filter(&ages->seen, keep_seen, &generation);
	return 0;
}

static void read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	comm[0] = '\0';
	if (f) {
		if (fgets(comm, (int)size, f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
}

/* One struct stack per gostack, shared by its goroutines. */
static const struct stack *stack_of(struct report *report, struct u64map *stacks,
				    const struct gostack *gostack)
{
	struct stack *stack = u64map__get(stacks, (uintptr_t)gostack);

	if (stack)
		return stack;
	stack = calloc(1, sizeof(*stack) + gostack->depth * sizeof(stack->frames[0]));
	if (!stack)
		return NULL;
	stack->depth = gostack->depth;
	memcpy(stack->frames, gostack->frames, gostack->depth * sizeof(stack->frames[0]));
	if (u64map__put(stacks, (uintptr_t)gostack, stack)) {
		free(stack);
		return NULL;
	}
	report->go_stacks[report->go_stack_count++] = stack;
	return stack;
}

static int by_start(const void *a, const void *b)
{
	const struct thread_info *left = *(const struct thread_info *const *)a;
	const struct thread_info *right = *(const struct thread_info *const *)b;

	return left->rec->park_start_ns < right->rec->park_start_ns ? -1 :
	       left->rec->park_start_ns > right->rec->park_start_ns;
}

static int fill_threads(struct report *report, const struct goroutine_info **users,
			size_t count, struct goreport_ages *ages, __u64 now_ns, const char *comm,
			struct u64map *thread_of)
{
	const struct goroutine_info **waiting = calloc(count ? count : 1, sizeof(*waiting));
	__u64 *first_seen = calloc(count ? count : 1, sizeof(*first_seen));
	size_t waiting_count = 0, w = 0;
	struct u64map stacks = { 0 };
	int err = 0;

	if (!waiting || !first_seen) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (!strcmp(users[i]->status, "waiting"))
			waiting[waiting_count++] = users[i];
	err = age_goroutines(ages, waiting, waiting_count, now_ns, first_seen);
	for (size_t i = 0; !err && i < count; i++) {
		const struct goroutine_info *g = users[i];
		struct task_record *rec = &report->go_records[i];
		struct thread_info *thread = &report->threads[i];
		bool parked = !strcmp(g->status, "waiting");
		bool on_cpu = !strcmp(g->status, "running");

		rec->tid = (__u32)g->goid;
		rec->tgid = goreport__pid(report->goroutines);
		memcpy(rec->comm, comm, sizeof(rec->comm) - 1);
		rec->state = parked ? PARK_TASK_INTERRUPTIBLE : 0;
		rec->flags = on_cpu ? TASK_REC_ON_CPU : 0;
		rec->now_ns = now_ns;
		rec->wait.syscall_nr = -1;
		thread->rec = rec;
		thread->state = classify__state(rec->state, on_cpu);
		report->state_counts[parked ? REPORT_SLEEPING :
				     on_cpu ? REPORT_RUNNING : REPORT_RUNNABLE]++;
		if (!parked)
			continue;
		rec->wait.reason = PARK_REASON_OTHER;
		rec->wait.has_timeout = g->group && g->group->has_timeout;
		rec->park_start_ns = first_seen[w++];
		thread->parked = true;
		thread->park_ns = now_ns > rec->park_start_ns ? now_ns - rec->park_start_ns : 0;
		thread->wait.reason = g->reason;
		thread->wait.has_timeout = rec->wait.has_timeout;
		thread->where = g->group ? g->group->where : NULL;
		if (g->creator && g->creator->frame_count)
			thread->created_by =
				g->creator->frames[g->creator->frame_count - 1].function;
		report->parked_count++;
		if (g->stack) {
			thread->stack = stack_of(report, &stacks, g->stack);
			if (!thread->stack) {
				err = -ENOMEM;
				break;
			}
			/* the picture's own array: never written, freed with it */
			thread->symbols = (const struct symbol **)g->stack->symbols;
		}
		if (u64map__put(thread_of, (uintptr_t)g, thread))
			err = -ENOMEM;
	}
out:
	u64map__clear(&stacks);
	free(waiting);
	free(first_seen);
	return err;
}

/* The waiting groups, members oldest first, in the picture's order. */
static int fill_groups(struct report *report, const struct gogroup *gogroups, size_t count,
		       const struct u64map *thread_of)
{
	report->groups = calloc(count ? count : 1, sizeof(*report->groups));
	if (!report->groups)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct gogroup *gg = &gogroups[i];
		struct group *group = &report->groups[report->group_count];

		if (!gg->count || !u64map__get(thread_of, (uintptr_t)gg->members[0]))
			continue; /* not waiting: no parked members */
		report->group_count++;
		group->signature = gg->signature;
		group->pid = gg->pid;
		group->reason = gg->reason;
		group->has_timeout = gg->has_timeout;
		group->members = calloc(gg->count, sizeof(*group->members));
		if (!group->members)
			return -ENOMEM;
		for (size_t m = 0; m < gg->count; m++) {
			const struct thread_info *thread = u64map__get(thread_of,
								       (uintptr_t)gg->members[m]);

			if (!thread)
				continue;
			group->members[group->count++] = thread;
			if (thread->park_ns > group->oldest_park_ns)
				group->oldest_park_ns = thread->park_ns;
		}
		qsort(group->members, group->count, sizeof(*group->members), by_start);
	}
	return 0;
}

int goreport__as_report(struct goreport *g, struct goreport_ages *ages, __u64 now_ns,
			struct report **out)
{
	struct report *report = calloc(1, sizeof(*report));
	const struct goroutine_info *all;
	const struct goroutine_info **users = NULL;
	const struct gogroup *gogroups;
	size_t total = goreport__goroutines(g, &all), count = 0, group_count;
	struct u64map thread_of = { 0 };
	struct proc_summary *proc;
	const char *exe;
	char comm[PARK_COMM_LEN];
	int err = -ENOMEM;

	if (!report) {
		goreport__free(g);
		return -ENOMEM;
	}
	report->goroutines = g;
	report->time_unix_ns = goreport__time_unix_ns(g);
	users = calloc(total ? total : 1, sizeof(*users));
	if (!users)
		goto fail;
	for (size_t i = 0; i < total; i++)
		if (!all[i].system)
			users[count++] = &all[i];
	qsort(users, count, sizeof(*users), by_goid); /* threads are by pid, then tid */
	report->threads = calloc(count ? count : 1, sizeof(*report->threads));
	report->go_records = calloc(count ? count : 1, sizeof(*report->go_records));
	report->go_stacks = calloc(count ? count : 1, sizeof(*report->go_stacks));
	report->procs = calloc(1, sizeof(*report->procs));
	if (!report->threads || !report->go_records || !report->go_stacks || !report->procs)
		goto fail;
	report->thread_count = count;
	read_comm(goreport__pid(g), comm, sizeof(comm));
	err = fill_threads(report, users, count, ages, now_ns, comm, &thread_of);
	if (err)
		goto fail;
	group_count = goreport__groups(g, &gogroups);
	err = fill_groups(report, gogroups, group_count, &thread_of);
	if (err)
		goto fail;
	proc = &report->procs[report->proc_count++];
	proc->pid = goreport__pid(g);
	memcpy(proc->comm, comm, sizeof(proc->comm) - 1);
	exe = goreport__exe(g);
	proc->exe = exe ? strdup(exe) : NULL;
	proc->threads = count;
	proc->parked = report->parked_count;
	u64map__clear(&thread_of);
	free(users);
	*out = report;
	return 0;
fail:
	u64map__clear(&thread_of);
	free(users);
	report__free(report);
	return err;
}
