/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a Go executable says about itself (gobinary.c): its version, its
 * .gopclntab and the runtime functions it names, the addresses of the
 * runtime's variables (from .symtab, or from the code of the functions
 * that use them when the binary is stripped), and which functions are
 * compiler-generated wrappers.  runtime.g's layout is golayout.h's.
 */
#ifndef PARKWATCH_GOBINARY_H
#define PARKWATCH_GOBINARY_H

#include <stdio.h>
#include <sys/stat.h>
#include <gelf.h>
#include "go/go_internal.h"

/* What goproc.c reads next, beyond what lands in the goproc. */
struct go_symbols {
	__u64 reasons;              /* runtime.waitReasonStrings, loaded; 0: not found */
	__u64 reasons_size;         /* its bytes */
	__u64 build_version;        /* runtime.buildVersion, loaded; 0: none */
	bool from_code;             /* allgs was found in runtime.allgadd's code, not in .symtab */
};

/*
 * The version, load bias, text range, .gopclntab, runtime functions and
 * the addresses of runtime.allgs and friends, into gp and syms.  Returns
 * 0, -ENOEXEC (not a Go program), -ENODATA (a Go program whose goroutines
 * can't be found: why says why, in a phrase), -ENOMEM or a gomem.h error.
 */
int gobinary__read(struct goproc *gp, Elf *elf, const struct stat *exe, struct go_symbols *syms,
		   char *why, size_t why_size);
/* Where the executable exe (its path exe_path, or NULL) starts in maps,
 * text in /proc/PID/maps's format: its mapping at file offset 0, into
 * *start.  0, or -ENODATA when none is there. */
int gobinary__exe_start(FILE *maps, const struct stat *exe, const char *exe_path, __u64 *start);
/* "go1.19.8", "devel go1.23-abcdef": the minor version, 0 if none. */
int gobinary__version_minor(const char *version);
/* The version .go.buildinfo holds (Go >= 1.18) into buf: false when none;
 * *is_go is set when the section is Go's, whatever its version. */
bool gobinary__version(Elf *elf, char *buf, size_t size, bool *is_go);
/* A copy of elf's .gopclntab in *copy (the caller's to free) and tab over
 * it, its entries counting from its header's textStart, else from .text
 * (a PIE file may leave it 0 for the loader).  0, -ENOTSUP (none, or a
 * layout util/pclntab.h doesn't read), -ENOMEM. */
int gobinary__read_pclntab(Elf *elf, __u8 **copy, struct pclntab *tab);
/* Wrappers from gp->pcln: 0, -ENOTSUP for a table it can't use, -ENOMEM. */
int gobinary__read_wrappers(struct goproc *gp);
/* Appends [lo, hi) as file addresses; gp->wrappers is sorted afterwards. */
int gobinary__add_wrapper(struct goproc *gp, size_t *cap, __u64 lo, __u64 hi);

#endif /* PARKWATCH_GOBINARY_H */
