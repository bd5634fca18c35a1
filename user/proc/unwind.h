/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * User stacks from captured registers and stack bytes, unwound with DWARF
 * CFI by libdwfl (the way perf --call-graph dwarf does), with a frame-pointer
 * walk where CFI gives nothing.  The result is cached per thread for as long
 * as the thread stays in the same park.
 */
#ifndef PARKWATCH_UNWIND_H
#define PARKWATCH_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include "model/symbol.h"
#include "proc/procs.h"
#include "proc/unwind_memo.h"

#define UNWIND_MAX_DEPTH 128

/* One parked thread, as a snapshot captured it. */
struct unwind_input {
	pid_t tid;
	__u64 park_start_ns;        /* the park the stack belongs to */
	bool captured;              /* regs and ustack hold this park's capture */
	const __u64 *regs;          /* PARK_NREGS user registers, DWARF numbering */
	const __u8 *ustack;         /* ustack_bytes bytes from the stack pointer */
	size_t ustack_bytes;
	struct unwind_memo *memo;   /* stacks of this process walked so far, or NULL */
};

struct stack {
	__u64 park_start_ns;        /* the park this stack belongs to */
	unsigned int seen_generation; /* last snapshot that used it */
	bool truncated;             /* the walk stopped before the stack's end: a
				     * pc in no module's code, an unwinder error */
	int depth;
	__u64 hash;                 /* of frames and truncated: the same for the same stack */
	struct stack_frame frames[]; /* leaf first */
};

/*
 * The thread's stack for its current park: unwound from the capture when
 * there is one, else the one cached for this park.  NULL when there is
 * none (short park, unreadable process).
 */
const struct stack *unwind__thread(struct proc *proc, const struct unwind_input *thread);
/* Forgets stacks of threads the last snapshot did not use. */
void unwind__prune(struct proc *proc);

#endif /* PARKWATCH_UNWIND_H */
