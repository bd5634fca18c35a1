/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Where runtime.g's fields are (golayout.c): from DWARF, else by version. */
#ifndef PARKWATCH_GOLAYOUT_H
#define PARKWATCH_GOLAYOUT_H

#include <gelf.h>
#include "go/go_internal.h"

/*
 * Fills gp->layout from the binary's DWARF, else from the table for
 * gp->minor; with want_wrappers also adds DWARF's wrappers.  Returns 0,
 * -ENODATA (neither), -ENOMEM.
 */
int golayout__read(struct goproc *gp, Elf *elf, bool want_wrappers);

#endif /* PARKWATCH_GOLAYOUT_H */
