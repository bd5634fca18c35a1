/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Function names as gdb gives them, for frames of code other than Go's:
 * from a DWARF subprogram or inlined-subroutine DIE, or from an ELF
 * symbol.  C++ and Rust names are demangled (util/demangle.h), the mangled
 * one kept as the system name.  Every name returned is malloc'd.  And the
 * DIEs whose names a frame shows: the scopes nested around a pc.
 */
#ifndef PARKWATCH_FUNCNAME_H
#define PARKWATCH_FUNCNAME_H

#include <elfutils/libdw.h>

/* A symbol table's name as the function's: without its ELF version
 * (pthread_cond_wait@@GLIBC_2.3.2) or Go's assembly suffix (NAME.abi0). */
char *funcname__plain(const char *name);
/* An ELF symbol's name as shown (demangled) and, when that differs, as
 * written (*system_name); NULL for NULL. */
char *funcname__elf(const char *elf_name, char **system_name);
/*
 * The name of the function a subprogram or inlined-subroutine DIE stands
 * for: its linkage name, demangled when it is a mangled one (kept in
 * *system_name); else for C++ the name qualified from the DIEs around its
 * declaration; else DW_AT_name.  NULL when the DIE has no name.
 */
char *funcname__die(Dwarf_Die *die, char **system_name);
/*
 * The scopes around pc (an address in cu's space), innermost first, each
 * inside the next as the DIEs nest: inlined calls, lexical blocks, the
 * subprogram, the namespaces around it, the unit.  libdw's
 * dwarf_getscopes() follows an inlined call's abstract origin instead of
 * the DIE's real parents, so the chain of calls inlined into each other
 * would stop at the first; its innermost scope, nested again by
 * dwarf_getscopes_die(), gives the whole chain.  *scopes is malloc'd.
 * Returns the count (0: none) or -1.
 */
int funcname__scopes(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes);

#endif /* PARKWATCH_FUNCNAME_H */
