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
#include "proc/procs.h"

struct symbol_frame {
	char *function;             /* NULL when unknown */
	char *file;                 /* NULL when there is no line info */
	int line;
	__u64 function_offset;      /* from the function's start (outermost frame only) */
	bool inlined;               /* inlined into the frame that follows it */
};

struct symbol {
	char *module;               /* mapped file, NULL when no mapping covers the pc */
	__u64 module_offset;        /* address in the file's ELF address space */
	__u64 module_start;         /* where the module is mapped */
	__u64 module_end;
	char *build_id;             /* hex, NULL when absent */
	int frame_count;            /* 0 when nothing but the module is known */
	struct symbol_frame frames[]; /* innermost (most inlined) first */
};

/* The symbol for a lookup pc (see unwind.h), cached in proc. */
const struct symbol *symbolize__user(struct proc *proc, __u64 lookup_pc);
/* NULL-safe. */
void symbol__free(struct symbol *symbol);
/* A deep copy that outlives the process cache; NULL when out of memory. */
struct symbol *symbol__clone(const struct symbol *symbol);
/* symbol__free for containers of void pointers. */
void symbol__free_value(void *symbol);
/* Drops the unit tables kept for proc's Dwfl session; procs.c calls it
 * before the session ends. */
void symbolize__forget_units(struct proc *proc);

#endif /* PARKWATCH_SYMBOLIZE_H */
