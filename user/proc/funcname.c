// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Function names as gdb gives them (funcname.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include "proc/funcname.h"
#include "util/demangle.h"

#define NAME_MAX_LEN 4096
#define SCOPE_MAX_DEPTH 64
/* DW_AT_abstract_origin / DW_AT_specification hops to a function's name */
#define ORIGIN_MAX_HOPS 8

/* Go's assembly functions read as Go's own tracebacks print them */
char *funcname__plain(const char *name)
{
	const char *at = name ? strchr(name, '@') : NULL;
	size_t len = name ? (at && at != name ? (size_t)(at - name) : strlen(name)) : 0;

	if (!name)
		return NULL;
	if (len > 5 && !strncmp(name + len - 5, ".abi0", 5))
		len -= 5;
	return strndup(name, len);
}

char *funcname__elf(const char *elf_name, char **system_name)
{
	char *name = funcname__plain(elf_name), *demangled = demangle__name(name);

	*system_name = NULL;
	if (!demangled)
		return name;
	*system_name = name;
	return demangled;
}

/* The DIE that names die: through its abstract origin (an inlined or
 * out-of-line instance) and its declaration (DW_AT_specification: a
 * member defined outside its class), as far as they go. */
static void naming_die(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	*out = *die;
	for (int hop = 0; hop < ORIGIN_MAX_HOPS; hop++) {
		Dwarf_Die next;

		if (!dwarf_attr(out, DW_AT_abstract_origin, &attr) &&
		    !dwarf_attr(out, DW_AT_specification, &attr))
			break;
		if (!dwarf_formref_die(&attr, &next))
			break;
		*out = next;
	}
}

static bool die_is_cplus(Dwarf_Die *die)
{
	Dwarf_Die cu;
	int lang;

	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return false;
	lang = dwarf_srclang(&cu);
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

/*
 * A C++ function's qualified name built from the DIEs around its
 * declaration, as gdb builds one when there is no linkage name to
 * demangle (GCC writes none for members of local classes, e.g. those of a
 * lambda's std::thread state): namespaces and named classes, innermost
 * last; a function or an unnamed class (a lambda's closure) ends the
 * prefix.  Template arguments are in GCC's DW_AT_name already.
 */
static char *qualified_name(Dwarf_Die *decl, const char *base)
{
	const char *parts[SCOPE_MAX_DEPTH];
	Dwarf_Die *scopes = NULL;
	int count = dwarf_getscopes_die(decl, &scopes), parts_count = 0;
	char buf[NAME_MAX_LEN];
	size_t len = 0;

	for (int i = 1; i < count && parts_count < SCOPE_MAX_DEPTH; i++) {
		int tag = dwarf_tag(&scopes[i]);
		const char *name = dwarf_diename(&scopes[i]);

		if (tag == DW_TAG_namespace) {
			parts[parts_count++] = name ? name : "(anonymous namespace)";
		} else if (tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
			   tag == DW_TAG_union_type || tag == DW_TAG_interface_type) {
			if (!name)
				break;
			parts[parts_count++] = name;
		} else if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
			   tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit) {
			break;
		}
	}
	buf[0] = '\0';
	for (int i = parts_count - 1; i >= 0 && len < sizeof(buf); i--)
		len += snprintf(buf + len, sizeof(buf) - len, "%s::", parts[i]);
	if (len < sizeof(buf))
		snprintf(buf + len, sizeof(buf) - len, "%s", base);
	free(scopes);
	return strdup(buf);
}

/* As gdb names it: the linkage name, for C too (glibc's asm names). */
char *funcname__die(Dwarf_Die *die, char **system_name)
{
	Dwarf_Attribute attr;
	const char *linkage = NULL, *base;
	Dwarf_Die decl;
	char *demangled;

	*system_name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		linkage = dwarf_formstring(&attr);
	demangled = demangle__name(linkage);
	if (demangled) {
		*system_name = strdup(linkage);
		return demangled;
	}
	if (linkage) /* C's asm names: glibc's __GI___libc_read */
		return strdup(linkage);
	base = dwarf_diename(die);
	if (!base)
		return NULL;
	naming_die(die, &decl);
	return die_is_cplus(&decl) ? qualified_name(&decl, base) : strdup(base);
}

int funcname__scopes(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	Dwarf_Die *nested = NULL;
	int count = dwarf_getscopes(cu, pc, scopes), nested_count;

	if (count <= 0)
		return count;
	nested_count = dwarf_getscopes_die(&(*scopes)[0], &nested);
	if (nested_count > 0) {
		free(*scopes);
		*scopes = nested;
		count = nested_count;
	}
	return count;
}
