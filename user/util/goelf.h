/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The Go tables of an executable's ELF file (goelf.c): its .gopclntab
 * with the funcdata its inline trees live in, found with or without a
 * symbol table, as the runtime's own tracebacks need them in every binary.
 */
#ifndef PARKWATCH_GOELF_H
#define PARKWATCH_GOELF_H

#include <stdbool.h>
#include <gelf.h>
#include "util/pclntab.h"

/* The section called name, with its header; NULL if there is none. */
Elf_Scn *goelf__section(Elf *elf, const char *name, GElf_Shdr *shdr);
/* The contents of the PROGBITS section called name; NULL if none. */
Elf_Data *goelf__progbits(Elf *elf, const char *name);
/* The bytes of the file from address addr to the end of the PROGBITS
 * section holding it, *size of them; NULL when no section holds addr. */
const __u8 *goelf__bytes_at(Elf *elf, __u64 addr, size_t *size);
/*
 * tab over the ELF's .gopclntab (.data.rel.ro.gopclntab in a PIE), its
 * entries counted from runtime.text, with its wrapper funcID and the
 * module's funcdata (pclntab__set_gofunc), as runtime.firstmoduledata
 * gives them; without one, from the start of .text and with no funcdata.  The table points into
 * libelf's copy of the file, which must outlive it.  Returns 0, -ENOENT
 * (no .gopclntab: not Go, or not one this reads) or pclntab__init's error.
 */
int goelf__pclntab(Elf *elf, struct pclntab *tab);

#endif /* PARKWATCH_GOELF_H */
