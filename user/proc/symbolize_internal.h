/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* What symbolize.c and symbolize_go.c share: the frames of one address,
 * built innermost first. */
#ifndef PARKWATCH_SYMBOLIZE_INTERNAL_H
#define PARKWATCH_SYMBOLIZE_INTERNAL_H

#include <stdbool.h>
#include <elfutils/libdwfl.h>
#include "model/symbol.h"
#include "proc/modcache.h"

/* The most inlined calls one address is named with (the rest are cut). */
#define SYMBOL_MAX_INLINE 32

struct frame_builder {
	int count;
	struct symbol_frame frames[SYMBOL_MAX_INLINE + 1];
};

/* strdup, NULL for NULL. */
char *symbolize__dup(const char *text);
/* A frame named by name and system_name, which it takes (freed when
 * there is no room left). */
struct symbol_frame *frame_builder__push(struct frame_builder *builder, char *name,
					 char *system_name, const char *file, int line,
					 bool inlined, __u64 pc);
/*
 * Go code, named from the module's .gopclntab as Go's own tracebacks
 * name it, whether or not the binary has symbols or DWARF: the calls
 * inlined at pc (a file address) innermost first, each with the file and
 * line of its pc, then the function that holds pc.  Each frame's pc is the
 * one the runtime gives it: pc itself, then each call site's inline mark.
 * Compiler-generated wrappers are left out as the runtime leaves them out,
 * unless nothing else is there (the caller then drops the frame): e.g.
 * the closure of `go f(x)`, f inlined into it, reads as f alone.
 * *entry is the function's start.  False when pc is no Go code.
 */
bool symbolize_go__frames(struct module_tables *tables, Dwfl_Module *mod, __u64 bias, __u64 pc,
			  struct frame_builder *builder, __u64 *entry);

#endif /* PARKWATCH_SYMBOLIZE_INTERNAL_H */
