/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a Go executable says about itself (gobinary.c): its version, where
 * the runtime's variables and functions are, and which functions are
 * compiler-generated wrappers.  runtime.g's layout is golayout.h's.
 */
#ifndef PARKWATCH_GOBINARY_H
#define PARKWATCH_GOBINARY_H

#include <sys/stat.h>
#include <gelf.h>
#include "go/go_internal.h"

struct go_symbols {
	GElf_Sym allglen, allgptr, allgs, reasons, build_version, fing_running, fing_status;
	bool have_allglen, have_allgptr, have_allgs, have_reasons, have_build_version,
		have_fing_running, have_fing_status;
	__u64 text;                 /* runtime.text: where pclntab's entry offsets start */
	__u64 systemstack_switch;   /* its funcID is the one before FuncID wrapper */
};

/*
 * The version, load bias, text range, runtime functions and the addresses
 * of runtime.allgs and friends, into gp and syms.  Returns 0, -ENOEXEC (not
 * a Go program, or not amd64), -ENODATA (no .symtab), or a gomem.h error.
 */
int gobinary__read_symbols(struct goproc *gp, Elf *elf, const struct stat *exe,
			   struct go_symbols *syms);
/* "go1.19.8", "devel go1.23-abcdef": the minor version, 0 if none. */
int gobinary__version_minor(const char *version);
/* gp->pcln, a copy of .gopclntab: 0, -ENOTSUP (none, or a layout it
 * doesn't know: gp->pcln_buf stays NULL), -ENOMEM. */
int gobinary__read_pclntab(struct goproc *gp, Elf *elf, const struct go_symbols *syms);
/* Wrappers from gp->pcln: 0, -ENOTSUP for a table it can't use, -ENOMEM. */
int gobinary__read_wrappers(struct goproc *gp, const struct go_symbols *syms);
/* Appends [lo, hi) as file addresses; gp->wrappers is sorted afterwards. */
int gobinary__add_wrapper(struct goproc *gp, size_t *cap, __u64 lo, __u64 hi);

#endif /* PARKWATCH_GOBINARY_H */
