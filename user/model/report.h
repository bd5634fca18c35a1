/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One picture of the watched threads, the input of every exporter: the
 * snapshot unwound, symbolized, classified and grouped.
 */
#ifndef PARKWATCH_REPORT_H
#define PARKWATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "model/classify.h"
#include "model/group.h"
#include "util/ksyms.h"
#include "proc/procs.h"
#include "kernel/snapshot.h"
#include "proc/symbolize.h"
#include "proc/unwind.h"

struct goreport;

struct thread_info {
	const struct task_record *rec;
	const char *state;          /* classify__state() */
	bool parked;
	struct wait_class wait;     /* meaningful when parked */
	__u64 park_ns;
	const struct stack *stack;  /* NULL: no user stack (running, short park) */
	const struct symbol **symbols; /* one per stack frame, entries may be NULL */
	const __u64 *kstack;
	int kstack_depth;
	const struct symbol_frame *where; /* goroutine mode: the frame report__app_frame
					   * gives (the gogroup's), NULL otherwise */
	const char *created_by;     /* goroutine mode: the function of its `go` statement */
};

struct proc_summary {
	pid_t pid;
	char comm[PARK_COMM_LEN];
	char *exe;                  /* main binary, NULL when unreadable */
	size_t threads;
	size_t parked;
};

enum report_state {
	REPORT_SLEEPING,
	REPORT_DISK_SLEEP,
	REPORT_RUNNING,
	REPORT_RUNNABLE,
	REPORT_STOPPED,
	REPORT_STATE_COUNT,
};

struct report {
	struct snapshot *snap;
	__u64 time_unix_ns;
	struct thread_info *threads; /* by pid, then tid */
	size_t thread_count;
	size_t parked_count;
	size_t state_counts[REPORT_STATE_COUNT];
	struct proc_summary *procs;
	size_t proc_count;
	struct group *groups;
	size_t group_count;
	const struct ksyms *ksyms;  /* for kernel frames; may be NULL */
	struct u64map owned_symbols; /* after report__detach: cache copy -> own copy */
	struct u64map owned_stacks;
	/* Goroutine mode (goview.c): the picture the report dresses, which owns
	 * the strings, symbols and symbol arrays the threads point to; the fake
	 * records; the stacks; all freed with the report.  NULL otherwise. */
	struct goreport *goroutines;
	struct task_record *go_records;
	struct stack **go_stacks;
	size_t go_stack_count;
};

extern const char *const report_state_names[REPORT_STATE_COUNT];

/* Takes over snap.  Returns 0 or a negative errno. */
int report__build(struct snapshot *snap, struct procs *procs, const struct ksyms *ksyms,
		  struct report **out);
void report__free(struct report *report);
/*
 * A view of one process of a report: threads, groups and summary of pid
 * only, pointing into report (which must outlive it).  Returns 0, -ENOENT
 * when the report has no such process, or -ENOMEM.  Release with
 * report__view_release.
 */
int report__view_pid(const struct report *report, pid_t pid, struct report *view);
void report__view_release(struct report *view);
/*
 * Makes the report keep its own copies of the stacks and symbols it uses,
 * so it stays readable after the process cache drops them (a process that
 * exited).  0 or -ENOMEM.
 */
int report__detach(struct report *report);
/* The process summary for pid, or NULL. */
const struct proc_summary *report__proc(const struct report *report, pid_t pid);
/* The first frame of the thread outside the C library and the loader: where
 * the application parked.  NULL when there is none. */
const struct symbol_frame *report__app_frame(const struct thread_info *thread);

#endif /* PARKWATCH_REPORT_H */
