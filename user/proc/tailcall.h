/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Frames that are on no machine stack because their function's last act
 * was a jump (a tail call: `return read(...)` compiled to `jmp read`),
 * rebuilt from DWARF call-site information as gdb does it: the caller's
 * call site at the return address names the function it called; a chain
 * of tail-call sites (DW_TAG_call_site with DW_AT_call_tail_call) leads
 * from there to the function the next frame down runs.  Only when exactly
 * one chain leads there are its frames told; an ambiguous or unknown step
 * (an indirect jump, a function without debug info or whose list of call
 * sites is incomplete) tells none.
 *
 * It needs two adjacent frames, the callee's function and the caller's
 * return address, so it runs where unwound pcs become a picture's stack
 * (collect/threads.c), not in the per-pc symbol cache.
 */
#ifndef PARKWATCH_TAILCALL_H
#define PARKWATCH_TAILCALL_H

#include <linux/types.h>
#include "proc/procs.h"

#define TAILCALL_MAX_FRAMES 8       /* frames told between two real ones */
#define TAILCALL_MAX_SITES 64       /* tail-call sites one function may have */

struct tailcall_site {
	__u64 pc;                   /* after the jump: where its frame seems to be */
	__u64 target;               /* entry of the function jumped to; 0: unknown */
};

/* The code as the search sees it: DWARF in a process, tables in tests. */
struct tailcall_graph {
	/*
	 * The tail-call sites of the function entered at entry, up to max:
	 * their count (0 when its DWARF doesn't list them all), or -1 when no
	 * function with debug info starts there.
	 */
	int (*sites_of)(void *ctx, __u64 entry, struct tailcall_site *sites, int max);
	void *ctx;
};

/*
 * The one chain of tail calls by which the function entered at
 * first_target (what the caller's call site called) reached the one
 * entered at callee_entry: the pcs of its frames, innermost (the
 * callee's side) first, in pcs (room for max).  Returns their count: 0
 * when first_target is the callee, or when there is no single chain.
 */
int tailcall__chain(const struct tailcall_graph *graph, __u64 first_target, __u64 callee_entry,
		    __u64 *pcs, int max);

/*
 * The tail-call frames between a caller that returns to return_pc and a
 * callee running the function entered at callee_entry, from proc's DWARF:
 * their pcs, innermost first, as tailcall__chain gives them.  Cached in
 * proc.
 */
int tailcall__frames(struct proc *proc, __u64 return_pc, __u64 callee_entry, __u64 *pcs,
		     int max);

#endif /* PARKWATCH_TAILCALL_H */
