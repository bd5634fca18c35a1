// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Struct layouts from DWARF (dwarfmember.h). */
#include <limits.h>
#include <string.h>
#include <dwarf.h>
#include "util/dwarfmember.h"

bool dwarfmember__type(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute attr;

	if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, type))
		return false;
	while (dwarf_tag(type) == DW_TAG_typedef)
		if (!dwarf_attr_integrate(type, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, type))
			return false;
	return true;
}

int dwarfmember__offset(Dwarf_Die *type, const char *name, Dwarf_Die *member_type)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child))
		return -1;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word offset;
		const char *member;

		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		member = dwarf_diename(&child);
		if (!member || strcmp(member, name))
			continue;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) ||
		    dwarf_formudata(&attr, &offset) || offset > INT_MAX / 2)
			return -1;
		if (member_type && !dwarfmember__type(&child, member_type))
			return -1;
		return (int)offset;
	} while (dwarf_siblingof(&child, &child) == 0);
	return -1;
}
