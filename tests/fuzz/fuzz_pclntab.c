// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes Go's function table reader (util/pclntab.c) over a .gopclntab:
 * every lookup a goroutine's unwinding and symbolization makes, the input
 * doubling as the module's funcdata for the inline trees. */
#include <string.h>
#include "util/pclntab.h"
#include "fuzz.h"

#define TEXT_START 0x401000ULL      /* where a non-PIE amd64 Go binary's text starts */
#define MAX_FUNCS 64                /* functions looked at per input */

static void look_at(const struct pclntab *tab, const struct pclntab_func *func)
{
	struct pclntab_inline call;
	struct pclntab_func found;
	const char *name = pclntab__name(tab, func), *file;
	__u64 pcs[] = { func->entry, func->entry + 1, (func->entry + func->end) / 2, func->end - 1 };
	__u32 delta;
	int line;

	if (name)
		fuzz_use(strlen(name));
	for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++) {
		if (!pclntab__line(tab, func, pcs[i], &file, &line))
			fuzz_use(strlen(file) + (unsigned)line);
		if (!pclntab__spdelta(tab, func, pcs[i], &delta))
			fuzz_use(delta);
		if (!pclntab__inlined(tab, func, pcs[i], &call))
			fuzz_use(strlen(call.name) + call.parent_pc);
		if (!pclntab__find(tab, pcs[i], &found))
			fuzz_use(found.entry);
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct pclntab tab;
	struct pclntab_func func;
	__u64 step;

	if (pclntab__init(&tab, data, size, TEXT_START))
		return 0;
	pclntab__find_wrapper_funcid(&tab);
	if (pclntab__gofunc_fits(&tab, data, size))
		pclntab__set_gofunc(&tab, data, size);
	else
		pclntab__set_gofunc(&tab, data + size / 2, size - size / 2);
	/* a sample across the table, the first and last functions included */
	step = tab.nfunc / MAX_FUNCS + 1;
	for (__u64 i = 0; i < tab.nfunc; i += step)
		if (!pclntab__func_at(&tab, i, &func))
			look_at(&tab, &func);
	if (tab.nfunc && !pclntab__func_at(&tab, tab.nfunc - 1, &func))
		look_at(&tab, &func);
	return 0;
}
