// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Demangling with libiberty (demangle.h). */
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>
#include "util/demangle.h"

/* Longer names are left as they are: the demangler's work grows with
 * them, and a hostile binary can make one as long as it likes. */
#define DEMANGLE_MAX_LEN 4096

bool demangle__is_mangled(const char *name)
{
	return name && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R');
}

char *demangle__name(const char *name)
{
	if (!demangle__is_mangled(name) || strnlen(name, DEMANGLE_MAX_LEN + 1) > DEMANGLE_MAX_LEN)
		return NULL;
	/* DMGL_AUTO: Itanium C++ and both Rust manglings; DMGL_RET_DROP:
	 * `ns::f<int>(int)`, not `void ns::f<int>(int)` */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO | DMGL_RET_DROP);
}
