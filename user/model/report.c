// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* snapshot -> unwind -> symbolize -> classify -> group (report.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/clock.h"
#include "collect/goreport.h"
#include "model/report.h"

#define CLASSIFY_MAX_FUNCTIONS 32

const char *const report_state_names[REPORT_STATE_COUNT] = {
	[REPORT_SLEEPING] = "sleeping",
	[REPORT_DISK_SLEEP] = "disk sleep",
	[REPORT_RUNNING] = "running",
	[REPORT_RUNNABLE] = "runnable",
	[REPORT_STOPPED] = "stopped",
};

static enum report_state state_bucket(__u32 task_state, bool on_cpu)
{
	if (task_state & (PARK_TASK_STOPPED | PARK_TASK_TRACED))
		return REPORT_STOPPED;
	if (task_state & PARK_TASK_UNINTERRUPTIBLE)
		return REPORT_DISK_SLEEP;
	if (task_state & PARK_TASK_INTERRUPTIBLE)
		return REPORT_SLEEPING;
	return on_cpu ? REPORT_RUNNING : REPORT_RUNNABLE;
}

static int by_pid_tid(const void *a, const void *b)
{
	const struct thread_sample *left = a, *right = b;

	if (left->rec->tgid != right->rec->tgid)
		return left->rec->tgid < right->rec->tgid ? -1 : 1;
	return left->rec->tid < right->rec->tid ? -1 : left->rec->tid > right->rec->tid;
}

static int symbolize_stack(struct proc *proc, struct thread_info *thread)
{
	thread->symbols = calloc(thread->stack->depth ? thread->stack->depth : 1,
				 sizeof(*thread->symbols));
	if (!thread->symbols)
		return -ENOMEM;
	for (int i = 0; i < thread->stack->depth; i++)
		thread->symbols[i] = symbolize__user(proc, thread->stack->frames[i].lookup_pc);
	return 0;
}

static void classify_thread(const struct thread_sample *sample, struct thread_info *thread)
{
	const char *functions[CLASSIFY_MAX_FUNCTIONS];
	enum fd_kind fd_kind = FD_KIND_UNKNOWN;
	int count = 0;

	for (int i = 0; thread->stack && i < thread->stack->depth; i++) {
		const struct symbol *symbol = thread->symbols[i];

		for (int j = 0; symbol && j < symbol->frame_count; j++)
			if (count < CLASSIFY_MAX_FUNCTIONS)
				functions[count++] = symbol->frames[j].function;
	}
	if (sample->rec->wait.reason == PARK_REASON_IO)
		fd_kind = classify__fd_of(sample->rec->tgid, (int)sample->rec->wait.arg0);
	classify__wait(&sample->rec->wait, functions, count, fd_kind, &thread->wait);
}

static int summarize_procs(struct report *report)
{
	report->procs = calloc(report->thread_count ? report->thread_count : 1,
			       sizeof(*report->procs));
	if (!report->procs)
		return -ENOMEM;
	for (size_t i = 0; i < report->thread_count; i++) {
		const struct task_record *rec = report->threads[i].rec;
		struct proc_summary *summary;

		if (!report->proc_count || report->procs[report->proc_count - 1].pid != (pid_t)rec->tgid) {
			summary = &report->procs[report->proc_count++];
			summary->pid = rec->tgid;
			memcpy(summary->comm, rec->comm, sizeof(summary->comm));
			summary->exe = proc__exe_path(summary->pid);
		}
		summary = &report->procs[report->proc_count - 1];
		if (rec->tid == rec->tgid) /* the process is named after its main thread */
			memcpy(summary->comm, rec->comm, sizeof(summary->comm));
		summary->threads++;
		summary->parked += report->threads[i].parked;
	}
	return 0;
}

int report__build(struct snapshot *snap, struct procs *procs, const struct ksyms *ksyms,
		  struct report **out)
{
	struct report *report = calloc(1, sizeof(*report));
	int err = 0;

	if (!report) {
		snapshot__free(snap);
		return -ENOMEM;
	}
	report->snap = snap;
	report->ksyms = ksyms;
	report->time_unix_ns = clock__unix_ns();
	qsort(snap->threads, snap->count, sizeof(*snap->threads), by_pid_tid);
	report->threads = calloc(snap->count ? snap->count : 1, sizeof(*report->threads));
	if (!report->threads) {
		err = -ENOMEM;
		goto fail;
	}
	report->thread_count = snap->count;

	procs__begin(procs);
	for (size_t i = 0; i < snap->count; i++) {
		const struct thread_sample *sample = &snap->threads[i];
		const struct task_record *rec = sample->rec;
		struct thread_info *thread = &report->threads[i];
		bool on_cpu = rec->flags & TASK_REC_ON_CPU;
		struct proc *proc = procs__get(procs, rec->tgid);

		if (!proc) {
			err = -ENOMEM;
			break;
		}
		thread->rec = rec;
		thread->state = classify__state(rec->state, on_cpu);
		report->state_counts[state_bucket(rec->state, on_cpu)]++;
		thread->parked = rec->state & PARK_TASK_SLEEP_MASK;
		thread->kstack = sample->kstack;
		thread->kstack_depth = rec->kstack_depth;
		if (!thread->parked)
			continue;
		report->parked_count++;
		thread->park_ns = rec->now_ns > rec->park_start_ns ? rec->now_ns - rec->park_start_ns : 0;
		thread->stack = unwind__thread(proc, sample);
		if (thread->stack && (err = symbolize_stack(proc, thread)))
			break;
		classify_thread(sample, thread);
	}
	procs__end(procs);
	if (!err)
		err = summarize_procs(report);
	if (!err)
		err = group__build(report->threads, report->thread_count, &report->groups,
				   &report->group_count);
	if (err)
		goto fail;
	*out = report;
	return 0;
fail:
	report__free(report);
	return err;
}

