// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Go code named from its binary's .gopclntab, as Go's own tracebacks name
 * it (symbolize_internal.h, symbolize.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/funcname.h"
#include "proc/procs.h"
#include "proc/symbolize.h"
#include "proc/symbolize_internal.h"
#include "util/goelf.h"

/* A frame of Go code, named as Go's own tracebacks name it. */
static struct symbol_frame *builder_push(struct frame_builder *builder, const char *function,
					  const char *file, int line, bool inlined, __u64 pc)
{
	return frame_builder__push(builder, funcname__plain(function), NULL, file, line, inlined, pc);
}

/*
 * The .gopclntab of mod's ELF file, read once per module and kept in its
 * module_tables: an empty table (nfunc 0) when there is none.  It points
 * into libelf's copy of the file, which lives as long as the Dwfl.
 * NULL only when out of memory.
 */
static const struct pclntab *module_pclntab(struct module_tables *tables, Dwfl_Module *mod)
{
	struct pclntab *tab = tables->pclntab;
	Dwarf_Addr bias;
	Elf *elf;

	if (tab)
		return tab;
	tab = calloc(1, sizeof(*tab));
	if (!tab)
		return NULL;
	elf = dwfl_module_getelf(mod, &bias);
	if (!elf || goelf__pclntab(elf, tab))
		memset(tab, 0, sizeof(*tab));
	tables->pclntab = tab;
	return tab;
}

/*
 * A function name as Go's tracebacks print it (the runtime's
 * funcNameForPrint): the type arguments of a generic instance, from the
 * first '[' to the last ']', read "[...]".
 */
static const char *name_for_print(const char *name, char *buf, size_t size)
{
	const char *open = strchr(name, '['), *close = strrchr(name, ']');

	if (!open || !close || close <= open)
		return name;
	snprintf(buf, size, "%.*s[...]%s", (int)(open - name), name, close + 1);
	return buf;
}

/* One frame of Go code at pc (a file address) of func. */
static void push_go_frame(struct frame_builder *builder, const struct pclntab *tab,
			  const struct pclntab_func *func, const char *name, __u64 pc,
			  bool inlined, __u64 bias)
{
	const char *file = NULL;
	char buf[PATH_MAX];
	int line = 0;

	if (pclntab__line(tab, func, pc, &file, &line))
		file = NULL, line = 0;
	builder_push(builder, name_for_print(name, buf, sizeof(buf)), file, line, inlined,
		     pc + bias);
}

bool symbolize_go__frames(struct module_tables *tables, Dwfl_Module *mod, __u64 bias, __u64 pc,
			  struct frame_builder *builder, __u64 *entry)
{
	const struct pclntab *tab = module_pclntab(tables, mod);
	struct pclntab_inline call;
	struct pclntab_func func;
	const char *name;

	if (!tab || !tab->nfunc || pclntab__find(tab, pc, &func))
		return false;
	name = pclntab__name(tab, &func);
	if (!name || !name[0])
		return false;
	/* a tree that loops is cut where the frames run out */
	for (int depth = 0; depth < SYMBOL_MAX_INLINE && !pclntab__inlined(tab, &func, pc, &call);
	     depth++) {
		if (!tab->wrapper_funcid || call.funcid != tab->wrapper_funcid)
			push_go_frame(builder, tab, &func, call.name, pc, true, bias);
		pc = call.parent_pc;
	}
	if (!builder->count || !tab->wrapper_funcid || func.funcid != tab->wrapper_funcid)
		push_go_frame(builder, tab, &func, name, pc, false, bias);
	*entry = func.entry;
	return true;
}

bool symbolize__go_stack_end(struct proc *proc, Dwfl *dwfl, __u64 lookup_pc)
{
	Dwfl_Module *own = dwfl_addrmodule(dwfl, lookup_pc);
	const struct pclntab *tab;
	struct proc_module module;
	struct pclntab_func func;
	Dwarf_Addr bias;
	bool end;

	/* what it reads is loaded once: not measured, for every frame unwound */
	if (!own || !procs__module_of(proc, own, false, &module))
		return false;
	tab = module_pclntab(module.tables, module.mod);
	bias = 0;
	end = tab && tab->nfunc && dwfl_module_getelf(module.mod, &bias) &&
	      lookup_pc - module.delta >= bias &&
	      !pclntab__find(tab, lookup_pc - module.delta - bias, &func) &&
	      (func.flag & (PCLNTAB_FLAG_TOPFRAME | PCLNTAB_FLAG_SPWRITE));
	procs__module_done(proc, &module);
	return end;
}
