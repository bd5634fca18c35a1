/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a code address is: its module and its chain of functions with
 * source lines (innermost inlined call first).  A symbol is immutable once
 * made and reference-counted: the symbolizer's per-process cache holds one
 * reference and every picture whose stacks name it holds another, so a
 * picture stays readable after its process's cache is gone.
 */
#ifndef PARKWATCH_SYMBOL_H
#define PARKWATCH_SYMBOL_H

#include <stdbool.h>
#include <linux/types.h>

/* One frame of a stack as unwound: where it was, and the pc that names it. */
struct stack_frame {
	__u64 pc;                   /* as found: the leaf pc, then return addresses */
	__u64 lookup_pc;            /* pc to symbolize: a return address minus one */
};

struct symbol_frame {
	char *function;             /* NULL when unknown; demangled, as gdb names it */
	char *system_name;          /* the mangled name; NULL when the same as function */
	char *file;                 /* NULL when there is no line info */
	int line;
	__u64 function_offset;      /* from the function's start (outermost frame only) */
	/* where this frame is: the lookup pc, or for the caller of an inlined
	 * Go call, the call site's inline mark, as Go's tracebacks give it */
	__u64 pc;
	bool inlined;               /* inlined into the frame that follows it */
	/* a frame on no machine stack: its function's last act was a jump to
	 * the frame before it, rebuilt from DWARF call sites (proc/tailcall.h) */
	bool tail_call;
};

struct symbol {
	unsigned int refs;          /* atomic: pictures are released on any thread */
	char *module;               /* mapped file, NULL when no mapping covers the pc */
	__u64 module_offset;        /* address in the file's ELF address space */
	__u64 module_start;         /* where the module is mapped */
	__u64 module_end;
	char *build_id;             /* hex, NULL when absent */
	__u64 function_entry;       /* where the outermost function starts; 0: unknown */
	int frame_count;            /* 0 when nothing but the module is known */
	struct symbol_frame frames[]; /* innermost (most inlined) first */
};

/* A new symbol with frame_count frames, zeroed, holding one reference;
 * NULL when out of memory. */
struct symbol *symbol__new(int frame_count);
/* Takes a reference; returns symbol. */
const struct symbol *symbol__get(const struct symbol *symbol);
/* Drops a reference, freeing the symbol with the last; NULL-safe. */
void symbol__put(const struct symbol *symbol);
/* symbol__put for containers of void pointers. */
void symbol__put_value(void *symbol);
/* The function that contains the pc: the outermost frame's; NULL if unknown. */
const char *symbol__function(const struct symbol *symbol);

#endif /* PARKWATCH_SYMBOL_H */