static int detach_stack(struct report *report, struct thread_info *thread)
{
	size_t size = sizeof(*thread->stack) + thread->stack->depth * sizeof(thread->stack->frames[0]);
	struct stack *own = malloc(size);

	if (!own)
		return -ENOMEM;
	memcpy(own, thread->stack, size);
	if (u64map__put(&report->owned_stacks, (uintptr_t)own, own)) {
		free(own);
		return -ENOMEM;
	}
	thread->stack = own;
	return 0;
}

int report__detach(struct report *report)
{
	if (report->goroutines) /* the goroutine picture owns its own copies */
		return 0;
	for (size_t i = 0; i < report->thread_count; i++) {
		struct thread_info *thread = &report->threads[i];

		if (thread->stack && detach_stack(report, thread))
			return -ENOMEM;
		for (int f = 0; thread->stack && f < thread->stack->depth; f++) {
			const struct symbol *cached = thread->symbols[f];
			struct symbol *own;

			if (!cached)
				continue;
			own = u64map__get(&report->owned_symbols, (uintptr_t)cached);
			if (!own) {
				own = symbol__clone(cached);
				if (!own || u64map__put(&report->owned_symbols, (uintptr_t)cached, own)) {
					symbol__free(own);
					return -ENOMEM;
				}
			}
			thread->symbols[f] = own;
		}
	}
	return 0;
}

void report__free(struct report *report)
{
	if (!report)
		return;
	u64map__free_all(&report->owned_symbols, symbol__free_value);
	u64map__free_all(&report->owned_stacks, free);
	for (size_t i = 0; !report->goroutines && i < report->thread_count; i++)
		free(report->threads[i].symbols);
	free(report->threads);
	for (size_t i = 0; i < report->go_stack_count; i++)
		free(report->go_stacks[i]);
	free(report->go_stacks);
	free(report->go_records);
	goreport__free(report->goroutines);
	for (size_t i = 0; i < report->proc_count; i++)
		free(report->procs[i].exe);
	free(report->procs);
	group__free_all(report->groups, report->group_count);
	snapshot__free(report->snap);
	free(report);
}

int report__view_pid(const struct report *report, pid_t pid, struct report *view)
{
	const struct proc_summary *proc = report__proc(report, pid);
	size_t first = 0, groups = 0;

	if (!proc)
		return -ENOENT;
	memset(view, 0, sizeof(*view));
	view->time_unix_ns = report->time_unix_ns;
	view->ksyms = report->ksyms;
	/* threads are sorted by pid: the process's threads are one run */
	while (first < report->thread_count && (pid_t)report->threads[first].rec->tgid != pid)
		first++;
	view->threads = &report->threads[first];
	while (first + view->thread_count < report->thread_count &&
	       (pid_t)report->threads[first + view->thread_count].rec->tgid == pid)
		view->thread_count++;
	for (size_t i = 0; i < view->thread_count; i++) {
		const struct thread_info *thread = &view->threads[i];

		view->parked_count += thread->parked;
		view->state_counts[state_bucket(thread->rec->state,
						thread->rec->flags & TASK_REC_ON_CPU)]++;
	}
	view->procs = (struct proc_summary *)proc;
	view->proc_count = 1;
	for (size_t g = 0; g < report->group_count; g++)
		groups += report->groups[g].pid == pid;
	view->groups = calloc(groups ? groups : 1, sizeof(*view->groups));
	if (!view->groups)
		return -ENOMEM;
	for (size_t g = 0; g < report->group_count; g++)
		if (report->groups[g].pid == pid)
			view->groups[view->group_count++] = report->groups[g];
	return 0;
}

void report__view_release(struct report *view)
{
	free(view->groups);
	memset(view, 0, sizeof(*view));
}

const struct proc_summary *report__proc(const struct report *report, pid_t pid)
{
	for (size_t i = 0; i < report->proc_count; i++)
		if (report->procs[i].pid == pid)
			return &report->procs[i];
	return NULL;
}

static bool is_system_module(const char *module)
{
	static const char *const prefixes[] = { "libc.so", "libc-", "libpthread", "ld-linux",
						"ld-", "linux-vdso", "[vdso]" };
	const char *base = strrchr(module, '/');

	base = base ? base + 1 : module;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(base, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

const struct symbol_frame *report__app_frame(const struct thread_info *thread)
{
	if (thread->where)
		return thread->where;
	for (int i = 0; thread->stack && i < thread->stack->depth; i++) {
		const struct symbol *symbol = thread->symbols[i];

		if (symbol && symbol->module && symbol->frame_count && !is_system_module(symbol->module))
			return &symbol->frames[0];
	}
	return NULL;
}
