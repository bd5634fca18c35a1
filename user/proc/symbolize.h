/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * User addresses to functions and source lines with libdwfl over the
 * process's mappings: ELF symbols, DWARF line tables and inlined-call
 * scopes, separate debug info found by build-id or .gnu_debuglink.  Results
 * are cached per process; a miss costs one lookup, never a crash.
 */
#ifndef PARKWATCH_SYMBOLIZE_H
#define PARKWATCH_SYMBOLIZE_H

#include <stdbool.h>
#include "model/symbol.h"
#include "proc/procs.h"

/* The symbol for a lookup pc (see unwind.h), cached in proc: the cache
 * holds it; take a reference to keep it.  NULL only when out of memory. */
const struct symbol *symbolize__user(struct proc *proc, __u64 lookup_pc);

/*
 * The symbol of a tail-call frame (proc/tailcall.h) at lookup_pc, cached
 * in proc: one frame, its function as the containing (not inlined) one,
 * the line as the line table gives it at lookup_pc, as gdb shows such a
 * frame, marked tail_call.  NULL when out of memory.
 */
const struct symbol *symbolize__tail_call(struct proc *proc, __u64 lookup_pc);

/*
 * lookup_pc is in a Go function after which Go's own unwinder stops: the
 * top of a stack (TOPFRAME: goexit, mstart) or one that switches stacks
 * (SPWRITE: mcall, morestack, systemstack).  dwfl: proc's, as being used.
 */
bool symbolize__go_stack_end(struct proc *proc, Dwfl *dwfl, __u64 lookup_pc);

#endif /* PARKWATCH_SYMBOLIZE_H */
