/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Struct layouts from DWARF, for the readers of another process's memory
 * whose structs are its libraries' (glibc's locks, the Go runtime's).
 */
#ifndef PARKWATCH_DWARFMEMBER_H
#define PARKWATCH_DWARFMEMBER_H

#include <stdbool.h>
#include <elfutils/libdw.h>

/* The type of die (a member, a variable), past typedefs; false when none. */
bool dwarfmember__type(Dwarf_Die *die, Dwarf_Die *type);
/* The offset of member name of struct type, below INT_MAX / 2, and its type
 * when member_type isn't NULL; -1 when absent or unreadable. */
int dwarfmember__offset(Dwarf_Die *type, const char *name, Dwarf_Die *member_type);

#endif /* PARKWATCH_DWARFMEMBER_H */
