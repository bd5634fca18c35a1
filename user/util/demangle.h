/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Mangled names to what people read: C++ (Itanium ABI) and Rust (legacy
 * and v0) by libiberty's demangler, the one binutils and gdb use.  Names
 * read as c++filt prints them, with their parameter lists, but without the
 * return type of a template function (as gdb names them).  Go names are
 * never mangled: the caller keeps pclntab names away from here.
 */
#ifndef PARKWATCH_DEMANGLE_H
#define PARKWATCH_DEMANGLE_H

#include <stdbool.h>

/* name may be a mangled one: C++'s start _Z, Rust's _R or _ZN...E. */
bool demangle__is_mangled(const char *name);
/* The demangled name (malloc'd), or NULL when name isn't a mangled name
 * the demangler reads, or out of memory. */
char *demangle__name(const char *name);

#endif /* PARKWATCH_DEMANGLE_H */
