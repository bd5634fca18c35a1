/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Where runtime.g's fields are (golayout.c): from DWARF, else by version. */
#ifndef PARKWATCH_GOLAYOUT_H
#define PARKWATCH_GOLAYOUT_H

#include <gelf.h>
#include <sys/stat.h>
#include "go/go_internal.h"

/*
 * Fills gp->layout from the binary's DWARF, else from the table for
 * gp->minor, else, for a release newer than the table's newest, from the
 * newest (gp->layout_guess says which: the caller must check it against
 * the process before trusting it); with want_wrappers also adds DWARF's
 * wrappers.  Returns 0, -ENODATA (none of these), -ENOMEM.  elf must be
 * writable (ELF_C_READ_MMAP_PRIVATE, ELF_C_READ, elf_memory): the debug
 * sections the layout doesn't need are hidden from libdw while it opens.
 */
int golayout__read(struct goproc *gp, Elf *elf, bool want_wrappers);
/* The same through cache (NULL: none) for the binary exe describes; a
 * binary that wants its wrappers read from DWARF isn't cached. */
int golayout__read_cached(struct goproc *gp, Elf *elf, bool want_wrappers,
			  struct golayout_cache *cache, const struct stat *exe);
/* runtime.g's layout in elf's (writable) DWARF: 0, or -ENODATA. */
int golayout__from_dwarf(Elf *elf, struct go_layout *l);
/* The table's layout for Go 1.minor: false when it has none. */
bool golayout__table(int minor, struct go_layout *l);
/* The newest release the table knows. */
int golayout__newest(void);
/* Sets l->g_read_size: reads stop at the last field used, not at the end
 * of runtime.g. */
void golayout__finish(struct go_layout *l);

#endif /* PARKWATCH_GOLAYOUT_H */
