/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * User stacks from captured registers and stack bytes, unwound with DWARF
 * CFI by libdwfl (the way perf --call-graph dwarf does), with a frame-pointer
 * walk where CFI gives nothing.  The result is cached per thread for as long
 * as the thread stays in the same park.
 */
#ifndef PARKWATCH_UNWIND_H
#define PARKWATCH_UNWIND_H

#include "proc/procs.h"

#define UNWIND_MAX_DEPTH 128

struct stack_frame {
	__u64 pc;                   /* as found: the leaf pc, then return addresses */
	__u64 lookup_pc;            /* pc to symbolize: a return address minus one */
};

struct stack {
	__u64 park_start_ns;        /* the park this stack belongs to */
	unsigned int seen_generation; /* last snapshot that used it */
	int depth;
	struct stack_frame frames[]; /* leaf first */
};

/* Installs parkwatch's thread callbacks on proc->dwfl; 0 or -1. */
int unwind__attach(struct proc *proc);
/*
 * The thread's stack for its current park: unwound from the sample when it
 * carries registers and stack bytes, else the one cached for this park.
 * NULL when there is none (short park, unreadable process).
 */
const struct stack *unwind__thread(struct proc *proc, const struct thread_sample *sample);

/* Forgets stacks of threads the last snapshot did not use. */
void unwind__prune(struct proc *proc);

#endif /* PARKWATCH_UNWIND_H */
